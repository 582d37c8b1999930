using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>VM → tunnel and tunnel → VM forwarding, and every reason a data packet is refused.</summary>
public class MagForwardingTests
{
    [Fact]
    public void Data_from_the_vm_goes_to_its_lma_in_place_with_the_hop_limit_decremented_once()
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, packet) = f.FromVm(ScapyVectors.UdpFromVm);
        Assert.Equal(VerdictKind.ToTunnel, verdict.Kind);
        Assert.Equal(MagFixture.Lma, verdict.TunnelDestination);
        Assert.Equal(packet.Offset + EthernetFrame.HeaderLength, verdict.Offset); // zero copy: the inner packet where it was received
        var expected = Hex.Bytes(ScapyVectors.UdpFromVm)[EthernetFrame.HeaderLength..];
        expected[7] = 63; // hop limit 64 → 63 (RFC 2473 §3.1); nothing else changes
        Assert.Equal(Hex.Of(expected), Hex.Of(packet.Output(verdict)));
        Assert.Equal((1, expected.Length), ((int)f.Dp.VmCounters[MagFixture.VmMac].InPackets, (int)f.Dp.VmCounters[MagFixture.VmMac].InBytes));
        Assert.Equal(1, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
        Assert.True(f.Dp.TryGetPort(MagFixture.Port, out var port));
        Assert.Equal(2, port.Counters.InPackets); // the RS and this frame
    }

    [Fact]
    public void A_source_outside_the_vms_prefix_is_spoofed()
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, _) = f.FromVm(TestFrames.FromVm(source: Ipv6Address.Parse("2001:db8:7::1")));
        Assert.Equal(DropReason.SpoofedSource, verdict.Reason);
        Assert.Equal(DropReason.SpoofedSource, f.FromVm(TestFrames.FromVm(source: Ipv6Address.Unspecified)).Verdict.Reason);
        Assert.Equal(2, f.Dp.VmCounters[MagFixture.VmMac].Drops[DropReason.SpoofedSource]);
        Assert.Empty(f.TakeControl());
    }

    [Fact]
    public void Link_local_multicast_and_unroutable_destinations_are_not_forwarded()
    {
        var f = new MagFixture();
        f.Establish();
        Assert.Equal(DropReason.LinkLocalNotForwarded, f.FromVm(TestFrames.FromVm(destination: Ipv6Address.Parse("fe80::1"))).Verdict.Reason);
        Assert.Equal(DropReason.LinkLocalNotForwarded, f.FromVm(TestFrames.FromVm(source: MagFixture.VmLinkLocal)).Verdict.Reason);
        var toMulticast = TestFrames.WithEthernet(TestFrames.Ipv6Udp(MagFixture.VmAddress, Ipv6Address.Parse("ff0e::1")),
            MacAddress.ForIpv6Multicast(Ipv6Address.Parse("ff0e::1")), MagFixture.VmMac);
        Assert.Equal(DropReason.MulticastNotForwarded, f.FromVm(toMulticast).Verdict.Reason);
        Assert.Equal(DropReason.InvalidDestination, f.FromVm(TestFrames.FromVm(destination: Ipv6Address.Loopback)).Verdict.Reason);
        // Addressed at layer 2 to someone other than the router: the switch does not bridge.
        var toOther = TestFrames.WithEthernet(TestFrames.Ipv6Udp(MagFixture.VmAddress, MagFixture.Client), MacAddress.Parse("52:54:00:00:00:42"), MagFixture.VmMac);
        Assert.Equal(DropReason.NotAddressedToRouter, f.FromVm(toOther).Verdict.Reason);
    }

    [Fact]
    public void No_session_no_forwarding()
    {
        var f = new MagFixture();
        f.FromVm(ScapyVectors.RouterSolicitation); // attached, but the policy store has not answered
        Assert.Equal(DropReason.NoBinding, f.FromVm(ScapyVectors.UdpFromVm).Verdict.Reason);
    }

    [Fact]
    public void Hop_limit_one_is_answered_with_time_exceeded_from_the_router_address()
    {
        var f = new MagFixture();
        f.Establish();
        var frame = TestFrames.FromVm(hopLimit: 1);
        var (verdict, _) = f.FromVm(frame);
        Assert.Equal(DropReason.HopLimitExceeded, verdict.Reason);
        var (meta, reply) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.TimeExceeded, meta.Kind);
        Assert.True(EthernetFrame.TryCreate(reply, out var eth, out _));
        Assert.Equal((MagFixture.VmMac, MagFixture.SharedMac), (eth.Destination, eth.Source));
        var ip = MagAccessLinkTests.Ipv6(reply);
        Assert.Equal((MagFixture.Coa, MagFixture.VmAddress), (ip.Source, ip.Destination)); // default error source: the Proxy-CoA
        Assert.True(Icmpv6Packet.IsChecksumValid(ip.Payload, ip.Source, ip.Destination));
        Assert.True(Icmpv6ErrorMessage.TryParse(ip.Payload, out var error, out _));
        Assert.Equal(Icmpv6Type.TimeExceeded, error.Type);
        Assert.Equal((byte)TimeExceededCode.HopLimitExceededInTransit, error.Code);
        Assert.Equal(Hex.Of(frame[EthernetFrame.HeaderLength..]), Hex.Of(error.InvokingPacket.Span)); // quoted unchanged
    }

    [Fact]
    public void Oversize_packet_is_answered_with_packet_too_big_carrying_the_tunnel_mtu_and_the_invoking_packet()
    {
        var f = new MagFixture();
        f.Establish();
        var frame = TestFrames.FromVm(payload: 1460 - 40 - 8 + 1); // one byte over the tunnel MTU
        var (verdict, _) = f.FromVm(frame);
        Assert.Equal(DropReason.PacketTooBig, verdict.Reason);
        var (meta, reply) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.PacketTooBig, meta.Kind);
        var ip = MagAccessLinkTests.Ipv6(reply);
        Assert.Equal(Icmpv6Packet.MinimumMtu, ip.Buffer.Length); // quoted as much as fits 1280 bytes
        Assert.True(PacketTooBig.TryParse(ip.Payload, out var ptb, out _));
        Assert.Equal(1460u, ptb.Mtu);
        Assert.Equal(Hex.Of(frame.AsSpan(EthernetFrame.HeaderLength, Icmpv6ErrorView.MaxInvokingPacketLength)), Hex.Of(ptb.InvokingPacket.Span));
        Assert.True(Icmpv6Packet.IsChecksumValid(ip.Payload, ip.Source, ip.Destination));
        // Exactly the tunnel MTU still goes through.
        Assert.Equal(VerdictKind.ToTunnel, f.FromVm(TestFrames.FromVm(payload: 1460 - 40 - 8)).Verdict.Kind);
    }

    [Fact]
    public void Icmpv6_errors_are_rate_limited_per_port_and_never_sent_about_errors()
    {
        var f = new MagFixture(options: new MagDatapathOptions { IcmpErrorRate = RateLimit.PerSecond(10, burst: 3) });
        f.Establish();
        for (int i = 0; i < 10; i++) Assert.Equal(DropReason.HopLimitExceeded, f.FromVm(TestFrames.FromVm(hopLimit: 1)).Verdict.Reason);
        Assert.Equal(3, f.TakeControl().Count);
        Assert.Equal(7, f.Dp.Counters.IcmpErrorsSuppressed);

        f.Now += TimeSpan.FromSeconds(10);
        var error = new byte[128];
        int n = Icmpv6Writer.WriteDestinationUnreachable(error, MagFixture.VmAddress, MagFixture.Client, DestinationUnreachableCode.PortUnreachable, new byte[48]);
        var packet = new byte[Ipv6Packet.HeaderLength + n];
        Ipv6Packet.WriteHeader(packet, MagFixture.VmAddress, MagFixture.Client, IpProtocol.Icmpv6, n, 1);
        error.AsSpan(0, n).CopyTo(packet.AsSpan(Ipv6Packet.HeaderLength));
        Assert.Equal(DropReason.HopLimitExceeded, f.FromVm(TestFrames.WithEthernet(packet, MagFixture.SharedMac, MagFixture.VmMac)).Verdict.Reason);
        Assert.Empty(f.TakeControl()); // RFC 4443 §2.4(e)
    }

    [Fact]
    public void A_malformed_header_chain_is_dropped_with_the_wire_reason()
    {
        var f = new MagFixture();
        f.Establish();
        // Hop-by-hop header whose option claims 10 bytes in a header that has 6 left.
        var hbh = new byte[] { (byte)IpProtocol.Udp, 0, 0x1e, 10, 0, 0, 0, 0 };
        var udp = TestFrames.Ipv6Udp(MagFixture.VmAddress, MagFixture.Client)[Ipv6Packet.HeaderLength..];
        var packet = new byte[Ipv6Packet.HeaderLength + hbh.Length + udp.Length];
        Ipv6Packet.WriteHeader(packet, MagFixture.VmAddress, MagFixture.Client, IpProtocol.HopByHop, hbh.Length + udp.Length);
        hbh.CopyTo(packet, Ipv6Packet.HeaderLength);
        udp.CopyTo(packet, Ipv6Packet.HeaderLength + hbh.Length);
        var (verdict, _) = f.FromVm(TestFrames.WithEthernet(packet, MagFixture.SharedMac, MagFixture.VmMac));
        Assert.Equal(Verdict.Drop(DropReason.Malformed, WireError.BadOption).ToString(), verdict.ToString());
        // A payload length beyond the frame.
        var truncated = TestFrames.FromVm();
        truncated[EthernetFrame.HeaderLength + 5] = 200;
        Assert.Equal(Verdict.Drop(DropReason.Malformed, WireError.Truncated).ToString(), f.FromVm(truncated).Verdict.ToString());
        Assert.Equal(2, f.Dp.Counters.All.Drops[DropReason.Malformed]);
        Assert.Equal(1, f.Dp.Counters.All.MalformedBy[WireError.BadOption]);
        Assert.Empty(f.TakeControl());
    }

    [Fact]
    public void Ipv4_of_a_vm_without_ipv4_vlan_tags_and_other_ethertypes_are_not_served()
    {
        var f = new MagFixture();
        f.Establish();
        var v4 = new byte[28];
        Ipv4Packet.WriteHeader(v4, new Ipv4Address(192, 0, 2, 10), new Ipv4Address(198, 51, 100, 1), IpProtocol.Udp, 8);
        UdpDatagram.WriteHeader(v4.AsSpan(20), 1000, 2000, 0);
        Assert.Equal(DropReason.Ipv4NotServed, f.FromVm(TestFrames.WithEthernet(v4, MagFixture.SharedMac, MagFixture.VmMac, EtherType.Ipv4)).Verdict.Reason);
        var arpRequest = Hex.Bytes(ScapyVectors.GratuitousArp);
        arpRequest[^1] = 1; // target address differs from the sender's: an ordinary request, not answered without an IPv4 address
        Assert.Equal(VerdictKind.Consumed, f.FromVm(arpRequest).Verdict.Kind);
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.ArpRequestUnanswered]);
        Assert.Empty(f.TakeControl());
        Assert.Equal(DropReason.UnsupportedEtherType,
            f.FromVm(TestFrames.WithEthernet(new byte[46], MagFixture.SharedMac, MagFixture.VmMac, (EtherType)0x88CC)).Verdict.Reason);
        var tagged = Hex.Bytes("00005e005213" + "525400123456" + "8100002a" + "86dd" + ScapyVectors.UdpFromVm[28..]);
        Assert.Equal(DropReason.VlanTagged, f.FromVm(tagged).Verdict.Reason);
    }

    [Fact]
    public void Tunnel_to_vm_writes_the_ethernet_header_into_the_headroom()
    {
        var f = new MagFixture();
        f.Establish();
        var inner = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, hopLimit: 60, payload: 100);
        var p = Packet.Of(inner);
        var verdict = f.FromTunnel(p);
        Assert.Equal(VerdictKind.ToPort, verdict.Kind);
        Assert.Equal(MagFixture.Port, verdict.Port);
        Assert.Equal(p.Offset - EthernetFrame.HeaderLength, verdict.Offset);
        var frame = p.Output(verdict);
        Assert.Equal("525400123456" + "00005e005213" + "86dd" + Hex.Of(inner), Hex.Of(frame)); // inner unchanged, hop limit included
        Assert.Equal(1, f.Dp.VmCounters[MagFixture.VmMac].OutPackets);
        Assert.Equal(inner.Length, f.Dp.TunnelCounters[MagFixture.Lma].InBytes);
    }

    [Fact]
    public void Tunnel_packets_from_anyone_but_the_vms_lma_or_for_no_installed_prefix_are_dropped()
    {
        var f = new MagFixture();
        f.Establish();
        var inner = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress);
        Assert.Equal(DropReason.TunnelSourceMismatch, f.FromTunnel(Packet.Of(inner), outerSource: Ipv6Address.Parse("2001:db8:ffff::66")).Reason);
        Assert.Equal(DropReason.NotForThisMag, f.FromTunnel(Packet.Of(inner), outerDestination: Ipv6Address.Parse("2001:db8:ffff::3")).Reason);
        Assert.Equal(DropReason.NoBinding, f.FromTunnel(Packet.Of(TestFrames.Ipv6Udp(MagFixture.Client, Ipv6Address.Parse("2001:db8:5::1")))).Reason);
        Assert.Equal(DropReason.NoHeadroom, f.FromTunnel(Packet.Of(inner, headroom: 4)).Reason);
        var v4 = new byte[28];
        Ipv4Packet.WriteHeader(v4, new Ipv4Address(198, 51, 100, 1), new Ipv4Address(192, 0, 2, 10), IpProtocol.Udp, 8);
        Assert.Equal(DropReason.NoBinding, f.FromTunnel(Packet.Of(v4)).Reason); // no VM has that IPv4 home address
        Assert.Equal(DropReason.Malformed, f.FromTunnel(Packet.Of(inner[..30])).Reason);
        Assert.Equal(2, f.Dp.TunnelCounters[MagFixture.Lma].Drops[DropReason.NoBinding]);
        Assert.Equal(0, f.Dp.TunnelCounters[MagFixture.Lma].InPackets);
    }

    [Fact]
    public void Prefixes_of_other_lengths_are_matched_longest_first()
    {
        var t = new PrefixTable<string>();
        t.Set(Ipv6Prefix.Parse("2001:db8::/32"), "32");
        t.Set(Ipv6Prefix.Parse("2001:db8:1::/64"), "64");
        t.Set(Ipv6Prefix.Parse("2001:db8:1:0:8000::/65"), "65");
        t.Set(Ipv6Prefix.Parse("2001:db8:1::/48"), "48");
        string? Lookup(string a) => t.TryLookup(Ipv6Address.Parse(a), out var v) ? v : null;
        Assert.Equal("65", Lookup("2001:db8:1:0:8000::1"));
        Assert.Equal("64", Lookup("2001:db8:1::1"));
        Assert.Equal("48", Lookup("2001:db8:1:2::1"));
        Assert.Equal("32", Lookup("2001:db8:9::1"));
        Assert.Null(Lookup("2001:db9::1"));
        Assert.True(t.Remove(Ipv6Prefix.Parse("2001:db8:1:0:8000::/65")));
        Assert.Equal("64", Lookup("2001:db8:1:0:8000::1"));
        Assert.False(t.Remove(Ipv6Prefix.Parse("2001:db8:1::/64"), onlyIf: "other owner"));
        Assert.Equal(3, t.Count);
        Assert.Equal(3, t.Entries.Count());
    }
}
