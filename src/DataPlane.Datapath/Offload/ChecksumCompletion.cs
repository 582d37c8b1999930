using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// Completes a partial L4 checksum left by a guest or a veth with tx-checksumming on (NEEDS_CSUM), as
/// the kernel's skb_checksum_help does: the field already holds the pseudo-header sum, so summing from
/// csum_start to the end of the IP packet (field included) and complementing gives the checksum.
/// Without this, forwarded TCP/UDP arrives with bad checksums and the receiver drops it (DESIGN, "Offloads").
/// </summary>
public static class ChecksumCompletion
{
    /// <summary>
    /// Complete the checksum of <paramref name="packetEnd"/> bytes of <paramref name="frame"/> (the end of
    /// the IP packet, so Ethernet padding is never summed). False, leaving the frame untouched, when the
    /// offsets lie outside the packet or before <paramref name="minimumStart"/>.
    /// </summary>
    public static bool TryComplete(Span<byte> frame, int packetEnd, in OffloadInfo offload, int minimumStart)
    {
        if (!IsWithin(frame, packetEnd, offload, minimumStart)) return false;
        int start = offload.ChecksumStart;
        int field = start + offload.ChecksumOffset;
        ushort value = InternetChecksum.Finish(InternetChecksum.Sum(frame[start..packetEnd]));
        // A computed zero goes out as 0xFFFF, its one's complement twin: zero means "no checksum" to UDP
        // over IPv4 and is invalid over IPv6, while every verifier accepts 0xFFFF (CSUM_MANGLED_0).
        BinaryPrimitives.WriteUInt16BigEndian(frame.Slice(field, sizeof(ushort)), value == 0 ? (ushort)0xFFFF : value);
        return true;
    }

    /// <summary>The offsets of a partial checksum lie inside the packet, the field at or after <paramref name="minimumStart"/>.</summary>
    public static bool IsWithin(Span<byte> frame, int packetEnd, in OffloadInfo offload, int minimumStart)
    {
        int start = offload.ChecksumStart;
        int field = start + offload.ChecksumOffset;
        return start >= minimumStart && packetEnd <= frame.Length && field + sizeof(ushort) <= packetEnd;
    }
}
