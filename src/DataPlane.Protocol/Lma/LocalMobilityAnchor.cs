using DataPlane.Protocol.Heartbeat;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// The Local Mobility Anchor's decision logic (RFC 5213 §5): binding cache, HNP assignment, PBU
/// validation, hold-down after de-registration, one reference-counted tunnel per MAG. Sans-I/O and
/// single-threaded like <see cref="Mag.MobileAccessGateway"/>: the host calls <see cref="Handle"/> for
/// every received message and <see cref="Tick"/> when <see cref="NextDeadline"/> has passed.
/// <para>
/// The returned list belongs to the machine and is cleared by the next call to <see cref="Handle"/>
/// or <see cref="Tick"/>: consume it before calling again. Not thread-safe.
/// </para>
/// </summary>
public sealed partial class LocalMobilityAnchor
{
    private readonly LmaOptions _options;
    private readonly ILmaPolicy _policy;
    private readonly List<LmaAction> _actions = [];
    private readonly BindingCache _cache = new();
    private readonly TunnelTable _tunnels = new();
    private readonly HomeNetworkPrefixPoolAllocator? _pool;
    private readonly Ipv4HomeAddressPool? _ipv4Pool;
    private readonly Func<Ipv4Address, bool> _isReservedIpv4;
    // Targets are BindingCacheEntry (lifetime or hold-down), ParkedRegistration, ProfileLookup, LocalizedRoutingLeg
    // (LRI retransmission) or LocalizedRoutingSession (refresh, expiry).
    private readonly TimerQueue<object> _timers = new();
    private readonly HeartbeatPeerTracker _heartbeat;
    private readonly List<HeartbeatSignal> _heartbeatSignals = [];
    private int _parked;
    private readonly SignallingRateLimiter _rateLimiter;
    private int _awaitingDeletion;

    public LocalMobilityAnchor(LmaOptions options, ILmaPolicy policy, IRandomSource random)
    {
        options.Validate();
        _options = options;
        _policy = policy;
        if (options.HomeNetworkPrefixPool is { } pool) _pool = new HomeNetworkPrefixPoolAllocator(pool, options.AssignedPrefixLength);
        if (options.Ipv4HomeNetwork is { } network) _ipv4Pool = new Ipv4HomeAddressPool(network);
        _isReservedIpv4 = policy.IsReservedIpv4HomeAddress;
        _heartbeat = new HeartbeatPeerTracker(options.Heartbeat, options.RestartCounter, random);
        Counters = new LmaCounters(_heartbeat.Counters);
        _rateLimiter = new SignallingRateLimiter(options.MaxMessagesPerMagPerSecond, options.MaxMessageBurstPerMag);
        _nextLriSequence = (ushort)random.NextUInt64();
    }

    public LmaOptions Options => _options;

    public LmaCounters Counters { get; }

    public Instant? NextDeadline => Instant.Earliest(_timers.NextDue, _heartbeat.NextDeadline);

    public int BindingCacheCount => _cache.Count;

    public int EntriesAwaitingDeletion => _awaitingDeletion;

    public int TunnelCount => _tunnels.Count;

    public int ParkedRegistrations => _parked;

    public int PendingTimers => _timers.Count + _heartbeat.PendingTimers;

    public int TimerHeapEntries => _timers.HeapEntries;

    public int HeartbeatPeers => _heartbeat.PeerCount;

    public int TunnelReferences(Ipv6Address mag) => _tunnels.ReferencesOf(mag);

    public IReadOnlyList<LmaAction> Handle(LmaEvent e, Instant now)
    {
        _actions.Clear();
        switch (e)
        {
            case LmaEvent.MobilityMessageReceived m when !_rateLimiter.TryAcquire(m.Source, IsMagAuthorized(m.Source), now): Counters.MessagesRateLimited++; break;
            case LmaEvent.MobilityMessageReceived { Message: BindingUpdate pbu } m: OnProxyBindingUpdate(m.Source, pbu, now); break;
            case LmaEvent.MobilityMessageReceived { Message: HeartbeatMessage hb } m: OnHeartbeat(m.Source, hb, now); break;
            case LmaEvent.MobilityMessageReceived { Message: LocalizedRoutingAcknowledgement lra } m: OnLocalizedRoutingAcknowledgement(m.Source, lra, now); break;
            case LmaEvent.MobilityMessageReceived { Message: HandoverInitiate hi } m: OnHandoverInitiate(m.Source, hi, now); break;
            case LmaEvent.MobilityMessageReceived { Message: HandoverAcknowledge ack } m: OnHandoverAcknowledge(m.Source, ack); break;
            case LmaEvent.MobilityMessageReceived: Counters.UnexpectedMessages++; break;
            case LmaEvent.ProfileDecided p: OnProfileDecided(p, now); break;
            case LmaEvent.TrafficObserved t: OnTrafficObserved(t, now); break;
            case LmaEvent.Ipv4TrafficObserved t: OnIpv4TrafficObserved(t, now); break;
            case LmaEvent.BindingStored stored: OnBindingStored(stored); break;
            case LmaEvent.BindingStoreFailed failed: OnBindingStoreFailed(failed); break;
            default: throw new ArgumentOutOfRangeException(nameof(e), e, "unknown LMA event");
        }
        return _actions;
    }

