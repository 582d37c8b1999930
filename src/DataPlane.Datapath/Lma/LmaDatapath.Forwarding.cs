using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// Home network ⇄ tunnels.
public sealed partial class LmaDatapath
{
    /// <summary>
    /// An IPv6 packet from the home-network device (TUN: no Ethernet header) at <c>buffer[offset..offset+length]</c>.
    /// A destination in a bound prefix goes into the tunnel to the serving MAG, hop limit decremented once
    /// (RFC 2473 §3.1); hop limit 1 is answered with Time Exceeded and an oversize packet with Packet Too Big,
    /// both queued for the home device; an unbound destination is dropped (and, if configured, answered with
    /// Destination Unreachable). Errors are rate-limited.
    /// </summary>
    public Verdict FromHome(Span<byte> buffer, int offset, int length, Instant now) => FromHome(buffer, offset, length, OffloadInfo.None, now);

    /// <summary>
    /// As <see cref="FromHome(Span{byte}, int, int, Instant)"/>, for a TUN device opened with IFF_VNET_HDR: a
    /// partial checksum is completed, and a TCP GSO super-packet is checked once and cut into segments in
    /// <see cref="Segments"/> (verdict <see cref="VerdictKind.Segmented"/>), since the tunnel has no GSO type.
    /// Offsets in <paramref name="offload"/> count from the IPv6 header, as on a TUN device.
    /// </summary>
    public Verdict FromHome(Span<byte> buffer, int offset, int length, in OffloadInfo offload, Instant now)
    {
        Counters.All.CountIn(length);
        return offload.IsGso
            ? FromHomeSegmented(buffer, offset, length, offload, now)
            : ForwardFromHome(buffer, offset, length, offload, now, superFrameSegmentLength: 0);
    }

    /// <summary>
    /// The checks and the forwarding decision for one packet from home; for a super-packet
    /// (<paramref name="superFrameSegmentLength"/> non-zero) the MTU check uses its largest segment and the
    /// caller counts the segments.
    /// </summary>
    private Verdict ForwardFromHome(Span<byte> buffer, int offset, int length, in OffloadInfo offload, Instant now, int superFrameSegmentLength)
    {
        var packet = buffer.Slice(offset, length);
        if (packet.Length > 0 && packet[0] >> 4 == 4) return ForwardFromHomeIpv4(buffer, offset, length, offload, now, superFrameSegmentLength);
        if (!Ipv6Packet.TryCreate(packet, out var ip, out var error)) return Drop(null, DropReason.Malformed, error);
        var source = ip.Source;
        var destination = ip.Destination;
        if (destination.IsMulticast) return Drop(null, DropReason.MulticastNotForwarded);
        if (destination.IsLinkLocal || source.IsLinkLocal) return Drop(null, DropReason.LinkLocalNotForwarded);
        var inner = ip.Buffer; // cut to the declared length
        if (offload.NeedsChecksum && !ChecksumCompletion.IsWithin(inner, inner.Length, offload, Ipv6Packet.HeaderLength)) return Drop(null, DropReason.OffloadInvalid);
        if (!_routes.TryLookup(destination, out var route))
        {
            if (_options.SendDestinationUnreachable)
                SendErrorHome(Icmpv6Type.DestinationUnreachable, (byte)DestinationUnreachableCode.AddressUnreachable, 0, inner, source, now);
            return Drop(null, DropReason.NoBinding);
        }
        if (ip.HopLimit <= 1)
        {
            SendErrorHome(Icmpv6Type.TimeExceeded, (byte)TimeExceededCode.HopLimitExceededInTransit, 0, inner, source, now);
            return Drop(route.PrefixCounters, DropReason.HopLimitExceeded);
        }
        if ((superFrameSegmentLength > 0 ? superFrameSegmentLength : inner.Length) > _options.TunnelMtu)
        {
            SendErrorHome(Icmpv6Type.PacketTooBig, 0, (uint)_options.TunnelMtu, inner, source, now);
            return Drop(route.PrefixCounters, DropReason.PacketTooBig);
        }
        ip.HopLimit--;
        if (route.Secondary is not null && superFrameSegmentLength == 0) return ToBothOrSecondary(route, inner, offset, offload, Ipv6Packet.HeaderLength, canStayPartial: true);
        if (superFrameSegmentLength == 0)
        {
            route.PrefixCounters.CountOut(inner.Length);
            route.Tunnel.Counters.CountOut(inner.Length);
        }
        if (offload.NeedsChecksum)
        {
            // A path that completes checksums takes it partial, as the TUN gave it (offsets from the IPv6 header).
            if (_tunnelOffloads?.CompletesChecksums(route.Mag) == true)
                return Verdict.ToTunnel(route.Mag, offset, inner.Length, OffloadInfo.PartialChecksum(offload.ChecksumStart, offload.ChecksumOffset));
            ChecksumCompletion.TryComplete(inner, inner.Length, offload, Ipv6Packet.HeaderLength);
            Counters.ChecksumsCompleted++;
        }
        return Verdict.ToTunnel(route.Mag, offset, inner.Length);
    }

