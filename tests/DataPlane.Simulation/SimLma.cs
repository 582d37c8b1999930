using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>
/// The LMA host: the <see cref="LocalMobilityAnchor"/> plus a forwarding view (routes and reference
/// counted tunnels) built only from its actions, which the invariants compare with its binding cache.
/// It can be restarted: the machine and forwarding are replaced, the restart counter goes up.
/// </summary>
public sealed partial class SimLma
{
    private readonly PmipDomain _domain;
    private readonly MachineWake _wake;
    private readonly LmaOptions _baseOptions;

    internal SimLma(PmipDomain domain, LmaOptions options, ILmaPolicy policy)
    {
        _domain = domain;
        _baseOptions = options;
        Policy = policy;
        Address = options.LocalMobilityAnchorAddress;
        Machine = new LocalMobilityAnchor(options, policy, domain.Sim.NewRandomStream());
        _wake = new MachineWake(domain.Sim, OnWake);
    }

    public Ipv6Address Address { get; }
    public ILmaPolicy Policy { get; }
    public LocalMobilityAnchor Machine { get; private set; }
    public bool IsDown { get; private set; }
    public int Restarts { get; private set; }
    public long MessagesDroppedWhileDown { get; private set; }

    public Dictionary<Ipv6Prefix, Ipv6Address> Routes { get; } = [];
    /// <summary>RFC 5844's IPv4 host routes, from Ipv4RouteAdd/Remove.</summary>
    public Dictionary<Ipv4Address, Ipv6Address> Ipv4Routes { get; } = [];
    public Dictionary<Ipv6Address, bool> Tunnels { get; } = [];
    public List<LmaAction.BindingChanged>? BindingChanges { get; set; }

    /// <summary>Every RFC 6705 pair change the LMA reported, when not null (opt-in).</summary>
    public List<(Instant At, LmaAction.LocalizedRoutingChanged Change)>? LocalizedRoutingChanges { get; set; }

    private readonly Dictionary<Ipv6Prefix, Instant> _nextObservation = [];
    private readonly Dictionary<Ipv4Address, Instant> _nextIpv4Observation = [];

    /// <summary>
    /// The data path carried a VM-to-VM packet between two MAGs: reported to the machine at most once a second per
    /// source prefix, as LmaDatapath does.
    /// </summary>
    public void ObserveTraffic(Ipv6Prefix source, Ipv6Prefix destination)
    {
        if (IsDown) return;
        var now = _domain.Sim.Now;
        if (_nextObservation.TryGetValue(source, out var next) && now < next) return;
        _nextObservation[source] = now + TimeSpan.FromSeconds(1);
        Deliver(new LmaEvent.TrafficObserved(source, destination));
    }

    /// <summary>As <see cref="ObserveTraffic"/> for IPv4 home addresses (RFC 6705 §7), once a second per source address.</summary>
    public void ObserveIpv4Traffic(Ipv4Address source, Ipv4Address destination)
    {
        if (IsDown) return;
        var now = _domain.Sim.Now;
        if (_nextIpv4Observation.TryGetValue(source, out var next) && now < next) return;
        _nextIpv4Observation[source] = now + TimeSpan.FromSeconds(1);
        Deliver(new LmaEvent.Ipv4TrafficObserved(source, destination));
    }

    /// <summary>With persistence on: where the binding writes go (batched per virtual instant, answered after its latency).</summary>
    public ISimBindingStore? Store { get; set; }

    private readonly List<LmaAction.StoreBinding> _pendingWrites = [];
    private bool _flushScheduled;

    /// <summary>Forwarding actions that contradicted the view (e.g. a route into a tunnel that is down).</summary>
    public List<string> Violations { get; } = [];

    internal Dictionary<Ipv6Address, SimLink> Downlinks { get; } = [];

    public void Deliver(LmaEvent e)
    {
        if (IsDown)
        {
            MessagesDroppedWhileDown++;
            return;
        }
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var actions = Machine.Handle(e, _domain.Sim.Now);
        MachineTime += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        Perform(actions);
    }

    /// <summary>Real (wall-clock) time spent inside the machine's Handle and Tick: its processing cost.</summary>
    public TimeSpan MachineTime { get; set; }

    /// <summary>Crash now; come back after <paramref name="downtime"/> with an empty cache and restart counter + 1.</summary>
    public void Restart(TimeSpan downtime)
    {
        IsDown = true;
        _wake.Reset();
        Routes.Clear();
        Ipv4Routes.Clear();
        Tunnels.Clear();
        _nextObservation.Clear();
        Secondaries.Clear();
        Restarts++;
        _domain.Sim.Schedule(downtime, () =>
        {
            var options = _baseOptions with { RestartCounter = _baseOptions.RestartCounter + (uint)Restarts };
            Machine = new LocalMobilityAnchor(options, Policy, _domain.Sim.NewRandomStream());
            // Its SA database comes back from what it had persisted (sequence reservations, inbound edges).
            _domain.Security?.Restart(Address);
            IsDown = false;
        });
    }

