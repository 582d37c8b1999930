using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>RFC 5844 across whole simulated domains: IPv4-only and dual-stack VMs, allocation, refusals, migration, races.</summary>
public class ScenarioIpv4Tests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(IpService.Ipv4Only, PrefixSource.LmaPool)]
    [InlineData(IpService.Ipv4Only, PrefixSource.Profile)]
    [InlineData(IpService.DualStack, PrefixSource.LmaPool)]
    [InlineData(IpService.DualStack, PrefixSource.Profile)]
    public void A_booting_vm_gets_its_ipv4_home_address_and_one_entry(IpService service, PrefixSource addresses) =>
        SimulationSeed.Run(1501, nameof(A_booting_vm_gets_its_ipv4_home_address_and_one_entry), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { Service = service, Ipv4Addresses = addresses });
            var vms = Enumerable.Range(0, 3).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[0], service == IpService.Ipv4Only ? VmTriggers.Ipv4Boot : VmTriggers.Boot);
            d.Sim.RunFor(Settle);
            var subnet = d.Options.Ipv4Subnet!.Value;
            foreach (var vm in vms)
            {
                var hoa = Assert.NotNull(vm.Ipv4Address);
                Assert.True(subnet.IsHostAddress(hoa));
                if (addresses == PrefixSource.Profile) Assert.Equal(PmipDomain.ProfileIpv4Address(vm.Index), hoa);
                Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var bce));
                Assert.Equal(hoa, bce.Ipv4HomeAddress);
                Assert.Equal(service == IpService.DualStack, bce.HomeNetworkPrefixes.Count == 1);
                Assert.Equal(service == IpService.DualStack, vm.Prefix is not null);
            }
            Assert.Equal(3, vms.Select(v => v.Ipv4Address).Distinct().Count());
            Assert.Equal(3, d.Lma.Machine.BindingCacheCount);
            Assert.Equal(3, d.Lma.Machine.Ipv4HomeAddressesAllocated);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
            if (service == IpService.Ipv4Only) Assert.All(vms, vm => Assert.Equal(0, vm.RouterAdvertisementsReceived));
        });

    public static TheoryData<IpService, MigrationOrder> Migrations => new()
    {
        { IpService.Ipv4Only, MigrationOrder.OldMagDeregistersFirst },
        { IpService.Ipv4Only, MigrationOrder.NewMagRegistersFirst },
        { IpService.DualStack, MigrationOrder.OldMagDeregistersFirst },
        { IpService.DualStack, MigrationOrder.NewMagRegistersFirst },
    };

    [Theory]
    [MemberData(nameof(Migrations))]
    public void Handoff_keeps_the_ipv4_address_and_moves_its_host_route(IpService service, MigrationOrder order) =>
        SimulationSeed.Run(1502, nameof(Handoff_keeps_the_ipv4_address_and_moves_its_host_route), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { Service = service });
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            var vm = d.AddVm();
            d.Boot(vm, mag1, service == IpService.Ipv4Only ? VmTriggers.Ipv4Boot : VmTriggers.Boot);
            d.Sim.RunFor(Settle);
            var hoa = vm.Ipv4Address!.Value;
            var hnp = vm.Prefix;
            var announce = service == IpService.Ipv4Only ? VmTriggers.Ipv4MigrationAnnounce : VmTriggers.MigrationAnnounce;
            for (int round = 0; round < 3; round++)
            {
                foreach (var to in new[] { mag2, mag1 })
                {
                    var record = d.Migrate(vm, to, order, TimeSpan.FromMilliseconds(200), announce);
                    d.Sim.RunFor(Settle);
                    Assert.True(record.IsComplete, $"round {round}: the handover to {to.Name} did not complete");
                    // One round trip (20 ms), the policy look-up and the access delays.
                    Assert.InRange(record.Latency!.Value, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(23));
                    Assert.Equal(hoa, vm.Ipv4Address);
                    Assert.Equal(hnp, vm.Prefix);
                    Assert.Equal(to.Address, d.Lma.Ipv4Routes[hoa]);
                    Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
                }
            }
            Assert.Equal(0, vm.Ipv4AddressChanges);
            Assert.Equal(0, vm.AddressChanges);
            Assert.Equal(1, d.Lma.Machine.Counters.InitialRegistrations);
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        });

    [Fact]
    public void An_exhausted_pool_refuses_with_130_and_the_vm_gets_the_address_once_one_is_free() =>
        SimulationSeed.Run(1503, nameof(An_exhausted_pool_refuses_with_130_and_the_vm_gets_the_address_once_one_is_free), seed =>
        {
            // A /30: its router and one address for a VM.
            var d = new PmipDomain(seed, new DomainOptions
            {
                Service = IpService.Ipv4Only,
                Ipv4Subnet = Ipv4Prefix.Parse("10.9.0.0/30"),
                ConfigureLma = o => o with { MinDelayBeforeBceDelete = TimeSpan.FromSeconds(1) },
            });
            var (first, second) = (d.AddVm(), d.AddVm());
            d.Boot(first, d.Mags[0], VmTriggers.Ipv4Boot);
            d.Sim.RunFor(Settle);
            d.Boot(second, d.Mags[1], VmTriggers.Ipv4Boot);
            d.Sim.RunFor(Settle);
            Assert.Equal(Ipv4Address.Parse("10.9.0.2"), first.Ipv4Address);
            Assert.Null(second.Ipv4Address);
            // 130 is transient: the MAG retries with back-off (1 s, 2 s, …), each refused the same way meanwhile.
            Assert.NotEmpty(d.Mags[1].Failures);
            Assert.All(d.Mags[1].Failures, f => Assert.Equal((BindingAckStatus.InsufficientResources, true), (f.Status!.Value, f.WillRetry)));
            Assert.Equal(1, d.Lma.Machine.BindingCacheCount);

            d.Shutdown(first);
            d.Sim.RunFor(TimeSpan.FromMinutes(1));
            Assert.Equal(Ipv4Address.Parse("10.9.0.2"), second.Ipv4Address);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        });

    [Fact]
    public void Status_170_leaves_a_dual_stack_vm_ipv6_only_in_one_more_round_trip() =>
        SimulationSeed.Run(1504, nameof(Status_170_leaves_a_dual_stack_vm_ipv6_only_in_one_more_round_trip), seed =>
        {
            // The MAGs' policy says dual stack; the LMA's profile has no IPv4 service.
            var d = new PmipDomain(seed, new DomainOptions { Service = IpService.DualStack });
            d.LmaPolicy.UnknownMobileNodeProfile = LmaMobileNodeProfile.FromPool;
            var vm = d.AddVm();
            d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(Settle);
            Assert.NotNull(vm.Prefix);
            Assert.Null(vm.Ipv4Address);
            var c = d.Mags[0].Machine.Counters;
            Assert.Equal(1, c.RegistrationsNarrowed);
            Assert.Equal(1, c.Ipv4Unavailable[Ipv4UnavailableReason.NotAuthorized]);
            Assert.Equal(1, d.Lma.Machine.Counters.PbasSentByStatus[BindingAckStatus.NotAuthorizedForIpv4MobilityService]);
            Assert.True(d.Mags[0].Machine.TryGetSession(vm.Port, out var s));
            Assert.Equal(SessionState.Established, s.State);
            Assert.Null(s.Ipv4);
            Assert.Empty(DomainInvariants.CheckLmaForwardingMatchesCache(d));
        });

    [Fact]
    public void Status_171_for_a_profile_address_the_lma_does_not_authorise_falls_back_to_all_zero() =>
        SimulationSeed.Run(1505, nameof(Status_171_for_a_profile_address_the_lma_does_not_authorise_falls_back_to_all_zero), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { Service = IpService.Ipv4Only, Ipv4Addresses = PrefixSource.Profile });
            var vm = d.AddVm();
            // The LMA's own profile for the VM gives it another static address: the MAG's is not authorised.
            d.LmaPolicy.SetProfile(vm.MobileNodeIdentifier, new LmaMobileNodeProfile([]) { Ipv6Service = false, Ipv4Service = true });
            d.LmaPolicy.SetProfile("someone@else", new LmaMobileNodeProfile([]) { Ipv4Service = true, Ipv4HomeAddress = PmipDomain.ProfileIpv4Address(0) });
            d.Boot(vm, d.Mags[0], VmTriggers.Ipv4Boot);
            d.Sim.RunFor(Settle);
            Assert.Equal(1, d.Lma.Machine.Counters.PbasSentByStatus[BindingAckStatus.NotAuthorizedForIpv4HomeAddress]);
            Assert.Equal(1, d.Mags[0].Machine.Counters.RegistrationsNarrowed);
            var hoa = Assert.NotNull(vm.Ipv4Address);
            Assert.NotEqual(PmipDomain.ProfileIpv4Address(0), hoa);
            Assert.Empty(DomainInvariants.CheckLmaForwardingMatchesCache(d));
        });

    [Fact]
    public void Two_requests_from_a_misbehaving_mag_are_refused_with_173_and_change_nothing() =>
        SimulationSeed.Run(1506, nameof(Two_requests_from_a_misbehaving_mag_are_refused_with_173_and_change_nothing), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { Service = IpService.Ipv4Only });
            var mag = d.Mags[0];
            mag.ReceivedAcknowledgements = [];
            var pbu = new BindingUpdate(7, Pbus.ProxyFlags, 900)
            {
                Options = new MobilityOptionList([
                    Ipv4HomeAddressRequestOption.AllZero, new Ipv4HomeAddressRequestOption(24, Ipv4Address.Parse("10.200.0.5")),
                    .. Pbus.Complete("vm@x", d.Sim.Now).Where(o => o is not HomeNetworkPrefixOption)]),
            };
            d.InjectFromMag(mag, pbu);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            var (_, pba) = Assert.Single(mag.ReceivedAcknowledgements);
            Assert.Equal(BindingAckStatus.MultipleIpv4HomeAddressAssignmentNotSupported, pba.Status);
            Assert.NotNull(pba.Ipv4HomeAddressReply);
            Assert.Equal(0, d.Lma.Machine.BindingCacheCount);
        });

    [Fact]
    public void Selective_deregistration_keeps_ipv6_and_dhcp_brings_ipv4_back() =>
        SimulationSeed.Run(1507, nameof(Selective_deregistration_keeps_ipv6_and_dhcp_brings_ipv4_back), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { Service = IpService.DualStack });
            var vm = d.AddVm();
            d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(Settle);
            var (hoa, hnp) = (vm.Ipv4Address!.Value, vm.Prefix!.Value);
            d.ReleaseIpv4(vm);
            d.Sim.RunFor(Settle);
            Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var bce));
            Assert.Equal((BindingCacheState.Active, (Ipv4Address?)null), (bce.State, bce.Ipv4HomeAddress));
            Assert.Equal([hnp], bce.HomeNetworkPrefixes);
            Assert.Empty(d.Lma.Ipv4Routes);
            Assert.Equal(d.Mags[0].Address, d.Lma.Routes[hnp]);
            Assert.Equal(1, d.Lma.Machine.Counters.Ipv4SelectiveDeregistrations);
            Assert.Empty(DomainInvariants.CheckLmaForwardingMatchesCache(d));

            d.RequestIpv4(vm);
            d.Sim.RunFor(Settle);
            Assert.Equal(hoa, vm.Ipv4Address); // the MN-ID's slot was free again
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        });

    [Fact]
    public void A_late_deregistration_from_the_old_mag_does_not_take_the_ipv4_route() =>
        SimulationSeed.Run(1508, nameof(A_late_deregistration_from_the_old_mag_does_not_take_the_ipv4_route), seed =>
        {
            // The race of the seed study, with IPv4: the new MAG registers first; the old MAG's de-registration
            // (naming the address) comes late, over a slow uplink, and must leave the moved entry alone.
            var d = new PmipDomain(seed, new DomainOptions { Service = IpService.DualStack });
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            var vm = d.AddVm();
            d.Boot(vm, mag1);
            d.Sim.RunFor(Settle);
            var hoa = vm.Ipv4Address!.Value;
            d.SetLinks(mag1, LinkProfile.Ideal(TimeSpan.FromMilliseconds(150)), LinkProfile.Ideal(TimeSpan.FromMilliseconds(10)));
            var record = d.Migrate(vm, mag2, MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(100), sourceDetachDelay: TimeSpan.FromMilliseconds(1));
            d.Sim.RunFor(Settle);
            Assert.True(record.IsComplete);
            // Every try of the old MAG's de-registration (its uplink is slower than its retransmission timer) is answered and ignored.
            Assert.True(d.Lma.Machine.Counters.LateDeregistrationsIgnored >= 1);
            Assert.Equal(0, d.Lma.Machine.Counters.Deregistrations);
            Assert.Equal(mag2.Address, d.Lma.Ipv4Routes[hoa]);
            Assert.Equal(hoa, vm.Ipv4Address);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        });

    [Fact]
    public void Dual_stack_vms_survive_a_lossy_reordering_domain_and_an_lma_restart() =>
        SimulationSeed.Run(1509, nameof(Dual_stack_vms_survive_a_lossy_reordering_domain_and_an_lma_restart), seed =>
        {
            var lossy = LinkProfile.Ideal(TimeSpan.FromMilliseconds(10)) with { Jitter = TimeSpan.FromMilliseconds(8), Loss = 0.1, Duplication = 0.05 };
            var d = new PmipDomain(seed, new DomainOptions { Service = IpService.DualStack, Uplink = lossy, Downlink = lossy, MagCount = 3 });
            var vms = Enumerable.Range(0, 8).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 3]);
            d.Sim.RunFor(TimeSpan.FromSeconds(10));
            var addresses = vms.ToDictionary(v => v, v => v.Ipv4Address);
            Assert.All(addresses.Values, a => Assert.NotNull(a));
            var random = new Random((int)seed);
            for (int i = 0; i < 30; i++)
            {
                var vm = vms[random.Next(vms.Count)];
                var to = d.Mags.Where(m => m != vm.Mag).ElementAt(random.Next(2));
                d.Migrate(vm, to, random.Next(2) == 0 ? MigrationOrder.NewMagRegistersFirst : MigrationOrder.OldMagDeregistersFirst, TimeSpan.FromMilliseconds(200));
                d.Sim.RunFor(TimeSpan.FromSeconds(3));
            }
            d.Sim.RunFor(TimeSpan.FromSeconds(20));
            Assert.All(vms, vm => Assert.Equal(addresses[vm], vm.Ipv4Address));
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(15)));

            // The LMA loses its cache; the MAGs re-register with the addresses they hold and get them back.
            d.RestartLma(TimeSpan.FromSeconds(1));
            d.Sim.RunFor(TimeSpan.FromSeconds(40));
            Assert.All(vms, vm => Assert.Equal(addresses[vm], vm.Ipv4Address));
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(15)));
        });
}
