using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>
/// A MAG host: the <see cref="MobileAccessGateway"/> plus a stand-in for the data path that turns its
/// actions into link messages, policy requests, RAs and NS probes to the VMs on its ports, and keeps a
/// forwarding table view. Its clock may be offset from the simulation's (for timestamp tests).
/// </summary>
public sealed partial class SimMag
{
    private readonly PmipDomain _domain;
    private readonly MachineWake _wake;
    private readonly Dictionary<PortId, SimVm> _ports = [];
    private int _nextPort = 1;

    internal SimMag(PmipDomain domain, int index, Ipv6Address address, MagOptions options, TimeSpan clockOffset)
    {
        _domain = domain;
        Index = index;
        Address = address;
        ClockOffset = clockOffset;
        Machine = new MobileAccessGateway(options, domain.Sim.NewRandomStream());
        _wake = new MachineWake(domain.Sim, OnWake);
    }

    public int Index { get; }
    public string Name => $"mag{Index + 1}";
    public Ipv6Address Address { get; }
    public MobileAccessGateway Machine { get; }

    /// <summary>This host's clock minus the simulation's.</summary>
    public TimeSpan ClockOffset { get; }

    public Instant LocalNow => _domain.Sim.Now + ClockOffset;

    public SimLink Uplink { get; internal set; } = null!;

    /// <summary>Forwarding installed by the machine, per port.</summary>
    public Dictionary<PortId, MagAction.InstallSession> Forwarding { get; } = [];

    /// <summary>RFC 6705 direct routes installed by the machine, by route id (a RemoveSession takes its port's along, as the data path does).</summary>
    public Dictionary<long, MagAction.InstallLocalizedRoute> DirectRoutes { get; } = [];

    private readonly Dictionary<long, Instant> _nextRouteUseReport = [];

    /// <summary>The data path's report that a direct route carried a packet, at most once a second per route (as MagDatapath does).</summary>
    public void ReportRouteUse(long routeId)
    {
        var now = _domain.Sim.Now;
        if (_nextRouteUseReport.TryGetValue(routeId, out var next) && now < next) return;
        _nextRouteUseReport[routeId] = now + TimeSpan.FromSeconds(1);
        Deliver(new MagEvent.LocalizedRouteUsed(routeId));
    }

    public List<MagAction.HandoverCompleted> Handovers { get; } = [];
    public List<MagAction.SessionFailed> Failures { get; } = [];
    /// <summary>Heartbeat notifications (PeerUnreachable/Reachable/Restarted).</summary>
    public List<(Instant At, MagAction Action)> PeerEvents { get; } = [];
    /// <summary>Every PBA that reached this host, when not null (opt-in).</summary>
    public List<(Instant At, BindingAcknowledgement Pba)>? ReceivedAcknowledgements { get; set; }
    /// <summary>Keep handover and failure records (off in long soaks to bound memory).</summary>
    public bool KeepRecords { get; set; } = true;
    public long HandoversCompleted { get; private set; }

    public int PortCount => _ports.Count;

    public SimVm? VmOn(PortId port) => _ports.GetValueOrDefault(port);

    internal PortId Plug(SimVm vm)
    {
        var port = new PortId(_nextPort++);
        _ports.Add(port, vm);
        return port;
    }

    internal void Unplug(PortId port) => _ports.Remove(port);

    public void Deliver(MagEvent e)
    {
        if (e is MagEvent.AttachmentDetected a && _ports.TryGetValue(a.Port, out var vm)) _domain.Tracker.OnAttachSeen(vm, this);
        if (e is MagEvent.MobilityMessageReceived { Message: BindingAcknowledgement pba }) ReceivedAcknowledgements?.Add((_domain.Sim.Now, pba));
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var actions = Machine.Handle(e, LocalNow);
        MachineTime += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        Perform(actions);
    }