    /// <summary>
    /// A TCP super-packet from the home device: checked once, then forwarded whole where the tunnel path to the MAG
    /// carries super-frames (<see cref="ITunnelOffloads"/>), else cut (see <see cref="TcpSegmenter"/>), with partial
    /// checksums where the path completes them.
    /// </summary>
    private Verdict FromHomeSegmented(Span<byte> buffer, int offset, int length, in OffloadInfo offload, Instant now)
    {
        var packet = buffer.Slice(offset, length);
        if (offload.Segmentation is GsoType.Udp or GsoType.UdpL4) return Drop(null, DropReason.UdpSegmentationUnsupported);
        if (offload.Segmentation is not (GsoType.TcpV6 or GsoType.TcpV4)) return Drop(null, DropReason.OffloadInvalid);
        if (!TcpSegmenter.TryParse(packet, 0, out var superFrame, out var error))
            return Drop(null, error == WireError.Unsupported ? DropReason.OffloadInvalid : DropReason.Malformed, error);
        if (superFrame.IsIpv6 != (offload.Segmentation == GsoType.TcpV6) || offload.GsoSize == 0) return Drop(null, DropReason.OffloadInvalid);
        int gsoSize = offload.GsoSize;
        if (superFrame.PayloadLength <= gsoSize)
        {
            var single = offload;
            single.GsoType = GsoType.None;
            return ForwardFromHome(buffer, offset, length, single, now, superFrameSegmentLength: 0);
        }
        var verdict = ForwardFromHome(buffer, offset, length, OffloadInfo.None, now, superFrame.FullSegmentPacketLength(gsoSize));
        if (verdict.Kind != VerdictKind.ToTunnel) return verdict;
        // Found by ForwardFromHome: the prefix's (IPv6) or the home address's (IPv4) route.
        LmaDownlinkRoute route;
        if (superFrame.IsIpv6)
        {
            Ipv6Packet.TryCreate(packet, out var ip, out _); // parsed by TryParse above
            _routes.TryLookup(ip.Destination, out var route6);
            route = route6!;
        }
        else
        {
            Ipv4Packet.TryCreate(packet, out var ip4, out _);
            route = _ipv4Routes[ip4.Destination.Value];
        }
        var vm = route.VmCounters;
        int count = superFrame.SegmentCount(gsoSize);
        // During a live migration the downlink may go to the destination MAG too (bicast), or only there. Whole when
        // every path it takes carries super-frames (a bicast sends the receive slot twice); otherwise cut for each,
        // since one verdict cannot both send the slot whole and send segments.
        var targets = DownlinkTargets(route, out int copies);
        if (_tunnelOffloads is { } offloads && offloads.CarriesSuperFrames(targets.First.Mag)
            && (copies == 1 || offloads.CarriesSuperFrames(targets.Second!.Mag)))
        {
            SuperFrameOffload.WritePartialChecksum(packet, in superFrame);
            long bytes = SuperFrameOffload.SegmentBytes(in superFrame, count);
            vm.CountOut(count, bytes);
            targets.First.Counters.CountOut(count, bytes);
            Counters.SuperFramesForwarded++;
            var descriptor = SuperFrameOffload.ForPacket(in superFrame, offload.GsoType, gsoSize);
            if (copies == 1)
            {
                if (targets.First != route.Tunnel) Counters.Handover.SwitchedToSecondary += count;
                return Verdict.ToTunnel(targets.First.Mag, verdict.Offset, verdict.Length, descriptor);
            }
            targets.Second!.Counters.CountOut(count, bytes);
            Counters.Handover.BicastCopies += count;
            return Verdict.ToTunnelAndCopy(targets.First.Mag, targets.Second.Mag, verdict.Offset, verdict.Length, descriptor);
        }
        if (superFrame.SegmentLength(gsoSize, 0) > Segments.MaxSegmentLength) return Drop(vm, DropReason.OffloadInvalid);
        if (!Segments.TryReserve(count * copies, out int first)) return Drop(vm, DropReason.SegmentPoolExhausted);
        int headroom = Segments.Headroom;
        for (int c = 0; c < copies; c++)
        {
            // Each copy as its own path takes it: a partial checksum only where that path completes it.
            var tunnel = c == 0 ? targets.First : targets.Second!;
            bool partial = _tunnelOffloads?.CompletesChecksums(tunnel.Mag) == true;
            var segmentOffload = partial ? OffloadInfo.PartialChecksum((ushort)superFrame.TransportOffset, 16) : OffloadInfo.None;
            for (int i = 0; i < count; i++)
            {
                int slot = first + i * copies + c;
                int segmentLength = TcpSegmenter.WriteSegment(packet, superFrame, gsoSize, i, count, Segments.Slot(slot)[headroom..], partial);
                Segments.SetVerdict(slot, Verdict.ToTunnel(tunnel.Mag, headroom, segmentLength, segmentOffload));
                tunnel.Counters.CountOut(segmentLength);
                if (c == 0) vm.CountOut(segmentLength);
            }
        }
        if (copies == 2) Counters.Handover.BicastCopies += count;
        else if (targets.First != route.Tunnel) Counters.Handover.SwitchedToSecondary += count;
        Counters.SuperFramesSegmented++;
        Counters.SegmentsProduced += count;
        return Verdict.Segmented(first, count * copies);
    }

