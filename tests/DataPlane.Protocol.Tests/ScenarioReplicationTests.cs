using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;

namespace DataPlane.Protocol.Tests;

/// <summary>Scenario: the LMA's binding cache replicated to a store; a migration storm; the active fails over to a standby.</summary>
public class ScenarioReplicationTests
{
    private static PmipDomain Domain(long seed, BindingPersistence mode, out InMemoryBindingStore store)
    {
        var d = new PmipDomain(seed, new DomainOptions { MagCount = 2, ConfigureLma = o => o with { Persistence = mode, RestartCounter = 7 } });
        store = new InMemoryBindingStore(TimeSpan.FromMilliseconds(2));
        d.Lma.Store = store;
        return d;
    }

    /// <summary>The store holds exactly the machine's cache: same entries, same state, same MAG.</summary>
    private static void AssertStoreMatchesCache(PmipDomain d, InMemoryBindingStore store)
    {
        var cache = d.Lma.Machine.Bindings.ToDictionary(b => b.HomeNetworkPrefixes[0], b => (b.MobileNodeIdentifier, b.State, b.ProxyCareOfAddress));
        var stored = store.Records.ToDictionary(r => r.Record.HomeNetworkPrefixes[0], r => (r.Record.MobileNodeIdentifier, r.Record.State, r.Record.ProxyCareOfAddress));
        Assert.Equal(cache.OrderBy(kv => kv.Key.ToString()), stored.OrderBy(kv => kv.Key.ToString()));
    }

    [Fact]
    public void A_migration_storm_writes_each_change_once_and_leaves_the_store_equal_to_the_cache() =>
        SimulationSeed.Run(1901, nameof(A_migration_storm_writes_each_change_once_and_leaves_the_store_equal_to_the_cache), seed =>
        {
            var d = Domain(seed, BindingPersistence.AcknowledgeAfterCommit, out var store);
            var vms = Enumerable.Range(0, 500).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            Assert.All(vms, v => Assert.NotNull(v.Prefix));
            long afterBoot = store.Writes;
            Assert.Equal(500, afterBoot);

            // All 500 at once, the new MAG first (HI 3), the old one de-registering 50 ms later.
            foreach (var vm in vms) d.Migrate(vm, d.Mags[1], MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(100));
            d.Sim.RunFor(TimeSpan.FromSeconds(15));
            Assert.All(vms, v => Assert.Equal(d.Mags[1], v.Mag));
            Assert.Empty(d.Lma.Violations);
            Assert.Equal(0, store.Conflicts);
            // One write per handoff; the old MAG's late de-registrations change nothing and write nothing.
            Assert.Equal(500, store.Writes - afterBoot);
            Assert.Equal(500, d.Lma.Machine.Counters.LateDeregistrationsIgnored);
            AssertStoreMatchesCache(d, store);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        });

    [Fact]
    public void A_standby_taking_over_the_store_keeps_every_binding_and_no_mag_re_registers() =>
        SimulationSeed.Run(1902, nameof(A_standby_taking_over_the_store_keeps_every_binding_and_no_mag_re_registers), seed =>
        {
            var d = Domain(seed, BindingPersistence.AcknowledgeAfterCommit, out var store);
            var vms = Enumerable.Range(0, 40).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 2]);
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            var routes = new Dictionary<Wire.Ipv6Prefix, Wire.Ipv6Address>(d.Lma.Routes);
            long pbus = d.Mags.Sum(m => m.Machine.Counters.PbusSent.Total);

