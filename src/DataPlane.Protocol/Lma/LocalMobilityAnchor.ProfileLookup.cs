using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// Profiles the policy cannot answer from memory (ILmaPolicy.TryGetProfile false, e.g. a RADIUS cache miss):
// the PBU waits while the host asks, like the MAG's RequestPolicy/PolicyDecided.
public sealed partial class LocalMobilityAnchor
{
    private readonly Dictionary<string, ProfileLookup> _profileLookupsByNode = new(StringComparer.Ordinal);
    private readonly Dictionary<long, ProfileLookup> _profileLookupsById = [];
    private long _lastProfileRequestId;
    private int _awaitingProfile;

    /// <summary>Profile look-ups the host has not answered yet.</summary>
    public int PendingProfileLookups => _profileLookupsById.Count;

    /// <summary>PBUs waiting for those answers.</summary>
    public int PbusAwaitingProfileNow => _awaitingProfile;

    /// <summary>
    /// Park a validated PBU (its timestamp already judged) until the profile is known. One look-up per mobile
    /// node: PBUs arriving meanwhile (retransmissions, the next MAG) join it and are processed in arrival order.
    /// </summary>
    private void AwaitProfile(Ipv6Address source, BindingUpdate pbu, string mnId, Instant now)
    {
        if (_parked + _awaitingProfile >= _options.MaxParkedRegistrations)
        {
            Reply(source, pbu, BindingAckStatus.InsufficientResources, now);
            return;
        }
        if (!_profileLookupsByNode.TryGetValue(mnId, out var lookup))
        {
            lookup = new ProfileLookup(++_lastProfileRequestId, mnId, now + _options.ProfileLookupTimeout);
            _profileLookupsByNode.Add(mnId, lookup);
            _profileLookupsById.Add(lookup.Id, lookup);
            _timers.Set(lookup, lookup.Deadline);
            Counters.ProfileLookups++;
            _actions.Add(new LmaAction.RequestProfile(lookup.Id, mnId));
        }
        lookup.Waiting.Add((source, pbu));
        _awaitingProfile++;
        Counters.PbusAwaitingProfile++;
    }

    private void OnProfileDecided(LmaEvent.ProfileDecided e, Instant now)
    {
        if (!_profileLookupsById.Remove(e.RequestId, out var lookup))
        {
            Counters.ProfileAnswersIgnored++;
            return;
        }
        _profileLookupsByNode.Remove(lookup.MobileNodeIdentifier);
        _timers.Cancel(lookup);
        _awaitingProfile -= lookup.Waiting.Count;
        if (e.Profile is null)
        {
            if (e.LookupFailed) Counters.ProfileLookupsFailed++;
            else Counters.ProfileLookupsDenied++;
        }
        // 128 is retryable at the MAG (the AAA server may be back soon); 152 is final.
        var refusal = e.LookupFailed ? BindingAckStatus.ReasonUnspecified : BindingAckStatus.ProxyRegistrationNotEnabled;
        foreach (var (source, pbu) in lookup.Waiting)
        {
            if (e.Profile is { } profile) Register(source, pbu, lookup.MobileNodeIdentifier, profile, now);
            else Reply(source, pbu, refusal, now);
        }
    }

    private void OnProfileLookupTimeout(ProfileLookup lookup, Instant now)
    {
        if (!_profileLookupsById.Remove(lookup.Id)) return;
        _profileLookupsByNode.Remove(lookup.MobileNodeIdentifier);
        _awaitingProfile -= lookup.Waiting.Count;
        Counters.ProfileLookupTimeouts++;
        foreach (var (source, pbu) in lookup.Waiting) Reply(source, pbu, BindingAckStatus.ReasonUnspecified, now);
    }
}

/// <summary>One outstanding <see cref="LmaAction.RequestProfile"/> and the PBUs waiting for its answer.</summary>
internal sealed class ProfileLookup(long id, string mobileNodeIdentifier, Instant deadline)
{
    public long Id { get; } = id;
    public string MobileNodeIdentifier { get; } = mobileNodeIdentifier;
    public Instant Deadline { get; } = deadline;
    public List<(Ipv6Address Source, BindingUpdate Pbu)> Waiting { get; } = [];
}
