using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// RFC 5844 §3.1.3–3.1.4 at the LMA: IPv4 home addresses from the home network into the tunnels
// (IPv4-over-IPv6), and back out of them.
public sealed partial class LmaDatapath
{
    private readonly Dictionary<uint, LmaIpv4Route> _ipv4Routes = [];
    private readonly Dictionary<Ipv4Address, CounterBlock> _ipv4Counters = [];
    private readonly Ipv4Address? _ipv4ErrorSource;

    /// <summary>IPv4 host routes (bound home addresses).</summary>
    public int Ipv4RouteCount => _ipv4Routes.Count;

    /// <summary>Per-home-address (per-VM) IPv4 counters, kept after the address is unbound so they only grow.</summary>
    public IReadOnlyDictionary<Ipv4Address, CounterBlock> Ipv4Counters => _ipv4Counters;

    /// <summary>The binding that held this address is gone for good: drop its counters. False while a route still counts into them.</summary>
    public bool ForgetIpv4HomeAddress(Ipv4Address address) => !_ipv4Routes.ContainsKey(address.Value) && _ipv4Counters.Remove(address);

    public IEnumerable<LmaIpv4RouteView> Ipv4Routes => _ipv4Routes.Values.Select(r => new LmaIpv4RouteView(r.HomeAddress, r.Mag, r.Counters));

    /// <summary>The MAG serving this IPv4 home address.</summary>
    public bool TryLookupIpv4Route(Ipv4Address homeAddress, out Ipv6Address mag)
    {
        bool found = _ipv4Routes.TryGetValue(homeAddress.Value, out var route);
        mag = found ? route!.Mag : default;
        return found;
    }

    /// <summary>
    /// An IPv4 packet from the home device: a bound home address goes into the tunnel to the MAG serving it, TTL
    /// decremented once (the tunnel entry point forwards); TTL 1 is answered with Time Exceeded, and a packet over
    /// the tunnel MTU with DF set with Fragmentation Needed (RFC 2473 §7.2(a); without DF the kernel fragments the
    /// tunnel packet, §7.2(b)); an unbound address with Host Unreachable. Errors are rate-limited.
    /// </summary>
    private Verdict ForwardFromHomeIpv4(Span<byte> buffer, int offset, int length, in OffloadInfo offload, Instant now, int superFrameSegmentLength)
    {
        if (!Ipv4Packet.TryCreate(buffer.Slice(offset, length), out var ip, out var error)) return Drop(null, DropReason.Malformed, error);
        var inner = ip.Buffer;
        var destination = ip.Destination;
        if (destination.IsMulticast) return Drop(null, DropReason.MulticastNotForwarded);
        if (destination.IsBroadcast) return Drop(null, DropReason.BroadcastNotForwarded);
        // A VM's first-hop router is its MAG, so a Redirect from the home network is never right for it. The
        // LMA's own kernel sends one when it routes a packet between two VMs of the home subnet back into the
        // home device it came from (same subnet on both sides, RFC 1812 §5.2.7.2); without this the VM would be
        // told to reach its neighbour directly, which the MAG's proxy ARP turns back into the tunnel anyway.
        if (ip.Protocol == IpProtocol.Icmp && !ip.IsFragment && ip.Payload is { Length: > 0 } icmp && icmp[0] == (byte)Icmpv4Type.Redirect)
            return Drop(null, DropReason.RedirectGuard);
        if (offload.NeedsChecksum && !ChecksumCompletion.IsWithin(inner, inner.Length, offload, ip.HeaderLength)) return Drop(null, DropReason.OffloadInvalid);
        if (!_ipv4Routes.TryGetValue(destination.Value, out var route))
        {
            if (_options.SendDestinationUnreachable)
                SendIpv4ErrorHome(Icmpv4Type.DestinationUnreachable, (byte)Icmpv4DestinationUnreachableCode.HostUnreachable, 0, inner, now);
            return Drop(null, DropReason.NoBinding);
        }
        if (ip.TimeToLive <= 1)
        {
            SendIpv4ErrorHome(Icmpv4Type.TimeExceeded, (byte)Icmpv4TimeExceededCode.TimeToLiveExceededInTransit, 0, inner, now);
            return Drop(route.Counters, DropReason.HopLimitExceeded);
        }
        bool fragmented = (superFrameSegmentLength > 0 ? superFrameSegmentLength : inner.Length) > _options.TunnelMtu;
        if (fragmented)
        {
            if (ip.DontFragment || superFrameSegmentLength > 0)
            {
                SendIpv4ErrorHome(Icmpv4Type.DestinationUnreachable, (byte)Icmpv4DestinationUnreachableCode.FragmentationNeeded,
                    (uint)_options.TunnelMtu, inner, now);
                return Drop(route.Counters, DropReason.PacketTooBig);
            }
            Counters.Ipv4TunnelFragmentations++;
        }
        ip.TryDecrementTimeToLive();
        if (route.Secondary is not null && superFrameSegmentLength == 0) return ToBothOrSecondary(route, inner, offset, offload, ip.HeaderLength, canStayPartial: !fragmented);
        if (superFrameSegmentLength == 0)
        {
            route.Counters.CountOut(inner.Length);
            route.Tunnel.Counters.CountOut(inner.Length);
        }
        if (offload.NeedsChecksum)
        {
            // As for IPv6: a path that completes checksums takes it partial, as the TUN gave it (offsets from the IP
            // header); the protocol-4 raw socket, which also takes what it must fragment, gets it complete.
            if (!fragmented && _tunnelOffloads?.CompletesChecksums(route.Mag) == true)
                return Verdict.ToTunnel(route.Mag, offset, inner.Length, OffloadInfo.PartialChecksum(offload.ChecksumStart, offload.ChecksumOffset));
            ChecksumCompletion.TryComplete(inner, inner.Length, offload, ip.HeaderLength);
            Counters.ChecksumsCompleted++;
        }
        return Verdict.ToTunnel(route.Mag, offset, inner.Length);
    }

