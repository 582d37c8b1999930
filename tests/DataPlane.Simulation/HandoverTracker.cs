using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Simulation;

public enum MigrationOrder
{
    /// <summary>The source host detaches the VM (de-registration) before the destination sees it.</summary>
    OldMagDeregistersFirst,
    /// <summary>The destination registers the VM before the source detaches it (the seed's race).</summary>
    NewMagRegistersFirst,
}

/// <summary>
/// One migration as measured from outside the machines: attach seen at the new MAG → the VM has an RA
/// from the new MAG and the LMA routes the VM's prefix to the new MAG; for a VM with an IPv4 address, also the
/// new MAG serving that address (its DHCP server has it) and the LMA's IPv4 host route pointing there.
/// </summary>
public sealed class HandoverRecord(SimVm vm, SimMag from, SimMag to, MigrationOrder order, Instant startedAt)
{
    public SimVm Vm { get; } = vm;
    public SimMag From { get; } = from;
    public SimMag To { get; } = to;
    public MigrationOrder Order { get; } = order;
    public Instant StartedAt { get; } = startedAt;
    public Ipv6Prefix? PrefixBefore { get; init; }
    public Instant? AttachSeenAt { get; internal set; }
    public Instant? RouterAdvertisementAt { get; internal set; }
    public Instant? RouteAt { get; internal set; }
    /// <summary>The VM had an IPv4 address when the migration began: it must be served again.</summary>
    public Ipv4Address? Ipv4Before { get; init; }
    public Instant? Ipv4ServedAt { get; internal set; }
    public Instant? Ipv4RouteAt { get; internal set; }

    public bool IsComplete => AttachSeenAt is not null
        && (!Vm.HasIpv6 || (RouterAdvertisementAt is not null && RouteAt is not null))
        && (Ipv4Before is null || (Ipv4ServedAt is not null && Ipv4RouteAt is not null));

    /// <summary>Attach seen → everything the VM needs at the new MAG: RA and prefix route, IPv4 address and host route.</summary>
    public TimeSpan? Latency => IsComplete
        ? Latest(RouterAdvertisementAt, RouteAt, Ipv4ServedAt, Ipv4RouteAt) - AttachSeenAt!.Value
        : null;

    private static Instant Latest(params Instant?[] times) => times.Where(t => t is not null).Select(t => t!.Value).Aggregate(Instant.Max);
}

/// <summary>Collects <see cref="HandoverRecord"/>s from the hosts' observations.</summary>
public sealed class HandoverTracker(Simulation sim)
{
    private readonly Dictionary<SimVm, HandoverRecord> _pending = [];
    private readonly Dictionary<Ipv6Prefix, SimVm> _vmByPrefix = [];
    private readonly Dictionary<Ipv4Address, SimVm> _vmByIpv4 = [];

    /// <summary>Completed records, when <see cref="KeepCompleted"/>.</summary>
    public List<HandoverRecord> Completed { get; } = [];
    public bool KeepCompleted { get; set; } = true;
    public long CompletedCount { get; private set; }
    public int PendingCount => _pending.Count;

    public HandoverRecord? PendingFor(SimVm vm) => _pending.GetValueOrDefault(vm);

    internal void Begin(HandoverRecord record) => _pending[record.Vm] = record;

    internal void Abandon(SimVm vm) => _pending.Remove(vm);

    /// <summary>The VM left the harness (<see cref="PmipDomain.Forget"/>): drop what points at it.</summary>
    internal void Forget(SimVm vm)
    {
        _pending.Remove(vm);
        if (vm.Prefix is { } p && _vmByPrefix.TryGetValue(p, out var holder) && holder == vm) _vmByPrefix.Remove(p);
    }

    internal void OnAttachSeen(SimVm vm, SimMag mag)
    {
        if (_pending.TryGetValue(vm, out var r) && r.To == mag && vm.Mag == mag) r.AttachSeenAt ??= sim.Now;
    }

    internal void OnRouterAdvertisement(SimVm vm, SimMag mag)
    {
        if (vm.Prefix is { } p) _vmByPrefix[p] = vm;
        if (!_pending.TryGetValue(vm, out var r) || r.To != mag || r.AttachSeenAt is null) return;
        r.RouterAdvertisementAt ??= sim.Now;
        TryComplete(r);
    }

    internal void OnRouteAdded(Ipv6Prefix prefix, Ipv6Address mag)
    {
        if (!_vmByPrefix.TryGetValue(prefix, out var vm) || !_pending.TryGetValue(vm, out var r)) return;
        if (r.To.Address != mag || r.AttachSeenAt is null) return;
        r.RouteAt ??= sim.Now;
        TryComplete(r);
    }

    internal void OnIpv4Served(SimVm vm, SimMag mag)
    {
        if (vm.Ipv4Address is { } a) _vmByIpv4[a] = vm;
        if (!_pending.TryGetValue(vm, out var r) || r.To != mag || r.AttachSeenAt is null) return;
        r.Ipv4ServedAt ??= sim.Now;
        TryComplete(r);
    }

    internal void OnIpv4RouteAdded(Ipv4Address address, Ipv6Address mag)
    {
        if (!_vmByIpv4.TryGetValue(address, out var vm) || !_pending.TryGetValue(vm, out var r)) return;
        if (r.To.Address != mag || r.AttachSeenAt is null) return;
        r.Ipv4RouteAt ??= sim.Now;
        TryComplete(r);
    }

    /// <summary>The route may already point at the new MAG when the RA arrives (it was installed first).</summary>
    internal void OnRouteAlreadyInPlace(SimVm vm, Instant since)
    {
        if (_pending.TryGetValue(vm, out var r)) r.RouteAt ??= since;
    }

    internal void OnIpv4RouteAlreadyInPlace(SimVm vm, Instant since)
    {
        if (_pending.TryGetValue(vm, out var r)) r.Ipv4RouteAt ??= since;
    }

    private void TryComplete(HandoverRecord r)
    {
        if (!r.IsComplete) return;
        _pending.Remove(r.Vm);
        CompletedCount++;
        if (KeepCompleted) Completed.Add(r);
    }
}
