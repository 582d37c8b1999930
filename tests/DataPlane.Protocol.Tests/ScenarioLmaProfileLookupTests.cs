using DataPlane.Protocol.Lma;
using DataPlane.Simulation;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// Issue 7, the LMA with an AAA server behind it (RADIUS): profiles it has not looked up are asked for
/// asynchronously while the PBU waits. Whole domains, lossy links, both migration orders.
/// </summary>
public class ScenarioLmaProfileLookupTests
{
    public static TheoryData<MigrationOrder, PrefixSource> Cases => new()
    {
        { MigrationOrder.OldMagDeregistersFirst, PrefixSource.LmaPool },
        { MigrationOrder.NewMagRegistersFirst, PrefixSource.Profile },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void First_registration_pays_one_lookup_and_migrations_none(MigrationOrder order, PrefixSource prefixes) =>
        SimulationSeed.Run(707, nameof(First_registration_pays_one_lookup_and_migrations_none), seed =>
        {
            var lookup = TimeSpan.FromMilliseconds(40);
            var d = new PmipDomain(seed, new DomainOptions { Prefixes = prefixes, LmaProfileLookupDelay = lookup });
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            var vm = d.AddVm();
            d.Boot(vm, mag1);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.NotNull(vm.Prefix);
            var hnp = vm.Prefix!.Value;
            Assert.Equal(1, d.Lma.Machine.Counters.ProfileLookups);

            var there = d.Migrate(vm, mag2, order, pause: TimeSpan.FromMilliseconds(200));
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var back = d.Migrate(vm, mag1, order, pause: TimeSpan.FromMilliseconds(200));
            d.Sim.RunFor(TimeSpan.FromSeconds(2));

            Assert.True(there.IsComplete && back.IsComplete, "a handover did not complete");
            Assert.Equal(hnp, vm.Prefix);
            Assert.Equal(0, vm.AddressChanges);
            Assert.Equal(1, d.Lma.Machine.Counters.ProfileLookups); // the profile is in memory from then on
            Assert.True(there.Latency < lookup, $"a migration paid for a look-up: {there.Latency}");
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromMilliseconds(500)));
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        });

    [Fact]
    public void Lossy_links_and_a_slow_aaa_server_still_converge() =>
        SimulationSeed.Run(708, nameof(Lossy_links_and_a_slow_aaa_server_still_converge), seed =>
        {
            var lossy = LinkProfile.Ideal(TimeSpan.FromMilliseconds(10)) with { Loss = 0.2 };
            // Slower than the MAG's first retransmission: retransmitted PBUs queue behind the look-up.
            var d = new PmipDomain(seed, new DomainOptions { Uplink = lossy, Downlink = lossy, LmaProfileLookupDelay = TimeSpan.FromMilliseconds(600) });
            var vms = Enumerable.Range(0, 6).Select(_ => d.AddVm()).ToList();
            foreach (var (vm, i) in vms.Select((v, i) => (v, i))) d.Boot(vm, d.Mags[i % 2]);
            d.Sim.RunFor(TimeSpan.FromSeconds(20));
            foreach (var vm in vms) Assert.NotNull(vm.Prefix);
            Assert.True(d.Lma.Machine.Counters.PbusAwaitingProfile > d.Lma.Machine.Counters.ProfileLookups, "no PBU waited behind a look-up");
            Assert.Equal(vms.Count, d.LmaProfileCache!.Count);
            Assert.Equal(0, d.Lma.Machine.PendingProfileLookups);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(5)));
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        });

    [Fact]
    public void A_node_the_aaa_server_refuses_gets_152_and_no_binding() =>
        SimulationSeed.Run(709, nameof(A_node_the_aaa_server_refuses_gets_152_and_no_binding), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { LmaProfileLookupDelay = TimeSpan.FromMilliseconds(20) });
            var vm = d.AddVm();
            d.LmaPolicy.Deny(vm.MobileNodeIdentifier);
            d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.Null(vm.Prefix);
            Assert.Equal(0, d.Lma.Machine.BindingCacheCount);
            Assert.True(d.Lma.Machine.Counters.PbasSentByStatus[Wire.BindingAckStatus.ProxyRegistrationNotEnabled] >= 1);
            Assert.Equal(0, d.LmaProfileCache!.Count);
        });
}
