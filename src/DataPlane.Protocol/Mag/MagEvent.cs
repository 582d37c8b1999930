using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// Everything that can happen to a MAG, as a closed hierarchy (only the nested records derive from it).
/// The data path raises the port events inline; the host raises policy answers and received mobility
/// messages. Timers are not events: call <see cref="MobileAccessGateway.Tick"/> when
/// <see cref="MobileAccessGateway.NextDeadline"/> has passed.
/// </summary>
public abstract record MagEvent
{
    private MagEvent() { }

    /// <summary>
    /// Evidence that a VM is on a port. The first one for a port starts its session; later ones are
    /// absorbed (counted), except that an RS on an established session is answered with an RA and a
    /// migration announce on an established session re-registers (the VM may have come back).
    /// </summary>
    /// <param name="VmLinkLocal">The VM's link-local address when the trigger shows it (RS/NA source, DAD NS target).</param>
    public sealed record AttachmentDetected(PortId Port, AttachTrigger Trigger, MacAddress Mac, Ipv6Address? VmLinkLocal = null) : MagEvent;

    /// <summary>The port went offline or was removed: detach at once (reason HotplugOffline or PortRemoved).</summary>
    public sealed record PortDetached(PortId Port, DetachReason Reason) : MagEvent;

    /// <summary>
    /// The data path saw the VM on this port answer or send. Cheap on purpose (one dictionary look-up and
    /// a store, no timer work), so the data path may report it often; rate-limiting it to about once a
    /// second per port is still sensible.
    /// </summary>
    public sealed record ReachabilityConfirmed(PortId Port, Ipv6Address? VmLinkLocal = null) : MagEvent;

    /// <summary>The answer to <see cref="MagAction.RequestPolicy"/>: a profile, or null and a denial reason.</summary>
    public sealed record PolicyDecided(long RequestId, VmProfile? Profile, string? DenialReason = null) : MagEvent;

    /// <summary>
    /// The data path forwarded or accepted a packet over the direct route <paramref name="RouteId"/> (at most about once
    /// a second per route: one reused event object, no timer work). An LMA's refresh of a route nobody used since the
    /// last one is declined, so idle pairs end.
    /// </summary>
    public sealed record LocalizedRouteUsed(long RouteId) : MagEvent;

    /// <summary>A Mobility Header message (PBA, heartbeat) arrived from <paramref name="Source"/>.</summary>
    public sealed record MobilityMessageReceived(Ipv6Address Source, MobilityMessage Message) : MagEvent;

    /// <summary>
    /// The VM asked DHCP for an address on a port whose session has no IPv4 home address (RFC 5844 §3.4.1: the
    /// MAG "may later request IPv4 home address assignment after detecting the DHCP triggers"). Ignored when
    /// the profile has no IPv4 service, the LMA refused it in this session, or a request is under way.
    /// </summary>
    public sealed record Ipv4AddressRequested(PortId Port) : MagEvent;

    /// <summary>The VM released its IPv4 address (DHCPRELEASE): de-register the IPv4 home address only (RFC 5844 §3.4.3).</summary>
    public sealed record Ipv4AddressReleased(PortId Port) : MagEvent;

    /// <summary>
    /// The port was plugged in as the destination of a live migration (`port add --incoming` with the VM's MAC): the VM
    /// will resume here. With <see cref="MagOptions.PreRegistration"/> the MAG registers it now as a transient binding
    /// (RFC 6058), so that nothing waits on the LMA when it arrives.
    /// </summary>
    public sealed record IncomingMigration(PortId Port, MacAddress Mac) : MagEvent;

    /// <summary>
    /// The VM on this port stopped for a live migration's last copy (QEMU's STOP, through the hypervisor's listener):
    /// the data path delivers nothing more to it, and <paramref name="Marker"/> identifies the last downlink packet it
    /// did deliver. The MAG tells the LMA (a stop notice), which moves the downlink to the destination.
    /// </summary>
    public sealed record VmStopped(PortId Port, DeliveryMarker Marker) : MagEvent;

    /// <summary>The VM on this port runs again after <see cref="VmStopped"/> (the migration failed, or it sent a frame).</summary>
    public sealed record VmResumed(PortId Port) : MagEvent;
}
