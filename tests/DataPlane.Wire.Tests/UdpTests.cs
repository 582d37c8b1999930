using System.Buffers.Binary;
using System.Text;
using CsCheck;

namespace DataPlane.Wire.Tests;

public class UdpTests
{
    // Made independently with scapy 2.x (/usr/bin/python3):
    //   bytes(IPv6(src="2001:db8:1::10", dst="2001:db8:2::20", hlim=64)
    //         /UDP(sport=40000, dport=5001)/Raw(b"probe-00000042")).hex()
    private const string Ipv6UdpVector =
        "600000000016114020010db800010000000000000000001020010db8000200000000000000000020" +
        "9c4013890016ea8e70726f62652d3030303030303432";

    // Made independently with scapy:
    //   bytes(IP(src="192.0.2.10", dst="198.51.100.20", id=0x1234, flags="DF", ttl=64)
    //         /UDP(sport=40001, dport=53)/Raw(b"hello, udp over ipv4!")).hex()
    private const string Ipv4UdpVector =
        "450000311234400040113c36c000020ac6336414" +
        "9c410035001da46d68656c6c6f2c20756470206f766572206970763421";

    private static readonly Ipv6Address Src6 = Ipv6Address.Parse("2001:db8:1::10");
    private static readonly Ipv6Address Dst6 = Ipv6Address.Parse("2001:db8:2::20");
    private static readonly Ipv4Address Src4 = Ipv4Address.Parse("192.0.2.10");
    private static readonly Ipv4Address Dst4 = Ipv4Address.Parse("198.51.100.20");