    public IReadOnlyList<LmaAction> Tick(Instant now)
    {
        _actions.Clear();
        while (_timers.TryDequeueDue(now, out var target))
        {
            switch (target)
            {
                case BindingCacheEntry entry: OnEntryTimer(entry, now); break;
                case ParkedRegistration parked: OnParkedTimeout(parked, now); break;
                case ProfileLookup lookup: OnProfileLookupTimeout(lookup, now); break;
                case LocalizedRoutingLeg leg: OnLegTimer(leg, now); break;
                case LocalizedRoutingSession session: OnSessionTimer(session, now); break;
            }
        }
        _heartbeatSignals.Clear();
        _heartbeat.Poll(now, _heartbeatSignals);
        ApplyHeartbeatSignals(now);
        return _actions;
    }

    public IEnumerable<BindingCacheView> Bindings => _cache.Entries.Select(ToView);

    public bool TryGetBindingByPrefix(Ipv6Prefix prefix, out BindingCacheView view)
    {
        var e = _cache.FindByPrefix(prefix);
        view = e is null ? default : ToView(e);
        return e is not null;
    }

    public bool TryGetBinding(string mobileNodeIdentifier, out BindingCacheView view)
    {
        var e = _cache.FindFirstByMobileNode(mobileNodeIdentifier);
        view = e is null ? default : ToView(e);
        return e is not null;
    }

    private static BindingCacheView ToView(BindingCacheEntry e) => new(e.MobileNodeIdentifier, e.HomeNetworkPrefixes, e.State,
        e.ProxyCareOfAddress, e.ExpiresAt, e.State == BindingCacheState.AwaitingDeletion ? e.DeleteAt : null,
        e.Ipv4HomeAddress, e.Ipv4PrefixLength, e.Ipv4HomeAddress is null ? null : e.Ipv4DefaultRouter,
        e.TransientMag, e.TransientMag is null ? null : e.TransientExpiresAt, e.ServingMagStopped, e.AwaitingActivation);

    /// <summary>Transient bindings (pre-registered destinations of live migrations) held now.</summary>
    public int TransientBindingCount => _transientCount;

    private bool IsMagAuthorized(Ipv6Address mag) => _options.AuthorizedMags.Contains(mag) || _policy.IsMagAuthorized(mag);

    private void OnHeartbeat(Ipv6Address source, HeartbeatMessage hb, Instant now)
    {
        bool authorized = IsMagAuthorized(source);
        if (!hb.IsResponse && !authorized) Counters.HeartbeatsFromUnauthorizedPeers++;
        _heartbeatSignals.Clear();
        _heartbeat.OnMessage(source, hb, answerRequests: authorized, _heartbeatSignals);
        ApplyHeartbeatSignals(now);
    }

    private void ApplyHeartbeatSignals(Instant now)
    {
        foreach (var s in _heartbeatSignals)
        {
            if (s.Kind == HeartbeatSignalKind.PeerRestarted) OnMagRestarted(s.Peer, now);
            _actions.Add(s.Kind switch
            {
                HeartbeatSignalKind.Send => new LmaAction.SendMobilityMessage(_options.LocalMobilityAnchorAddress, s.Peer, s.Message!),
                HeartbeatSignalKind.PeerUnreachable => new LmaAction.PeerUnreachable(s.Peer),
                HeartbeatSignalKind.PeerReachable => new LmaAction.PeerReachable(s.Peer),
                _ => new LmaAction.PeerRestarted(s.Peer, s.PreviousRestartCounter!.Value, s.RestartCounter!.Value),
            });
        }
        _heartbeatSignals.Clear();
    }
}
