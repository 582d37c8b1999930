using DataPlane.Protocol;
using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// Optimized routing in the MAG's data path: between two of its ports (EnableMAGLocalRouting), and over direct
/// MAG–MAG routes the LMA set up (RFC 6705), both ways, with the same guards and counting as the LMA path.
/// </summary>
public class LocalRoutingTests
{
    internal static readonly MacAddress Vm2Mac = MacAddress.Parse("52:54:00:ab:cd:ef");
    internal static readonly Ipv6Prefix Hnp2 = Ipv6Prefix.Parse("2001:db8:7::/64");
    internal static readonly Ipv6Address Vm2Address = Ipv6Address.Parse("2001:db8:7::5054:ff:feab:cdef");
    internal static readonly PortId Port2 = new(2);
    internal const string Nai2 = "52-54-00-ab-cd-ef@vm.test";

    internal static readonly Ipv6Address PeerMag = Ipv6Address.Parse("2001:db8:ffff::9");
    private static readonly Ipv6Prefix RemoteHnp = Ipv6Prefix.Parse("2001:db8:9::/64");
    internal static readonly Ipv6Address RemoteVm = Ipv6Address.Parse("2001:db8:9::1");

    /// <summary>VM1 (the fixture's) and VM2 on a second port, both registered.</summary>
    internal static MagFixture TwoVms(Func<MagOptions, MagOptions>? machine = null)
    {
        var f = new MagFixture(machine);
        f.Establish();
        f.Dp.AddPort(Port2, "vif2.0", Vm2Mac);
        Assert.True(f.Dp.PortOnline(Port2, f.Now, PortOnlineKind.VmRunning));
        var request = Assert.Single(f.TakeHostActions().OfType<MagAction.RequestPolicy>());
        f.Dp.Handle(new MagEvent.PolicyDecided(request.RequestId, new VmProfile(Nai2, [Hnp2], MagFixture.Lma)), f.Now);
        var pbu = f.TakePbu();
        f.Now += TimeSpan.FromMilliseconds(20);
        var pba = new BindingAcknowledgement(BindingAckStatus.Accepted, BindingAckFlags.ProxyRegistration, pbu.Sequence, pbu.Lifetime)
        {
            Options = new MobilityOptionList([new HomeNetworkPrefixOption(Hnp2), new HandoffIndicatorOption(pbu.HandoffIndicator!.Value),
                new TimestampOption(pbu.Timestamp!.Value), MobileNodeIdentifierOption.ForNai(Nai2)]),
        };
        Receive(f, pba);
        f.TakeControl();
        f.TakeHostActions();
        return f;
    }

    internal static void Receive(MagFixture f, MobilityMessage m)
    {
        var bytes = new byte[m.GetLength()];
        m.WriteTo(bytes, MagFixture.Lma, MagFixture.Coa);
        Assert.True(f.Dp.ReceiveMobilityMessage(bytes, MagFixture.Lma, MagFixture.Coa, f.Now));
    }

    internal static LocalizedRoutingInitiation Lri(ushort sequence, Ipv6Address? mag = null) =>
        LocalizedRoutingMessages.Initiation(sequence, 120, new LocalizedRoutingParty(MagFixture.Nai, [MagFixture.Hnp]),
            new LocalizedRoutingParty("remote@vm.test", [RemoteHnp]), mag ?? PeerMag);