            d.Lma.FailOver(TimeSpan.FromSeconds(1.5), () => store.Records);
            d.Sim.RunFor(TimeSpan.FromSeconds(20));
            Assert.Equal(routes, d.Lma.Routes);
            Assert.Equal(40, d.Lma.Machine.BindingCacheCount);
            Assert.All(d.Mags, m => Assert.DoesNotContain(m.PeerEvents, e => e.Action is MagAction.PeerRestarted));
            Assert.Equal(0, d.Mags.Sum(m => m.Machine.Counters.ReregistrationsAfterLmaRestart));
            // Heartbeats and nothing else: no MAG sent a PBU because of the failover.
            Assert.Equal(pbus, d.Mags.Sum(m => m.Machine.Counters.PbusSent.Total));
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));

            // And the new active carries on: a migration after the takeover is written against the stored revision.
            var moved = vms[0];
            d.Migrate(moved, d.Mags[1 - moved.Index % 2], MigrationOrder.OldMagDeregistersFirst, TimeSpan.FromMilliseconds(100));
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.Equal(0, store.Conflicts);
            Assert.Empty(d.Lma.Violations);
            AssertStoreMatchesCache(d, store);
        });

    [Fact]
    public void With_asynchronous_acknowledgement_the_takeover_raises_the_restart_counter_and_the_mags_re_register() =>
        SimulationSeed.Run(1903, nameof(With_asynchronous_acknowledgement_the_takeover_raises_the_restart_counter_and_the_mags_re_register), seed =>
        {
            var d = Domain(seed, BindingPersistence.AcknowledgeAsynchronously, out var store);
            var vms = Enumerable.Range(0, 10).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            d.Lma.FailOver(TimeSpan.FromSeconds(1.5), () => store.Records);
            d.Sim.RunFor(TimeSpan.FromSeconds(20));
            Assert.Contains(d.Mags[0].PeerEvents, e => e.Action is MagAction.PeerRestarted);
            Assert.Equal(10, d.Mags[0].Machine.Counters.ReregistrationsAfterLmaRestart);
            Assert.Equal(10, d.Lma.Machine.BindingCacheCount);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        });

    [Fact]
    public void A_standby_taking_over_dual_stack_and_ipv4_only_vms_keeps_every_ipv4_home_address_and_never_hands_one_out_twice() =>
        SimulationSeed.Run(1904, nameof(A_standby_taking_over_dual_stack_and_ipv4_only_vms_keeps_every_ipv4_home_address_and_never_hands_one_out_twice), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions
            {
                MagCount = 2,
                Service = IpService.DualStack,
                ConfigureLma = o => o with { Persistence = BindingPersistence.AcknowledgeAfterCommit, RestartCounter = 7 },
            });
            var store = new InMemoryBindingStore(TimeSpan.FromMilliseconds(2));
            d.Lma.Store = store;
            var vms = Enumerable.Range(0, 30).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 2]);
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            var addresses = vms.ToDictionary(v => v.Index, v => Assert.NotNull(v.Ipv4Address));
            var ipv4Routes = new Dictionary<Wire.Ipv4Address, Wire.Ipv6Address>(d.Lma.Ipv4Routes);
            Assert.Equal(30, ipv4Routes.Count);
            long pbus = d.Mags.Sum(m => m.Machine.Counters.PbusSent.Total);

            d.Lma.FailOver(TimeSpan.FromSeconds(1.5), () => store.Records);
            d.Sim.RunFor(TimeSpan.FromSeconds(20));
            Assert.Equal(ipv4Routes, d.Lma.Ipv4Routes);
            Assert.Equal(30, d.Lma.Machine.Ipv4HomeAddressesAllocated);
            Assert.Equal(pbus, d.Mags.Sum(m => m.Machine.Counters.PbusSent.Total));
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));

            // After the takeover: half the VMs migrate (keeping their addresses), ten new ones boot and get addresses
            // nobody holds.
            foreach (var vm in vms.Where(v => v.Index % 2 == 0))
                d.Migrate(vm, d.Mags[1], MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(100));
            var late = Enumerable.Range(0, 10).Select(_ => d.AddVm()).ToList();
            foreach (var vm in late) d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromSeconds(10));
            Assert.All(vms, v => Assert.Equal(addresses[v.Index], v.Ipv4Address));
            var all = vms.Concat(late).Select(v => Assert.NotNull(v.Ipv4Address)).ToList();
            Assert.Equal(all.Count, all.Distinct().Count());
            Assert.Equal(0, store.Conflicts);
            Assert.Empty(d.Lma.Violations);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        });
}
