using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>
/// RFC 5844's IPv4-over-IPv6 on this kernel (no ip6_tunnel, no tunnel4 handler for next header 4): a raw IPv6
/// socket for protocol 4 sends and receives the inner IPv4 packet like the protocol-41 one does for IPv6, and an
/// oversize one is sent as outer IPv6 fragments (RFC 2473 §7.2(b)). And the IPv4 address and route the LMA puts
/// on its home device.
/// </summary>
public sealed class Ipv4InIpv6SocketTests
{
    private static byte[] Ipv4Udp(int length, byte marker)
    {
        var b = new byte[length];
        Ipv4Packet.WriteHeader(b, Ipv4Address.Parse("10.200.0.9"), Ipv4Address.Parse("198.51.100.20"), IpProtocol.Udp, length - 20,
            ttl: 63, identification: marker, dontFragment: false);
        UdpDatagram.WriteHeader(b.AsSpan(20), 5000, 6000, length - 28);
        b[28] = marker;
        UdpDatagram.TryCreate(b.AsSpan(20), out var udp, out _);
        udp.FillChecksum(Ipv4Address.Parse("10.200.0.9"), Ipv4Address.Parse("198.51.100.20"));
        return b;
    }

    [Fact]
    public void Ipv4_packets_cross_with_next_header_4_and_an_oversize_one_is_fragmented_outside()
    {
        using var pair = new NamespacePair();
        using var a = pair.A.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.IpInIp, LocalAddress = NamespacePair.AddressA }));
        using var b = pair.B.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.IpInIp, LocalAddress = NamespacePair.AddressB }));
        using var wire = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var tx = new PacketBatch(4, 2048);
        using var rx = new PacketBatch(8, 4096);
        var small = Ipv4Udp(100, 1);
        var big = Ipv4Udp(1480, 2); // 1520 bytes with the outer header: over the veth's 1500
        tx.Meta(tx.Add(small)).Destination = NamespacePair.AddressB;
        tx.Meta(tx.Add(big)).Destination = NamespacePair.AddressB;
        Assert.Equal(2, a.Send(tx, 0, 2));

        var got = Frames.Collect(b, rx, r => r.Bytes.Length > 28 && r.Bytes[0] >> 4 == 4, 2);
        Assert.Equal(2, got.Count);
        Assert.Equal(small, got[0].Bytes);
        Assert.Equal(big, got[1].Bytes); // reassembled by the receiving kernel
        Assert.Equal((NamespacePair.AddressA, NamespacePair.AddressB), (got[0].Meta.Source, got[0].Meta.Destination));

        // On the wire: next header 4, hop limit 64; the big one as fragments (next header 44, then 4).
        var frames = Frames.Collect(wire, rx, r => r.Bytes.Length > 54 && r.Bytes[12] == 0x86 && r.Bytes[13] == 0xdd, 3);
        Assert.Contains(frames, f => f.Bytes[14 + 6] == (byte)IpProtocol.IpInIp && f.Bytes[14 + 7] == 64);
        Assert.Contains(frames, f => f.Bytes[14 + 6] == (byte)IpProtocol.Fragment && f.Bytes[54] == (byte)IpProtocol.IpInIp);
    }

    [Fact]
    public void The_home_device_gets_the_default_routers_address_and_the_subnet_route()
    {
        using var ns = TestNamespace.Create();
        ns.Ip("link", "add", "dh0", "type", "veth", "peer", "name", "dh1"); // no dummy module on this kernel
        ns.Ip("link", "set", "dh0", "up");
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            nl.AddAddress("dh0", Ipv4Address.Parse("10.200.0.1"), 24);
            Assert.Contains(Ipv4Prefix.Parse("10.200.0.0/24"), nl.ListIpv4Routes("dh0"));
            nl.ReplaceRoute(Ipv4Prefix.Parse("10.201.0.0/16"), "dh0");
            Assert.Contains(Ipv4Prefix.Parse("10.201.0.0/16"), nl.ListIpv4Routes("dh0"));
            nl.DeleteRoute(Ipv4Prefix.Parse("10.201.0.0/16"), "dh0");
            Assert.DoesNotContain(Ipv4Prefix.Parse("10.201.0.0/16"), nl.ListIpv4Routes("dh0"));
            nl.DeleteAddress("dh0", Ipv4Address.Parse("10.200.0.1"), 24);
            Assert.DoesNotContain(Ipv4Prefix.Parse("10.200.0.0/24"), nl.ListIpv4Routes("dh0"));
        });
    }
}
