using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// RFC 5844 §3.2.4: IPv4 from the VM into the tunnel (IPv4-over-IPv6) and out of it to the VM.
public sealed partial class MagDatapath
{
    /// <summary>
    /// An IPv4 frame from the VM: DHCP goes to the MAG's server; everything else is forwarded to the LMA only from
    /// the VM's own home address with an active binding (§3.2.4 "MUST ensure the source address … is the address
    /// allocated … and that there is an active binding"), never as a broadcast or multicast, TTL decremented once.
    /// </summary>
    private Verdict FromVmIpv4(AccessPort port, Span<byte> buffer, int offset, in FrameInfo info, in OffloadInfo offload, Instant now, int superFrameSegmentLength)
    {
        if (info.UpperLayer == IpProtocol.Udp && !info.IsFragment)
        {
            if (info.SourcePort == WellKnownPorts.Dhcpv4Server) return ActivityThenDrop(port, DropReason.DhcpServerGuard, now);
            if (info.DestinationPort == WellKnownPorts.Dhcpv4Server && info.SourcePort == WellKnownPorts.Dhcpv4Client)
            {
                var dhcpFrame = buffer.Slice(offset, info.NetworkOffset + info.NetworkLength);
                if (offload.NeedsChecksum) CompleteChecksum(dhcpFrame, in info, in offload); // the server reads a whole datagram
                return FromVmDhcp(port, dhcpFrame, in info, now);
            }
        }
        ReportActivity(port, now);
        int packetOffset = offset + info.NetworkOffset;
        var packet = buffer.Slice(packetOffset, info.NetworkLength);
        if (!Ipv4Packet.TryCreate(packet, out var ip, out var error)) return DropFromVm(port, DropReason.Malformed, error); // classified above
        if (!ip.IsHeaderChecksumValid) return DropFromVm(port, DropReason.Malformed, WireError.BadChecksum);
        var destination = info.Ipv4Destination;
        if (destination.IsMulticast) return DropFromVm(port, DropReason.MulticastNotForwarded);
        if (destination.IsBroadcast) return DropFromVm(port, DropReason.BroadcastNotForwarded);
        if (destination.IsThisNetwork || destination.IsLoopback || destination.IsReserved) return DropFromVm(port, DropReason.InvalidDestination);
        if (info.Destination != _sharedMac) return DropFromVm(port, DropReason.NotAddressedToRouter);
        if (port.Session is not { } session) return DropFromVm(port, DropReason.NoBinding);
        if (session.Ipv4 is not { } v4) return DropFromVm(port, DropReason.Ipv4NotServed);
        if (destination == v4.Subnet.Broadcast) return DropFromVm(port, DropReason.BroadcastNotForwarded);
        if (info.Ipv4Source.Value != session.Ipv4HomeAddressValue) return DropFromVm(port, DropReason.SpoofedSource);

        if (info.HopLimit <= 1)
        {
            SendIpv4ErrorToVm(port, v4, Icmpv4Type.TimeExceeded, (byte)Icmpv4TimeExceededCode.TimeToLiveExceededInTransit, 0, packet, now);
            return DropFromVm(port, DropReason.HopLimitExceeded);
        }
        // Another VM's home address on this MAG (RFC 5213 §6.10.3 for IPv4): routed here, after the same checks.
        var peer = LocalIpv4Peer(port, destination);
        int mtuLength = superFrameSegmentLength > 0 ? superFrameSegmentLength : info.NetworkLength;
        bool fragmented = mtuLength > _options.TunnelMtu;
        if (fragmented)
        {
            // RFC 2473 §7.2: with DF set, Fragmentation Needed with the tunnel MTU (path MTU discovery); without it,
            // the tunnel packet is fragmented (the kernel does it on the raw socket's send). The MTU is the same for
            // a VM on this MAG (the one the access link is given, as for IPv6); a packet without DF that the sender
            // could put on this link fits the other VM's link as it is, so only the tunnel fragments.
            if (ip.DontFragment || superFrameSegmentLength > 0)
            {
                SendIpv4ErrorToVm(port, v4, Icmpv4Type.DestinationUnreachable, (byte)Icmpv4DestinationUnreachableCode.FragmentationNeeded,
                    (uint)_options.TunnelMtu, packet, now);
                return DropFromVm(port, DropReason.PacketTooBig);
            }
            if (peer is null) Counters.Ipv4TunnelFragmentations++;
        }
        // RFC 2473 §3.1 / RFC 5844 §3.2.4: the tunnel entry point forwards, so the TTL goes down once (RFC 1624
        // incremental checksum update); so does the MAG routing between two of its ports.
        ip.TryDecrementTimeToLive();
        if (peer is not null)
        {
            // As for IPv6: a frame routed to another VM's port leaves with its checksum complete.
            if (offload.NeedsChecksum) CompleteChecksum(buffer.Slice(offset, info.NetworkOffset + info.NetworkLength), in info, in offload);
            return RouteLocally(session, peer, buffer, offset, in info, EtherType.Ipv4, superFrameSegmentLength == 0);
        }
        // A VM the LMA has paired with ours (RFC 6705 §7): straight into the tunnel to its MAG, once confirmed.
        var direct = DirectIpv4Route(port, destination, now);
        if (superFrameSegmentLength == 0)
        {
            session.Vm.CountIn(info.NetworkLength);
            session.Vm4.CountIn(info.NetworkLength);
            if (direct is not null)
            {
                session.Vm.Direct.CountIn(1, info.NetworkLength);
                direct.Tunnel.CountOut(info.NetworkLength);
                Counters.RoutedDirect++;
            }
            else
            {
                session.Tunnel.CountOut(info.NetworkLength);
            }
        }
        var target = direct?.RemoteMag ?? session.LocalMobilityAnchor;
        if (offload.NeedsChecksum)
        {
            // As for IPv6: a path that completes checksums takes it partial (offsets now from the IP header); the
            // protocol-4 raw socket, which also takes what it must fragment, gets it complete.
            if (!fragmented && _tunnelOffloads?.CompletesChecksums(target) == true)
                return Verdict.ToTunnel(target, packetOffset, info.NetworkLength,
                    OffloadInfo.PartialChecksum((ushort)(offload.ChecksumStart - info.NetworkOffset), offload.ChecksumOffset));
            CompleteChecksum(buffer.Slice(offset, info.NetworkOffset + info.NetworkLength), in info, in offload);
        }
        return Verdict.ToTunnel(target, packetOffset, info.NetworkLength);
    }

