using DataPlane.Protocol;
using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Tests.Shared;
using DataPlane.Wire;
using Xunit.Abstractions;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// IPv4 over RFC 6705 direct MAG–MAG routes (§7) in the data paths: a VM's IPv4 packet to a paired VM's home address
/// goes into the tunnel to that VM's MAG once the route is confirmed (TTL decremented once, as on the LMA path); the
/// other MAG's IPv4 packets are taken only over a route naming that MAG and from the address it names; the LMA's data
/// path reports IPv4 pairs talking, and the pair it sets up carries the next packets MAG to MAG. Nothing allocates.
/// </summary>
public class DirectRoutingIpv4Tests(ITestOutputHelper output)
{
    private static readonly Ipv6Address PeerMag = LocalRoutingTests.PeerMag;
    private static readonly Ipv4Address RemoteIpv4 = Ipv4Address.Parse("10.200.0.77");
    private static readonly Ipv6Prefix RemoteHnp = Ipv6Prefix.Parse("2001:db8:9::/64");
    private static readonly LocalizedRoutingParty Local = new(MagFixture.Nai, [MagFixture.Hnp], MagFixture.VmIpv4);
    private static readonly LocalizedRoutingParty Remote = new("remote@vm.test", [RemoteHnp], RemoteIpv4);

    private static LocalizedRoutingInitiation Lri(ushort sequence, Ipv6Address? mag = null, ushort lifetime = 120, LocalizedRoutingParty? remote = null) =>
        LocalizedRoutingMessages.Initiation(sequence, lifetime, Local, remote ?? Remote, mag ?? PeerMag);

    /// <summary>VM1 dual-stack (10.200.0.9) and VM2 (10.200.0.10) on one MAG; VM1 paired with a remote VM at PeerMag.</summary>
    private static MagFixture Paired(bool confirmed)
    {
        var f = LocalRoutingIpv4Tests.TwoIpv4Vms();
        LocalRoutingTests.Receive(f, Lri(10));
        if (confirmed) LocalRoutingTests.Receive(f, Lri(11));
        f.TakeControl();
        return f;
    }

    private static byte[] Udp4(Ipv4Address destination, int length = 128, byte ttl = 64) =>
        LocalRoutingIpv4Tests.Udp4(MagFixture.VmIpv4, destination, length, ttl: ttl);

    /// <summary>The packet a direct tunnel must carry: the VM's, TTL one less, header checksum computed afresh.</summary>
    private static string Forwarded(byte[] frame, byte ttl)
    {
        var packet = frame.AsSpan(EthernetFrame.HeaderLength).ToArray();
        packet[8] = ttl;
        packet[10] = packet[11] = 0;
        Assert.True(Ipv4Packet.TryCreate(packet, out var ip, out _));
        ip.FillHeaderChecksum();
        return Hex.Of(packet);
    }

