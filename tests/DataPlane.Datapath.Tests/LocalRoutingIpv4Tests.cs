using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// Local routing of IPv4 between two VMs of one MAG (RFC 5213 §6.10.3 applied to RFC 5844 home addresses): routed,
/// never bridged — the shared router MAC as source, the TTL decremented once with the header checksum updated, the
/// sender's guards and the receiver's session checked, TSO super-frames whole.
/// </summary>
public class LocalRoutingIpv4Tests
{
    internal static readonly Ipv4Address Vm2Ipv4 = Ipv4Address.Parse("10.200.0.10");

    /// <summary>VM1 (the fixture's, dual-stack by DHCP) and VM2 on a second port with 10.200.0.10 from its profile.</summary>
    internal static MagFixture TwoIpv4Vms(Func<MagOptions, MagOptions>? machine = null)
    {
        var f = new MagFixture(machine);
        f.EstablishIpv4(dualStack: true);
        var nai2 = LocalRoutingTests.Nai2;
        f.Dp.AddPort(LocalRoutingTests.Port2, "vif2.0", LocalRoutingTests.Vm2Mac);
        Assert.True(f.Dp.PortOnline(LocalRoutingTests.Port2, f.Now, PortOnlineKind.VmRunning));
        var request = Assert.Single(f.TakeHostActions().OfType<MagAction.RequestPolicy>());
        var profile = new VmProfile(nai2, [LocalRoutingTests.Hnp2], MagFixture.Lma, Vm2Ipv4) { Ipv4PrefixLength = 24 };
        f.Dp.Handle(new MagEvent.PolicyDecided(request.RequestId, profile), f.Now);
        var pbu = f.TakePbu();
        Assert.Equal(Vm2Ipv4, pbu.Ipv4HomeAddressRequest!.Address);
        f.Now += TimeSpan.FromMilliseconds(20);
        var pba = new BindingAcknowledgement(BindingAckStatus.Accepted, BindingAckFlags.ProxyRegistration, pbu.Sequence, pbu.Lifetime)
        {
            Options = new MobilityOptionList([new HomeNetworkPrefixOption(LocalRoutingTests.Hnp2),
                new HandoffIndicatorOption(pbu.HandoffIndicator!.Value), new TimestampOption(pbu.Timestamp!.Value),
                MobileNodeIdentifierOption.ForNai(nai2), new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, Vm2Ipv4),
                new Ipv4DefaultRouterAddressOption(MagFixture.Router4), new Ipv4DhcpSupportModeOption(true)]),
        };
        LocalRoutingTests.Receive(f, pba);
        f.TakeControl();
        f.TakeHostActions();
        Assert.True(f.Dp.TryLookupIpv4HomeAddress(Vm2Ipv4, out var owner));
        Assert.Equal(LocalRoutingTests.Port2, owner);
        return f;
    }

    internal static byte[] Udp4(Ipv4Address source, Ipv4Address destination, int length = 128, bool dontFragment = true, byte ttl = 64,
        MacAddress? mac = null) =>
        TestFrames.WithEthernet(MagIpv4Tests.Ipv4Udp(source, destination, length, dontFragment, ttl), MagFixture.SharedMac, mac ?? MagFixture.VmMac,
            EtherType.Ipv4);

    /// <summary>The frame the other VM must get: router MAC → its MAC, TTL one less, header checksum computed afresh (not incrementally).</summary>
    private static string Expected(byte[] sent, MacAddress to, byte ttl)
    {
        var packet = sent.AsSpan(EthernetFrame.HeaderLength).ToArray();
        packet[8] = ttl;
        Assert.True(Ipv4Packet.TryCreate(packet, out var ip, out _));
        ip.FillHeaderChecksum();
        return Hex.Of(MacBytes(to)) + "00005e005213" + "0800" + Hex.Of(packet);
    }

    private static byte[] MacBytes(MacAddress mac)
    {
        var b = new byte[6];
        mac.WriteTo(b);
        return b;
    }

    [Fact]
    public void An_ipv4_packet_to_a_vm_on_the_same_mag_is_routed_here_both_ways_from_the_router_ttl_decremented_once()
    {
        var f = TwoIpv4Vms();
        Assert.True(f.Dp.TryGetPort(LocalRoutingTests.Port2, out var port2));
        long port2Out = port2.Counters.OutPackets;
        var sent = Udp4(MagFixture.VmIpv4, Vm2Ipv4, ttl: 64);
        var (v, p) = f.FromVm(sent);
        Assert.Equal((VerdictKind.ToPort, LocalRoutingTests.Port2), (v.Kind, v.Port));
        Assert.Equal(Expected(sent, LocalRoutingTests.Vm2Mac, 63), Hex.Of(p.Buffer.AsSpan(v.Offset, v.Length)));
        Assert.False(v.Offload.IsGso || v.Offload.NeedsChecksum);

        // And back: VM2 → VM1, from VM2's port.
        var back = Udp4(Vm2Ipv4, MagFixture.VmIpv4, length: 300, ttl: 17, mac: LocalRoutingTests.Vm2Mac);
        var (w, q) = f.FromVm(back, port: LocalRoutingTests.Port2);
        Assert.Equal((VerdictKind.ToPort, MagFixture.Port), (w.Kind, w.Port));
        Assert.Equal(Expected(back, MagFixture.VmMac, 16), Hex.Of(q.Buffer.AsSpan(w.Offset, w.Length)));

        var vm1 = f.Dp.VmCounters[MagFixture.VmMac];
        var vm2 = f.Dp.VmCounters[LocalRoutingTests.Vm2Mac];
        Assert.Equal((1, 1, 1, 1), (vm1.Local.InPackets, vm1.Local.OutPackets, vm2.Local.InPackets, vm2.Local.OutPackets));
        Assert.Equal((128L, 300L), (vm1.Local.InBytes, vm1.Local.OutBytes));
        var vm1v4 = f.Dp.VmIpv4Counters[MagFixture.VmMac];
        var vm2v4 = f.Dp.VmIpv4Counters[LocalRoutingTests.Vm2Mac];
        Assert.Equal((1, 1, 1, 1), (vm1v4.InPackets, vm1v4.OutPackets, vm2v4.InPackets, vm2v4.OutPackets));
        Assert.Equal(0, vm1.Direct.InPackets);
        Assert.Equal(2, f.Dp.Counters.RoutedLocally);
        Assert.Equal(port2Out + 1, port2.Counters.OutPackets);
        Assert.Equal(0, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
    }

    [Fact]
    public void With_local_routing_off_ipv4_to_the_other_vm_goes_to_the_lma()
    {
        var f = TwoIpv4Vms(o => o with { EnableMagLocalRouting = false });
        var (v, _) = f.FromVm(Udp4(MagFixture.VmIpv4, Vm2Ipv4));
        Assert.Equal((VerdictKind.ToTunnel, MagFixture.Lma), (v.Kind, v.TunnelDestination));
        Assert.Equal(0, f.Dp.Counters.RoutedLocally);
    }

    [Fact]
    public void The_guards_apply_to_locally_routed_ipv4_as_to_any()
    {
        var f = TwoIpv4Vms();
        // TTL 1: Time Exceeded from the router to the sender, nothing to the other VM.
        Assert.Equal(DropReason.HopLimitExceeded, f.FromVm(Udp4(MagFixture.VmIpv4, Vm2Ipv4, ttl: 1)).Verdict.Reason);
        var (meta, _) = Assert.Single(f.TakeControl());
        Assert.Equal((ControlMessageKind.Icmpv4Error, MagFixture.Port), (meta.Kind, meta.Port));
        // A source that is not the sender's home address (here: the other VM's own, and one of the subnet).
        Assert.Equal(DropReason.SpoofedSource, f.FromVm(Udp4(Vm2Ipv4, Vm2Ipv4)).Verdict.Reason);
        Assert.Equal(DropReason.SpoofedSource, f.FromVm(Udp4(Ipv4Address.Parse("10.200.0.66"), Vm2Ipv4)).Verdict.Reason);
        // Never bridged: a frame to the other VM's MAC instead of the router's, the subnet broadcast.
        var bridged = Udp4(MagFixture.VmIpv4, Vm2Ipv4);
        LocalRoutingTests.Vm2Mac.WriteTo(bridged);
        Assert.Equal(DropReason.NotAddressedToRouter, f.FromVm(bridged).Verdict.Reason);
        Assert.Equal(DropReason.BroadcastNotForwarded, f.FromVm(Udp4(MagFixture.VmIpv4, Ipv4Address.Parse("10.200.0.255"))).Verdict.Reason);
        // Too big with DF: Fragmentation Needed at the access link's MTU, as for the tunnel.
        Assert.Equal(DropReason.PacketTooBig, f.FromVm(Udp4(MagFixture.VmIpv4, Vm2Ipv4, length: 1500)).Verdict.Reason);
        Assert.Single(f.TakeControl());
        Assert.Equal(0, f.Dp.VmCounters[LocalRoutingTests.Vm2Mac].OutPackets);
        Assert.Equal(0, f.Dp.Counters.RoutedLocally);
        // Without DF it is delivered as it is (no tunnel to fragment for).
        var (v, _) = f.FromVm(Udp4(MagFixture.VmIpv4, Vm2Ipv4, length: 1500, dontFragment: false));
        Assert.Equal((VerdictKind.ToPort, EthernetFrame.HeaderLength + 1500), (v.Kind, v.Length));
        Assert.Equal(0, f.Dp.Counters.Ipv4TunnelFragmentations);
    }

    [Fact]
    public void A_vm_whose_session_ended_is_not_reached_locally_any_more()
    {
        var f = TwoIpv4Vms();
        Assert.True(f.Dp.PortOffline(LocalRoutingTests.Port2, f.Now));
        Assert.False(f.Dp.TryLookupIpv4HomeAddress(Vm2Ipv4, out _));
        var (v, _) = f.FromVm(Udp4(MagFixture.VmIpv4, Vm2Ipv4));
        Assert.Equal((VerdictKind.ToTunnel, MagFixture.Lma), (v.Kind, v.TunnelDestination));
        Assert.Equal(0, f.Dp.Counters.RoutedLocally);
    }

    [Fact]
    public void An_ipv4_partial_checksum_is_completed_before_the_frame_is_routed_to_another_port()
    {
        var f = TwoIpv4Vms();
        var frame = TestFrames.TcpSuperFrame(ipv6: false, payload: 200, TcpFlags.Ack | TcpFlags.Psh, source4: MagFixture.VmIpv4, destination4: Vm2Ipv4);
        var offload = OffloadInfo.PartialChecksum(EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength, 16);
        var (v, p) = f.FromVm(frame, offload);
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.False(v.Offload.NeedsChecksum);
        Assert.True(Ipv4Packet.TryCreate(p.Buffer.AsSpan(v.Offset + EthernetFrame.HeaderLength, v.Length - EthernetFrame.HeaderLength), out var ip, out _));
        Assert.True(ip.IsHeaderChecksumValid);
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
        Assert.True(tcp.IsChecksumValid(MagFixture.VmIpv4, Vm2Ipv4));
    }

    [Fact]
    public void A_tcpv4_super_frame_to_a_vm_on_the_same_mag_goes_whole_with_its_descriptor()
    {
        var f = TwoIpv4Vms();
        var frame = TestFrames.TcpSuperFrame(ipv6: false, payload: 20_000, TcpFlags.Ack, source4: MagFixture.VmIpv4, destination4: Vm2Ipv4);
        const int headers = EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength + 32;
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV4, 1380, headers, EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength, 16);
        var (v, p) = f.FromVm(frame, offload);
        Assert.Equal((VerdictKind.ToPort, LocalRoutingTests.Port2, frame.Length), (v.Kind, v.Port, v.Length));
        Assert.Equal((GsoType.TcpV4, (ushort)1380, (ushort)headers, (ushort)(EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength), (ushort)16, true),
            (v.Offload.GsoType, v.Offload.GsoSize, v.Offload.HeaderLength, v.Offload.ChecksumStart, v.Offload.ChecksumOffset, v.Offload.NeedsChecksum));
        Assert.Equal(0, f.Dp.Segments.Count);
        var output = p.Buffer.AsSpan(v.Offset, v.Length);
        Assert.True(EthernetFrame.TryCreate(output, out var eth, out _));
        Assert.Equal((LocalRoutingTests.Vm2Mac, MagFixture.SharedMac, EtherType.Ipv4), (eth.Destination, eth.Source, eth.EtherType));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip, out _));
        Assert.Equal((63, true), (ip.TimeToLive, ip.IsHeaderChecksumValid));
        // What the receiving kernel cuts it with: the pseudo-header sum over the whole TCP length, not complemented.
        uint pseudo = InternetChecksum.PseudoHeader(MagFixture.VmIpv4, Vm2Ipv4, (ushort)(32 + 20_000), (byte)IpProtocol.Tcp);
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
        Assert.Equal((ushort)~InternetChecksum.Finish(pseudo), tcp.Checksum);
        // Counted as the 15 packets it stands for (20,000 bytes in 1,380-byte pieces), IPv4 included.
        Assert.Equal((15, 15), (f.Dp.VmCounters[MagFixture.VmMac].Local.InPackets, f.Dp.VmCounters[LocalRoutingTests.Vm2Mac].Local.OutPackets));
        Assert.Equal((15, 15), (f.Dp.VmIpv4Counters[MagFixture.VmMac].InPackets, f.Dp.VmIpv4Counters[LocalRoutingTests.Vm2Mac].OutPackets));
        Assert.Equal(0, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
    }
    [Fact]
    public void A_tcpv4_super_frame_that_came_with_a_full_checksum_leaves_with_the_pseudo_header_sum_its_segments_need()
    {
        var f = TwoIpv4Vms();
        var frame = TestFrames.TcpSuperFrame(ipv6: false, payload: 5_000, TcpFlags.Ack, source4: MagFixture.VmIpv4, destination4: Vm2Ipv4);
        const int tcpAt = EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength;
        Assert.True(TcpSegment.TryCreate(frame.AsSpan(tcpAt), out var sent, out _));
        sent.FillChecksum(MagFixture.VmIpv4, Vm2Ipv4); // a complete checksum over the whole super-frame, no NEEDS_CSUM
        var (v, p) = f.FromVm(frame, new OffloadInfo { GsoType = GsoType.TcpV4, GsoSize = 1400 });
        Assert.Equal((VerdictKind.ToPort, true, GsoType.TcpV4), (v.Kind, v.Offload.NeedsChecksum, v.Offload.GsoType));
        Assert.True(TcpSegment.TryCreate(p.Buffer.AsSpan(v.Offset + tcpAt, v.Length - tcpAt), out var tcp, out _));
        uint pseudo = InternetChecksum.PseudoHeader(MagFixture.VmIpv4, Vm2Ipv4, (ushort)(32 + 5_000), (byte)IpProtocol.Tcp);
        Assert.Equal((ushort)~InternetChecksum.Finish(pseudo), tcp.Checksum);
        Assert.Equal((4, 4), (f.Dp.VmCounters[MagFixture.VmMac].Local.InPackets, f.Dp.VmIpv4Counters[LocalRoutingTests.Vm2Mac].OutPackets));
    }
}