    /// <summary>
    /// An inner IPv4 packet from the tunnel (outer next header 4): delivered to the VM whose home address it is
    /// for, only when it came from that VM's LMA, or from the MAG of one of its direct routes (RFC 6705 §7) with the
    /// source that route names; the TTL is left alone (the LMA, or the other MAG, decremented it). Offload metadata
    /// and ECN as for IPv6 (<see cref="TunnelExit"/>): a TCPv4 super-frame that crossed the tunnel whole goes on whole.
    /// </summary>
    private Verdict FromTunnelIpv4(Span<byte> buffer, int offset, Span<byte> packet, CounterBlock? tunnel, Ipv6Address outerSource,
        byte outerTrafficClass, in OffloadInfo offload, Instant now)
    {
        if (!Ipv4Packet.TryCreate(packet, out var ip, out var error)) return DropFromTunnel(tunnel, DropReason.Malformed, error);
        var destination = ip.Destination;
        if (destination.IsMulticast) return DropFromTunnel(tunnel, DropReason.MulticastNotForwarded);
        if (destination.IsBroadcast) return DropFromTunnel(tunnel, DropReason.BroadcastNotForwarded);
        if (!_ipv4HomeAddresses.TryGetValue(destination.Value, out var port) || port.Session is not { } session)
            return DropFromTunnel(tunnel, DropReason.NoBinding);
        DirectRoute? direct = null;
        if (session.LocalMobilityAnchor != outerSource && (direct = AcceptDirectIpv4(port, outerSource, ip.Source, now)) is null)
            return DropFromTunnel(tunnel, DropReason.TunnelSourceMismatch);
        int inner = ip.Buffer.Length;
        if (!TunnelExit.TryAccept(packet[..inner], offload, outerTrafficClass, _options.TunnelMtu, out var o, out int segments, out var superFrame, out var reason))
            return DropFromTunnel(tunnel, reason);
        // A live migration: held for a VM not here yet (destination) or stopped (source), as IPv6 downlink is.
        if (session.Mode != DeliveryMode.Forwarding) return HoldOrDrop(session, tunnel, packet[..inner], o, superFrame);
        session.RememberDelivered(packet[..inner], now.Ticks);
        int frameOffset = offset - EthernetFrame.HeaderLength;
        EthernetFrame.WriteHeader(buffer.Slice(frameOffset, EthernetFrame.HeaderLength), session.Mac, _sharedMac, EtherType.Ipv4);
        var inTunnel = direct?.Tunnel ?? session.Tunnel;
        if (o.IsGso)
        {
            long bytes = SuperFrameOffload.SegmentBytes(in superFrame, segments);
            inTunnel.CountIn(segments, bytes);
            session.Vm.CountOut(segments, bytes);
            session.Vm4.CountOut(segments, bytes);
            if (direct is not null) session.Vm.Direct.CountOut(segments, bytes);
            Counters.SuperFramesDelivered++;
        }
        else
        {
            inTunnel.CountIn(inner);
            session.Vm.CountOut(inner);
            session.Vm4.CountOut(inner);
            if (direct is not null) session.Vm.Direct.CountOut(1, inner);
        }
        if (session.FirstDeliveryTicks == 0) session.FirstDeliveryTicks = now.Ticks;
        port.Counters.CountOut(inner + EthernetFrame.HeaderLength);
        return o.IsGso || o.NeedsChecksum
            ? Verdict.ToPort(port.Id, frameOffset, inner + EthernetFrame.HeaderLength, SuperFrameOffload.Shifted(o, EthernetFrame.HeaderLength))
            : Verdict.ToPort(port.Id, frameOffset, inner + EthernetFrame.HeaderLength);
    }

    /// <summary>
    /// An ICMP error to the VM about a packet it sent, from its default router (RFC 5844 §3.2.3.2: the MAG may use
    /// the default router address as the source of what it originates), unless RFC 1812 §4.3.2.7 forbids it or
    /// the port's error rate is used up (both counted as suppressed).
    /// </summary>
    private void SendIpv4ErrorToVm(AccessPort port, Ipv4Assignment v4, Icmpv4Type type, byte code, uint restOfHeader, Span<byte> invokingPacket, Instant now)
    {
        if (!Icmpv4ErrorPacket.MayAnswer(invokingPacket) || !port.ErrorLimiter.TryAcquire(_options.IcmpErrorRate, now))
        {
            Counters.IcmpErrorsSuppressed++;
            return;
        }
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        var source = Ipv4Address.ReadFrom(invokingPacket.Slice(12, 4));
        int at = EthernetFrame.WriteHeader(slot, port.VmMac, _sharedMac, EtherType.Ipv4);
        int length = Icmpv4ErrorPacket.Write(slot[at..], v4.DefaultRouter, source, type, code, restOfHeader, invokingPacket);
        CommitToPort(port, ControlMessageKind.Icmpv4Error, default, default, at + length);
    }
}