    [Fact]
    public void Parser_reads_every_field_of_the_scapy_ipv6_datagram()
    {
        var bytes = Hex.Bytes(Ipv6UdpVector);
        Assert.True(Ipv6Packet.TryCreate(bytes, out var ip, out var err), err.ToString());
        Assert.Equal(IpProtocol.Udp, ip.NextHeader);
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out var udp, out err), err.ToString());
        Assert.Equal(40000, udp.SourcePort);
        Assert.Equal(5001, udp.DestinationPort);
        Assert.Equal(22, udp.Length);
        Assert.Equal(0xea8e, udp.Checksum);
        Assert.Equal("probe-00000042", Encoding.ASCII.GetString(udp.Payload));
        Assert.True(udp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.False(udp.IsChecksumValid(ip.Source, Ipv6Address.Parse("2001:db8:2::21")));
    }

    [Fact]
    public void Builder_reproduces_the_scapy_ipv6_datagram()
    {
        var payload = "probe-00000042"u8;
        var buffer = new byte[Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + payload.Length];
        int at = Ipv6Packet.WriteHeader(buffer, Src6, Dst6, IpProtocol.Udp, UdpDatagram.HeaderLength + payload.Length);
        at += UdpDatagram.WriteHeader(buffer.AsSpan(at), 40000, 5001, payload.Length);
        payload.CopyTo(buffer.AsSpan(at));
        Assert.True(UdpDatagram.TryCreate(buffer.AsSpan(Ipv6Packet.HeaderLength), out var udp, out _));
        udp.FillChecksum(Src6, Dst6);
        Assert.Equal(Ipv6UdpVector, Hex.Of(buffer));
    }

    [Fact]
    public void Parser_reads_every_field_of_the_scapy_ipv4_datagram()
    {
        var bytes = Hex.Bytes(Ipv4UdpVector);
        Assert.True(Ipv4Packet.TryCreate(bytes, out var ip, out var err), err.ToString());
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out var udp, out err), err.ToString());
        Assert.Equal(40001, udp.SourcePort);
        Assert.Equal(53, udp.DestinationPort);
        Assert.Equal(29, udp.Length);
        Assert.Equal(0xa46d, udp.Checksum);
        Assert.Equal("hello, udp over ipv4!", Encoding.ASCII.GetString(udp.Payload));
        Assert.True(udp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.False(udp.IsChecksumValid(ip.Source, Ipv4Address.Parse("198.51.100.21")));
        // The IPv4 view's own pseudo-header sum (from the IP lengths) agrees with the UDP length's.
        Assert.Equal(udp.PseudoHeaderSum(ip.Source, ip.Destination), ip.PseudoHeaderSum);
    }

    [Fact]
    public void Builder_reproduces_the_scapy_ipv4_datagram()
    {
        var payload = "hello, udp over ipv4!"u8;
        var buffer = new byte[Ipv4Packet.MinHeaderLength + UdpDatagram.HeaderLength + payload.Length];
        int at = Ipv4Packet.WriteHeader(buffer, Src4, Dst4, IpProtocol.Udp, UdpDatagram.HeaderLength + payload.Length,
            identification: 0x1234);
        at += UdpDatagram.WriteHeader(buffer.AsSpan(at), 40001, 53, payload.Length);
        payload.CopyTo(buffer.AsSpan(at));
        Assert.True(UdpDatagram.TryCreate(buffer.AsSpan(Ipv4Packet.MinHeaderLength), out var udp, out _));
        udp.FillChecksum(Src4, Dst4);
        Assert.Equal(Ipv4UdpVector, Hex.Of(buffer));
    }

    [Fact]
    public void A_corrupted_byte_fails_the_checksum()
    {
        var bytes = Hex.Bytes(Ipv6UdpVector);
        bytes[^1] ^= 0x01;
        Assert.True(UdpDatagram.TryCreate(bytes.AsSpan(Ipv6Packet.HeaderLength), out var udp, out _));
        Assert.False(udp.IsChecksumValid(Src6, Dst6));

        var v4 = Hex.Bytes(Ipv4UdpVector);
        v4[^3] ^= 0x80;
        Assert.True(UdpDatagram.TryCreate(v4.AsSpan(Ipv4Packet.MinHeaderLength), out var udp4, out _));
        Assert.False(udp4.IsChecksumValid(Src4, Dst4));
    }

    [Fact]
    public void Zero_checksum_means_none_over_ipv4_and_invalid_over_ipv6()
    {
        var v4 = Hex.Bytes(Ipv4UdpVector);
        Assert.True(UdpDatagram.TryCreate(v4.AsSpan(Ipv4Packet.MinHeaderLength), out var udp4, out _));
        udp4.Checksum = 0;
        Assert.True(udp4.IsChecksumValid(Src4, Dst4));

        var v6 = Hex.Bytes(Ipv6UdpVector);
        Assert.True(UdpDatagram.TryCreate(v6.AsSpan(Ipv6Packet.HeaderLength), out var udp6, out _));
        udp6.Checksum = 0;
        Assert.False(udp6.IsChecksumValid(Src6, Dst6));
    }

    [Fact]
    public void A_computed_zero_checksum_is_sent_as_ffff_and_still_verifies()
    {
        // Two payload bytes chosen so that the sum comes to 0xFFFF: fill with them zero, then put
        // the resulting checksum into them; the one's complement sum then cancels exactly.
        var buffer = new byte[UdpDatagram.HeaderLength + 2];
        UdpDatagram.WriteHeader(buffer, 1234, 5678, 2);
        Assert.True(UdpDatagram.TryCreate(buffer, out var udp, out _));
        udp.FillChecksum(Src6, Dst6);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Payload, udp.Checksum);
        udp.FillChecksum(Src6, Dst6);
        Assert.Equal(0xFFFF, udp.Checksum);
        Assert.True(udp.IsChecksumValid(Src6, Dst6));

        udp.FillChecksum(Src4, Dst4);
        Assert.NotEqual(0, udp.Checksum);
        Assert.True(udp.IsChecksumValid(Src4, Dst4));
    }

    [Fact]
    public void Port_rewrite_with_an_incremental_checksum_update_still_verifies()
    {
        var bytes = Hex.Bytes(Ipv6UdpVector);
        Assert.True(UdpDatagram.TryCreate(bytes.AsSpan(Ipv6Packet.HeaderLength), out var udp, out _));
        ushort old = udp.DestinationPort;
        udp.DestinationPort = 6001;
        udp.Checksum = InternetChecksum.Update(udp.Checksum, old, 6001);
        Assert.True(udp.IsChecksumValid(Src6, Dst6));
        ushort patched = udp.Checksum;
        udp.FillChecksum(Src6, Dst6);
        Assert.Equal(patched, udp.Checksum);
    }

    [Fact]
    public void The_view_is_cut_to_the_length_field()
    {
        // An IPv4 datagram in a minimum-size Ethernet frame arrives with trailing padding.
        var bytes = Hex.Bytes("9c410035000c0000" + "41424344" + "00000000000000");
        Assert.True(UdpDatagram.TryCreate(bytes, out var udp, out _));
        Assert.Equal(12, udp.Buffer.Length);
        Assert.Equal("ABCD", Encoding.ASCII.GetString(udp.Payload));
    }

    [Theory]
    [InlineData("", WireError.Truncated)]
    [InlineData("9c410035000800", WireError.Truncated)]           // 7 bytes
    [InlineData("9c41003500070000", WireError.BadLength)]       // length 7 < 8
    [InlineData("9c41003500000000", WireError.BadLength)]       // length 0 (jumbogram form, unsupported)
    [InlineData("9c41003500090000", WireError.Truncated)]       // length 9 > 8 bytes present
    [InlineData("9c410035001e0000414243", WireError.Truncated)] // length 30 > 11 bytes present
    public void Bad_lengths_are_rejected(string hex, WireError expected)
    {
        var bytes = Hex.Bytes(hex);
        Assert.False(UdpDatagram.TryCreate(bytes, out _, out var err));
        Assert.Equal(expected, err);
        Assert.False(UdpDatagram.TryValidate(bytes, out _, out err));
        Assert.Equal(expected, err);
    }

    [Fact]
    public void Header_only_datagram_is_valid_with_an_empty_payload()
    {
        var bytes = new byte[UdpDatagram.HeaderLength];
        UdpDatagram.WriteHeader(bytes, 1, 2, 0);
        Assert.True(UdpDatagram.TryCreate(bytes, out var udp, out _));
        Assert.Equal(0, udp.Payload.Length);
        udp.FillChecksum(Src6, Dst6);
        Assert.True(udp.IsChecksumValid(Src6, Dst6));
    }

    [Fact]
    public void Random_bytes_never_make_an_accessor_throw()
    {
        Gen.Byte.Array[0, 80].Sample(input =>
        {
            if (!UdpDatagram.TryCreate(input, out var udp, out _)) return;
            Assert.InRange(udp.Length, UdpDatagram.HeaderLength, input.Length);
            _ = (udp.SourcePort, udp.DestinationPort, udp.Checksum, udp.Payload.Length,
                 udp.IsChecksumValid(Src6, Dst6), udp.IsChecksumValid(Src4, Dst4));
        }, iter: 20_000);
    }
}