    /// <summary>
    /// An inner IPv4 packet from a tunnel: accepted into the home network only when its source is a home address
    /// bound to the MAG it came from or pre-registered there (after a handover the old MAG's packets are refused), and
    /// it is not a broadcast or multicast. The TTL is left alone (the kernel decrements it when it forwards from the
    /// TUN device). Offload metadata and ECN as for IPv6 (<see cref="TunnelExit"/>): a TCPv4 super-frame goes to the TUN whole.
    /// </summary>
    private Verdict FromTunnelIpv4(int offset, Span<byte> packet, LmaTunnel tunnel, byte outerTrafficClass, in OffloadInfo offload, Instant now)
    {
        if (!Ipv4Packet.TryCreate(packet, out var ip, out var error)) return Drop(tunnel.Counters, DropReason.Malformed, error);
        // From the MAG serving the address, or from a live migration's destination pre-registered for it.
        if (!_ipv4Routes.TryGetValue(ip.Source.Value, out var route) || (route.Tunnel != tunnel && route.Secondary != tunnel))
            return Drop(tunnel.Counters, DropReason.TunnelSourceMismatch);
        var destination = ip.Destination;
        if (destination.IsMulticast) return Drop(tunnel.Counters, DropReason.MulticastNotForwarded);
        if (destination.IsBroadcast) return Drop(tunnel.Counters, DropReason.BroadcastNotForwarded);
        if (destination.IsThisNetwork || destination.IsLoopback || destination.IsReserved) return Drop(tunnel.Counters, DropReason.InvalidDestination);
        int inner = ip.Buffer.Length;
        if (!TunnelExit.TryAccept(packet[..inner], offload, outerTrafficClass, _options.TunnelMtu, out var o, out int segments, out var superFrame, out var reason))
            return Drop(tunnel.Counters, reason);
        if (o.IsGso)
        {
            long bytes = SuperFrameOffload.SegmentBytes(in superFrame, segments);
            tunnel.Counters.CountIn(segments, bytes);
            route.Counters.CountIn(segments, bytes);
            Counters.SuperFramesDelivered++;
        }
        else
        {
            tunnel.Counters.CountIn(inner);
            route.Counters.CountIn(inner);
        }
        if (_observeTraffic && now.Ticks >= route.NextObservationTicks) ObserveIpv4VmToVm(route, destination, now);
        return o.IsGso || o.NeedsChecksum ? Verdict.ToHome(offset, inner, o) : Verdict.ToHome(offset, inner);
    }

    /// <summary>
    /// As <see cref="ObserveVmToVm"/> for IPv4 (RFC 6705 §7): a VM's packet to the IPv4 home address of a VM of another
    /// MAG, reported at most once per TrafficObservationInterval per source address, with a reused event.
    /// </summary>
    private void ObserveIpv4VmToVm(LmaIpv4Route source, Ipv4Address destination, Instant now)
    {
        if (!_ipv4Routes.TryGetValue(destination.Value, out var target) || ReferenceEquals(target.Tunnel, source.Tunnel)) return;
        source.NextObservationTicks = now.Ticks + _options.TrafficObservationInterval.Ticks;
        var e = source.Observation;
        if (e is null || e.Destination != target.HomeAddress)
            source.Observation = e = new Protocol.Lma.LmaEvent.Ipv4TrafficObserved(source.HomeAddress, target.HomeAddress);
        Counters.TrafficObservations++;
        Handle(e, now);
    }

    /// <summary>An ICMP error towards a home-network sender, written for the home device (none without an IPv4 error source).</summary>
    private void SendIpv4ErrorHome(Icmpv4Type type, byte code, uint restOfHeader, Span<byte> invokingPacket, Instant now)
    {
        if (_ipv4ErrorSource is not { } source || !Icmpv4ErrorPacket.MayAnswer(invokingPacket) || !_errorLimiter.TryAcquire(_options.IcmpErrorRate, now))
        {
            Counters.IcmpErrorsSuppressed++;
            return;
        }
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        var target = Ipv4Address.ReadFrom(invokingPacket.Slice(12, 4));
        int length = Icmpv4ErrorPacket.Write(slot, source, target, type, code, restOfHeader, invokingPacket);
        ControlOutput.Commit(new ControlFrame(ControlSink.Home, ControlMessageKind.Icmpv4Error, default, default, default, length));
        Counters.ControlSent.Increment(ControlMessageKind.Icmpv4Error);
    }

    private CounterBlock Ipv4Block(Ipv4Address homeAddress)
    {
        if (!_ipv4Counters.TryGetValue(homeAddress, out var block)) _ipv4Counters.Add(homeAddress, block = new CounterBlock());
        return block;
    }
}