    /// <summary>
    /// The active LMA dies and, after <paramref name="downtime"/> (its lease running out), a standby with the same
    /// address takes over the store's records, answering with the shard's restart counter as
    /// <see cref="LocalMobilityAnchor.TakeOver"/> decides. Writes in flight at the crash are lost with it.
    /// </summary>
    public void FailOver(TimeSpan downtime, Func<IEnumerable<Protocol.Lma.Replication.StoredBinding>> records)
    {
        uint storedCounter = Machine.RestartCounter;
        IsDown = true;
        _wake.Reset();
        Routes.Clear();
        Tunnels.Clear();
        _pendingWrites.Clear();
        Failovers++;
        _domain.Sim.Schedule(downtime, () =>
        {
            Machine = new LocalMobilityAnchor(_baseOptions, Policy, _domain.Sim.NewRandomStream());
            IsDown = false;
            Perform(Machine.TakeOver(records(), storedCounter, _domain.Sim.Now, out _));
        });
    }

    public int Failovers { get; private set; }

    private void OnWake()
    {
        if (IsDown) return;
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var actions = Machine.Tick(_domain.Sim.Now);
        MachineTime += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        Perform(actions);
    }

    private void Perform(IReadOnlyList<LmaAction> actions)
    {
        foreach (var action in actions)
        {
            switch (action)
            {
                case LmaAction.SendMobilityMessage m:
                    if (Downlinks.TryGetValue(m.Destination, out var link)) link.Send(m.Source, m.Destination, m.Message);
                    break;
                case LmaAction.TunnelUp t:
                    if (!Tunnels.TryAdd(t.Mag, true)) Violations.Add($"{_domain.Sim.Now}: TunnelUp({t.Mag}) for a tunnel already up");
                    break;
                case LmaAction.TunnelDown t:
                    if (!Tunnels.Remove(t.Mag)) Violations.Add($"{_domain.Sim.Now}: TunnelDown({t.Mag}) for a tunnel not up");
                    if (Routes.ContainsValue(t.Mag) || Ipv4Routes.ContainsValue(t.Mag)) Violations.Add($"{_domain.Sim.Now}: TunnelDown({t.Mag}) while routes still use it");
                    break;
                case LmaAction.RouteAdd r:
                    if (!Tunnels.ContainsKey(r.Mag)) Violations.Add($"{_domain.Sim.Now}: RouteAdd({r.Prefix} → {r.Mag}) without a tunnel");
                    Routes[r.Prefix] = r.Mag;
                    Secondaries.Remove(r.Prefix); // as the data path: a new route starts without a second MAG
                    _domain.Tracker.OnRouteAdded(r.Prefix, r.Mag);
                    break;
                case LmaAction.RouteRemove r:
                    Routes.Remove(r.Prefix);
                    Secondaries.Remove(r.Prefix);
                    break;
                case LmaAction.RouteSecondary s:
                    OnRouteSecondary(s);
                    break;
                case LmaAction.Ipv4RouteAdd r:
                    if (!Tunnels.ContainsKey(r.Mag)) Violations.Add($"{_domain.Sim.Now}: Ipv4RouteAdd({r.HomeAddress} → {r.Mag}) without a tunnel");
                    Ipv4Routes[r.HomeAddress] = r.Mag;
                    _domain.Tracker.OnIpv4RouteAdded(r.HomeAddress, r.Mag);
                    break;
                case LmaAction.Ipv4RouteRemove r:
                    if (!Ipv4Routes.Remove(r.HomeAddress)) Violations.Add($"{_domain.Sim.Now}: Ipv4RouteRemove({r.HomeAddress}) for no route");
                    break;
                case LmaAction.BindingChanged b:
                    BindingChanges?.Add(b);
                    break;
                case LmaAction.RequestProfile r:
                    _domain.RequestLmaProfile(r);
                    break;
                case LmaAction.LocalizedRoutingChanged c:
                    LocalizedRoutingChanges?.Add((_domain.Sim.Now, c));
                    break;
                case LmaAction.StoreBinding w:
                    if (Store is null) Violations.Add($"{_domain.Sim.Now}: StoreBinding without a store");
                    else QueueWrite(w);
                    break;
                case LmaAction.StoreWriteFailed f:
                    Violations.Add($"{_domain.Sim.Now}: store write of {f.Key} failed: {f.Failure}");
                    break;
            }
        }
        _wake.Arm(Machine.NextDeadline);
    }

    private void QueueWrite(LmaAction.StoreBinding w)
    {
        _pendingWrites.Add(w);
        if (_flushScheduled) return;
        _flushScheduled = true;
        var machine = Machine;
        _domain.Sim.Schedule(Store!.CommitLatency, () =>
        {
            _flushScheduled = false;
            var batch = _pendingWrites.ToArray();
            _pendingWrites.Clear();
            var answers = Store.Commit(batch);
            if (IsDown || Machine != machine) return; // a restarted machine never hears of its predecessor's writes
            StoreBatches++;
            foreach (var a in answers) Deliver(a);
        });
    }

    /// <summary>Batches of writes handed to the store.</summary>
    public long StoreBatches { get; private set; }
}
