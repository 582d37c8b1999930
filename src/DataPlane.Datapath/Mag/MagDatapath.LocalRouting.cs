using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// Optimized routing: where a VM's packet goes once it has passed every check. To another VM on this MAG, routed here
// (RFC 5213 §6.10.3, EnableMAGLocalRouting): the shared router MAC as source, the hop limit decremented once, never
// bridged. To a VM the LMA has paired with ours (RFC 6705), straight into a tunnel to that VM's MAG. Everything else
// to the LMA. The receive side accepts a direct tunnel's packets only for a pair this MAG holds a route for, from the
// very MAG that route names, with a source in the prefixes (or the IPv4 home address, RFC 6705 §7) it names. Nothing
// here allocates.
public sealed partial class MagDatapath
{
    private readonly bool _localRouting;

    /// <summary>The RFC 6705 routes installed, per port (for ctl and metrics).</summary>
    public IEnumerable<DirectRouteView> DirectRoutes => _ports.OfType<AccessPort>()
        .SelectMany(p => p.DirectRoutes.Select(r => new DirectRouteView(r.Id, p.Id, r.RemotePrefixes, r.RemoteMag, r.Egress, r.Tunnel,
            r.RemoteIpv4HomeAddress)));

    /// <summary>
    /// The forwarding decision for a packet from the VM of <paramref name="port"/> (hop limit already decremented), and
    /// its counting; a super-frame (<paramref name="superFrameSegmentLength"/> non-zero) is counted by the caller.
    /// </summary>
    private Verdict RouteFromVm(AccessPort port, InstalledSession session, Span<byte> buffer, int offset, in FrameInfo info, int packetOffset,
        Ipv6Address destination, Instant now, int superFrameSegmentLength)
    {
        int length = info.NetworkLength;
        bool count = superFrameSegmentLength == 0;
        if (_localRouting && _prefixes.TryLookup(destination, out var peer) && !ReferenceEquals(peer, port) && peer.Session is not null)
            return RouteLocally(session, peer, buffer, offset, in info, EtherType.Ipv6, count);
        var routes = port.DirectRoutes;
        for (int i = 0; i < routes.Length; i++)
        {
            var route = routes[i];
            if (!route.Egress || !route.Contains(destination)) continue;
            ReportRouteUse(route, now);
            if (count)
            {
                session.Vm.CountIn(length);
                session.Vm.Direct.CountIn(1, length);
                route.Tunnel.CountOut(length);
                Counters.RoutedDirect++;
            }
            return Verdict.ToTunnel(route.RemoteMag, packetOffset, length);
        }
        if (count)
        {
            session.Vm.CountIn(length);
            session.Tunnel.CountOut(length);
        }
        return Verdict.ToTunnel(session.LocalMobilityAnchor, packetOffset, length);
    }

    /// <summary>
    /// The port of another VM on this MAG whose IPv4 home address <paramref name="destination"/> is, with a session
    /// that still holds it; null when local routing is off or the address is not one of ours (the LMA decides).
    /// </summary>
    private AccessPort? LocalIpv4Peer(AccessPort port, Ipv4Address destination)
    {
        if (!_localRouting || !_ipv4HomeAddresses.TryGetValue(destination.Value, out var peer) || ReferenceEquals(peer, port)) return null;
        return peer.Session is { } peerSession && peerSession.Ipv4HomeAddressValue == destination.Value ? peer : null;
    }

