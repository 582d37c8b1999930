using System.Diagnostics;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using Xunit.Abstractions;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// Scenario 7: 10 000 VMs on 3 MAGs for a virtual day: boots, shutdowns, migrations in both orders with
/// every kind of announce (and some without the source's hotplug event), background loss, duplication and
/// reordering, and link outages. Invariants are checked every 10 virtual minutes; at the end everything is
/// shut down and the domain must drain to nothing with counters that add up.
/// </summary>
public class ScenarioSoakTests(ITestOutputHelper output)
{
    private static readonly VmTriggers[] Announces =
    [
        VmTriggers.MigrationAnnounce,
        VmTriggers.HotplugOnline | VmTriggers.Rarp,
        VmTriggers.GratuitousArp,
        VmTriggers.UnsolicitedNeighborAdvertisement,
        VmTriggers.HotplugOnline,
    ];

    [Fact]
    public void Ten_thousand_vms_for_a_virtual_day() => SimulationSeed.Run(701, nameof(Ten_thousand_vms_for_a_virtual_day), seed =>
    {
        var wall = Stopwatch.StartNew();
        var healthy = new LinkProfile
        {
            Delay = TimeSpan.FromMilliseconds(5), Jitter = TimeSpan.FromMilliseconds(2),
            Loss = 0.005, Duplication = 0.005, Reordering = 0.01, ReorderDelay = TimeSpan.FromMilliseconds(20),
        };
        var d = new PmipDomain(seed, new DomainOptions
        {
            MagCount = 3, Uplink = healthy, Downlink = healthy,
            // Simulated guests send no traffic of their own, so reachability is only refreshed by NUD probes;
            // a long reachable time keeps 10 000 idle VMs from being probed every 30 s.
            ConfigureMag = o => o with { NudReachableTime = TimeSpan.FromMinutes(30) },
        });
        foreach (var mag in d.Mags) mag.KeepRecords = false;
        d.Tracker.KeepCompleted = false;
        var random = d.Sim.NewRandomStream();
        var vms = Enumerable.Range(0, 10_000).Select(_ => d.AddVm()).ToList();
        SimMag RandomMag() => d.Mags[random.NextInt(d.Mags.Count)];

        // Boot everyone over the first ten minutes.
        foreach (var vm in vms)
            d.Sim.Schedule(TimeSpan.FromSeconds(random.NextDouble() * 600), () => d.Boot(vm, RandomMag()));

        long migrations = 0, shutdowns = 0, outages = 0;
        var dayEnd = d.Sim.Now + TimeSpan.FromDays(1);
        // About 20 000 migrations a day.
        void NextMigration()
        {
            d.Sim.Schedule(TimeSpan.FromSeconds(random.NextDouble() * 8.6), () =>
            {
                if (d.Sim.Now >= dayEnd) return;
                var vm = vms[random.NextInt(vms.Count)];
                if (vm.State == VmState.Running && d.Lma.Machine.BindingCacheCount > 0)
                {
                    var to = d.Mags.Where(m => m != vm.Mag).ElementAt(random.NextInt(d.Mags.Count - 1));
                    var order = random.NextInt(2) == 0 ? MigrationOrder.NewMagRegistersFirst : MigrationOrder.OldMagDeregistersFirst;
                    d.Migrate(vm, to, order, TimeSpan.FromMilliseconds(50 + random.NextInt(450)),
                        Announces[random.NextInt(Announces.Length)], sourceHotplug: random.NextInt(10) != 0);
                    migrations++;
                }
                NextMigration();
            });
        }
        NextMigration();
        // About 2 000 shutdowns a day; each VM boots again (on any MAG) a few minutes later.
        void NextShutdown()
        {
            d.Sim.Schedule(TimeSpan.FromSeconds(random.NextDouble() * 86), () =>
            {
                if (d.Sim.Now >= dayEnd) return;
                var vm = vms[random.NextInt(vms.Count)];
                if (vm.State == VmState.Running)
                {
                    d.Shutdown(vm);
                    shutdowns++;
                    d.Sim.Schedule(TimeSpan.FromSeconds(5 + random.NextInt(600)), () => { if (vm.State == VmState.Off && d.Sim.Now < dayEnd) d.Boot(vm, RandomMag()); });
                }
                NextShutdown();
            });
        }
        NextShutdown();
        // A link fault roughly every half hour: an outage of 5–60 s, or five minutes of heavy loss.
        void NextFault()
        {
            d.Sim.Schedule(TimeSpan.FromMinutes(15 + random.NextInt(30)), () =>
            {
                if (d.Sim.Now >= dayEnd) return;
                var mag = RandomMag();
                outages++;
                bool outage = random.NextInt(2) == 0;
                var bad = outage ? LinkProfile.Down : healthy with { Loss = 0.3, Reordering = 0.2 };
                d.SetLinks(mag, bad, bad);
                d.Sim.Schedule(outage ? TimeSpan.FromSeconds(5 + random.NextInt(55)) : TimeSpan.FromMinutes(5), () => d.SetLinks(mag, healthy, healthy));
                NextFault();
            });
        }
        NextFault();

        var bound = TimeSpan.FromMinutes(2);
        int checks = 0, skipped = 0;
        while (d.Sim.Now < dayEnd)
        {
            d.Sim.RunFor(TimeSpan.FromMinutes(10));
            var violations = DomainInvariants.CheckAll(d, bound);
            if (d.Sim.Now - d.LastDisturbance < bound) skipped++; else checks++;
            Assert.True(violations.Count == 0, $"at {d.Sim.Now}:\n{string.Join("\n", violations)}");
        }

        // Drain: links healthy and lossless, every VM off; after the hold-down and NUD everything must be gone.
        var clean = LinkProfile.Ideal(TimeSpan.FromMilliseconds(5));
        foreach (var mag in d.Mags) d.SetLinks(mag, clean, clean);
        foreach (var vm in vms) d.Shutdown(vm);
        d.Sim.RunFor(TimeSpan.FromHours(1));
        Assert.True(d.Sim.RunUntil(() => d.Mags.All(m => m.Uplink.MessagesInFlight == 0 && d.Downlink(m).MessagesInFlight == 0), TimeSpan.FromMinutes(1)));
        Assert.Empty(DomainInvariants.CheckLmaForwardingMatchesCache(d));
        Assert.Empty(DomainInvariants.CheckTimerBounds(d));
        Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        Assert.True(d.Lma.Machine.BindingCacheCount == 0, "left in the binding cache: " + string.Join("; ", d.Lma.Machine.Bindings.Select(b =>
            $"{b.MobileNodeIdentifier} {b.State} at {b.ProxyCareOfAddress} until {b.ExpiresAt}")) + " | MAG sessions: " +
            string.Join("; ", d.Mags.SelectMany(m => m.Machine.Sessions.Select(s => $"{m.Name} {s.Port} {s.MobileNodeIdentifier} {s.State}"))) +
            " | BUL: " + string.Join("; ", d.Mags.SelectMany(m => m.Machine.BindingUpdateList.Select(b => $"{m.Name} {b.MobileNodeIdentifier} reg={b.Registered} tx={b.PendingTransaction}"))));
        Assert.Equal(0, d.Lma.Machine.TunnelCount);
        Assert.Equal(0, d.Lma.Machine.PendingTimers);
        Assert.All(d.Mags, m =>
        {
            Assert.Equal(0, m.Machine.SessionCount);
            Assert.Equal(0, m.Machine.BindingUpdateListCount);
            Assert.Equal(0, m.Machine.PendingTimers);
            Assert.Empty(m.Forwarding);
        });

        var lma = d.Lma.Machine.Counters;
        var handovers = d.Tracker.CompletedCount;
        output.WriteLine($"seed {seed}: {d.Sim.EventsProcessed:N0} events in {wall.Elapsed.TotalSeconds:F1} s wall; " +
            $"{migrations} migrations ({handovers} completed handovers), {shutdowns} shutdowns, {outages} link faults; " +
            $"{checks} invariant checks ({skipped} skipped in fault windows)");
        output.WriteLine($"LMA: {lma.PbusReceived} PBUs, initial {lma.InitialRegistrations}, refresh {lma.ReRegistrations}, " +
            $"handoffs {lma.Handoffs}, resumed {lma.Resumptions}, dereg {lma.Deregistrations}, late dereg {lma.LateDeregistrationsIgnored}, " +
            $"dup {lma.DuplicatePbus}, stale refresh {lma.RefreshesFromNonServingMag}, expired {lma.BindingsExpired}; statuses {lma.PbasSentByStatus}");
        foreach (var m in d.Mags)
        {
            var c = m.Machine.Counters;
            output.WriteLine($"{m.Name}: retransmitted {c.PbusRetransmitted}, failures [{c.SessionFailures}], detaches [{c.Detaches}], " +
                $"PBAs dropped unknown/stale/ts {c.PbasDroppedUnknown}/{c.PbasDroppedStaleSequence}/{c.PbasDroppedTimestampMismatch}");
        }
        Assert.True(migrations > 15_000 && handovers > 0.9 * migrations, $"{migrations} migrations, {handovers} completed");
        Assert.True(checks >= 100, $"only {checks} invariant checks ran");
        var changed = vms.Where(v => v.AddressChanges > 0).ToList();
        Assert.True(changed.Count == 0, string.Join("\n", changed.Select(v => $"{v.Name}: {string.Join("; ", v.AddressChangeLog)}")));
    });
}