    [Fact]
    public void A_confirmed_route_takes_ipv4_to_the_remote_home_address_into_the_tunnel_to_its_mag_ttl_decremented_once()
    {
        var f = Paired(confirmed: false);
        // Accepting only: our packets still go to the LMA.
        Assert.Equal(MagFixture.Lma, f.FromVm(Udp4(RemoteIpv4)).Verdict.TunnelDestination);
        long lmaOut = f.Dp.TunnelCounters[MagFixture.Lma].OutPackets;
        LocalRoutingTests.Receive(f, Lri(11));

        var sent = Udp4(RemoteIpv4, length: 200, ttl: 64);
        var (v, p) = f.FromVm(sent);
        Assert.Equal((VerdictKind.ToTunnel, PeerMag), (v.Kind, v.TunnelDestination));
        Assert.Equal(Forwarded(sent, 63), Hex.Of(p.Buffer.AsSpan(v.Offset, v.Length)));
        var vm1 = f.Dp.VmCounters[MagFixture.VmMac];
        Assert.Equal((1L, 200L), (vm1.Direct.InPackets, vm1.Direct.InBytes));
        Assert.Equal(2, f.Dp.VmIpv4Counters[MagFixture.VmMac].InPackets); // this one and the one sent through the LMA
        Assert.Equal(1, f.Dp.TunnelCounters[PeerMag].OutPackets);
        Assert.Equal(1, f.Dp.Counters.RoutedDirect);
        // The LMA's tunnel carried the packet sent before the confirmation, nothing since.
        Assert.Equal(lmaOut, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
        // Other IPv4 destinations still go to the LMA; the route's use reached the machine.
        Assert.Equal(MagFixture.Lma, f.FromVm(Udp4(MagFixture.Client4)).Verdict.TunnelDestination);
        Assert.Equal(f.Now, Assert.Single(f.Mag.LocalizedRoutes).LastUsedAt);
        Assert.Equal(RemoteIpv4, Assert.Single(f.Dp.DirectRoutes).RemoteIpv4HomeAddress);
    }

    [Fact]
    public void The_peers_ipv4_packets_are_delivered_over_a_route_that_only_accepts_yet_unchanged_from_the_router_mac()
    {
        var f = Paired(confirmed: false);
        var inner = MagIpv4Tests.Ipv4Udp(RemoteIpv4, MagFixture.VmIpv4, 150, dontFragment: true, ttl: 61);
        var p = Packet.Of(inner);
        var v = f.FromTunnel(p, outerSource: PeerMag);
        Assert.Equal((VerdictKind.ToPort, MagFixture.Port), (v.Kind, v.Port));
        // Router MAC → VM1's MAC, IPv4, the packet as it came (the other MAG decremented the TTL).
        Assert.Equal("525400123456" + "00005e005213" + "0800" + Hex.Of(inner), Hex.Of(p.Output(v)));
        var vm1 = f.Dp.VmCounters[MagFixture.VmMac];
        Assert.Equal((1L, 150L), (vm1.Direct.OutPackets, vm1.Direct.OutBytes));
        Assert.Equal(1, f.Dp.VmIpv4Counters[MagFixture.VmMac].OutPackets);
        Assert.Equal(1, f.Dp.TunnelCounters[PeerMag].InPackets);
    }

    [Fact]
    public void Ipv4_from_a_mag_no_route_names_from_another_source_or_for_another_vm_is_a_counted_drop()
    {
        var f = Paired(confirmed: true);
        var stranger = Ipv6Address.Parse("2001:db8:ffff::66");
        Assert.Equal(DropReason.TunnelSourceMismatch,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(RemoteIpv4, MagFixture.VmIpv4, 100, true)), outerSource: stranger).Reason);
        // The route's MAG, but a source the route does not name (a spoofing VM behind it), or the LMA's subnet router.
        Assert.Equal(DropReason.TunnelSourceMismatch,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(Ipv4Address.Parse("10.200.0.78"), MagFixture.VmIpv4, 100, true)), outerSource: PeerMag).Reason);
        Assert.Equal(DropReason.TunnelSourceMismatch,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(MagFixture.Router4, MagFixture.VmIpv4, 100, true)), outerSource: PeerMag).Reason);
        // The route is VM1's: the peer cannot reach VM2 (10.200.0.10, on this MAG) through it.
        Assert.Equal(DropReason.TunnelSourceMismatch,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(RemoteIpv4, LocalRoutingIpv4Tests.Vm2Ipv4, 100, true)), outerSource: PeerMag).Reason);
        Assert.Equal(3, f.Dp.TunnelCounters[PeerMag].Drops[DropReason.TunnelSourceMismatch]);
        Assert.Equal(0, f.Dp.VmCounters[MagFixture.VmMac].Direct.OutPackets);
    }

    [Fact]
    public void A_route_to_an_ipv6_only_vm_carries_no_ipv4_either_way()
    {
        var f = LocalRoutingIpv4Tests.TwoIpv4Vms();
        var ipv6Only = Remote with { Ipv4HomeAddress = null };
        LocalRoutingTests.Receive(f, Lri(10, remote: ipv6Only));
        LocalRoutingTests.Receive(f, Lri(11, remote: ipv6Only));
        Assert.Null(Assert.Single(f.Dp.DirectRoutes).RemoteIpv4HomeAddress);
        Assert.Equal(MagFixture.Lma, f.FromVm(Udp4(RemoteIpv4)).Verdict.TunnelDestination);
        Assert.Equal(DropReason.TunnelSourceMismatch,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(RemoteIpv4, MagFixture.VmIpv4, 100, true)), outerSource: PeerMag).Reason);
    }

    [Fact]
    public void The_guards_apply_before_the_direct_route_ttl_1_and_a_spoofed_source()
    {
        var f = Paired(confirmed: true);
        Assert.Equal(DropReason.HopLimitExceeded, f.FromVm(Udp4(RemoteIpv4, ttl: 1)).Verdict.Reason);
        Assert.Contains(f.TakeControl(), c => c.Meta.Kind == ControlMessageKind.Icmpv4Error);
        Assert.Equal(DropReason.SpoofedSource, f.FromVm(LocalRoutingIpv4Tests.Udp4(Ipv4Address.Parse("10.200.0.66"), RemoteIpv4)).Verdict.Reason);
        Assert.Equal(0, f.Dp.TunnelCounters[PeerMag].OutPackets);
    }

    [Fact]
    public void Re_pointing_sends_ipv4_to_the_lma_until_confirmed_and_ending_the_route_refuses_the_peers()
    {
        var f = Paired(confirmed: true);
        var third = Ipv6Address.Parse("2001:db8:ffff::10");
        LocalRoutingTests.Receive(f, Lri(12, third));
        Assert.Equal(MagFixture.Lma, f.FromVm(Udp4(RemoteIpv4)).Verdict.TunnelDestination);
        Assert.Equal(DropReason.TunnelSourceMismatch,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(RemoteIpv4, MagFixture.VmIpv4, 100, true)), outerSource: PeerMag).Reason);
        Assert.Equal(VerdictKind.ToPort,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(RemoteIpv4, MagFixture.VmIpv4, 100, true)), outerSource: third).Kind);
        LocalRoutingTests.Receive(f, Lri(13, third));
        Assert.Equal(third, f.FromVm(Udp4(RemoteIpv4)).Verdict.TunnelDestination);
        LocalRoutingTests.Receive(f, Lri(14, third, lifetime: 0));
        Assert.Equal(MagFixture.Lma, f.FromVm(Udp4(RemoteIpv4)).Verdict.TunnelDestination);
        Assert.Equal(DropReason.TunnelSourceMismatch,
            f.FromTunnel(Packet.Of(MagIpv4Tests.Ipv4Udp(RemoteIpv4, MagFixture.VmIpv4, 100, true)), outerSource: third).Reason);
        Assert.Empty(f.Dp.DirectRoutes);
    }

    [Fact]
    public void A_tcpv4_super_frame_over_a_direct_route_is_cut_into_segments_for_that_mag()
    {
        var f = Paired(confirmed: true);
        var frame = TestFrames.TcpSuperFrame(ipv6: false, payload: 5000, TcpFlags.Ack, source4: MagFixture.VmIpv4, destination4: RemoteIpv4);
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV4, 1380, 66, EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength, 16);
        var (v, _) = f.FromVm(frame, offload);
        Assert.Equal((VerdictKind.Segmented, 4), (v.Kind, v.SegmentCount));
        for (int i = 0; i < v.SegmentCount; i++) Assert.Equal(PeerMag, f.Dp.Segments.VerdictOf(v.FirstSegment + i).TunnelDestination);
        Assert.Equal(4, f.Dp.TunnelCounters[PeerMag].OutPackets);
        Assert.Equal(4, f.Dp.VmCounters[MagFixture.VmMac].Direct.InPackets);
        Assert.Equal(4, f.Dp.VmIpv4Counters[MagFixture.VmMac].InPackets);
    }

    [Fact]
    public void Ipv4_into_and_out_of_a_direct_route_allocates_nothing()
    {
        var f = Paired(confirmed: true);
        var outbound = Udp4(RemoteIpv4, length: 228);
        var outBuffer = new byte[Packet.DefaultHeadroom + outbound.Length];
        Assert.Equal(0, Allocations.BestWindow(() =>
        {
            outbound.CopyTo(outBuffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, outBuffer, Packet.DefaultHeadroom, outbound.Length, OffloadInfo.None, f.Now);
            if (v.Kind != VerdictKind.ToTunnel || v.TunnelDestination != PeerMag) throw new InvalidOperationException(v.ToString());
        }, 10_000, warmUp: 2_000, log: line => output.WriteLine($"IPv4 VM → direct tunnel: {line}")));

        var inbound = MagIpv4Tests.Ipv4Udp(RemoteIpv4, MagFixture.VmIpv4, 228, true);
        var inBuffer = new byte[Packet.DefaultHeadroom + inbound.Length];
        inbound.CopyTo(inBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Allocations.BestWindow(() =>
        {
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromTunnel(inBuffer, Packet.DefaultHeadroom, inbound.Length, PeerMag, MagFixture.Coa, f.Now);
            if (v.Kind != VerdictKind.ToPort) throw new InvalidOperationException(v.ToString());
        }, 10_000, warmUp: 2_000, log: line => output.WriteLine($"IPv4 direct tunnel → VM: {line}")));
    }

    // ---- Through both MAGs and the LMA, in process ----

    private static readonly Ipv4Address SecondIpv4 = Ipv4Address.Parse("10.200.0.10");

    /// <summary>Dual-stack VM1 on MAG1 (by its DHCPDISCOVER), dual-stack VM2 (10.200.0.10) on MAG2, both registered.</summary>
    private static DomainFixture TwoIpv4Mags(LmaDatapathOptions? lmaOptions = null)
    {
        var d = new DomainFixture(lmaOptions, ipv4: true);
        d.Policy.SetProfile(DomainFixture.SecondNai, new LmaMobileNodeProfile([DomainFixture.SecondHnp]) { Ipv4Service = true, Ipv4HomeAddress = SecondIpv4 });
        d.Profiles[DomainFixture.SecondMac] = new VmProfile(DomainFixture.SecondNai, [DomainFixture.SecondHnp], DomainFixture.LmaAddress, SecondIpv4)
        {
            Ipv4Service = true, Ipv4PrefixLength = 24,
        };
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        Assert.True(d.M2.RemovePort(MagFixture.Port, d.Now));
        d.M2.AddPort(MagFixture.Port, "vif7.0", DomainFixture.SecondMac);
        Assert.True(d.M2.PortOnline(MagFixture.Port, d.Now, PortOnlineKind.VmRunning));
        d.Settle();
        Assert.True(d.Lma.TryLookupIpv4Route(SecondIpv4, out var mag) && mag == DomainFixture.Mag2);
        Assert.True(d.M2.TryLookupIpv4HomeAddress(SecondIpv4, out _));
        return d;
    }

    [Fact]
    public void Ipv4_between_two_mags_through_the_lma_sets_up_the_pair_and_the_next_packets_go_mag_to_mag()
    {
        var d = TwoIpv4Mags();
        // VM1 → VM2 the LMA way: MAG1's tunnel, the LMA (its kernel hands the packet back), MAG2's tunnel.
        var first = Packet.Of(LocalRoutingIpv4Tests.Udp4(MagFixture.VmIpv4, SecondIpv4, ttl: 64));
        var up = d.M1.FromPort(MagFixture.Port, first.Buffer, first.Offset, first.Length, OffloadInfo.None, d.Now);
        Assert.Equal(DomainFixture.LmaAddress, up.TunnelDestination);
        var atLma = d.Lma.FromTunnel(first.Buffer, up.Offset, up.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        Assert.Equal(VerdictKind.ToHome, atLma.Kind);
        Assert.Equal(1, d.Lma.Counters.TrafficObservations);
        Assert.Equal(2, d.Lma.ControlOutput.Count); // an LRI to each MAG

        d.Settle();
        Assert.Equal(1, d.Lma.Machine.Counters.LocalizedRoutingSessionsEstablished);
        var route1 = Assert.Single(d.M1.DirectRoutes);
        var route2 = Assert.Single(d.M2.DirectRoutes);
        Assert.Equal((true, SecondIpv4, DomainFixture.Mag2), (route1.Egress, route1.RemoteIpv4HomeAddress!.Value, route1.RemoteMag));
        Assert.Equal((true, MagFixture.VmIpv4, DomainFixture.Mag1), (route2.Egress, route2.RemoteIpv4HomeAddress!.Value, route2.RemoteMag));

        long lmaIn = d.Lma.Ipv4Counters[MagFixture.VmIpv4].InPackets;
        var sent = LocalRoutingIpv4Tests.Udp4(MagFixture.VmIpv4, SecondIpv4, length: 300, ttl: 64);
        var next = Packet.Of(sent);
        var direct = d.M1.FromPort(MagFixture.Port, next.Buffer, next.Offset, next.Length, OffloadInfo.None, d.Now);
        Assert.Equal((VerdictKind.ToTunnel, DomainFixture.Mag2), (direct.Kind, direct.TunnelDestination));
        var delivered = d.M2.FromTunnel(next.Buffer, direct.Offset, direct.Length, DomainFixture.Mag1, DomainFixture.Mag2, d.Now);
        Assert.Equal(VerdictKind.ToPort, delivered.Kind);
        // At VM2: router MAC → its MAC, TTL 63 (one router on the way: the sender's MAG), checksum right.
        Assert.Equal("525400abcdef" + "00005e005213" + "0800" + Forwarded(sent, 63), Hex.Of(next.Output(delivered)));

        // And back, VM2 → VM1, MAG2 to MAG1.
        var back = Packet.Of(LocalRoutingIpv4Tests.Udp4(SecondIpv4, MagFixture.VmIpv4, ttl: 64, mac: DomainFixture.SecondMac));
        var up2 = d.M2.FromPort(MagFixture.Port, back.Buffer, back.Offset, back.Length, OffloadInfo.None, d.Now);
        Assert.Equal(DomainFixture.Mag1, up2.TunnelDestination);
        Assert.Equal(VerdictKind.ToPort, d.M1.FromTunnel(back.Buffer, up2.Offset, up2.Length, DomainFixture.Mag2, DomainFixture.Mag1, d.Now).Kind);
        Assert.Equal(lmaIn, d.Lma.Ipv4Counters[MagFixture.VmIpv4].InPackets);
    }

    [Fact]
    public void Noticing_ipv4_vm_to_vm_traffic_at_the_lma_allocates_nothing()
    {
        var d = TwoIpv4Mags(new LmaDatapathOptions { TrafficObservationInterval = TimeSpan.FromMilliseconds(100) });
        var upstream = MagIpv4Tests.Ipv4Udp(MagFixture.VmIpv4, SecondIpv4, 228, true);
        var buffer = new byte[Packet.DefaultHeadroom + upstream.Length];
        upstream.CopyTo(buffer, Packet.DefaultHeadroom);
        d.Lma.FromTunnel(buffer, Packet.DefaultHeadroom, upstream.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        d.Lma.ControlOutput.Clear();
        Assert.Equal(0, Allocations.BestWindow(() =>
        {
            d.Now += TimeSpan.FromMilliseconds(1);
            var v = d.Lma.FromTunnel(buffer, Packet.DefaultHeadroom, upstream.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
            if (v.Kind != VerdictKind.ToHome) throw new InvalidOperationException(v.ToString());
        }, 10_000, warmUp: 2_000, log: line => output.WriteLine($"IPv4 tunnel → LMA, VM to VM, observed every 100 ms: {line}")));
        Assert.True(d.Lma.Counters.TrafficObservations > 100);
    }
}