    private void OnWake()
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var actions = Machine.Tick(LocalNow);
        MachineTime += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        Perform(actions);
    }

    /// <summary>Real (wall-clock) time spent inside the machine's Handle and Tick: its processing cost.</summary>
    public TimeSpan MachineTime { get; set; }

    /// <summary>Forwarding actions that contradicted the view (a direct route without a session, removing one it does not have).</summary>
    public List<string> Violations { get; } = [];

    private void RemoveDirectRoute(long id)
    {
        DirectRoutes.Remove(id);
        _nextRouteUseReport.Remove(id);
    }

    private void Perform(IReadOnlyList<MagAction> actions)
    {
        var sim = _domain.Sim;
        foreach (var action in actions)
        {
            switch (action)
            {
                case MagAction.SendMobilityMessage m:
                    Uplink.Send(m.Source, m.Destination, m.Message);
                    break;
                case MagAction.RequestPolicy r:
                    _domain.RequestPolicy(this, r);
                    break;
                case MagAction.InstallSession i:
                    Forwarding[i.Port] = i;
                    PortData(i.Port).Mode = SimPortData.DeliveryMode.Forwarding;
                    // The data path's DHCP server hands the installed IPv4 address to the VM (the guest's view of it).
                    if (i.Ipv4 is { } v4)
                    {
                        sim.Schedule(_domain.Options.AccessDelay, () =>
                        {
                            if (!_ports.TryGetValue(i.Port, out var vm) || vm.State != VmState.Running || vm.Mac != i.Mac) return;
                            vm.OnIpv4Address(this, v4, sim.Now);
                            if (_domain.Lma.Ipv4Routes.TryGetValue(v4.HomeAddress, out var via) && via == Address) _domain.Tracker.OnIpv4RouteAlreadyInPlace(vm, sim.Now);
                            _domain.Tracker.OnIpv4Served(vm, this);
                        });
                    }
                    break;
                case MagAction.RemoveSession r:
                    Forwarding.Remove(r.Port);
                    foreach (var id in DirectRoutes.Where(kv => kv.Value.Port == r.Port).Select(kv => kv.Key).ToArray()) RemoveDirectRoute(id);
                    if (_portData.Remove(r.Port, out var gone)) DiscardBuffered(gone.Buffer.Select(e => e.Packet));
                    break;
                case MagAction.InstallLocalizedRoute i:
                    if (!Forwarding.ContainsKey(i.Port)) Violations.Add($"{sim.Now}: {Name} installs direct route {i.RouteId} on {i.Port} without a session");
                    DirectRoutes[i.RouteId] = i;
                    break;
                case MagAction.RemoveLocalizedRoute r:
                    if (!DirectRoutes.ContainsKey(r.RouteId)) Violations.Add($"{sim.Now}: {Name} removes direct route {r.RouteId} it does not have");
                    RemoveDirectRoute(r.RouteId);
                    break;
                case MagAction.InstallPreRegistration p:
                    InstallPreRegistration(p);
                    break;
                case MagAction.ApplyDeliveryMarker m:
                    if (_portData.TryGetValue(m.Port, out var data)) data.ApplyMarker(m.Marker);
                    break;
                case MagAction.ReleaseBuffer r:
                    Release(r);
                    break;
                case MagAction.SendRouterAdvertisement ra:
                    sim.Schedule(_domain.Options.AccessDelay, () =>
                    {
                        if (_ports.TryGetValue(ra.Port, out var vm) && vm.State == VmState.Running && vm.Mac == ra.VmMac)
                        {
                            vm.OnRouterAdvertisement(this, ra, sim.Now);
                            _domain.Tracker.OnRouterAdvertisement(vm, this);
                        }
                    });
                    break;
                case MagAction.SendNeighborSolicitation ns:
                    sim.Schedule(_domain.Options.AccessDelay, () =>
                    {
                        if (!_ports.TryGetValue(ns.Port, out var vm) || vm.State != VmState.Running || ns.Target != vm.LinkLocal || !vm.HasIpv6) return;
                        vm.NudProbesAnswered++;
                        sim.Schedule(_domain.Options.AccessDelay, () => Deliver(new MagEvent.ReachabilityConfirmed(ns.Port, vm.LinkLocal)));
                    });
                    break;
                case MagAction.SendArpProbe arp:
                    sim.Schedule(_domain.Options.AccessDelay, () =>
                    {
                        if (!_ports.TryGetValue(arp.Port, out var vm) || vm.State != VmState.Running || vm.Ipv4Address != arp.Target) return;
                        vm.NudProbesAnswered++;
                        sim.Schedule(_domain.Options.AccessDelay, () => Deliver(new MagEvent.ReachabilityConfirmed(arp.Port)));
                    });
                    break;
                case MagAction.SessionFailed f:
                    if (KeepRecords) Failures.Add(f);
                    break;
                case MagAction.HandoverCompleted h:
                    HandoversCompleted++;
                    if (KeepRecords) Handovers.Add(h);
                    break;
                default:
                    PeerEvents.Add((sim.Now, action));
                    break;
            }
        }
        _wake.Arm(Machine.NextDeadline is { } d ? d - ClockOffset : null);
    }
}
