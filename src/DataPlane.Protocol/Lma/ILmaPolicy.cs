using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// The LMA's authorisation source, called from inside PBU processing, so it answers from memory: which
/// MAGs may register (always synchronous: a short list that changes rarely) and each mobile node's
/// profile. A profile the policy does not hold in memory (a RADIUS cache miss) is looked up
/// asynchronously: <see cref="TryGetProfile"/> says so, the machine parks the PBU and asks its host
/// (<see cref="LmaAction.RequestProfile"/>), and the host's answer (<see cref="LmaEvent.ProfileDecided"/>)
/// resumes it. A synchronous policy (the file store, <see cref="InMemoryLmaPolicy"/>) implements only
/// <see cref="GetProfile"/>.
/// </summary>
public interface ILmaPolicy
{
    /// <summary>Beyond <see cref="LmaOptions.AuthorizedMags"/>: may this address send PBUs? (154 if not)</summary>
    bool IsMagAuthorized(Ipv6Address mag);

    /// <summary>The mobile node's profile, or null when it is not enabled for PMIPv6 service (152).</summary>
    LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier);

    /// <summary>
    /// True when the answer is in memory: <paramref name="profile"/> is the profile, or null for "not
    /// enabled" (152). False when it must be looked up: the machine parks the PBU and emits
    /// <see cref="LmaAction.RequestProfile"/>. The default is synchronous, from <see cref="GetProfile"/>.
    /// </summary>
    bool TryGetProfile(string mobileNodeIdentifier, out LmaMobileNodeProfile? profile)
    {
        profile = GetProfile(mobileNodeIdentifier);
        return true;
    }
}

/// <param name="HomeNetworkPrefixes">The prefixes this MN may use; empty: the LMA assigns from its pool.</param>
public sealed record LmaMobileNodeProfile(IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes)
{
    public static LmaMobileNodeProfile FromPool { get; } = new([]);
}

/// <summary>An in-memory <see cref="ILmaPolicy"/>: explicit profiles, plus optionally any MN from the pool.</summary>
public sealed class InMemoryLmaPolicy : ILmaPolicy
{
    private readonly Dictionary<string, LmaMobileNodeProfile> _profiles = new(StringComparer.Ordinal);
    private readonly HashSet<string> _denied = new(StringComparer.Ordinal);
    private readonly HashSet<Ipv6Address> _extraMags = [];

    /// <summary>MNs without an explicit profile get pool-assigned prefixes (true) or are refused with 152 (false).</summary>
    public bool AllowUnknownMobileNodes { get; set; } = true;

    public void SetProfile(string mobileNodeIdentifier, LmaMobileNodeProfile profile) => _profiles[mobileNodeIdentifier] = profile;

    public void Deny(string mobileNodeIdentifier) => _denied.Add(mobileNodeIdentifier);

    public void AuthorizeMag(Ipv6Address mag) => _extraMags.Add(mag);

    public bool IsMagAuthorized(Ipv6Address mag) => _extraMags.Contains(mag);

    public LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier)
    {
        if (_denied.Contains(mobileNodeIdentifier)) return null;
        if (_profiles.TryGetValue(mobileNodeIdentifier, out var p)) return p;
        return AllowUnknownMobileNodes ? LmaMobileNodeProfile.FromPool : null;
    }
}
