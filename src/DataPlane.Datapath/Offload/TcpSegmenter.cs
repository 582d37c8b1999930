using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>Where the headers of a TCP super-frame end and what every segment copies from them.</summary>
/// <param name="NetworkOffset">Start of the IP header in the frame (14 after Ethernet, 0 for a TUN packet).</param>
/// <param name="TransportOffset">Start of the TCP header.</param>
/// <param name="HeadersLength">Bytes copied in front of every segment's payload: everything up to the end of the TCP options.</param>
/// <param name="PacketEnd">End of the IP packet (its own length field), so link-layer padding is never payload.</param>
/// <param name="SequenceNumber">The first segment's sequence number; segment i starts i × gso_size later.</param>
/// <param name="Flags">The super-frame's control bits, split with <see cref="TcpSegment.FlagsForSegment"/>.</param>
public readonly record struct TcpSuperFrame(
    int NetworkOffset, int TransportOffset, int HeadersLength, int PacketEnd, bool IsIpv6, uint SequenceNumber, TcpFlags Flags)
{
    public int PayloadLength => PacketEnd - HeadersLength;

    public int SegmentCount(int gsoSize) => (PayloadLength + gsoSize - 1) / gsoSize;

    /// <summary>Length of segment <paramref name="index"/> from the frame's first byte.</summary>
    public int SegmentLength(int gsoSize, int index) => HeadersLength + Math.Min(gsoSize, PayloadLength - index * gsoSize);

    /// <summary>The IP packet length of a full-sized segment: what must fit the tunnel MTU.</summary>
    public int FullSegmentPacketLength(int gsoSize) => HeadersLength - NetworkOffset + Math.Min(gsoSize, PayloadLength);
}

/// <summary>
/// TCP segmentation in userspace (what a NIC does for TSO), for super-frames a guest hands us with a
/// GSO type: virtio-net has no IP-in-IP GSO type, so they must be cut before encapsulation. Following
/// Open vSwitch's lib/dp-packet-gso.c: copy the headers in front of every gso_size-byte piece of payload,
/// then fix each copy: sequence number, IPv6 payload length (or IPv4 total length, a fresh IPv4 ID and
/// header checksum), control bits (FIN/PSH on the last piece only, CWR on the first only) and a full TCP
/// checksum, since the super-frame's own is only a partial pseudo-header sum.
/// </summary>
public static class TcpSegmenter
{
    /// <summary>Measure a super-frame. Only TCP, unfragmented, IPv4 without options or IPv6 with any extension headers.</summary>
    public static bool TryParse(Span<byte> frame, int networkOffset, out TcpSuperFrame superFrame, out WireError error)
    {
        superFrame = default;
        if ((uint)networkOffset >= (uint)frame.Length)
        {
            error = WireError.Truncated;
            return false;
        }
        var l3 = frame[networkOffset..];
        int transport, end;
        bool isIpv6;
        switch (l3[0] >> 4)
        {
            case 6:
            {
                if (!Ipv6Packet.TryCreate(l3, out var ip, out error) || !ip.TryWalkHeaders(out var chain, out error)) return false;
                if (chain.UpperLayer != IpProtocol.Tcp || chain.IsFragment)
                {
                    error = WireError.Unsupported;
                    return false;
                }
                transport = networkOffset + Ipv6Packet.HeaderLength + chain.UpperLayerOffset;
                end = networkOffset + ip.Buffer.Length;
                isIpv6 = true;
                break;
            }
            case 4:
            {
                if (!Ipv4Packet.TryCreate(l3, out var ip, out error)) return false;
                // Options would have to be copied per segment and some (record route) rewritten: refuse them,
                // as nothing we serve sends them.
                if (ip.Protocol != IpProtocol.Tcp || ip.IsFragment || ip.HeaderLength != Ipv4Packet.MinHeaderLength)
                {
                    error = WireError.Unsupported;
                    return false;
                }
                transport = networkOffset + ip.HeaderLength;
                end = networkOffset + ip.TotalLength;
                isIpv6 = false;
                break;
            }
            default:
                error = WireError.BadVersion;
                return false;
        }
        if (!TcpSegment.TryCreate(frame[transport..end], out var tcp, out error)) return false;
        superFrame = new TcpSuperFrame(networkOffset, transport, transport + tcp.HeaderLength, end, isIpv6, tcp.SequenceNumber, tcp.Flags);
        return true;
    }

    /// <summary>
    /// Write segment <paramref name="index"/> of <paramref name="count"/> into <paramref name="destination"/>
    /// (which must not overlap the super-frame); returns its length. The super-frame is only read, so the
    /// segments can be written in any order. With <paramref name="partialChecksum"/> the TCP checksum field gets
    /// only the pseudo-header sum, for a path that completes it (NEEDS_CSUM): no pass over the payload here.
    /// </summary>
    public static int WriteSegment(Span<byte> superFrameBytes, in TcpSuperFrame superFrame, int gsoSize, int index, int count, Span<byte> destination,
        bool partialChecksum = false)
    {
        int payloadStart = superFrame.HeadersLength + index * gsoSize;
        int length = superFrame.SegmentLength(gsoSize, index);
        var segment = destination[..length];
        superFrameBytes[..superFrame.HeadersLength].CopyTo(segment);
        superFrameBytes.Slice(payloadStart, length - superFrame.HeadersLength).CopyTo(segment[superFrame.HeadersLength..]);

        var l3 = segment[superFrame.NetworkOffset..];
        var tcpBytes = segment[superFrame.TransportOffset..];
        TcpSegment.TryCreate(tcpBytes, out var tcp, out _); // the header was validated by TryParse and copied whole
        tcp.SequenceNumber = superFrame.SequenceNumber + (uint)(index * gsoSize);
        tcp.Flags = TcpSegment.FlagsForSegment(superFrame.Flags, index == 0, index == count - 1);
        if (superFrame.IsIpv6)
        {
            Ipv6Packet.SetPayloadLength(l3, l3.Length - Ipv6Packet.HeaderLength);
            Ipv6Packet.TryCreate(l3, out var ip, out _); // the length now matches the segment exactly
            if (partialChecksum) WritePseudoHeaderSum(tcpBytes, InternetChecksum.PseudoHeader(ip.Source, ip.Destination, (uint)(length - superFrame.TransportOffset), (byte)IpProtocol.Tcp));
            else tcp.FillChecksum(ip.Source, ip.Destination);
        }
        else
        {
            Ipv4Packet.TryCreate(superFrameBytes[superFrame.NetworkOffset..], out var original, out _);
            // Rewrite the option-less header whole: new total length, the next IPv4 ID (as Linux does for
            // every segment unless the ID is fixed), and a fresh header checksum.
            Ipv4Packet.WriteHeader(l3, original.Source, original.Destination, IpProtocol.Tcp, l3.Length - Ipv4Packet.MinHeaderLength,
                original.TimeToLive, (ushort)(original.Identification + index), original.DontFragment, original.TypeOfService);
            if (partialChecksum) WritePseudoHeaderSum(tcpBytes, InternetChecksum.PseudoHeader(original.Source, original.Destination, (ushort)(length - superFrame.TransportOffset), (byte)IpProtocol.Tcp));
            else tcp.FillChecksum(original.Source, original.Destination);
        }
        return length;
    }

    /// <summary>The partial checksum Linux expects with NEEDS_CSUM: the folded pseudo-header sum, not complemented.</summary>
    private static void WritePseudoHeaderSum(Span<byte> tcp, uint pseudoHeader) =>
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~InternetChecksum.Finish(pseudoHeader));
}