    /// <summary>
    /// An inner packet from the IPv6-in-IPv6 raw socket with its outer addresses. Accepted into the home
    /// network only when the outer destination is this LMA, the outer source a MAG with a tunnel up, and the
    /// inner source inside a prefix bound to that very MAG: after a handover the old MAG's packets are refused.
    /// The inner hop limit is left alone (the kernel decrements it when it forwards from the TUN device).
    /// </summary>
    public Verdict FromTunnel(Span<byte> buffer, int offset, int length, Ipv6Address outerSource, Ipv6Address outerDestination, Instant now) =>
        FromTunnel(buffer, offset, length, outerSource, outerDestination, 0, OffloadInfo.None, now);

    /// <summary>
    /// As <see cref="FromTunnel(Span{byte}, int, int, Ipv6Address, Ipv6Address, Instant)"/>, from a receiver that sees
    /// the outer header and the offload metadata (AF_PACKET with a vnet header): the outer ECN mark is carried into
    /// the inner packet (RFC 5213 §5.6.3), and a TCP super-frame that crossed the tunnel whole, or a partial checksum,
    /// goes on to the home device with the verdict's <see cref="Verdict.Offload"/> (offsets from the IPv6 header).
    /// </summary>
    public Verdict FromTunnel(Span<byte> buffer, int offset, int length, Ipv6Address outerSource, Ipv6Address outerDestination,
        byte outerTrafficClass, in OffloadInfo offload, Instant now)
    {
        Counters.All.CountIn(length);
        _tunnels.TryGetValue(outerSource, out var tunnel);
        if (outerDestination != _address) return Drop(tunnel?.Counters, DropReason.NotForThisLma);
        if (tunnel is not { Up: true }) return Drop(tunnel?.Counters, DropReason.TunnelSourceMismatch);
        var packet = buffer.Slice(offset, length);
        if (packet.Length > 0 && packet[0] >> 4 == 4) return FromTunnelIpv4(offset, packet, tunnel, outerTrafficClass, offload, now);
        if (!Ipv6Packet.TryCreate(packet, out var ip, out var error)) return Drop(tunnel.Counters, DropReason.Malformed, error);
        // From the MAG serving the prefix, or from a live migration's destination pre-registered for it (its VM may
        // send before the binding is its own).
        if (!_routes.TryLookup(ip.Source, out var route) || (route.Tunnel != tunnel && route.Secondary != tunnel))
            return Drop(tunnel.Counters, DropReason.TunnelSourceMismatch);
        var destination = ip.Destination;
        if (destination.IsMulticast) return Drop(tunnel.Counters, DropReason.MulticastNotForwarded);
        if (destination.IsLinkLocal) return Drop(tunnel.Counters, DropReason.LinkLocalNotForwarded);
        int inner = ip.Buffer.Length;
        var innerPacket = packet[..inner];
        if (!TunnelExit.TryAccept(innerPacket, offload, outerTrafficClass, _options.TunnelMtu, out var o, out int segments, out var superFrame, out var reason))
            return Drop(tunnel.Counters, reason);
        if (o.IsGso)
        {
            long bytes = SuperFrameOffload.SegmentBytes(in superFrame, segments);
            tunnel.Counters.CountIn(segments, bytes);
            route.PrefixCounters.CountIn(segments, bytes);
            Counters.SuperFramesDelivered++;
        }
        else
        {
            tunnel.Counters.CountIn(inner);
            route.PrefixCounters.CountIn(inner);
        }
        if (_observeTraffic && now.Ticks >= route.NextObservationTicks) ObserveVmToVm(route, destination, now);
        return o.IsGso || o.NeedsChecksum ? Verdict.ToHome(offset, inner, o) : Verdict.ToHome(offset, inner);
    }

