using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// Decapsulated packets from the LMA (or from a MAG over a direct route), delivered to the VM that owns the destination prefix.
public sealed partial class MagDatapath
{
    /// <summary>
    /// An inner packet from the uplink's IPv6-in-IPv6 raw socket (protocol 41 delivers the inner packet; the
    /// outer addresses come from msg_name and IPV6_PKTINFO): <c>buffer[offset..offset+length]</c> with at least
    /// an Ethernet header's worth of headroom. The outer source must be the LMA of the session that owns the
    /// inner destination's prefix, or the MAG of one of that session's direct (RFC 6705) routes with the inner
    /// source inside the route's prefixes (anything else could inject traffic to a VM); the Ethernet header to the
    /// VM is then written into the headroom and the verdict is <see cref="VerdictKind.ToPort"/>.
    /// </summary>
    public Verdict FromTunnel(Span<byte> buffer, int offset, int length, Ipv6Address outerSource, Ipv6Address outerDestination, Instant now) =>
        FromTunnel(buffer, offset, length, outerSource, outerDestination, 0, OffloadInfo.None, now);

    /// <summary>
    /// As <see cref="FromTunnel(Span{byte}, int, int, Ipv6Address, Ipv6Address, Instant)"/>, from a receiver that sees
    /// the outer header and the offload metadata (AF_PACKET with a vnet header): <paramref name="outerTrafficClass"/>
    /// carries the path's ECN mark into the inner packet (RFC 5213 §5.6.3), and <paramref name="offload"/> (offsets
    /// from the inner packet) describes a TCP super-frame that crossed the tunnel whole or a partial checksum; both
    /// are checked against the packet and go on to the VM's port with the verdict's <see cref="Verdict.Offload"/>.
    /// </summary>
    public Verdict FromTunnel(Span<byte> buffer, int offset, int length, Ipv6Address outerSource, Ipv6Address outerDestination,
        byte outerTrafficClass, in OffloadInfo offload, Instant now)
    {
        Counters.All.CountIn(length);
        _tunnelCounters.TryGetValue(outerSource, out var tunnel); // null for a stranger
        if (outerDestination != _proxyCareOfAddress) return DropFromTunnel(tunnel, DropReason.NotForThisMag);
        if (offset < EthernetFrame.HeaderLength) return DropFromTunnel(tunnel, DropReason.NoHeadroom);
        var packet = buffer.Slice(offset, length);
        if (packet.Length > 0 && packet[0] >> 4 == 4) return FromTunnelIpv4(buffer, offset, packet, tunnel, outerSource, outerTrafficClass, offload, now); // IPv4-in-IPv6 (RFC 5844)
        if (!Ipv6Packet.TryCreate(packet, out var ip, out var error)) return DropFromTunnel(tunnel, DropReason.Malformed, error);
        var destination = ip.Destination;
        if (destination.IsMulticast) return DropFromTunnel(tunnel, DropReason.MulticastNotForwarded);
        if (!_prefixes.TryLookup(destination, out var port) || port.Session is not { } session)
            return DropFromTunnel(tunnel, DropReason.NoBinding);
        DirectRoute? direct = null;
        if (session.LocalMobilityAnchor != outerSource && (direct = AcceptDirect(port, outerSource, ip.Source, now)) is null)
            return DropFromTunnel(tunnel, DropReason.TunnelSourceMismatch);

        // Packets to the VM are not decremented again: the LMA decremented as the tunnel entry point, and the
        // VM is on the exit point's own link.
        int inner = ip.Buffer.Length; // without anything after the declared payload length
        var innerPacket = packet[..inner];
        if (!TunnelExit.TryAccept(innerPacket, offload, outerTrafficClass, _options.TunnelMtu, out var o, out int segments, out var superFrame, out var reason))
            return DropFromTunnel(tunnel, reason);
        if (session.Mode != DeliveryMode.Forwarding) return HoldOrDrop(session, tunnel, innerPacket, o, superFrame);
        session.RememberDelivered(innerPacket, now.Ticks);
        int frameOffset = offset - EthernetFrame.HeaderLength;
        EthernetFrame.WriteHeader(buffer.Slice(frameOffset, EthernetFrame.HeaderLength), session.Mac, _sharedMac, EtherType.Ipv6);
        var inTunnel = direct?.Tunnel ?? session.Tunnel;
        if (o.IsGso)
        {
            // Counted as the packets it stands for; the VM's kernel takes it whole (its port has a vnet header).
            long bytes = SuperFrameOffload.SegmentBytes(in superFrame, segments);
            inTunnel.CountIn(segments, bytes);
            session.Vm.CountOut(segments, bytes);
            if (direct is not null) session.Vm.Direct.CountOut(segments, bytes);
            Counters.SuperFramesDelivered++;
        }
        else
        {
            inTunnel.CountIn(inner);
            session.Vm.CountOut(inner);
            if (direct is not null) session.Vm.Direct.CountOut(1, inner);
        }
        if (session.FirstDeliveryTicks == 0) session.FirstDeliveryTicks = now.Ticks;
        port.Counters.CountOut(inner + EthernetFrame.HeaderLength);
        return o.IsGso || o.NeedsChecksum
            ? Verdict.ToPort(port.Id, frameOffset, inner + EthernetFrame.HeaderLength, SuperFrameOffload.Shifted(o, EthernetFrame.HeaderLength))
            : Verdict.ToPort(port.Id, frameOffset, inner + EthernetFrame.HeaderLength);
    }

    /// <summary>
    /// When the first packet from the tunnel was delivered (a <see cref="VerdictKind.ToPort"/> verdict) to the
    /// VM of <paramref name="port"/> since its session was last installed; false while none has been, or when
    /// the port has no installed session. For the host's handover metrics ("attachment seen → first downlink
    /// packet"); the data path records the instant once per installation, at no other cost.
    /// </summary>
    public bool TryGetFirstDelivery(PortId port, out Instant at)
    {
        if (FindPort(port)?.Session is { FirstDeliveryTicks: not 0 } session)
        {
            at = new Instant(session.FirstDeliveryTicks);
            return true;
        }
        at = default;
        return false;
    }

    private Verdict DropFromTunnel(CounterBlock? tunnel, DropReason reason, WireError error = WireError.None)
    {
        Counters.All.CountDrop(reason, error);
        tunnel?.CountDrop(reason, error);
        return Verdict.Drop(reason, error);
    }
}