    /// <summary>
    /// Routed here: the frame becomes one from the router (the shared MAC) to the other VM, in place (its hop limit or
    /// TTL already decremented); counted on both VMs unless <paramref name="count"/> is false (a super-frame, counted
    /// as its segments by the caller).
    /// </summary>
    private Verdict RouteLocally(InstalledSession session, AccessPort peer, Span<byte> buffer, int offset, in FrameInfo info, EtherType etherType,
        bool count)
    {
        var peerSession = peer.Session!;
        int length = info.NetworkLength;
        int frameLength = info.NetworkOffset + length;
        EthernetFrame.WriteHeader(buffer.Slice(offset, EthernetFrame.HeaderLength), peerSession.Mac, _sharedMac, etherType);
        if (count)
        {
            session.Vm.CountIn(length);
            session.Vm.Local.CountIn(1, length);
            peerSession.Vm.CountOut(length);
            peerSession.Vm.Local.CountOut(1, length);
            if (etherType == EtherType.Ipv4)
            {
                session.Vm4.CountIn(length);
                peerSession.Vm4.CountOut(length);
            }
            peer.Counters.CountOut(frameLength);
            Counters.RoutedLocally++;
        }
        return Verdict.ToPort(peer.Id, offset, frameLength);
    }

    /// <summary>
    /// A TCP super-frame routed to another VM here goes whole, with the descriptor it came with: the other VM's port has
    /// a vnet header, so its kernel takes it as one (or cuts it, as a bridge would). Its checksum stays partial.
    /// </summary>
    private Verdict LocalSuperFrame(AccessPort port, in Verdict local, Span<byte> frame, in TcpSuperFrame superFrame, in OffloadInfo offload, int gsoSize)
    {
        var session = port.Session!;
        var peer = FindPort(local.Port)!;
        if (!offload.NeedsChecksum) SuperFrameOffload.WritePartialChecksum(frame, in superFrame);
        int count = superFrame.SegmentCount(gsoSize);
        long bytes = SuperFrameOffload.SegmentBytes(in superFrame, count);
        session.Vm.CountIn(count, bytes);
        session.Vm.Local.CountIn(count, bytes);
        peer.Session!.Vm.CountOut(count, bytes);
        peer.Session.Vm.Local.CountOut(count, bytes);
        if (!superFrame.IsIpv6)
        {
            session.Vm4.CountIn(count, bytes);
            peer.Session.Vm4.CountOut(count, bytes);
        }
        peer.Counters.CountOut(local.Length);
        Counters.RoutedLocally++;
        var descriptor = OffloadInfo.TcpSegmentation(offload.GsoType, (ushort)gsoSize, (ushort)superFrame.HeadersLength,
            (ushort)superFrame.TransportOffset, 16);
        return Verdict.ToPort(local.Port, local.Offset, local.Length, descriptor);
    }

    /// <summary>
    /// A packet from a tunnel whose outer source is not the session's LMA: accepted only over a direct route of that
    /// session naming that MAG, for a source inside the prefixes the route names.
    /// </summary>
    private DirectRoute? AcceptDirect(AccessPort port, Ipv6Address outerSource, Ipv6Address innerSource, Instant now)
    {
        var routes = port.DirectRoutes;
        for (int i = 0; i < routes.Length; i++)
        {
            var route = routes[i];
            if (route.RemoteMag != outerSource || !route.Contains(innerSource)) continue;
            ReportRouteUse(route, now);
            return route;
        }
        return null;
    }

    /// <summary>The confirmed direct route of the port's VM to the VM whose IPv4 home address is <paramref name="destination"/> (RFC 6705 §7).</summary>
    private DirectRoute? DirectIpv4Route(AccessPort port, Ipv4Address destination, Instant now)
    {
        var routes = port.DirectRoutes;
        for (int i = 0; i < routes.Length; i++)
        {
            var route = routes[i];
            if (!route.Egress || !route.IsIpv4HomeAddress(destination)) continue;
            ReportRouteUse(route, now);
            return route;
        }
        return null;
    }

    /// <summary>
    /// As <see cref="AcceptDirect"/> for an inner IPv4 packet: only over a route of the session naming that MAG, from
    /// the IPv4 home address the route names.
    /// </summary>
    private DirectRoute? AcceptDirectIpv4(AccessPort port, Ipv6Address outerSource, Ipv4Address innerSource, Instant now)
    {
        var routes = port.DirectRoutes;
        for (int i = 0; i < routes.Length; i++)
        {
            var route = routes[i];
            if (route.RemoteMag != outerSource || !route.IsIpv4HomeAddress(innerSource)) continue;
            ReportRouteUse(route, now);
            return route;
        }
        return null;
    }

