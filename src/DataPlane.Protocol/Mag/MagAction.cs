using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// What the MAG asks its host to do, or tells it, as a closed hierarchy. The host performs them in
/// list order.
/// </summary>
public abstract record MagAction
{
    private MagAction() { }

    /// <summary>Ask the policy store about this VM; answer with <see cref="MagEvent.PolicyDecided"/> carrying the same id.</summary>
    public sealed record RequestPolicy(long RequestId, PortId Port, MacAddress Mac) : MagAction;

    /// <summary>Send a Mobility Header message (PBU, heartbeat) from the MAG's Proxy-CoA.</summary>
    public sealed record SendMobilityMessage(Ipv6Address Source, Ipv6Address Destination, MobilityMessage Message) : MagAction;

    /// <summary>
    /// Forward for this VM: its HNPs (and its IPv4 home address, when it has one) are reachable on the port,
    /// traffic from them goes up the tunnel to the LMA. Sent when a registration is accepted, and again
    /// whenever the LMA changed the prefixes or the IPv4 address (granted, released).
    /// </summary>
    public sealed record InstallSession(PortId Port, MacAddress Mac, IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
        Ipv6Address LocalMobilityAnchor, Ipv4Assignment? Ipv4 = null) : MagAction;

    /// <summary>Stop forwarding for the VM on this port (it left, or its binding was lost).</summary>
    public sealed record RemoveSession(PortId Port, MacAddress Mac, DetachReason Reason) : MagAction;

    /// <summary>
    /// A live migration's destination is pre-registered: install the VM's forwarding on the port, but hold its downlink
    /// in a buffer (the VM is not here yet) until <see cref="ReleaseBuffer"/>. Uplink is forwarded from the VM's first frame.
    /// </summary>
    public sealed record InstallPreRegistration(PortId Port, MacAddress Mac, IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
        Ipv6Address LocalMobilityAnchor, Ipv4Assignment? Ipv4) : MagAction;

    /// <summary>The source's delivery marker arrived: drop from the port's buffer what the source had already delivered.</summary>
    public sealed record ApplyDeliveryMarker(PortId Port, DeliveryMarker Marker) : MagAction;

    /// <summary>
    /// Deliver the port's buffer to the VM in order, then forward its downlink as usual. With
    /// <paramref name="DiscardBeforeActivation"/> (no marker came), what arrived before the VM did is dropped instead,
    /// since the source may have delivered it.
    /// </summary>
    public sealed record ReleaseBuffer(PortId Port, bool DiscardBeforeActivation) : MagAction;

    /// <summary>
    /// Send a unicast RA to the VM: Ethernet destination <paramref name="VmMac"/>, IPv6 destination
    /// <paramref name="Destination"/> (the VM's link-local address, or ff02::1 when unknown), from the
    /// domain-wide shared MAG MAC and link-local address, carrying only this VM's prefixes (on-link,
    /// autonomous) with lifetimes that do not outlast its binding.
    /// </summary>
    public sealed record SendRouterAdvertisement(PortId Port, MacAddress VmMac, Ipv6Address Destination,
        MacAddress SourceMac, Ipv6Address SourceLinkLocal, IReadOnlyList<Ipv6Prefix> Prefixes,
        TimeSpan ValidLifetime, TimeSpan PreferredLifetime, TimeSpan RouterLifetime, uint? Mtu,
        RouterAdvertisementReason Reason) : MagAction;

    /// <summary>A unicast NUD probe (NS for <paramref name="Target"/> to the VM's MAC, from the shared link-local address).</summary>
    public sealed record SendNeighborSolicitation(PortId Port, MacAddress VmMac, Ipv6Address Target,
        MacAddress SourceMac, Ipv6Address SourceLinkLocal) : MagAction;

    /// <summary>
    /// NUD's IPv4 counterpart: a unicast ARP request to the VM's MAC for its home address <paramref name="Target"/>,
    /// from the default router's address and the shared MAC; the VM's reply (any frame) confirms it is there.
    /// </summary>
    public sealed record SendArpProbe(PortId Port, MacAddress VmMac, Ipv4Address Target, MacAddress SourceMac, Ipv4Address SourceAddress) : MagAction;

    /// <summary>A registration attempt failed. <paramref name="StatusName"/> is set for LMA rejections.</summary>
    public sealed record SessionFailed(PortId Port, MacAddress Mac, string? MobileNodeIdentifier, SessionFailureReason Reason,
        BindingAckStatus? Status, string? StatusName, bool WillRetry) : MagAction;

    /// <summary>A session's first RA went out: the VM is served here. Carries the timings for metrics.</summary>
    public sealed record HandoverCompleted(PortId Port, MacAddress Mac, string MobileNodeIdentifier, AttachTrigger Trigger,
        HandoffIndicator HandoffIndicator, IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes, HandoverTimings Timings,
        Ipv4Assignment? Ipv4 = null) : MagAction;

    /// <summary>The VM's profile asks for IPv4 but the session has none (RFC 5844 §3.2.3.2); notification for logs and metrics.</summary>
    public sealed record Ipv4Unavailable(PortId Port, MacAddress Mac, string MobileNodeIdentifier, Ipv4UnavailableReason Reason,
        Ipv4HomeAddressReplyStatus? ReplyStatus) : MagAction;

    /// <summary>
    /// RFC 6705 localized routing for the VM on <paramref name="Port"/>: packets from <paramref name="RemoteMag"/> with a
    /// source in <paramref name="RemotePrefixes"/> (or, IPv4, from <paramref name="RemoteIpv4HomeAddress"/>, §7) are
    /// accepted for it, and, with <paramref name="Egress"/>, its packets to those addresses go straight into a tunnel to
    /// that MAG instead of to the LMA. Replaces the route with the same
    /// <paramref name="RouteId"/> (re-pointed, or confirmed). The data path reports its use with
    /// <see cref="MagEvent.LocalizedRouteUsed"/>.
    /// </summary>
    public sealed record InstallLocalizedRoute(long RouteId, PortId Port, MacAddress Mac, IReadOnlyList<Ipv6Prefix> RemotePrefixes,
        Ipv6Address RemoteMag, bool Egress, Ipv4Address? RemoteIpv4HomeAddress = null) : MagAction;

    /// <summary>Stop using the direct route: its traffic goes through the LMA again (a RemoveSession removes the session's routes too).</summary>
    public sealed record RemoveLocalizedRoute(long RouteId, PortId Port, LocalizedRouteEnd Reason) : MagAction;

    /// <summary>Heartbeat: the LMA stopped answering (notification).</summary>
    public sealed record PeerUnreachable(Ipv6Address Peer) : MagAction;

    /// <summary>Heartbeat: the LMA answers again (notification).</summary>
    public sealed record PeerReachable(Ipv6Address Peer) : MagAction;

    /// <summary>Heartbeat: the LMA's restart counter changed; the MAG re-registers every VM it serves there.</summary>
    public sealed record PeerRestarted(Ipv6Address Peer, uint PreviousRestartCounter, uint RestartCounter, int SessionsReregistered) : MagAction;
}
