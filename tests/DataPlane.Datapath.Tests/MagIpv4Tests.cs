using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>The IPv4 access link and IPv4-in-IPv6 at the MAG, frame by frame (RFC 5844 §3.2.4, §3.4).</summary>
public class MagIpv4Tests
{
    [Fact]
    public void A_discover_registers_the_vm_and_is_answered_with_an_offer_once_the_pba_is_in()
    {
        var f = new MagFixture();
        var (verdict, _) = f.FromVm(ScapyIpv4Vectors.Discover);
        Assert.Equal(VerdictKind.Consumed, verdict.Kind);
        Assert.Equal(1, f.Mag.Counters.SessionsStartedBy[AttachTrigger.Dhcp]);
        Assert.Equal(1, f.Dp.Counters.DhcpDeferred);
        var pbu = f.AnswerPolicy(MagFixture.Ipv4Profile(dualStack: false));
        Assert.Empty(pbu.HomeNetworkPrefixes);
        Assert.True(pbu.Ipv4HomeAddressRequest!.IsAllZero);
        f.AcceptPbuWithIpv4(pbu);
        var control = f.TakeControl();
        // The OFFER, then the default router announced (IPv4's counterpart of the RA after a registration), and no RA
        // for an IPv4-only VM. The announcement is the frame scapy expects as the answer to an ARP for the router.
        Assert.Equal(2, control.Count);
        var (meta, offerFrame) = control[0];
        Assert.Equal((ControlSink.Port, ControlMessageKind.DhcpReply, MagFixture.Port), (meta.Sink, meta.Kind, meta.Port));
        Assert.Equal((ControlSink.Port, ControlMessageKind.ArpAnnouncement, MagFixture.Port), (control[1].Meta.Sink, control[1].Meta.Kind, control[1].Meta.Port));
        Assert.Equal(ScapyIpv4Vectors.ArpReplyForRouter, Hex.Of(control[1].Bytes));
        var (src, dst, ethDst, offer) = MagFixture.ParseDhcpReply(offerFrame);
        // RFC 5844 §3.4.1/§3.4.3: the home address, the subnet mask, Router = Server Identifier = the default router,
        // Interface MTU = the tunnel MTU; to yiaddr at chaddr (the DISCOVER did not ask for a broadcast).
        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal((0x11223344u, MagFixture.VmMac), (offer.TransactionId, offer.ClientHardwareAddress));
        Assert.Equal(MagFixture.VmIpv4, offer.YourAddress);
        Assert.Equal(Ipv4Address.Parse("255.255.255.0"), offer.SubnetMask);
        Assert.Equal([MagFixture.Router4], offer.Routers);
        Assert.Equal(MagFixture.Router4, offer.ServerIdentifier);
        Assert.Equal((ushort)1460, offer.InterfaceMtu);
        Assert.Equal((3600u, 1800u, 3150u), (offer.LeaseTime!.Value, offer.RenewalTime!.Value, offer.RebindingTime!.Value));
        Assert.Equal((MagFixture.Router4, MagFixture.VmIpv4, MagFixture.VmMac), (src, dst, ethDst));
        Assert.Equal(1, f.Dp.Counters.DhcpSent[DhcpMessageType.Offer]);
        Assert.True(f.Dp.TryLookupIpv4HomeAddress(MagFixture.VmIpv4, out var port));
        Assert.Equal(MagFixture.Port, port);
    }

