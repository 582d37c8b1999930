using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// What a tunnel exit (the MAG towards a VM, the LMA towards its home device) checks of a decapsulated packet's
/// offload metadata and ECN, the same for an inner IPv6 packet (next header 41) and an inner IPv4 one (next header
/// 4, RFC 5844): one place, so both IP versions and both ends take super-frames alike.
/// </summary>
public static class TunnelExit
{
    /// <summary>
    /// Checks <paramref name="offload"/> (offsets from the inner IP header) against <paramref name="innerPacket"/>,
    /// describes again a TCP packet longer than the tunnel MTU that arrived without metadata (merged by the receiving
    /// kernel's GRO, its GSO type lost on a raw socket), and applies the outer ECN mark (RFC 5213 §5.6.3). On success
    /// <paramref name="result"/> is the metadata to deliver the packet with and <paramref name="segments"/> how many
    /// packets it stands for; otherwise <paramref name="reason"/> says why it is dropped.
    /// </summary>
    /// <remarks>
    /// An inner IPv4 packet longer than the tunnel MTU that is not TCP is delivered as it is: the tunnel entry
    /// fragmented its tunnel packet (RFC 2473 §7.2(b), no DF) and the raw protocol-4 socket reassembled it. The same
    /// from IPv6 cannot happen (the entry sends Packet Too Big instead) and is dropped as <see cref="DropReason.PacketTooBig"/>.
    /// </remarks>
    public static bool TryAccept(Span<byte> innerPacket, in OffloadInfo offload, byte outerTrafficClass, int tunnelMtu,
        out OffloadInfo result, out int segments, out TcpSuperFrame superFrame, out DropReason reason)
    {
        result = offload;
        segments = 1;
        superFrame = default;
        reason = default;
        bool ipv4 = innerPacket.Length > 0 && innerPacket[0] >> 4 == 4;
        // UDP GSO (an interface with rx-udp-gro-forwarding merged datagrams): not carried on yet.
        if (offload.Segmentation is GsoType.UdpL4 or GsoType.Udp)
        {
            reason = DropReason.UdpSegmentationUnsupported;
            return false;
        }
        if ((offload.IsGso || offload.NeedsChecksum) && !SuperFrameOffload.TryValidateReceived(innerPacket, offload, out segments, out superFrame))
        {
            reason = DropReason.OffloadInvalid;
            return false;
        }
        if (!offload.IsGso && innerPacket.Length > tunnelMtu)
        {
            if (SuperFrameOffload.TryDescribeMerged(innerPacket, tunnelMtu, out var merged, out superFrame))
            {
                result = merged;
                segments = superFrame.SegmentCount(merged.GsoSize);
            }
            else if (!ipv4)
            {
                reason = DropReason.PacketTooBig;
                return false;
            }
        }
        if (!EcnDecapsulation.Apply(innerPacket, outerTrafficClass))
        {
            reason = DropReason.CongestionOnNotEct;
            return false;
        }
        return true;
    }
}