    [Fact]
    public void A_packet_to_a_vm_on_the_same_mag_is_routed_here_from_the_router_with_the_hop_limit_decremented_once()
    {
        var f = TwoVms();
        Assert.True(f.Dp.TryGetPort(Port2, out var port2));
        long port2Out = port2.Counters.OutPackets; // its RA
        var (v, p) = f.FromVm(TestFrames.FromVm(hopLimit: 64, payload: 100, destination: Vm2Address));
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.Equal(Port2, v.Port);
        var frame = p.Buffer.AsSpan(v.Offset, v.Length);
        Assert.True(EthernetFrame.TryCreate(frame, out var eth, out _));
        Assert.Equal((Vm2Mac, MagFixture.SharedMac), (eth.Destination, eth.Source));
        Assert.True(Ipv6Packet.TryCreate(frame[EthernetFrame.HeaderLength..], out var ip, out _));
        Assert.Equal((63, MagFixture.VmAddress, Vm2Address), (ip.HopLimit, ip.Source, ip.Destination));
        Assert.Equal(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + 100, v.Length);
        Assert.False(v.Offload.IsGso || v.Offload.NeedsChecksum);

        var vm1 = f.Dp.VmCounters[MagFixture.VmMac];
        var vm2 = f.Dp.VmCounters[Vm2Mac];
        Assert.Equal((1, 1, 0L), (vm1.InPackets, vm1.Local.InPackets, vm1.Direct.InPackets));
        Assert.Equal((1, 1), (vm2.OutPackets, vm2.Local.OutPackets));
        Assert.Equal(1, f.Dp.Counters.RoutedLocally);
        Assert.Equal(port2Out + 1, port2.Counters.OutPackets);
        Assert.Equal(0, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
    }

    [Fact]
    public void With_local_routing_off_the_packet_goes_to_the_lma()
    {
        var f = TwoVms(o => o with { EnableMagLocalRouting = false });
        var (v, _) = f.FromVm(TestFrames.FromVm(destination: Vm2Address));
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(MagFixture.Lma, v.TunnelDestination);
        Assert.Equal(0, f.Dp.Counters.RoutedLocally);
    }

    [Fact]
    public void The_guards_apply_to_locally_routed_packets_as_to_any()
    {
        var f = TwoVms();
        // Hop limit 1: Time Exceeded to the sender, nothing to the other VM.
        var (expired, _) = f.FromVm(TestFrames.FromVm(hopLimit: 1, destination: Vm2Address));
        Assert.Equal(DropReason.HopLimitExceeded, expired.Reason);
        Assert.Contains(f.TakeControl(), c => c.Meta.Kind == ControlMessageKind.TimeExceeded && c.Meta.Port == MagFixture.Port);
        // A source outside the sender's prefixes.
        var (spoofed, _) = f.FromVm(TestFrames.FromVm(source: Ipv6Address.Parse("2001:db8:7::66"), destination: Vm2Address));
        Assert.Equal(DropReason.SpoofedSource, spoofed.Reason);
        // To a link-local or multicast address of the other VM: never routed.
        Assert.Equal(DropReason.LinkLocalNotForwarded, f.FromVm(TestFrames.FromVm(destination: Ipv6Address.Parse("fe80::5054:ff:feab:cdef"))).Verdict.Reason);
        // Too big for the path (the same MTU as the tunnel's, what the RA advertises).
        Assert.Equal(DropReason.PacketTooBig, f.FromVm(TestFrames.FromVm(payload: 1500, destination: Vm2Address)).Verdict.Reason);
        Assert.Equal(0, f.Dp.VmCounters[Vm2Mac].OutPackets);
    }

    [Fact]
    public void A_vm_whose_session_ended_is_not_reached_locally_any_more()
    {
        var f = TwoVms();
        Assert.True(f.Dp.PortOffline(Port2, f.Now));
        var (v, _) = f.FromVm(TestFrames.FromVm(destination: Vm2Address));
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(MagFixture.Lma, v.TunnelDestination);
    }

    [Fact]
    public void A_partial_checksum_is_completed_before_a_frame_is_routed_to_another_port()
    {
        var f = TwoVms();
        var frame = TestFrames.TcpSuperFrame(ipv6: true, payload: 200, TcpFlags.Ack | TcpFlags.Psh, destination: Vm2Address);
        var offload = OffloadInfo.PartialChecksum(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength, 16);
        var (v, p) = f.FromVm(frame, offload);
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.False(v.Offload.NeedsChecksum);
        var packet = p.Buffer.AsSpan(v.Offset + EthernetFrame.HeaderLength, v.Length - EthernetFrame.HeaderLength);
        Assert.True(TcpSegment.TryCreate(packet[Ipv6Packet.HeaderLength..], out var tcp, out _));
        Assert.True(tcp.IsChecksumValid(MagFixture.VmAddress, Vm2Address));
    }

    [Fact]
    public void A_tso_super_frame_to_a_vm_on_the_same_mag_goes_whole_with_its_descriptor()
    {
        var f = TwoVms();
        var frame = TestFrames.TcpSuperFrame(ipv6: true, payload: 20_000, TcpFlags.Ack, destination: Vm2Address);
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV6, 1380, 86, EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength, 16);
        var (v, p) = f.FromVm(frame, offload);
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.Equal((Port2, frame.Length), (v.Port, v.Length));
        Assert.Equal((GsoType.TcpV6, (ushort)1380, (ushort)(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength), (ushort)16, true),
            (v.Offload.GsoType, v.Offload.GsoSize, v.Offload.ChecksumStart, v.Offload.ChecksumOffset, v.Offload.NeedsChecksum));
        Assert.Equal((ushort)(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + 32), v.Offload.HeaderLength);
        Assert.Equal(0, f.Dp.Segments.Count);
        Assert.True(Ipv6Packet.TryCreate(p.Buffer.AsSpan(v.Offset + EthernetFrame.HeaderLength), out var ip, out _));
        Assert.Equal(63, ip.HopLimit);
        // Counted as the 15 packets it stands for (20,000 bytes in 1,380-byte pieces).
        Assert.Equal((15, 15), (f.Dp.VmCounters[MagFixture.VmMac].Local.InPackets, f.Dp.VmCounters[Vm2Mac].Local.OutPackets));
    }

