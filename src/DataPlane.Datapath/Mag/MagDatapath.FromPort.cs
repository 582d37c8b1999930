using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// Frames from a VM: link guards, offloads, classification, the forwarding decision.
public sealed partial class MagDatapath
{
    /// <summary>
    /// A frame received on an access port: <c>buffer[offset..offset+length]</c>, with at least 64 bytes of
    /// free headroom in front of it, and the offload metadata that came with it. Returns what to do with it;
    /// a <see cref="VerdictKind.ToTunnel"/> verdict points at the inner packet inside the same buffer with its
    /// hop limit already decremented, a <see cref="VerdictKind.Segmented"/> one at segments in <see cref="Segments"/>.
    /// </summary>
    public Verdict FromPort(PortId portId, Span<byte> buffer, int offset, int length, in OffloadInfo offload, Instant now)
    {
        Counters.All.CountIn(length);
        if (FindPort(portId) is not { } port)
        {
            Counters.All.CountDrop(DropReason.PortUnknown, WireError.None);
            return Verdict.Drop(DropReason.PortUnknown);
        }
        port.Counters.CountIn(length);
        var verdict = offload.IsGso
            ? FromPortSegmented(port, buffer, offset, length, offload, now)
            : ProcessFrame(port, buffer, offset, length, offload, now, superFrameSegmentLength: 0);
        RaiseArrivalIfPending(now);
        return verdict;
    }

    /// <summary>
    /// One frame from the VM (a received frame, or a super-frame about to be cut). With a non-zero
    /// <paramref name="superFrameSegmentLength"/> the frame is a GSO super-frame: every check applies to it
    /// once (its segments share its headers), the MTU check uses the IP length of its largest segment, and the
    /// caller counts the segments it then forwards.
    /// </summary>
    private Verdict ProcessFrame(AccessPort port, Span<byte> buffer, int offset, int length, in OffloadInfo offload, Instant now,
        int superFrameSegmentLength)
    {
        var frame = buffer.Slice(offset, length);
        if (!PassesLinkGuards(port, frame, out var drop)) return drop;
        if (port.Session is { Mode: not DeliveryMode.Forwarding } waiting) OnFrameFromWaitingVm(port, waiting, now);
        FrameClassifier.Classify(frame, out var info);
        if (info.Kind == FrameKind.Malformed) return DropFromVm(port, DropReason.Malformed, info.Error);
        if (offload.NeedsChecksum && info.Kind is FrameKind.Ipv6 or FrameKind.Ipv4)
        {
            // The field must lie in the transport header: a checksum written over the IP header would change
            // what was just classified. Data may leave with it still partial (FromVmIpv6 / FromVmIpv4 decide).
            if (!ChecksumCompletion.IsWithin(frame, info.NetworkOffset + info.NetworkLength, offload, info.UpperLayerOffset))
                return DropFromVm(port, DropReason.OffloadInvalid);
        }
        return info.Kind switch
        {
            FrameKind.Ipv6 => FromVmIpv6(port, buffer, offset, in info, in offload, now, superFrameSegmentLength),
            FrameKind.Ipv4 => FromVmIpv4(port, buffer, offset, in info, in offload, now, superFrameSegmentLength),
            FrameKind.Arp => FromVmArp(port, frame, in info, now),
            FrameKind.Rarp => FromVmAnnouncement(port, ControlFrameKind.Rarp, AttachTrigger.Rarp, now),
            _ => ActivityThenDrop(port, DropReason.UnsupportedEtherType, now),
        };
    }

