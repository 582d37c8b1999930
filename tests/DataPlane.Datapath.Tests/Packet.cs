using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>A frame or packet in a buffer with free headroom in front of it, as the host's receive slots hold them.</summary>
internal sealed class Packet
{
    public const int DefaultHeadroom = 64;

    private Packet(byte[] buffer, int offset, int length)
    {
        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    public byte[] Buffer { get; }
    public int Offset { get; }
    public int Length { get; }

    public Span<byte> Bytes => Buffer.AsSpan(Offset, Length);

    public static Packet Of(byte[] bytes, int headroom = DefaultHeadroom)
    {
        var buffer = new byte[headroom + bytes.Length];
        bytes.CopyTo(buffer, headroom);
        return new Packet(buffer, headroom, bytes.Length);
    }

    public static Packet Of(string hex, int headroom = DefaultHeadroom) => Of(Hex.Bytes(hex), headroom);

    /// <summary>What a forwarding verdict points at in this buffer.</summary>
    public byte[] Output(Verdict v)
    {
        Assert.True(v.IsForwarded, $"expected a forwarding verdict, got {v}");
        return Buffer.AsSpan(v.Offset, v.Length).ToArray();
    }
}

/// <summary>Frames built with the wire layer's own builders.</summary>
internal static class TestFrames
{
    /// <summary>An IPv6/UDP packet (no link layer) with <paramref name="payload"/> bytes of a counting pattern and a valid checksum.</summary>
    public static byte[] Ipv6Udp(Ipv6Address source, Ipv6Address destination, byte hopLimit = 64, int payload = 5)
    {
        var b = new byte[Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + payload];
        Ipv6Packet.WriteHeader(b, source, destination, IpProtocol.Udp, UdpDatagram.HeaderLength + payload, hopLimit);
        UdpDatagram.WriteHeader(b.AsSpan(Ipv6Packet.HeaderLength), 1234, 5678, payload);
        for (int i = 0; i < payload; i++) b[Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + i] = (byte)i;
        UdpDatagram.TryCreate(b.AsSpan(Ipv6Packet.HeaderLength), out var udp, out _);
        udp.FillChecksum(source, destination);
        return b;
    }

    public static byte[] WithEthernet(byte[] packet, MacAddress destination, MacAddress source, EtherType type = EtherType.Ipv6)
    {
        var f = new byte[EthernetFrame.HeaderLength + packet.Length];
        EthernetFrame.WriteHeader(f, destination, source, type);
        packet.CopyTo(f, EthernetFrame.HeaderLength);
        return f;
    }

    /// <summary>The VM's usual data frame: to the shared MAG MAC, from its HNP address to the client.</summary>
    public static byte[] FromVm(byte hopLimit = 64, int payload = 5, Ipv6Address? source = null, Ipv6Address? destination = null, MacAddress? mac = null) =>
        WithEthernet(Ipv6Udp(source ?? MagFixture.VmAddress, destination ?? MagFixture.Client, hopLimit, payload), MagFixture.SharedMac, mac ?? MagFixture.VmMac);

    /// <summary>
    /// A TCP super-frame as a guest hands it over with TSO: one TCP header (with a timestamps option, so the
    /// header is 32 bytes) in front of <paramref name="payload"/> bytes, IP lengths covering all of it, and only
    /// the pseudo-header sum in the checksum field (NEEDS_CSUM), as Linux leaves it.
    /// </summary>
    public static byte[] TcpSuperFrame(bool ipv6, int payload, TcpFlags flags, uint sequence = 1_000_000, ushort ipv4Id = 0x4242,
        Ipv6Address? source = null, Ipv6Address? destination = null, Ipv4Address? source4 = null, Ipv4Address? destination4 = null)
    {
        var src6 = source ?? MagFixture.VmAddress;
        var dst6 = destination ?? MagFixture.Client;
        const int tcpHeader = TcpSegment.MinHeaderLength + 12;
        int ipHeader = ipv6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength;
        var f = new byte[EthernetFrame.HeaderLength + ipHeader + tcpHeader + payload];
        int at = EthernetFrame.WriteHeader(f, MagFixture.SharedMac, MagFixture.VmMac, ipv6 ? EtherType.Ipv6 : EtherType.Ipv4);
        var src4 = source4 ?? new Ipv4Address(192, 0, 2, 10);
        var dst4 = destination4 ?? new Ipv4Address(198, 51, 100, 7);
        if (ipv6) at += Ipv6Packet.WriteHeader(f.AsSpan(at), src6, dst6, IpProtocol.Tcp, tcpHeader + payload);
        else at += Ipv4Packet.WriteHeader(f.AsSpan(at), src4, dst4, IpProtocol.Tcp, tcpHeader + payload, identification: ipv4Id);
        int tcpAt = at;
        TcpSegment.WriteHeader(f.AsSpan(at), 40000, 5201, sequence, 77, flags, 512, optionsLength: 12);
        // NOP, NOP, Timestamps (kind 8, length 10, TSval, TSecr): the usual Linux data segment.
        f[at + 20] = 1;
        f[at + 21] = 1;
        f[at + 22] = 8;
        f[at + 23] = 10;
        f[at + 24] = 0x11; f[at + 25] = 0x22; f[at + 26] = 0x33; f[at + 27] = 0x44;
        at += tcpHeader;
        for (int i = 0; i < payload; i++) f[at + i] = (byte)(i * 7 + i / 251);
        // What a Linux guest leaves in the checksum field (tcp_v6_send_check/tcp_v4_send_check): the folded,
        // uncomplemented pseudo-header sum over the whole super-segment's length.
        uint pseudo = ipv6
            ? InternetChecksum.PseudoHeader(src6, dst6, (uint)(tcpHeader + payload), (byte)IpProtocol.Tcp)
            : InternetChecksum.PseudoHeader(src4, dst4, (ushort)(tcpHeader + payload), (byte)IpProtocol.Tcp);
        TcpSegment.TryCreate(f.AsSpan(tcpAt), out var tcp, out _);
        tcp.Checksum = (ushort)~InternetChecksum.Finish(pseudo);
        return f;
    }
}
