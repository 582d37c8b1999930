using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>Scenario 2: migration MAG1 → MAG2 in both orders; the VM keeps its HNP.</summary>
public class ScenarioMigrationTests
{
    public static TheoryData<MigrationOrder, PrefixSource> Cases => new()
    {
        { MigrationOrder.OldMagDeregistersFirst, PrefixSource.LmaPool },
        { MigrationOrder.OldMagDeregistersFirst, PrefixSource.Profile },
        { MigrationOrder.NewMagRegistersFirst, PrefixSource.LmaPool },
        { MigrationOrder.NewMagRegistersFirst, PrefixSource.Profile },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Migrated_vm_keeps_its_hnp_and_the_lma_follows_it(MigrationOrder order, PrefixSource prefixes) =>
        SimulationSeed.Run(202, nameof(Migrated_vm_keeps_its_hnp_and_the_lma_follows_it), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { Prefixes = prefixes });
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            var vm = d.AddVm();
            vm.RouterAdvertisementLog = [];
            d.Boot(vm, mag1);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var hnp = vm.Prefix!.Value;

            var record = d.Migrate(vm, mag2, order, pause: TimeSpan.FromMilliseconds(300));
            d.Sim.RunFor(TimeSpan.FromSeconds(2));

            Assert.True(record.IsComplete, "the handover did not complete");
            Assert.Equal(hnp, vm.Prefix);
            Assert.Equal(0, vm.AddressChanges);
            var last = vm.RouterAdvertisementLog.Last();
            Assert.Equal("mag2", last.Mag);
            Assert.Equal(vm.RouterAdvertisementLog[0].SourceLinkLocal, last.SourceLinkLocal);
            Assert.Equal(vm.RouterAdvertisementLog[0].SourceMac, last.SourceMac);
            Assert.Equal(mag2.Address, d.Lma.Routes[hnp]);
            Assert.False(mag1.Machine.TryGetSession(vm.Port, out _));
            Assert.Empty(mag1.Forwarding);
            Assert.Equal(0, mag1.Machine.BindingUpdateListCount);
            Assert.True(mag2.Forwarding.ContainsKey(vm.Port));

            var lma = d.Lma.Machine.Counters;
            Assert.Equal(1, lma.InitialRegistrations);
            if (order == MigrationOrder.OldMagDeregistersFirst)
            {
                Assert.Equal(1, lma.Deregistrations);
                Assert.Equal(1, lma.Resumptions);
                Assert.Equal(0, lma.Handoffs);
            }
            else
            {
                Assert.Equal(1, lma.Handoffs);
                Assert.Equal(1, lma.LateDeregistrationsIgnored);
                Assert.Equal(0, lma.Deregistrations);
            }
            // The handover is one round trip (20 ms) plus the policy look-up (1 ms) and access delays.
            Assert.InRange(record.Latency!.Value, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(22));
            Assert.Equal(0, lma.ParkedTimedOut);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        });

    [Fact]
    public void Source_without_hotplug_event_detects_departure_by_nud_and_its_late_deregistration_is_ignored() =>
        SimulationSeed.Run(203, nameof(Source_without_hotplug_event_detects_departure_by_nud_and_its_late_deregistration_is_ignored), seed =>
        {
            var d = new PmipDomain(seed);
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            var vm = d.AddVm();
            d.Boot(vm, mag1);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var hnp = vm.Prefix!.Value;
            d.Migrate(vm, mag2, MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(200), sourceHotplug: false);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            Assert.Equal(mag2.Address, d.Lma.Routes[hnp]);
            Assert.Equal(1, mag1.Machine.SessionCount); // not noticed yet

            // NUD: stale after 30 s, three probes a second apart, then detach and de-register.
            d.Sim.RunFor(TimeSpan.FromSeconds(40));
            Assert.Equal(0, mag1.Machine.SessionCount);
            Assert.Equal(1, mag1.Machine.Counters.Detaches[DetachReason.NeighborUnreachable]);
            Assert.Equal(3, mag1.Machine.Counters.NudProbesSent);
            Assert.Equal(1, d.Lma.Machine.Counters.LateDeregistrationsIgnored);
            Assert.Equal(mag2.Address, d.Lma.Routes[hnp]);
            Assert.Equal(hnp, vm.Prefix);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        });

    [Fact]
    public void Vm_that_returns_to_a_mag_that_missed_its_departure_is_registered_back_by_its_announce() =>
        SimulationSeed.Run(204, nameof(Vm_that_returns_to_a_mag_that_missed_its_departure_is_registered_back_by_its_announce), seed =>
        {
            var d = new PmipDomain(seed);
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            var vm = d.AddVm();
            d.Boot(vm, mag1);
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            var hnp = vm.Prefix!.Value;
            var port1 = vm.Port;
            // Away to MAG2 without MAG1 noticing, and straight back (MAG1's session still stands).
            d.Migrate(vm, mag2, MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(100), sourceHotplug: false);
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.Equal(mag2.Address, d.Lma.Routes[hnp]);
            d.Migrate(vm, mag1, MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(100));
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.Equal(mag1.Address, d.Lma.Routes[hnp]);
            Assert.Equal(hnp, vm.Prefix);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(2)));
            // The old port's session on MAG1 goes by NUD later; the binding stays with the VM's new port.
            d.Sim.RunFor(TimeSpan.FromSeconds(60));
            Assert.False(mag1.Machine.TryGetSession(port1, out _));
            Assert.Equal(mag1.Address, d.Lma.Routes[hnp]);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(2)));
        });
}