    /// <summary>
    /// Layer-2 rules of an access port: one VM per port, identified by its MAC (configured, or learned from
    /// the first frame), untagged. The MAC is learned here; the attachment it implies is raised once the
    /// frame is classified (as its own trigger when it is one, else as FirstFrame).
    /// </summary>
    private bool PassesLinkGuards(AccessPort port, Span<byte> frame, out Verdict drop)
    {
        if (!EthernetFrame.TryCreate(frame, out var eth, out var error))
        {
            drop = DropOnPort(port, DropReason.Malformed, error);
            return false;
        }
        var source = eth.Source;
        if (!port.HasVmMac)
        {
            if (!source.IsUnicast || source.IsZero || source == _sharedMac)
            {
                drop = DropOnPort(port, DropReason.ForeignSourceMac);
                return false;
            }
            port.LearnMac(source);
        }
        else if (source != port.VmMac)
        {
            drop = DropOnPort(port, DropReason.ForeignSourceMac);
            return false;
        }
        if (eth.HasVlanTag)
        {
            drop = DropFromVm(port, DropReason.VlanTagged);
            return false;
        }
        drop = default;
        return true;
    }

    /// <summary>Complete a partial checksum whose offsets were checked (<see cref="ChecksumCompletion.IsWithin"/>).</summary>
    private void CompleteChecksum(Span<byte> frame, in FrameInfo info, in OffloadInfo offload)
    {
        ChecksumCompletion.TryComplete(frame, info.NetworkOffset + info.NetworkLength, offload, info.UpperLayerOffset);
        Counters.ChecksumsCompleted++;
    }

    private Verdict FromVmIpv6(AccessPort port, Span<byte> buffer, int offset, in FrameInfo info, in OffloadInfo offload, Instant now, int superFrameSegmentLength)
    {
        if (info.UpperLayer == IpProtocol.Icmpv6 && IsLinkControl(info.Icmpv6Type))
        {
            // RFC 6980: Neighbor Discovery in fragments is discarded (a later fragment has no type to see).
            if (info.IsFragment) return DropFromVm(port, DropReason.Malformed, WireError.Unsupported);
            var linkFrame = buffer.Slice(offset, info.NetworkOffset + info.NetworkLength);
            if (offload.NeedsChecksum) CompleteChecksum(linkFrame, in info, in offload); // RFC 4861 checks it
            return FromVmLinkControl(port, linkFrame, in info, now);
        }
        if (info.UpperLayer == IpProtocol.Udp && info.SourcePort == WellKnownPorts.Dhcpv6Server)
            return ActivityThenDrop(port, DropReason.DhcpServerGuard, now);
        ReportActivity(port, now);

        var source = info.Ipv6Source;
        var destination = info.Ipv6Destination;
        if (destination.IsMulticast) return DropFromVm(port, DropReason.MulticastNotForwarded);
        if (destination.IsLinkLocal || source.IsLinkLocal) return DropFromVm(port, DropReason.LinkLocalNotForwarded);
        if (destination.IsUnspecified || destination == Ipv6Address.Loopback) return DropFromVm(port, DropReason.InvalidDestination);
        if (info.Destination != _sharedMac) return DropFromVm(port, DropReason.NotAddressedToRouter);
        if (port.Session is not { } session) return DropFromVm(port, DropReason.NoBinding);
        if (!session.OwnsSource(source)) return DropFromVm(port, DropReason.SpoofedSource);

        int packetOffset = offset + info.NetworkOffset;
        var packet = buffer.Slice(packetOffset, info.NetworkLength);
        bool isIcmpError = info.UpperLayer == IpProtocol.Icmpv6 && Icmpv6Packet.IsErrorType(info.Icmpv6Type) && !info.IsFragment;
        if (info.HopLimit <= 1)
        {
            SendErrorToVm(port, Icmpv6Type.TimeExceeded, (byte)TimeExceededCode.HopLimitExceededInTransit, 0, packet, source, isIcmpError, now);
            return DropFromVm(port, DropReason.HopLimitExceeded);
        }
        int mtuLength = superFrameSegmentLength > 0 ? superFrameSegmentLength : info.NetworkLength;
        if (mtuLength > _options.TunnelMtu)
        {
            SendErrorToVm(port, Icmpv6Type.PacketTooBig, 0, (uint)_options.TunnelMtu, packet, source, isIcmpError, now);
            return DropFromVm(port, DropReason.PacketTooBig);
        }
        // RFC 2473 §3.1: the tunnel entry point decrements the inner hop limit once, as any forwarding would (and so
        // does the MAG routing between two of its ports).
        if (!Ipv6Packet.TryCreate(packet, out var ip, out var error)) return DropFromVm(port, DropReason.Malformed, error); // classified above
        ip.HopLimit = (byte)(info.HopLimit - 1);
        if (session.FirstUplinkTicks == 0) session.FirstUplinkTicks = now.Ticks;
        var verdict = RouteFromVm(port, session, buffer, offset, in info, packetOffset, destination, now, superFrameSegmentLength);
        if (offload.NeedsChecksum)
        {
            // A tunnel path that completes checksums (AF_PACKET with a vnet header) takes it as it came: no pass over
            // the payload here; offsets now count from the IP header. A frame routed to another VM's port here is
            // completed, as local routing has it (LocalRoutingTests).
            if (verdict.Kind == VerdictKind.ToTunnel && _tunnelOffloads?.CompletesChecksums(verdict.TunnelDestination) == true)
                return Verdict.ToTunnel(verdict.TunnelDestination, verdict.Offset, verdict.Length,
                    OffloadInfo.PartialChecksum((ushort)(offload.ChecksumStart - info.NetworkOffset), offload.ChecksumOffset));
            CompleteChecksum(buffer.Slice(offset, info.NetworkOffset + info.NetworkLength), in info, in offload);
        }
        return verdict;
    }