    /// <summary>
    /// A VM's packet to a VM of another MAG (both bound here): tell the machine, which may set up RFC 6705 localized
    /// routing for the pair. At most once per TrafficObservationInterval per source prefix, with a reused event.
    /// </summary>
    private void ObserveVmToVm(LmaRoute source, Ipv6Address destination, Instant now)
    {
        if (!_routes.TryLookup(destination, out var target) || ReferenceEquals(target.Tunnel, source.Tunnel)) return;
        source.NextObservationTicks = now.Ticks + _options.TrafficObservationInterval.Ticks;
        var e = source.Observation;
        if (e is null || e.DestinationPrefix != target.Prefix) source.Observation = e = new Protocol.Lma.LmaEvent.TrafficObserved(source.Prefix, target.Prefix);
        Counters.TrafficObservations++;
        Handle(e, now);
    }

    /// <summary>An ICMPv6 error back towards a home-network sender, written for the home device.</summary>
    private void SendErrorHome(Icmpv6Type type, byte code, uint parameter, Span<byte> invokingPacket, Ipv6Address offenderSource, Instant now)
    {
        if (!IcmpErrorPacket.MayAnswer(offenderSource, IcmpErrorPacket.CarriesIcmpError(invokingPacket))
            || !_errorLimiter.TryAcquire(_options.IcmpErrorRate, now))
        {
            Counters.IcmpErrorsSuppressed++;
            return;
        }
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        int length = IcmpErrorPacket.Write(slot, _errorSource, offenderSource, type, code, parameter, invokingPacket);
        var kind = type switch
        {
            Icmpv6Type.PacketTooBig => ControlMessageKind.PacketTooBig,
            Icmpv6Type.TimeExceeded => ControlMessageKind.TimeExceeded,
            _ => ControlMessageKind.DestinationUnreachable,
        };
        ControlOutput.Commit(new ControlFrame(ControlSink.Home, kind, default, _errorSource, offenderSource, length));
        Counters.ControlSent.Increment(kind);
    }
}
