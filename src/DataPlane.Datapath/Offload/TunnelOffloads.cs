using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// What the host's tunnel send path can take, per tunnel peer. The data path asks it when it forwards into a
/// tunnel and decides from the answer whether a TCP super-frame leaves whole or is cut, and whether a checksum is
/// completed here or left partial. Without one (<see cref="MagDatapath.TunnelOffloads"/> null), every super-frame
/// is cut and every checksum completed, as on a raw protocol-41 socket.
/// </summary>
public interface ITunnelOffloads
{
    /// <summary>
    /// A TCP super-frame (the verdict's <see cref="Verdict.Offload"/> says GSO TCPv6/TCPv4 and gso_size) sent to
    /// <paramref name="peer"/> leaves whole: the host hands it to the kernel with its virtio-net header and has it
    /// labelled as IP-in-IPv6 GSO, so a device or the kernel's GSO cuts it into RFC 2473 packets only where needed.
    /// </summary>
    bool CarriesSuperFrames(Ipv6Address peer);

    /// <summary>Packets to <paramref name="peer"/> may carry a partial checksum (NEEDS_CSUM) that the kernel or the NIC completes.</summary>
    bool CompletesChecksums(Ipv6Address peer);
}

/// <summary>The offload metadata of TCP super-frames that cross the tunnel whole, and its checks on the way out.</summary>
public static class SuperFrameOffload
{
    /// <summary>
    /// The descriptor to send a super-frame's IP packet with (offsets from its IP header): its GSO type (with the
    /// ECN flag the device gave), gso_size, and the partial checksum at its TCP header.
    /// </summary>
    public static OffloadInfo ForPacket(in TcpSuperFrame superFrame, GsoType fromDevice, int gsoSize) => new()
    {
        Flags = OffloadFlags.NeedsChecksum,
        GsoType = (superFrame.IsIpv6 ? GsoType.TcpV6 : GsoType.TcpV4) | (fromDevice & GsoType.Ecn),
        GsoSize = (ushort)gsoSize,
        HeaderLength = (ushort)(superFrame.HeadersLength - superFrame.NetworkOffset),
        ChecksumStart = (ushort)(superFrame.TransportOffset - superFrame.NetworkOffset),
        ChecksumOffset = 16,
    };

    /// <summary>
    /// Write into the super-frame's TCP checksum field what Linux's own TSO frames carry there: the pseudo-header sum
    /// over the whole TCP length, not complemented, which whoever cuts or receives the frame completes. A guest's
    /// NEEDS_CSUM frame already holds exactly that; a frame without NEEDS_CSUM held a full checksum of the whole
    /// super-frame, which means nothing to its segments.
    /// </summary>
    public static void WritePartialChecksum(Span<byte> frame, in TcpSuperFrame superFrame)
    {
        var l3 = frame[superFrame.NetworkOffset..superFrame.PacketEnd];
        int tcpLength = superFrame.PacketEnd - superFrame.TransportOffset;
        uint pseudo = superFrame.IsIpv6
            ? InternetChecksum.PseudoHeader(Ipv6Address.ReadFrom(l3[8..]), Ipv6Address.ReadFrom(l3[24..]), (uint)tcpLength, (byte)IpProtocol.Tcp)
            : InternetChecksum.PseudoHeader(Ipv4Address.ReadFrom(l3[12..]), Ipv4Address.ReadFrom(l3[16..]), (ushort)tcpLength, (byte)IpProtocol.Tcp);
        BinaryPrimitives.WriteUInt16BigEndian(frame.Slice(superFrame.TransportOffset + 16, 2), (ushort)~InternetChecksum.Finish(pseudo));
    }

    /// <summary>The bytes the super-frame's segments will be on the wire (IP packets), for the counters.</summary>
    public static long SegmentBytes(in TcpSuperFrame superFrame, int segments) =>
        superFrame.PacketEnd - superFrame.NetworkOffset + (long)(segments - 1) * (superFrame.HeadersLength - superFrame.NetworkOffset);