    [Fact]
    public void A_direct_route_accepts_the_peers_packets_first_and_sends_ours_once_confirmed()
    {
        var f = TwoVms();
        Receive(f, Lri(10));
        f.TakeControl();
        // Not confirmed: our packets to the remote VM still go to the LMA.
        var (before, _) = f.FromVm(TestFrames.FromVm(destination: RemoteVm));
        Assert.Equal(MagFixture.Lma, before.TunnelDestination);
        // The peer's packets are taken already.
        var fromPeer = Packet.Of(TestFrames.Ipv6Udp(RemoteVm, MagFixture.VmAddress, payload: 50));
        var delivered = f.FromTunnel(fromPeer, outerSource: PeerMag);
        Assert.Equal(VerdictKind.ToPort, delivered.Kind);
        Assert.Equal(MagFixture.Port, delivered.Port);
        Assert.Equal(1, f.Dp.VmCounters[MagFixture.VmMac].Direct.OutPackets);
        Assert.Equal(1, f.Dp.TunnelCounters[PeerMag].InPackets);

        Receive(f, Lri(11));
        var (after, p) = f.FromVm(TestFrames.FromVm(destination: RemoteVm, payload: 30));
        Assert.Equal(VerdictKind.ToTunnel, after.Kind);
        Assert.Equal(PeerMag, after.TunnelDestination);
        Assert.True(Ipv6Packet.TryCreate(p.Buffer.AsSpan(after.Offset, after.Length), out var ip, out _));
        Assert.Equal((63, RemoteVm), (ip.HopLimit, ip.Destination));
        Assert.Equal(1, f.Dp.VmCounters[MagFixture.VmMac].Direct.InPackets);
        Assert.Equal(1, f.Dp.TunnelCounters[PeerMag].OutPackets);
        Assert.Equal(1, f.Dp.Counters.RoutedDirect);
        // Other destinations are not affected, and the route's use reached the machine.
        Assert.Equal(MagFixture.Lma, f.FromVm(TestFrames.FromVm()).Verdict.TunnelDestination);
        Assert.Equal(f.Now, Assert.Single(f.Mag.LocalizedRoutes).LastUsedAt);
        var view = Assert.Single(f.Dp.DirectRoutes);
        Assert.Equal((MagFixture.Port, PeerMag, true), (view.Port, view.RemoteMag, view.Egress));
    }

