using System.Diagnostics;
using DataPlane.Protocol.Mag;
using DataPlane.Protocol.Security;
using DataPlane.Simulation;
using Xunit.Abstractions;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// Issue 17 in the simulation: whole domains with every Mobility Header in ESP (manual keys): behaviour as without
/// keys under loss, duplication and reordering; an LMA restart; a replayed PBU; and the churn soak (bounded state).
/// </summary>
public class ScenarioSignallingSecurityTests(ITestOutputHelper output)
{
    private static readonly LinkProfile Lossy = new()
    {
        Delay = TimeSpan.FromMilliseconds(5), Jitter = TimeSpan.FromMilliseconds(2),
        Loss = 0.05, Duplication = 0.05, Reordering = 0.05, ReorderDelay = TimeSpan.FromMilliseconds(20),
    };

    [Fact]
    public void Vms_enter_and_migrate_over_lossy_links_and_only_duplicates_die_in_the_replay_window() =>
        SimulationSeed.Run(1701, nameof(Vms_enter_and_migrate_over_lossy_links_and_only_duplicates_die_in_the_replay_window), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { MagCount = 3, Uplink = Lossy, Downlink = Lossy, SignallingKeys = true });
            var vms = Enumerable.Range(0, 50).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 3]);
            d.Sim.RunFor(TimeSpan.FromSeconds(20));
            var random = d.Sim.NewRandomStream();
            for (int round = 0; round < 5; round++)
            {
                foreach (var vm in vms.Where(v => v.State == VmState.Running))
                    d.Migrate(vm, d.Mags[(vm.Mag!.Index + 1 + random.NextInt(2)) % 3], random.NextInt(2) == 0 ? MigrationOrder.NewMagRegistersFirst : MigrationOrder.OldMagDeregistersFirst,
                        TimeSpan.FromMilliseconds(100));
                d.Sim.RunFor(TimeSpan.FromSeconds(30));
                Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(20)));
            }
            var drops = d.Security!.Drops;
            long duplicated = d.Mags.Sum(m => Enum.GetValues<Wire.MobilityHeaderType>().Sum(t => m.Uplink.Counters.Duplicated(t) + d.Downlink(m).Counters.Duplicated(t)));
            output.WriteLine($"duplicated {duplicated}, security drops: {drops}");
            Assert.True(duplicated > 0);
            Assert.Equal(drops.Total, drops[SecurityDropReason.Replay]); // nothing else is ever refused
            Assert.InRange(drops[SecurityDropReason.Replay], 1, duplicated);
            Assert.All(vms, v => Assert.Equal(0, v.AddressChanges));
        });

    [Fact]
    public void After_an_lma_restart_both_ends_continue_from_their_persisted_sequence_state() =>
        SimulationSeed.Run(1702, nameof(After_an_lma_restart_both_ends_continue_from_their_persisted_sequence_state), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { MagCount = 2, SignallingKeys = true });
            var vms = Enumerable.Range(0, 20).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 2]);
            d.Sim.RunFor(TimeSpan.FromSeconds(12));
            var lmaOut = d.Security!.Of(PmipDomain.LmaAddress).OutboundFor(d.Mags[0].Address)!.NextSequence;
            d.RestartLma(TimeSpan.FromSeconds(1));
            d.Sim.RunFor(TimeSpan.FromSeconds(15));
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(5)));
            Assert.Equal(20, d.Lma.Machine.BindingCacheCount);
            Assert.Equal(0, d.Security.Drops.Total);
            // The restarted LMA jumped past the reservation it had persisted, so the MAGs took it for no replayer.
            Assert.True(d.Security.Of(PmipDomain.LmaAddress).OutboundFor(d.Mags[0].Address)!.NextSequence > lmaOut + SignallingSecurityOptions.SequenceReservationBlock - 1);
        });

    [Fact]
    public void A_recorded_pbu_replayed_later_is_dropped_and_the_binding_stays() =>
        SimulationSeed.Run(1703, nameof(A_recorded_pbu_replayed_later_is_dropped_and_the_binding_stays), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { MagCount = 2, SignallingKeys = true });
            d.Mags[0].Uplink.EspTrace = [];
            var vm = d.AddVm();
            d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var recorded = d.Mags[0].Uplink.EspTrace!.First(); // the VM's entry PBU from MAG1
            d.Migrate(vm, d.Mags[1], MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(100));
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.Equal(d.Mags[1].Address, d.Lma.Routes[vm.Prefix!.Value]);
            long pbus = d.Lma.Machine.Counters.PbusReceived;
            d.Mags[0].Uplink.InjectEsp(recorded.Source, recorded.Destination, recorded.Esp);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            Assert.Equal(1, d.Security!.Drops[SecurityDropReason.Replay]);
            Assert.Equal(pbus, d.Lma.Machine.Counters.PbusReceived);
            Assert.Equal(d.Mags[1].Address, d.Lma.Routes[vm.Prefix!.Value]);
        });

    /// <summary>
    /// The churn soak: VMs (5,000 here; `make soak` runs 100,000 through DATAPLANE_SOAK_VMS) boot on one of three
    /// MAGs, live a few seconds to a minute, and are shut down, with at most ~500 running at once. Every VM is new
    /// (its own MAC, MN-ID and prefix). At each tenth, the machines' state and the SA databases must be no larger
    /// than the VMs running explain; at the end, once every VM is off, nothing may be left.
    /// </summary>
    [Fact]
    public void Churn_soak_leaves_the_machines_state_flat() => SimulationSeed.Run(1704, nameof(Churn_soak_leaves_the_machines_state_flat), seed =>
    {
        int total = int.TryParse(Environment.GetEnvironmentVariable("DATAPLANE_SOAK_VMS"), out var n) && n > 0 ? n : 5_000;
        var wall = Stopwatch.StartNew();
        var d = new PmipDomain(seed, new DomainOptions
        {
            MagCount = 3, SignallingKeys = true,
            Uplink = LinkProfile.Ideal(TimeSpan.FromMilliseconds(2)), Downlink = LinkProfile.Ideal(TimeSpan.FromMilliseconds(2)),
            ConfigureMag = o => o with { NudReachableTime = TimeSpan.FromMinutes(30) },
            ConfigureLma = o => o with { MinDelayBeforeBceDelete = TimeSpan.FromSeconds(10) },
        });
        foreach (var mag in d.Mags) mag.KeepRecords = false;
        d.Tracker.KeepCompleted = false;
        var random = d.Sim.NewRandomStream();
        // 500 running on average: one arrival every (mean lifetime / 500).
        var meanLife = TimeSpan.FromSeconds(30);
        var gap = meanLife / 500;
        int started = 0;
        void Next()
        {
            if (started == total) return;
            var vm = d.AddVm();
            started++;
            d.Boot(vm, d.Mags[random.NextInt(3)]);
            d.Sim.Schedule(TimeSpan.FromSeconds(1 + random.NextDouble() * 2 * (meanLife.TotalSeconds - 1)), () =>
            {
                d.Shutdown(vm);
                d.Sim.Schedule(TimeSpan.FromSeconds(5), () => d.Forget(vm));
            });
            d.Sim.Schedule(gap, Next);
        }
        Next();
        output.WriteLine("VMs started | running | BCEs | MAG sessions | BUL | timers (heap) MAG / LMA | SA state records | managed heap MB");
        int maxBce = 0, maxSessions = 0, maxTimerHeap = 0;
        for (int tenth = 1; tenth <= 10; tenth++)
        {
            d.Sim.RunUntil(() => started >= total * tenth / 10, TimeSpan.FromDays(1));
            int running = d.Vms.Count(v => v.State == VmState.Running);
            Assert.InRange(d.Vms.Count, 0, 3 * 500); // the harness forgets VMs that left, so the heap column is the machines'
            int bce = d.Lma.Machine.BindingCacheCount, sessions = d.Mags.Sum(m => m.Machine.SessionCount), bul = d.Mags.Sum(m => m.Machine.BindingUpdateListCount);
            int magHeap = d.Mags.Sum(m => m.Machine.TimerHeapEntries), lmaHeap = d.Lma.Machine.TimerHeapEntries;
            int stateRecords = d.Mags.Sum(m => d.Security!.Of(m.Address).ExportState().Count) + d.Security!.Of(PmipDomain.LmaAddress).ExportState().Count;
            output.WriteLine($"{started} | {running} | {bce} | {sessions} | {bul} | {magHeap} / {lmaHeap} | {stateRecords} | {GC.GetTotalMemory(true) / 1e6:F0}");
            if (tenth > 1)
            {
                maxBce = Math.Max(maxBce, bce);
                maxSessions = Math.Max(maxSessions, sessions);
                maxTimerHeap = Math.Max(maxTimerHeap, magHeap + lmaHeap);
            }
            // State follows the VMs running (and those in the LMA's 10 s hold-down), not the VMs ever seen.
            Assert.InRange(bce, 0, 3 * 500 + 1000);
            Assert.InRange(sessions, 0, 3 * 500);
            Assert.InRange(magHeap + lmaHeap, 0, 20 * 500 + 2000);
            Assert.Equal(3 * 2 + 3 * 2, stateRecords); // one outbound and one inbound record per SA, for ever
        }
        d.Sim.RunFor(meanLife * 3);
        d.Sim.RunFor(TimeSpan.FromMinutes(1));
        Assert.Equal(0, d.Lma.Machine.BindingCacheCount);
        Assert.All(d.Mags, m => Assert.Equal((0, 0), (m.Machine.SessionCount, m.Machine.BindingUpdateListCount)));
        Assert.Equal(0, d.Security!.Drops.Total);
        Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        output.WriteLine($"{total} VMs churned in {d.Sim.Elapsed} virtual, {wall.Elapsed.TotalSeconds:F1} s wall, {d.Sim.EventsProcessed} events; peak after warm-up: BCEs {maxBce}, sessions {maxSessions}, timer heap {maxTimerHeap}");
    });
}