    [Fact]
    public void Select_init_reboot_and_renew_are_acked_for_the_home_address_and_naked_for_another()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        foreach (var (frame, xid, toBroadcast) in new[] { (ScapyIpv4Vectors.Select, 0x11223344u, false), (ScapyIpv4Vectors.InitReboot, 0x55667788u, false),
            (ScapyIpv4Vectors.Renew, 0x99aabbccu, false) })
        {
            Assert.Equal(VerdictKind.Consumed, f.FromVm(frame).Verdict.Kind);
            var (_, dst, ethDst, ack) = MagFixture.ParseDhcpReply(Assert.Single(f.TakeControl()).Bytes);
            Assert.Equal((DhcpMessageType.Ack, xid, MagFixture.VmIpv4), (ack.MessageType, ack.TransactionId, ack.YourAddress));
            Assert.Equal((MagFixture.VmIpv4, MagFixture.VmMac), (dst, ethDst));
            _ = toBroadcast;
        }
        // INIT-REBOOT for an address that is not the VM's: NAK, broadcast (RFC 2131 §4.3.2).
        f.FromVm(ScapyIpv4Vectors.InitRebootOther);
        var (_, nakDst, nakEth, nak) = MagFixture.ParseDhcpReply(Assert.Single(f.TakeControl()).Bytes);
        Assert.Equal((DhcpMessageType.Nak, Ipv4Address.Any, MagFixture.Router4), (nak.MessageType, nak.YourAddress, nak.ServerIdentifier!.Value));
        Assert.Equal((Ipv4Address.Broadcast, MacAddress.Broadcast), (nakDst, nakEth));
        Assert.Equal(3, f.Dp.Counters.DhcpSent[DhcpMessageType.Ack]);
        Assert.Equal(1, f.Dp.Counters.DhcpSent[DhcpMessageType.Nak]);
    }

    [Fact]
    public void A_configured_server_identifier_is_the_one_every_reply_names()
    {
        var stable = Ipv4Address.Parse("192.168.255.254");
        var f = new MagFixture(options: new MagDatapathOptions { DhcpServerIdentifier = stable, DhcpDnsServers = [Ipv4Address.Parse("10.0.0.53")], DhcpDomainName = "vm.test" });
        var offer = MagFixture.ParseDhcpReply(f.EstablishIpv4());
        Assert.Equal((stable, stable), (offer.Dhcp.ServerIdentifier!.Value, offer.Source));
        Assert.Equal([MagFixture.Router4], offer.Dhcp.Routers);
        Assert.Equal([Ipv4Address.Parse("10.0.0.53")], offer.Dhcp.DomainNameServers);
        Assert.Equal("vm.test", offer.Dhcp.DomainName!.Value.TryGetUtf8());
        // A SELECTING REQUEST naming another server is not ours to answer.
        f.FromVm(ScapyIpv4Vectors.Select); // names 10.200.0.1
        Assert.Empty(f.TakeControl());
        Assert.Equal(1, f.Dp.Counters.DhcpIgnored);
    }

    [Fact]
    public void Release_deregisters_only_ipv4_and_a_new_discover_brings_it_back()
    {
        var f = new MagFixture();
        f.EstablishIpv4(dualStack: true);
        Assert.Equal(VerdictKind.Consumed, f.FromVm(ScapyIpv4Vectors.Release).Verdict.Kind);
        var release = f.TakePbu();
        Assert.Equal(0, release.Lifetime);
        Assert.Empty(release.HomeNetworkPrefixes);
        Assert.Equal(MagFixture.VmIpv4, release.Ipv4HomeAddressRequest!.Address);
        f.FromVm(ScapyIpv4Vectors.Discover); // before the release is answered: asked once it is
        Assert.False(f.Dp.TryLookupIpv4HomeAddress(MagFixture.VmIpv4, out _));
        Assert.True(f.Dp.TryLookupPrefix(MagFixture.VmAddress, out _)); // IPv6 stays (RFC 5844 §3.4.3)
        // No IPv4 forwarding meanwhile.
        Assert.Equal(DropReason.Ipv4NotServed, f.FromVm(ScapyIpv4Vectors.UdpToClient).Verdict.Reason);

        Assert.Empty(f.TakeControl());
        f.AcceptPbuWithIpv4(release);
        var ask = f.TakePbu();
        Assert.True(ask.Ipv4HomeAddressRequest!.IsAllZero);
        Assert.Equal([MagFixture.Hnp], ask.HomeNetworkPrefixes);
        f.AcceptPbuWithIpv4(ask);
        var control = f.TakeControl();
        Assert.Equal(DhcpMessageType.Offer, MagFixture.ParseDhcpReply(control[0].Bytes).Dhcp.MessageType);
        Assert.Equal([ControlMessageKind.DhcpReply, ControlMessageKind.ArpAnnouncement], control.Select(c => c.Meta.Kind));
    }

    [Fact]
    public void The_default_router_is_announced_once_per_installed_address_not_on_every_refresh()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        Assert.Equal(1, f.Dp.Counters.ControlSent[ControlMessageKind.ArpAnnouncement]);
        // A re-registration on the established session (QEMU's RARP) re-installs the same assignment: nothing new to announce.
        f.Now += TimeSpan.FromSeconds(5);
        f.FromVm(ScapyVectors.QemuRarp);
        var again = f.TakePbu();
        Assert.Equal(MagFixture.VmIpv4, again.Ipv4HomeAddressRequest!.Address);
        f.AcceptPbuWithIpv4(again);
        Assert.Equal(1, f.Dp.Counters.ControlSent[ControlMessageKind.ArpAnnouncement]);
    }

    [Fact]
    public void Arp_for_the_router_is_answered_with_the_shared_mac_as_scapy_expects()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        Assert.Equal(VerdictKind.Consumed, f.FromVm(ScapyIpv4Vectors.ArpForRouter).Verdict.Kind);
        var (meta, reply) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.ArpReply, meta.Kind);
        Assert.Equal(ScapyIpv4Vectors.ArpReplyForRouter, Hex.Of(reply));
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.ArpRequestForRouter]);
    }

    [Fact]
    public void Every_other_address_of_the_home_subnet_is_proxy_arped_and_nothing_outside_it()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        f.FromVm(ScapyIpv4Vectors.ArpForNeighbor);
        var reply = Assert.Single(f.TakeControl()).Bytes;
        Assert.True(ArpRepr.TryParse(reply.AsSpan(EthernetFrame.HeaderLength), out var arp, out _));
        Assert.Equal((ArpOperation.Reply, MagFixture.SharedMac, Ipv4Address.Parse("10.200.0.20")), (arp.Operation, arp.SenderHardwareAddress, arp.SenderProtocolAddress));
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.ArpRequestProxied]);

        var outside = Hex.Bytes(ScapyIpv4Vectors.ArpForNeighbor);
        outside[^4] = 192; // who-has 192.200.0.20
        f.FromVm(outside);
        var probe = Hex.Bytes(ScapyIpv4Vectors.ArpForNeighbor);
        Ipv4Address.Any.WriteTo(probe.AsSpan(EthernetFrame.HeaderLength + 14)); // RFC 5227 probe: sender 0.0.0.0 …
        MagFixture.VmIpv4.WriteTo(probe.AsSpan(EthernetFrame.HeaderLength + 24)); // … for its own address
        f.FromVm(probe);
        Assert.Empty(f.TakeControl());
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.ArpRequestUnanswered]);
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.ArpProbe]);
    }

    [Fact]
    public void Arp_claiming_the_router_or_another_address_or_mac_is_a_counted_drop()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        Assert.Equal(DropReason.ArpSpoofed, f.FromVm(ScapyIpv4Vectors.ArpSpoofRouter).Verdict.Reason);
        var other = Hex.Bytes(ScapyIpv4Vectors.ArpForRouter);
        Ipv4Address.Parse("10.200.0.20").WriteTo(other.AsSpan(EthernetFrame.HeaderLength + 14)); // "tell 10.200.0.20"
        Assert.Equal(DropReason.ArpSpoofed, f.FromVm(other).Verdict.Reason);
        var otherMac = Hex.Bytes(ScapyIpv4Vectors.ArpForRouter);
        otherMac[EthernetFrame.HeaderLength + 13] = 0x99; // sender hardware address ≠ the Ethernet source
        Assert.Equal(DropReason.ArpSpoofed, f.FromVm(otherMac).Verdict.Reason);
        Assert.Empty(f.TakeControl());
        Assert.Equal(3, f.Dp.VmCounters[MagFixture.VmMac].Drops[DropReason.ArpSpoofed]);
        Assert.Equal(0, f.Mag.Counters.AttachTriggers[AttachTrigger.GratuitousArp]);
    }

    [Fact]
    public void A_vm_acting_as_a_dhcp_server_is_dropped()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        Assert.Equal(DropReason.DhcpServerGuard, f.FromVm(ScapyIpv4Vectors.RogueOffer).Verdict.Reason);
        Assert.Empty(f.TakeControl());
    }

    [Fact]
    public void Ipv4_from_the_home_address_goes_up_the_tunnel_ttl_decremented_and_nothing_else_does()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        var (verdict, p) = f.FromVm(ScapyIpv4Vectors.UdpToClient);
        Assert.Equal(VerdictKind.ToTunnel, verdict.Kind);
        Assert.Equal(MagFixture.Lma, verdict.TunnelDestination);
        var inner = p.Output(verdict);
        Assert.True(Ipv4Packet.TryCreate(inner, out var ip, out _));
        Assert.Equal((63, true), (ip.TimeToLive, ip.IsHeaderChecksumValid)); // RFC 1624 incremental update
        Assert.Equal(1, f.Dp.VmIpv4Counters[MagFixture.VmMac].InPackets);

        // A spoofed source, broadcasts, multicast, a frame not for the router: counted drops.
        var spoofed = Hex.Bytes(ScapyIpv4Vectors.UdpToClient);
        spoofed[EthernetFrame.HeaderLength + 15] = 20; // 10.200.0.20
        RefreshIpv4Checksum(spoofed);
        Assert.Equal(DropReason.SpoofedSource, f.FromVm(spoofed).Verdict.Reason);
        foreach (var (destination, reason) in new[] { ("255.255.255.255", DropReason.BroadcastNotForwarded), ("10.200.0.255", DropReason.BroadcastNotForwarded),
            ("224.0.0.251", DropReason.MulticastNotForwarded), ("127.0.0.1", DropReason.InvalidDestination) })
        {
            var frame = Hex.Bytes(ScapyIpv4Vectors.UdpToClient);
            Ipv4Address.Parse(destination).WriteTo(frame.AsSpan(EthernetFrame.HeaderLength + 16));
            RefreshIpv4Checksum(frame);
            Assert.Equal(reason, f.FromVm(frame).Verdict.Reason);
        }
        var notRouter = Hex.Bytes(ScapyIpv4Vectors.UdpToClient);
        notRouter[5] = 0x14; // to 00:00:5e:00:52:14
        Assert.Equal(DropReason.NotAddressedToRouter, f.FromVm(notRouter).Verdict.Reason);
        var badChecksum = Hex.Bytes(ScapyIpv4Vectors.UdpToClient);
        badChecksum[EthernetFrame.HeaderLength + 10] ^= 0xFF;
        Assert.Equal(DropReason.Malformed, f.FromVm(badChecksum).Verdict.Reason);
    }

    [Fact]
    public void Ttl_1_gets_time_exceeded_and_too_big_with_df_gets_fragmentation_needed_from_the_router()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        var ttl1 = Hex.Bytes(ScapyIpv4Vectors.UdpToClient);
        ttl1[EthernetFrame.HeaderLength + 8] = 1;
        RefreshIpv4Checksum(ttl1);
        Assert.Equal(DropReason.HopLimitExceeded, f.FromVm(ttl1).Verdict.Reason);
        var (meta, error) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.Icmpv4Error, meta.Kind);
        AssertIcmp(error, Icmpv4Type.TimeExceeded, 0, 0);

        var big = TestFrames.WithEthernet(Ipv4Udp(MagFixture.VmIpv4, MagFixture.Client4, 1500, dontFragment: true), MagFixture.SharedMac, MagFixture.VmMac, EtherType.Ipv4);
        Assert.Equal(DropReason.PacketTooBig, f.FromVm(big).Verdict.Reason);
        AssertIcmp(Assert.Single(f.TakeControl()).Bytes, Icmpv4Type.DestinationUnreachable, 4, 1460);

        // Without DF the packet goes: the tunnel packet is fragmented (RFC 2473 §7.2(b)), counted.
        var mayFragment = TestFrames.WithEthernet(Ipv4Udp(MagFixture.VmIpv4, MagFixture.Client4, 1500, dontFragment: false), MagFixture.SharedMac, MagFixture.VmMac, EtherType.Ipv4);
        Assert.Equal(VerdictKind.ToTunnel, f.FromVm(mayFragment).Verdict.Kind);
        Assert.Equal(1, f.Dp.Counters.Ipv4TunnelFragmentations);
    }

    [Fact]
    public void Ipv4_from_the_tunnel_reaches_the_vm_only_from_its_lma_and_for_its_address()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        var inner = Ipv4Udp(MagFixture.Client4, MagFixture.VmIpv4, 100, dontFragment: true, ttl: 60);
        var p = Packet.Of(inner);
        var verdict = f.FromTunnel(p);
        Assert.Equal(VerdictKind.ToPort, verdict.Kind);
        Assert.Equal("525400123456" + "00005e005213" + "0800" + Hex.Of(inner), Hex.Of(p.Output(verdict))); // TTL untouched
        Assert.Equal(1, f.Dp.VmIpv4Counters[MagFixture.VmMac].OutPackets);
        Assert.Equal(DropReason.TunnelSourceMismatch, f.FromTunnel(Packet.Of(inner), outerSource: Ipv6Address.Parse("2001:db8:ffff::66")).Reason);
        Assert.Equal(DropReason.NoBinding, f.FromTunnel(Packet.Of(Ipv4Udp(MagFixture.Client4, Ipv4Address.Parse("10.200.0.77"), 30, true))).Reason);
        Assert.Equal(DropReason.BroadcastNotForwarded, f.FromTunnel(Packet.Of(Ipv4Udp(MagFixture.Client4, Ipv4Address.Broadcast, 30, true))).Reason);
    }

    [Fact]
    public void Without_ipv4_service_arp_is_not_answered_and_ipv4_is_not_forwarded()
    {
        var f = new MagFixture();
        f.Establish(); // IPv6 only
        f.FromVm(ScapyIpv4Vectors.ArpForRouter);
        Assert.Empty(f.TakeControl());
        Assert.Equal(DropReason.Ipv4NotServed, f.FromVm(ScapyIpv4Vectors.UdpToClient).Verdict.Reason);
        // Its DHCP is kept, and asks the machine for IPv4, which the profile does not give: no reply.
        f.FromVm(ScapyIpv4Vectors.Discover);
        Assert.Empty(f.TakeControl());
        Assert.Equal(1, f.Mag.Counters.Ipv4RequestsIgnored);
    }

    [Fact]
    public void Ipv4_nud_is_a_unicast_arp_request_from_the_router()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        f.Now += TimeSpan.FromSeconds(31);
        f.Dp.Tick(f.Now);
        var (meta, probe) = Assert.Single(f.TakeControl(), c => c.Meta.Sink == ControlSink.Port);
        Assert.Equal(ControlMessageKind.ArpProbe, meta.Kind);
        Assert.True(EthernetFrame.TryCreate(probe, out var eth, out _));
        Assert.Equal((MagFixture.VmMac, MagFixture.SharedMac, EtherType.Arp), (eth.Destination, eth.Source, eth.EtherType));
        Assert.True(ArpRepr.TryParse(eth.Payload, out var arp, out _));
        Assert.Equal(new ArpRepr(ArpOperation.Request, MagFixture.SharedMac, MagFixture.Router4, default, MagFixture.VmIpv4), arp);
        // The VM's reply confirms it is there.
        var reply = TestFrames.WithEthernet(new byte[ArpPacket.Length], MagFixture.SharedMac, MagFixture.VmMac, EtherType.Arp);
        new ArpRepr(ArpOperation.Reply, MagFixture.VmMac, MagFixture.VmIpv4, MagFixture.SharedMac, MagFixture.Router4).WriteTo(reply.AsSpan(EthernetFrame.HeaderLength));
        Assert.Equal(VerdictKind.Consumed, f.FromVm(reply).Verdict.Kind);
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.ArpReply]);
    }

    [Fact]
    public void A_tcpv4_super_frame_from_the_vm_is_cut_into_segments_for_the_tunnel()
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        const int gso = 1400, payload = 4 * gso + 100;
        var ip = new byte[20 + 20 + payload];
        Ipv4Packet.WriteHeader(ip, MagFixture.VmIpv4, MagFixture.Client4, IpProtocol.Tcp, 20 + payload, ttl: 64, identification: 100);
        TcpSegment.WriteHeader(ip.AsSpan(20), 40000, 80, 1000, 1, TcpFlags.Ack | TcpFlags.Psh, 500);
        Assert.True(TcpSegment.TryCreate(ip.AsSpan(20), out var tcp, out _));
        tcp.FillChecksum(MagFixture.VmIpv4, MagFixture.Client4);
        var frame = TestFrames.WithEthernet(ip, MagFixture.SharedMac, MagFixture.VmMac, EtherType.Ipv4);
        var offload = new OffloadInfo { GsoType = GsoType.TcpV4, GsoSize = gso };
        var (verdict, _) = f.FromVm(frame, offload);
        Assert.Equal(VerdictKind.Segmented, verdict.Kind);
        Assert.Equal(5, verdict.SegmentCount);
        for (int i = 0; i < verdict.SegmentCount; i++)
        {
            var sv = f.Dp.Segments.VerdictOf(verdict.FirstSegment + i);
            Assert.Equal(VerdictKind.ToTunnel, sv.Kind);
            var segment = f.Dp.Segments.Buffer(verdict.FirstSegment + i).Slice(sv.Offset, sv.Length);
            Assert.True(Ipv4Packet.TryCreate(segment, out var s, out _));
            Assert.True(s.IsHeaderChecksumValid);
            Assert.Equal(63, s.TimeToLive);
            Assert.True(TcpSegment.TryCreate(s.Payload, out var seg, out _));
            Assert.True(seg.IsChecksumValid(s.Source, s.Destination));
            Assert.Equal(1000u + (uint)(i * gso), seg.SequenceNumber);
        }
        Assert.Equal(5, f.Dp.VmIpv4Counters[MagFixture.VmMac].InPackets);
    }

    internal static byte[] Ipv4Udp(Ipv4Address source, Ipv4Address destination, int length, bool dontFragment, byte ttl = 64)
    {
        var b = new byte[length];
        Ipv4Packet.WriteHeader(b, source, destination, IpProtocol.Udp, length - 20, ttl, identification: 9, dontFragment: dontFragment);
        UdpDatagram.WriteHeader(b.AsSpan(20), 1234, 5678, length - 28);
        UdpDatagram.TryCreate(b.AsSpan(20), out var udp, out _);
        udp.FillChecksum(source, destination);
        return b;
    }

    private static void RefreshIpv4Checksum(byte[] frame)
    {
        Assert.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.HeaderLength), out var ip, out _));
        ip.FillHeaderChecksum();
        if (ip.Protocol == IpProtocol.Udp && UdpDatagram.TryCreate(ip.Payload, out var udp, out _)) udp.FillChecksum(ip.Source, ip.Destination);
    }

    private static void AssertIcmp(byte[] frame, Icmpv4Type type, byte code, ushort mtu)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth, out _));
        Assert.Equal((MagFixture.VmMac, MagFixture.SharedMac, EtherType.Ipv4), (eth.Destination, eth.Source, eth.EtherType));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip, out _));
        Assert.True(ip.IsHeaderChecksumValid);
        Assert.Equal((MagFixture.Router4, MagFixture.VmIpv4, IpProtocol.Icmp), (ip.Source, ip.Destination, ip.Protocol));
        Assert.True(Icmpv4Packet.TryCreate(ip.Payload, out var icmp, out _));
        Assert.True(icmp.IsChecksumValid);
        Assert.Equal((type, code), (icmp.Type, icmp.Code));
        if (mtu != 0) Assert.Equal(mtu, icmp.NextHopMtu);
        Assert.True(Ipv4Packet.TryCreate(icmp.Data, out var quoted, out _) || icmp.Data.Length >= 28);
    }
}
