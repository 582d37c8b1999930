using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// The machine's actions as frames and table updates, and the frames the data path writes itself.
public sealed partial class MagDatapath
{
    /// <summary>
    /// Perform one of the machine's actions: RAs and NUD probes become Ethernet frames on the
    /// <see cref="ControlOutput"/>, Mobility Header messages go there for the uplink's MH socket, and
    /// InstallSession/RemoveSession update the port and prefix tables. Returns false for the actions that are
    /// the host's (RequestPolicy and the notifications), which it leaves alone. <see cref="Handle"/>,
    /// <see cref="Tick"/> and the frame entry points call this for every action and queue the host's on
    /// <see cref="HostActions"/>; a host driving the machine itself can call it directly.
    /// </summary>
    public bool Execute(MagAction action)
    {
        switch (action)
        {
            case MagAction.SendRouterAdvertisement ra:
                WriteRouterAdvertisement(ra);
                break;
            case MagAction.SendNeighborSolicitation ns:
                WriteNeighborSolicitation(ns);
                break;
            case MagAction.SendArpProbe probe:
                WriteArpProbe(probe);
                break;
            case MagAction.InstallSession install:
                Install(install);
                break;
            case MagAction.RemoveSession remove:
                if (FindPort(remove.Port) is { } port)
                {
                    Uninstall(port);
                    port.DirectRoutes = [];
                    // The VM is gone from this port: a learned MAC no longer identifies it (the next VM teaches its own).
                    if (remove.Reason is DetachReason.HotplugOffline or DetachReason.PortRemoved or DetachReason.NeighborUnreachable)
                        port.ForgetLearnedMac();
                }
                break;
            case MagAction.InstallLocalizedRoute route:
                InstallDirectRoute(route);
                break;
            case MagAction.RemoveLocalizedRoute route:
                RemoveDirectRoute(route);
                break;
            case MagAction.SendMobilityMessage send:
                _signalling.Write(ControlOutput, Counters, send.Source, send.Destination, send.Message, _now);
                break;
            // The session will get no IPv4 address now: a DHCP request waiting for one is answered with a NAK.
            // Both are the host's too (logs, metrics), so they are also queued for it.
            case MagAction.Ipv4Unavailable unavailable:
                AnswerPendingDhcp(unavailable.Port);
                Counters.ActionsForHost++;
                return false;
            case MagAction.SessionFailed failed:
                AnswerPendingDhcp(failed.Port);
                Counters.ActionsForHost++;
                return false;
            case MagAction.InstallPreRegistration pre:
                InstallPreRegistration(pre);
                break;
            case MagAction.ApplyDeliveryMarker marker:
                ApplyDeliveryMarker(marker);
                break;
            case MagAction.ReleaseBuffer release:
                ReleaseBuffer(release);
                break;
            default:
                Counters.ActionsForHost++;
                return false;
        }
        Counters.ActionsExecuted++;
        return true;
    }

    private void Install(MagAction.InstallSession install)
    {
        if (FindPort(install.Port) is not { } port)
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        var previous = port.Session?.Ipv4;
        Uninstall(port); // the LMA may have changed the prefixes: the new set replaces the old
        var session = new InstalledSession(install.Mac, [.. install.HomeNetworkPrefixes], install.LocalMobilityAnchor, install.Ipv4,
            VmBlock(install.Mac), Vm4Block(install.Mac), TunnelBlock(install.LocalMobilityAnchor));
        port.Session = session;
        if (!port.HasVmMac) port.LearnMac(install.Mac);
        // The newest installation owns a prefix (a VM that came back on a new port supersedes its stale one).
        foreach (var prefix in session.HomeNetworkPrefixes) _prefixes.Set(prefix, port);
        if (session.Ipv4 is { } v4)
        {
            _ipv4HomeAddresses[v4.HomeAddress.Value] = port;
            // The DHCP request that was waiting for this address is answered now (§3.4.1's delayed response).
            AnswerPendingDhcp(port.Id);
            if (previous != v4) AnnounceDefaultRouter(port, v4);
        }
    }

    private void Uninstall(AccessPort port)
    {
        if (port.Session is not { } session) return;
        ReturnBuffer(session);
        foreach (var prefix in session.HomeNetworkPrefixes) _prefixes.Remove(prefix, onlyIf: port);
        if (session.Ipv4 is { } v4 && _ipv4HomeAddresses.TryGetValue(v4.HomeAddress.Value, out var owner) && owner == port)
            _ipv4HomeAddresses.Remove(v4.HomeAddress.Value);
        port.Session = null;
        // If the VM is still there (its binding was lost, not the VM), its next frame starts a new session at once.
        port.NextActivityReport = default;
    }