    /// <summary>Tell the machine a route is in use, at most once per ActivityReportInterval (one reused event: no allocation).</summary>
    private void ReportRouteUse(DirectRoute route, Instant now)
    {
        if (now.Ticks < route.NextUseReportTicks) return;
        route.NextUseReportTicks = now.Ticks + _options.ActivityReportInterval.Ticks;
        Raise(route.UsedEvent, now);
    }

    private void InstallDirectRoute(MagAction.InstallLocalizedRoute install)
    {
        if (FindPort(install.Port) is not { } port)
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        var routes = port.DirectRoutes;
        var route = new DirectRoute(install.RouteId, [.. install.RemotePrefixes], install.RemoteMag, install.Egress, TunnelBlock(install.RemoteMag),
            install.RemoteIpv4HomeAddress);
        for (int i = 0; i < routes.Length; i++)
        {
            if (routes[i].Id != install.RouteId) continue;
            // Re-pointed or confirmed: replaced whole (the packet loop reads the array; nothing is mutated under it).
            route.NextUseReportTicks = routes[i].RemoteMag == install.RemoteMag ? routes[i].NextUseReportTicks : 0;
            var copy = (DirectRoute[])routes.Clone();
            copy[i] = route;
            port.DirectRoutes = copy;
            return;
        }
        port.DirectRoutes = [.. routes, route];
    }

    private void RemoveDirectRoute(MagAction.RemoveLocalizedRoute remove)
    {
        if (FindPort(remove.Port) is not { } port) return;
        port.DirectRoutes = [.. port.DirectRoutes.Where(r => r.Id != remove.RouteId)];
    }
}

/// <summary>
/// One RFC 6705 route of a port: the remote VM's prefixes and IPv4 home address (§7; none for an IPv6-only VM), its MAG,
/// and whether our packets may go there yet.
/// </summary>
internal sealed class DirectRoute(long id, Ipv6Prefix[] remotePrefixes, Ipv6Address remoteMag, bool egress, CounterBlock tunnel,
    Ipv4Address? remoteIpv4HomeAddress = null)
{
    public long Id { get; } = id;
    public Ipv6Prefix[] RemotePrefixes { get; } = remotePrefixes;
    public Ipv4Address? RemoteIpv4HomeAddress { get; } = remoteIpv4HomeAddress;
    // The address as a value and a flag, so the per-packet comparison reads two fields.
    private readonly uint _remoteIpv4 = remoteIpv4HomeAddress?.Value ?? 0;
    private readonly bool _hasRemoteIpv4 = remoteIpv4HomeAddress is not null;
    public Ipv6Address RemoteMag { get; } = remoteMag;
    public bool Egress { get; } = egress;
    /// <summary>The counters of the tunnel to <see cref="RemoteMag"/> (shared by every route to that MAG).</summary>
    public CounterBlock Tunnel { get; } = tunnel;
    public long NextUseReportTicks;
    public readonly MagEvent.LocalizedRouteUsed UsedEvent = new(id);

    public bool IsIpv4HomeAddress(Ipv4Address address) => _hasRemoteIpv4 && _remoteIpv4 == address.Value;

    public bool Contains(Ipv6Address address)
    {
        foreach (var p in RemotePrefixes)
            if (p.Contains(address)) return true;
        return false;
    }
}

/// <summary>A read-only snapshot of one direct route, with the counters of its tunnel.</summary>
public readonly record struct DirectRouteView(long RouteId, PortId Port, IReadOnlyList<Ipv6Prefix> RemotePrefixes, Ipv6Address RemoteMag,
    bool Egress, CounterBlock Tunnel, Ipv4Address? RemoteIpv4HomeAddress = null);
