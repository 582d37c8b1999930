using DataPlane.Protocol;
using DataPlane.Protocol.Mag;

namespace DataPlane.Simulation;

/// <summary>How a live migration (<see cref="PmipDomain.LiveMigrate"/>) ends.</summary>
public enum LiveMigrationOutcome
{
    /// <summary>The VM resumes at the destination; the source QEMU quits afterwards.</summary>
    Completed,
    /// <summary>Cancelled during the pre-copy: the destination QEMU goes, the VM never stopped.</summary>
    CancelledBeforeStop,
    /// <summary>Failed after the stop (the last copy did not make it): the destination goes, the VM runs again at the source.</summary>
    FailedAfterStop,
    /// <summary>The incoming QEMU waits forever: the destination's port stays, the VM keeps running at the source.</summary>
    NeverArrives,
}

/// <summary>What a live migration did, as the domain saw it (times on the simulation clock).</summary>
public sealed class LiveMigration(SimVm vm, SimMag from, SimMag to, PortId sourcePort, PortId destinationPort)
{
    public SimVm Vm { get; } = vm;
    public SimMag From { get; } = from;
    public SimMag To { get; } = to;
    public PortId SourcePort { get; } = sourcePort;
    public PortId DestinationPort { get; } = destinationPort;
    public Instant? StoppedAt { get; internal set; }
    public Instant? ResumedAt { get; internal set; }
    /// <summary>Whether the source MAG took the hypervisor's stop (it had a registered session).</summary>
    public bool StopTaken { get; internal set; }
}

// Live migration as QEMU does it, with the hooks the switch is told by: the destination's port plugged in (incoming)
// at the start, the pre-copy while the VM runs, the source's STOP (its listener tells the source MAG after
// stopHookDelay), the stop-and-copy pause, the RARP at the destination as the VM resumes there, the source QEMU
// quitting afterwards. And a numbered downlink stream to watch what the VM receives.
public sealed partial class PmipDomain
{
    /// <summary>A numbered downlink stream from the home network to <paramref name="vm"/>, every <paramref name="interval"/>.</summary>
    public SimDownlink StartDownlink(SimVm vm, TimeSpan interval)
    {
        var stream = new SimDownlink(this, vm, interval);
        stream.Start();
        return stream;
    }

    public LiveMigration LiveMigrate(SimVm vm, SimMag to, TimeSpan precopy, TimeSpan pause,
        LiveMigrationOutcome outcome = LiveMigrationOutcome.Completed, TimeSpan? stopHookDelay = null, bool sourceHook = true,
        TimeSpan? sourceQuitDelay = null, TimeSpan? arrivalDelay = null)
    {
        if (vm.State != VmState.Running || vm.Mag is not { } from) throw new InvalidOperationException($"{vm.Name} is not running");
        if (from == to) throw new ArgumentException("migrating to the same MAG", nameof(to));
        var sourcePort = vm.Port;
        var destinationPort = to.Plug(vm);
        var m = new LiveMigration(vm, from, to, sourcePort, destinationPort);
        var access = Options.AccessDelay;
        // The destination QEMU starts with -incoming: its ifup script plugs the port in, with the VM's MAC.
        Sim.Schedule(access, () => to.Deliver(new MagEvent.IncomingMigration(destinationPort, vm.Mac)));
        if (outcome == LiveMigrationOutcome.CancelledBeforeStop)
        {
            Sim.Schedule(precopy, () => RemoveDestination(to, destinationPort));
            return m;
        }
        if (outcome == LiveMigrationOutcome.NeverArrives) return m;
        Sim.Schedule(precopy, () =>
        {
            if (vm.State != VmState.Running || vm.Mag != from) return;
            vm.State = VmState.Paused;
            m.StoppedAt = Sim.Now;
            if (sourceHook) Sim.Schedule(stopHookDelay ?? TimeSpan.FromMilliseconds(1), () => m.StopTaken = from.PortStopped(sourcePort));
            Sim.Schedule(pause, () =>
            {
                if (outcome == LiveMigrationOutcome.FailedAfterStop)
                {
                    RemoveDestination(to, destinationPort);
                    vm.State = VmState.Running;
                    if (sourceHook) from.PortResumed(sourcePort);
                    return;
                }
                // QEMU's RARP goes out as the VM resumes at the destination.
                from.Unplug(sourcePort);
                vm.Mag = to;
                vm.Port = destinationPort;
                vm.State = VmState.Running;
                vm.AttachedSince = Sim.Now;
                m.ResumedAt = Sim.Now;
                // arrivalDelay longer than sourceQuitDelay: the source lets go before the destination sees the VM (the
                // testbed's order, where the source port goes before the VM's link moves), and the LMA promotes the
                // pre-registered destination before its activation.
                Sim.Schedule(arrivalDelay ?? access, () =>
                {
                    to.NoteArrival(destinationPort);
                    to.Deliver(new MagEvent.AttachmentDetected(destinationPort, AttachTrigger.Rarp, vm.Mac));
                });
                // The source QEMU quits once the migration completed: its port goes.
                Sim.Schedule(sourceQuitDelay ?? TimeSpan.FromMilliseconds(30),
                    () => from.Deliver(new MagEvent.PortDetached(sourcePort, DetachReason.HotplugOffline)));
            });
        });
        return m;
    }

    private void RemoveDestination(SimMag to, PortId port)
    {
        to.Unplug(port);
        Sim.Schedule(Options.AccessDelay, () => to.Deliver(new MagEvent.PortDetached(port, DetachReason.PortRemoved)));
    }
}
