using DataPlane.Protocol.Heartbeat;
using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// The Mobile Access Gateway's decision logic (RFC 5213 §6), one instance per host, one session per
/// VM access port. Sans-I/O and single-threaded: the host (the data path's packet loop, or a
/// simulation) calls <see cref="Handle"/> for every event and <see cref="Tick"/> whenever
/// <see cref="NextDeadline"/> has passed, passing its current time each time, and performs the
/// returned actions in order.
/// <para>
/// The returned list belongs to the machine and is cleared by the next call to <see cref="Handle"/>
/// or <see cref="Tick"/>: consume it (or copy it) before calling again. This keeps the per-event cost
/// of the inline data path free of list allocations. Not thread-safe.
/// </para>
/// </summary>
public sealed partial class MobileAccessGateway
{
    private readonly MagOptions _options;
    private readonly IRandomSource _random;
    private readonly List<MagAction> _actions = [];
    private readonly Dictionary<PortId, AccessSession> _sessions = [];
    private readonly Dictionary<string, BindingUpdateListEntry> _bindingUpdateList = new(StringComparer.Ordinal);
    private readonly Dictionary<long, AccessSession> _pendingPolicy = [];
    private readonly Dictionary<Ipv6Address, int> _entriesPerLma = [];
    // Targets are AccessSession, BindingUpdateListEntry or LocalizedRoute: one timer each, for their earliest deadline.
    private readonly TimerQueue<object> _timers = new();
    private readonly HeartbeatPeerTracker _heartbeat;
    private readonly List<HeartbeatSignal> _heartbeatSignals = [];
    private long _lastPolicyRequestId;

    /// <param name="options">Validated here; throws <see cref="ProtocolOptionsException"/> naming a bad setting.</param>
    /// <param name="random">Jitter and initial sequence numbers; seed it for reproducible runs.</param>
    public MobileAccessGateway(MagOptions options, IRandomSource random)
    {
        options.Validate();
        _options = options;
        _random = random;
        _heartbeat = new HeartbeatPeerTracker(options.Heartbeat, options.RestartCounter, random);
        Counters = new MagCounters(_heartbeat.Counters);
    }

    public MagOptions Options => _options;

    public MagCounters Counters { get; }

    /// <summary>When <see cref="Tick"/> must next be called, or null when no timer is armed.</summary>
    public Instant? NextDeadline => Instant.Earliest(_timers.NextDue, _heartbeat.NextDeadline);

    public int SessionCount => _sessions.Count;

    public int BindingUpdateListCount => _bindingUpdateList.Count;

    public int PendingPolicyRequests => _pendingPolicy.Count;

    /// <summary>Armed timers (sessions, BUL entries, direct routes, heartbeat peers). Never more than one per object.</summary>
    public int PendingTimers => _timers.Count + _heartbeat.PendingTimers;

    /// <summary>Timer heap entries including lazily deleted ones; stays within about twice <see cref="PendingTimers"/>.</summary>
    public int TimerHeapEntries => _timers.HeapEntries;

    public int HeartbeatPeers => _heartbeat.PeerCount;

    public IReadOnlyList<MagAction> Handle(MagEvent e, Instant now)
    {
        _actions.Clear();
        switch (e)
        {
            case MagEvent.AttachmentDetected a: OnAttachmentDetected(a, now); break;
            case MagEvent.PortDetached d: OnPortDetached(d.Port, d.Reason, now); break;
            case MagEvent.ReachabilityConfirmed r: OnReachabilityConfirmed(r, now); break;
            case MagEvent.PolicyDecided p: OnPolicyDecided(p, now); break;
            case MagEvent.MobilityMessageReceived m: OnMobilityMessage(m.Source, m.Message, now); break;
            case MagEvent.Ipv4AddressRequested r: OnIpv4AddressRequested(r, now); break;
            case MagEvent.Ipv4AddressReleased r: OnIpv4AddressReleased(r, now); break;
            case MagEvent.LocalizedRouteUsed u: OnLocalizedRouteUsed(u, now); break;
            case MagEvent.IncomingMigration m: OnIncomingMigration(m, now); break;
            case MagEvent.VmStopped v: OnVmStopped(v, now); break;
            case MagEvent.VmResumed r: OnVmResumed(r.Port, now); break;
            default: throw new ArgumentOutOfRangeException(nameof(e), e, "unknown MAG event");
        }
        return _actions;
    }

    /// <summary>Run every timer due at <paramref name="now"/>.</summary>
    public IReadOnlyList<MagAction> Tick(Instant now)
    {
        _actions.Clear();
        while (_timers.TryDequeueDue(now, out var target))
        {
            switch (target)
            {
                case AccessSession s: OnSessionTimer(s, now); break;
                case BindingUpdateListEntry b: OnBindingTimer(b, now); break;
                case LocalizedRoute r: OnLocalizedRouteTimer(r, now); break;
            }
        }
        _heartbeatSignals.Clear();
        _heartbeat.Poll(now, _heartbeatSignals);
        ApplyHeartbeatSignals(now);
        return _actions;
    }

    public bool TryGetSession(PortId port, out MagSessionView view)
    {
        if (_sessions.TryGetValue(port, out var s))
        {
            view = ToView(s);
            return true;
        }
        view = default;
        return false;
    }

    public IEnumerable<MagSessionView> Sessions => _sessions.Values.Select(ToView);

    public IEnumerable<BindingUpdateListView> BindingUpdateList => _bindingUpdateList.Values.Select(b => new BindingUpdateListView(
        b.MobileNodeIdentifier, b.LocalMobilityAnchor, b.HomeNetworkPrefixes, b.Registered, b.Transaction?.Kind,
        b.Registered ? b.BindingExpiresAt : null, b.Session?.Port, b.Ipv4));

    private static MagSessionView ToView(AccessSession s) => new(
        s.Port, s.Mac, s.State, s.Trigger, s.Profile?.MobileNodeIdentifier,
        s.Binding?.HomeNetworkPrefixes ?? [], s.Profile?.LocalMobilityAnchor,
        s.Binding is { Registered: true } b ? b.BindingExpiresAt : null, s.VmLinkLocal, s.Installed, s.Binding?.Ipv4, s.MigrationPhase);

    private void Reschedule(AccessSession s) => _timers.SetOrCancel(s, s.NextDue(_options));

    private void Reschedule(BindingUpdateListEntry b) => _timers.SetOrCancel(b, b.NextDue());

    private void OnMobilityMessage(Ipv6Address source, MobilityMessage message, Instant now)
    {
        switch (message)
        {
            case BindingAcknowledgement pba: OnBindingAcknowledgement(source, pba, now); break;
            case LocalizedRoutingInitiation lri: OnLocalizedRoutingInitiation(source, lri, now); break;
            case HandoverInitiate hi: OnStopNoticeRelayed(source, hi, now); break;
            case HandoverAcknowledge ack: OnStopNoticeAcknowledged(source, ack); break;
            case HeartbeatMessage hb:
                _heartbeatSignals.Clear();
                _heartbeat.OnMessage(source, hb, answerRequests: true, _heartbeatSignals);
                ApplyHeartbeatSignals(now);
                break;
            default: Counters.UnexpectedMessages++; break;
        }
    }
}
