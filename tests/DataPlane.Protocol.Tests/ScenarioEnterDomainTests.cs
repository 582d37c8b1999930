using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>Scenario 1: a VM enters the domain: RS → policy → PBU/PBA → RA with its HNP.</summary>
public class ScenarioEnterDomainTests
{
    [Theory]
    [InlineData(PrefixSource.LmaPool)]
    [InlineData(PrefixSource.Profile)]
    public void Booting_vm_is_registered_and_gets_a_unicast_ra_with_its_hnp(PrefixSource prefixes) =>
        SimulationSeed.Run(101, nameof(Booting_vm_is_registered_and_gets_a_unicast_ra_with_its_hnp), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { Prefixes = prefixes, PolicyDelay = TimeSpan.FromMilliseconds(3) });
            d.Mags[0].Uplink.Trace = [];
            d.Downlink(d.Mags[0]).Trace = [];
            var vm = d.AddVm();
            vm.RouterAdvertisementLog = [];
            d.Boot(vm, d.Mags[0], VmTriggers.RouterSolicitation);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));

            var mag = d.Mags[0];
            // PBU as RFC 5213 §6.9.1.1 wants it.
            var pbu = Assert.IsType<BindingUpdate>(Assert.Single(mag.Uplink.Trace!, t => t.Message is BindingUpdate).Message);
            Assert.Equal(BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, pbu.Flags);
            Assert.Equal(vm.MobileNodeIdentifier, pbu.MobileNodeIdentifier!.Nai);
            Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, pbu.HandoffIndicator);
            Assert.Equal(AccessTechnologyType.Virtual, pbu.AccessTechnologyType);
            Assert.True(pbu.MobileNodeLinkLayerIdentifier!.TryGetMac(out var mac));
            Assert.Equal(vm.Mac, mac);
            Assert.Equal(PmipDefaults.SharedMagLinkLocalAddress, pbu.LinkLocalAddress);
            Assert.NotNull(pbu.Timestamp);
            var expectedRequest = prefixes == PrefixSource.Profile ? PmipDomain.ProfilePrefix(vm.Index) : Ipv6Prefix.Unspecified;
            Assert.Equal([expectedRequest], pbu.HomeNetworkPrefixes);

            var pba = Assert.IsType<BindingAcknowledgement>(Assert.Single(d.Downlink(mag).Trace!, t => t.Message is BindingAcknowledgement).Message);
            Assert.Equal(BindingAckStatus.Accepted, pba.Status);
            Assert.True(pba.IsProxy);
            Assert.Equal(pbu.Sequence, pba.Sequence);
            Assert.Equal(pbu.Timestamp, pba.Timestamp);
            var hnp = Assert.Single(pba.HomeNetworkPrefixes);
            Assert.False(hnp.IsUnspecified);

            // One RA, unicast to the VM's link-local address, from the shared MAG addresses, only its HNP.
            var ra = Assert.Single(vm.RouterAdvertisementLog);
            Assert.Equal(vm.LinkLocal, ra.Destination);
            Assert.Equal(PmipDefaults.SharedMagMacAddress, ra.SourceMac);
            Assert.Equal(PmipDefaults.SharedMagLinkLocalAddress, ra.SourceLinkLocal);
            Assert.Equal([hnp], ra.Prefixes);
            Assert.Equal(hnp, vm.Prefix);
            Assert.True(ra.ValidLifetime > TimeSpan.FromMinutes(50) && ra.ValidLifetime <= TimeSpan.FromHours(1));

            Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var bce));
            Assert.Equal(mag.Address, bce.ProxyCoA());
            Assert.Equal(mag.Address, d.Lma.Routes[hnp]);
            Assert.True(mag.Forwarding.ContainsKey(vm.Port));

            // Timings: RS (20 µs access) → policy (3 ms) → PBU → PBA (20 ms RTT) → RA.
            var h = Assert.Single(mag.Handovers);
            Assert.Equal(AttachTrigger.RouterSolicitation, h.Trigger);
            Assert.Equal(TimeSpan.FromMilliseconds(3), h.Timings.Policy);
            Assert.Equal(TimeSpan.FromMilliseconds(20), h.Timings.Registration);
            Assert.Equal(1, h.Timings.PbuTransmissions);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromMilliseconds(500)));
        });
}

internal static class ViewExtensions
{
    public static Ipv6Address? ProxyCoA(this BindingCacheView v) => v.ProxyCareOfAddress;
}