    [Fact]
    public void Packets_from_a_mag_that_no_route_names_or_from_outside_the_routes_prefixes_are_refused()
    {
        var f = TwoVms();
        Receive(f, Lri(10));
        var stranger = Ipv6Address.Parse("2001:db8:ffff::66");
        var fromStranger = f.FromTunnel(Packet.Of(TestFrames.Ipv6Udp(RemoteVm, MagFixture.VmAddress)), outerSource: stranger);
        Assert.Equal(DropReason.TunnelSourceMismatch, fromStranger.Reason);
        var spoofed = f.FromTunnel(Packet.Of(TestFrames.Ipv6Udp(Ipv6Address.Parse("2001:db8:2::1"), MagFixture.VmAddress)), outerSource: PeerMag);
        Assert.Equal(DropReason.TunnelSourceMismatch, spoofed.Reason);
        // The route is VM1's: the peer cannot reach VM2 through it.
        var toOther = f.FromTunnel(Packet.Of(TestFrames.Ipv6Udp(RemoteVm, Vm2Address)), outerSource: PeerMag);
        Assert.Equal(DropReason.TunnelSourceMismatch, toOther.Reason);
        Assert.Equal(2, f.Dp.TunnelCounters[PeerMag].Drops[DropReason.TunnelSourceMismatch]);
    }

    [Fact]
    public void Re_pointing_stops_our_packets_until_confirmed_and_ending_the_route_refuses_the_peers()
    {
        var f = TwoVms();
        Receive(f, Lri(10));
        Receive(f, Lri(11));
        var third = Ipv6Address.Parse("2001:db8:ffff::10");
        Receive(f, Lri(12, third));
        Assert.Equal(MagFixture.Lma, f.FromVm(TestFrames.FromVm(destination: RemoteVm)).Verdict.TunnelDestination);
        Assert.Equal(DropReason.TunnelSourceMismatch, f.FromTunnel(Packet.Of(TestFrames.Ipv6Udp(RemoteVm, MagFixture.VmAddress)), outerSource: PeerMag).Reason);
        Receive(f, Lri(13, third));
        Assert.Equal(third, f.FromVm(TestFrames.FromVm(destination: RemoteVm)).Verdict.TunnelDestination);
        // Lifetime 0: gone, both ways.
        Receive(f, LocalizedRoutingMessages.Initiation(14, 0, new LocalizedRoutingParty(MagFixture.Nai, [MagFixture.Hnp]),
            new LocalizedRoutingParty("remote@vm.test", [RemoteHnp]), third));
        Assert.Equal(MagFixture.Lma, f.FromVm(TestFrames.FromVm(destination: RemoteVm)).Verdict.TunnelDestination);
        Assert.Equal(DropReason.TunnelSourceMismatch, f.FromTunnel(Packet.Of(TestFrames.Ipv6Udp(RemoteVm, MagFixture.VmAddress)), outerSource: third).Reason);
        Assert.Empty(f.Dp.DirectRoutes);
    }

    [Fact]
    public void A_port_going_offline_takes_its_routes_along()
    {
        var f = TwoVms();
        Receive(f, Lri(10));
        Receive(f, Lri(11));
        Assert.True(f.Dp.PortOffline(MagFixture.Port, f.Now));
        Assert.Empty(f.Dp.DirectRoutes);
        Assert.Equal(0, f.Mag.LocalizedRouteCount);
    }

    [Fact]
    public void A_super_frame_over_a_direct_route_is_cut_into_segments_for_that_mag()
    {
        var f = TwoVms();
        Receive(f, Lri(10));
        Receive(f, Lri(11));
        var frame = TestFrames.TcpSuperFrame(ipv6: true, payload: 5000, TcpFlags.Ack, destination: RemoteVm);
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV6, 1380, 86, EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength, 16);
        var (v, _) = f.FromVm(frame, offload);
        Assert.Equal(VerdictKind.Segmented, v.Kind);
        Assert.Equal(4, v.SegmentCount);
        for (int i = 0; i < v.SegmentCount; i++) Assert.Equal(PeerMag, f.Dp.Segments.VerdictOf(v.FirstSegment + i).TunnelDestination);
        Assert.Equal(4, f.Dp.TunnelCounters[PeerMag].OutPackets);
        Assert.Equal(4, f.Dp.VmCounters[MagFixture.VmMac].Direct.InPackets);
    }
}