    /// <summary>Gratuitous ARP and RARP (QEMU's self-announce): attachment triggers, rate-limited.</summary>
    private Verdict FromVmAnnouncement(AccessPort port, ControlFrameKind kind, AttachTrigger trigger, Instant now)
    {
        if (!port.ControlLimiter.TryAcquire(_options.ControlFrameRate, now)) return DropFromVm(port, DropReason.RateLimited);
        var verdict = Consume(port, kind);
        RaiseTrigger(port, trigger, null, now);
        return verdict;
    }

    private Verdict ActivityThenDrop(AccessPort port, DropReason reason, Instant now)
    {
        ReportActivity(port, now);
        return DropFromVm(port, reason);
    }

    /// <summary>
    /// A GSO super-frame (IFF_VNET_HDR/PACKET_VNET_HDR with a gso_type): checked once as a whole, then either
    /// forwarded whole (the tunnel path to the LMA <see cref="ITunnelOffloads.CarriesSuperFrames">carries
    /// super-frames</see>: the verdict's <see cref="Verdict.Offload"/> is its GSO descriptor) or cut into segments in
    /// <see cref="Segments"/>, each forwarded into the tunnel, with a partial checksum where the path completes it.
    /// UDP GSO is dropped for now.
    /// </summary>
    private Verdict FromPortSegmented(AccessPort port, Span<byte> buffer, int offset, int length, in OffloadInfo offload, Instant now)
    {
        var frame = buffer.Slice(offset, length);
        switch (offload.Segmentation)
        {
            case GsoType.TcpV6:
            case GsoType.TcpV4:
                break;
            case GsoType.Udp:
            case GsoType.UdpL4:
                return PassesLinkGuards(port, frame, out var udpDrop) ? DropFromVm(port, DropReason.UdpSegmentationUnsupported) : udpDrop;
            default:
                return PassesLinkGuards(port, frame, out var typeDrop) ? DropFromVm(port, DropReason.OffloadInvalid) : typeDrop;
        }
        if (!PassesLinkGuards(port, frame, out var drop)) return drop;
        if (!TcpSegmenter.TryParse(frame, EthernetFrame.HeaderLength, out var superFrame, out var error))
            return DropFromVm(port, error == WireError.Unsupported ? DropReason.OffloadInvalid : DropReason.Malformed, error);
        if (superFrame.IsIpv6 != (offload.Segmentation == GsoType.TcpV6) || offload.GsoSize == 0)
            return DropFromVm(port, DropReason.OffloadInvalid);

        int gsoSize = offload.GsoSize;
        if (superFrame.PayloadLength <= gsoSize)
        {
            // Nothing to cut: an ordinary frame, whose checksum may still be partial.
            var single = offload;
            single.GsoType = GsoType.None;
            return ProcessFrame(port, buffer, offset, length, single, now, superFrameSegmentLength: 0);
        }
        // Every check once, on the super-frame; its hop limit is decremented in place and copied into each
        // segment. A segment too big for the tunnel gets one Packet Too Big for the whole super-frame.
        var verdict = ProcessFrame(port, buffer, offset, length, OffloadInfo.None, now, superFrame.FullSegmentPacketLength(gsoSize));
        if (verdict.Kind == VerdictKind.ToPort) return LocalSuperFrame(port, in verdict, frame, in superFrame, in offload, gsoSize);
        if (verdict.Kind != VerdictKind.ToTunnel) return verdict;

        int count = superFrame.SegmentCount(gsoSize);
        var session = port.Session!;
        var peer = verdict.TunnelDestination;
        bool direct = peer != session.LocalMobilityAnchor; // an RFC 6705 route: counted on that MAG's tunnel
        var tunnel = direct ? TunnelBlock(peer) : session.Tunnel;
        if (_tunnelOffloads?.CarriesSuperFrames(peer) == true)
        {
            // Whole: one send, one skb across the host; the kernel or the NIC cuts it only where it must.
            SuperFrameOffload.WritePartialChecksum(frame, in superFrame);
            long bytes = SuperFrameOffload.SegmentBytes(in superFrame, count);
            session.Vm.CountIn(count, bytes);
            if (!superFrame.IsIpv6) session.Vm4.CountIn(count, bytes);
            if (direct)
            {
                session.Vm.Direct.CountIn(count, bytes);
                Counters.RoutedDirect++;
            }
            tunnel.CountOut(count, bytes);
            Counters.SuperFramesForwarded++;
            return Verdict.ToTunnel(peer, verdict.Offset, verdict.Length, SuperFrameOffload.ForPacket(in superFrame, offload.GsoType, gsoSize));
        }
        if (superFrame.SegmentLength(gsoSize, 0) > Segments.MaxSegmentLength) return DropFromVm(port, DropReason.OffloadInvalid);
        if (!Segments.TryReserve(count, out int first)) return DropFromVm(port, DropReason.SegmentPoolExhausted);
        bool partial = _tunnelOffloads?.CompletesChecksums(peer) == true;
        var segmentOffload = partial ? OffloadInfo.PartialChecksum((ushort)(superFrame.TransportOffset - superFrame.NetworkOffset), 16) : OffloadInfo.None;
        int headroom = Segments.Headroom;
        for (int i = 0; i < count; i++)
        {
            var slot = Segments.Slot(first + i);
            int segmentLength = TcpSegmenter.WriteSegment(frame, superFrame, gsoSize, i, count, slot[headroom..], partial);
            int packetLength = segmentLength - superFrame.NetworkOffset;
            Segments.SetVerdict(first + i, Verdict.ToTunnel(peer, headroom + superFrame.NetworkOffset, packetLength, segmentOffload));
            session.Vm.CountIn(packetLength);
            if (!superFrame.IsIpv6) session.Vm4.CountIn(packetLength);
            if (direct) session.Vm.Direct.CountIn(1, packetLength);
            tunnel.CountOut(packetLength);
        }
        if (direct) Counters.RoutedDirect++;
        Counters.SuperFramesSegmented++;
        Counters.SegmentsProduced += count;
        return Verdict.Segmented(first, count);
    }
}