    /// <summary>
    /// A unicast RA (RFC 4861 §4.2; RFC 5213 §6.7): to the VM's MAC, from the shared MAC and link-local
    /// address, hop limit 255, carrying SLLA, MTU and only this VM's prefixes with L and A set.
    /// </summary>
    private void WriteRouterAdvertisement(MagAction.SendRouterAdvertisement ra)
    {
        if (FindPort(ra.Port) is not { } port)
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        int room = (slot.Length - EthernetFrame.HeaderLength - Ipv6Packet.HeaderLength
            - Icmpv6Writer.RouterAdvertisementLength(true, ra.Mtu.HasValue, 0, _dnsServers.Length)) / NdOption.PrefixInformationLength;
        int count = Math.Min(ra.Prefixes.Count, room);
        if (_prefixScratch.Length < count) _prefixScratch = new PrefixInformation[count];
        uint valid = ControlMessages.Seconds(ra.ValidLifetime), preferred = ControlMessages.Seconds(ra.PreferredLifetime);
        for (int i = 0; i < count; i++)
            _prefixScratch[i] = new PrefixInformation(ra.Prefixes[i], PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, valid, preferred);
        var fields = new RouterAdvertisementFields(_options.RouterAdvertisementCurHopLimit, RouterAdvertisementFlags.None,
            (ushort)Math.Min(ControlMessages.Seconds(ra.RouterLifetime), ushort.MaxValue), ReachableTime: 0, RetransTimer: 0);

        int at = EthernetFrame.WriteHeader(slot, ra.VmMac, ra.SourceMac, EtherType.Ipv6);
        int icmp = Icmpv6Writer.WriteRouterAdvertisement(slot[(at + Ipv6Packet.HeaderLength)..], ra.SourceLinkLocal, ra.Destination, fields,
            ra.SourceMac, ra.Mtu, _prefixScratch.AsSpan(0, count), ControlMessages.Seconds(ra.RouterLifetime), _dnsServers);
        Ipv6Packet.WriteHeader(slot[at..], ra.SourceLinkLocal, ra.Destination, IpProtocol.Icmpv6, icmp, NeighborDiscoveryHopLimit);
        CommitToPort(port, ControlMessageKind.RouterAdvertisement, ra.SourceLinkLocal, ra.Destination, at + Ipv6Packet.HeaderLength + icmp);
    }

    /// <summary>A unicast NUD probe (RFC 4861 §7.3.3) to the VM's MAC and address, from the shared addresses, with our SLLA.</summary>
    private void WriteNeighborSolicitation(MagAction.SendNeighborSolicitation ns)
    {
        if (FindPort(ns.Port) is not { } port)
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        int at = EthernetFrame.WriteHeader(slot, ns.VmMac, ns.SourceMac, EtherType.Ipv6);
        int icmp = Icmpv6Writer.WriteNeighborSolicitation(slot[(at + Ipv6Packet.HeaderLength)..], ns.SourceLinkLocal, ns.Target, ns.Target, ns.SourceMac);
        Ipv6Packet.WriteHeader(slot[at..], ns.SourceLinkLocal, ns.Target, IpProtocol.Icmpv6, icmp, NeighborDiscoveryHopLimit);
        CommitToPort(port, ControlMessageKind.NeighborSolicitation, ns.SourceLinkLocal, ns.Target, at + Ipv6Packet.HeaderLength + icmp);
    }

    /// <summary>An NA for one of the MAG's addresses, from that address and the shared MAC (TLLA = shared MAC).</summary>
    private void WriteNeighborAdvertisement(AccessPort port, Ipv6Address target, Ipv6Address destination, MacAddress destinationMac,
        NeighborAdvertisementFlags flags)
    {
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        int at = EthernetFrame.WriteHeader(slot, destinationMac, _sharedMac, EtherType.Ipv6);
        int icmp = Icmpv6Writer.WriteNeighborAdvertisement(slot[(at + Ipv6Packet.HeaderLength)..], target, destination, flags, target, _sharedMac);
        Ipv6Packet.WriteHeader(slot[at..], target, destination, IpProtocol.Icmpv6, icmp, NeighborDiscoveryHopLimit);
        CommitToPort(port, ControlMessageKind.NeighborAdvertisement, target, destination, at + Ipv6Packet.HeaderLength + icmp);
    }

    /// <summary>
    /// An ICMPv6 error about <paramref name="invokingPacket"/> back to the VM that sent it, from the
    /// configured error source, unless RFC 4443 §2.4(e) forbids it or the port's error rate is used up
    /// (both counted as suppressed).
    /// </summary>
    private void SendErrorToVm(AccessPort port, Icmpv6Type type, byte code, uint parameter, Span<byte> invokingPacket,
        Ipv6Address offenderSource, bool offenderIsIcmpError, Instant now)
    {
        if (!IcmpErrorPacket.MayAnswer(offenderSource, offenderIsIcmpError) || !port.ErrorLimiter.TryAcquire(_options.IcmpErrorRate, now))
        {
            Counters.IcmpErrorsSuppressed++;
            return;
        }
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        int at = EthernetFrame.WriteHeader(slot, port.VmMac, _sharedMac, EtherType.Ipv6);
        int length = IcmpErrorPacket.Write(slot[at..], _errorSource, offenderSource, type, code, parameter, invokingPacket);
        var kind = type == Icmpv6Type.PacketTooBig ? ControlMessageKind.PacketTooBig : ControlMessageKind.TimeExceeded;
        CommitToPort(port, kind, _errorSource, offenderSource, at + length);
    }

    private void CommitToPort(AccessPort port, ControlMessageKind kind, Ipv6Address source, Ipv6Address destination, int length)
    {
        ControlOutput.Commit(new ControlFrame(ControlSink.Port, kind, port.Id, source, destination, length));
        Counters.ControlSent.Increment(kind);
        port.Counters.CountOut(length);
    }
}