    /// <summary>
    /// Check the offload metadata a tunnel packet arrived with (offsets from its IP header, as the host's tunnel
    /// receiver hands them over) against the packet itself. A GSO super-frame must be TCP of the declared IP version
    /// with its partial checksum at the TCP header; a NEEDS_CSUM packet's checksum field must lie inside it, after
    /// the IP header. On success <paramref name="segments"/> is how many packets it stands for.
    /// </summary>
    public static bool TryValidateReceived(Span<byte> packet, in OffloadInfo offload, out int segments, out TcpSuperFrame superFrame)
    {
        segments = 1;
        superFrame = default;
        if (offload.IsGso)
        {
            if (offload.Segmentation is not (GsoType.TcpV6 or GsoType.TcpV4) || offload.GsoSize == 0 || !offload.NeedsChecksum) return false;
            if (!TcpSegmenter.TryParse(packet, 0, out superFrame, out _)) return false;
            if (superFrame.IsIpv6 != (offload.Segmentation == GsoType.TcpV6)) return false;
            if (offload.ChecksumStart != superFrame.TransportOffset || offload.ChecksumOffset != 16) return false;
            segments = Math.Max(1, superFrame.SegmentCount(offload.GsoSize));
            return true;
        }
        if (!offload.NeedsChecksum) return true;
        int minimum = packet.Length > 0 && packet[0] >> 4 == 4 ? Ipv4Packet.MinHeaderLength : Ipv6Packet.HeaderLength;
        return offload.ChecksumStart >= minimum && offload.ChecksumStart + offload.ChecksumOffset + 2 <= packet.Length;
    }

    /// <summary>
    /// A packet from a receiver without offload metadata (the raw socket) that is longer than the tunnel MTU cannot
    /// have crossed the tunnel as one packet: the receiving kernel merged its segments (GRO on the interface) or it
    /// was sent whole as a super-frame, and the raw socket lost the GSO type and gso_size on the way. In both cases the
    /// kernel left the TCP checksum field holding the pseudo-header sum over the whole length (tcp_gro_complete, or
    /// the sender's TSO frame), so it is described again here: GSO with a gso_size that fits the tunnel MTU, and a
    /// partial checksum. False for anything that is not TCP of a known IP version (the caller drops it).
    /// </summary>
    public static bool TryDescribeMerged(Span<byte> packet, int tunnelMtu, out OffloadInfo offload, out TcpSuperFrame superFrame)
    {
        offload = default;
        if (!TcpSegmenter.TryParse(packet, 0, out superFrame, out _)) return false;
        int gsoSize = tunnelMtu - superFrame.HeadersLength;
        if (gsoSize < 1) return false;
        offload = ForPacket(in superFrame, GsoType.None, gsoSize);
        return true;
    }

    /// <summary>The same descriptor with its offsets moved by <paramref name="delta"/> bytes (a link header put in front, or taken off).</summary>
    public static OffloadInfo Shifted(in OffloadInfo offload, int delta)
    {
        var o = offload;
        if (o.NeedsChecksum) o.ChecksumStart = (ushort)(o.ChecksumStart + delta);
        if (o.IsGso && o.HeaderLength != 0) o.HeaderLength = (ushort)(o.HeaderLength + delta);
        return o;
    }
}

/// <summary>
/// ECN at the tunnel exit, RFC 5213 §5.6.3 (RFC 3168 §9.1.1 full functionality, as updated by RFC 6040 §4.2): a
/// Congestion Experienced mark the tunnel path put on the outer header is carried into the inner one; an inner
/// packet that cannot take it (Not-ECT) is dropped, since its sender would not react to a mark anyway.
/// </summary>
public static class EcnDecapsulation
{
    private const int Ce = 3;

    /// <summary>False when the packet must be dropped (outer CE, inner Not-ECT); otherwise the inner header is updated in place.</summary>
    public static bool Apply(Span<byte> innerPacket, byte outerTrafficClass)
    {
        if ((outerTrafficClass & 3) != Ce || innerPacket.Length < 2) return true;
        if (innerPacket[0] >> 4 == 4)
        {
            if (innerPacket.Length < Ipv4Packet.MinHeaderLength) return true;
            int ecn = innerPacket[1] & 3;
            if (ecn == 0) return false;
            if (ecn == Ce) return true;
            ushort old = BinaryPrimitives.ReadUInt16BigEndian(innerPacket);
            innerPacket[1] |= Ce;
            ushort updated = BinaryPrimitives.ReadUInt16BigEndian(innerPacket);
            ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(innerPacket[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(innerPacket[10..], InternetChecksum.Update(checksum, old, updated));
            return true;
        }
        int innerEcn = (innerPacket[1] >> 4) & 3;
        if (innerEcn == 0) return false;
        innerPacket[1] |= Ce << 4;
        return true;
    }
}
