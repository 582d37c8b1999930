namespace DataPlane.Datapath;

/// <summary>
/// Why the data path dropped a frame. Every drop is counted by one of these, in the data path's
/// totals and in the counter blocks of the port, VM or tunnel it concerns (<see cref="CounterBlock"/>).
/// </summary>
public enum DropReason : byte
{
    None = 0,
    /// <summary>Did not parse (or failed an RFC validity check such as an ND hop limit of 255); <see cref="CounterBlock.MalformedBy"/> says why.</summary>
    Malformed,
    /// <summary>A frame for a port the data path does not know (the host raced a port removal).</summary>
    PortUnknown,
    /// <summary>The caller left less headroom than the Ethernet header needs (a host bug; the frame is not touched).</summary>
    NoHeadroom,
    /// <summary>The source MAC is not the port's VM (one VM per port), or not a usable unicast MAC.</summary>
    ForeignSourceMac,
    /// <summary>A unicast frame to a MAC other than the shared MAG MAC: the switch never forwards at layer 2.</summary>
    NotAddressedToRouter,
    /// <summary>A VLAN-tagged frame on an access port.</summary>
    VlanTagged,
    /// <summary>An EtherType that is neither IPv6, IPv4, ARP nor RARP.</summary>
    UnsupportedEtherType,
    /// <summary>IPv4 from or for a VM whose session has no IPv4 home address (its profile has no IPv4, or the LMA gave none).</summary>
    Ipv4NotServed,
    /// <summary>The source address is outside the VM's home network prefixes (and not link-local).</summary>
    SpoofedSource,
    /// <summary>A Router Advertisement from a VM (RA guard, RFC 6105).</summary>
    RouterAdvertisementGuard,
    /// <summary>A Redirect from a VM, or (at the LMA) an ICMPv4 Redirect from the home network towards a VM.</summary>
    RedirectGuard,
    /// <summary>A DHCPv4 (source port 67) or DHCPv6 (source port 547) server or relay message from a VM.</summary>
    DhcpServerGuard,
    /// <summary>No installed session / no route for the prefix.</summary>
    NoBinding,
    /// <summary>A multicast destination: there is no multicast forwarding across the tunnel.</summary>
    MulticastNotForwarded,
    /// <summary>A link-local source or destination: link-local traffic never leaves its link (RFC 4291 §2.5.6).</summary>
    LinkLocalNotForwarded,
    /// <summary>An unspecified, loopback or otherwise unroutable destination.</summary>
    InvalidDestination,
    /// <summary>Hop limit 1 or 0 at a forwarding point; answered with ICMPv6 Time Exceeded (rate-limited).</summary>
    HopLimitExceeded,
    /// <summary>Longer than the tunnel MTU; answered with ICMPv6 Packet Too Big (rate-limited).</summary>
    PacketTooBig,
    /// <summary>A control frame (RS, NS, NA, ARP announce) over the port's control rate: a VM may flood them.</summary>
    RateLimited,
    /// <summary>From a tunnel whose outer source is not the peer serving the inner packet's prefix.</summary>
    TunnelSourceMismatch,
    /// <summary>A tunnelled packet whose outer destination is not this MAG's Proxy-CoA.</summary>
    NotForThisMag,
    /// <summary>A tunnelled packet whose outer destination is not this LMA's address.</summary>
    NotForThisLma,
    /// <summary>Offload metadata that contradicts the frame (checksum offsets outside it, gso_size 0, a TCP GSO type on a non-TCP frame).</summary>
    OffloadInvalid,
    /// <summary>UDP GSO (UFO or USO) super-frames: not segmented yet.</summary>
    UdpSegmentationUnsupported,
    /// <summary>The segment pool had no room for the super-frame's segments this batch.</summary>
    SegmentPoolExhausted,
    /// <summary>
    /// An ARP packet from a VM claiming an address that is not its own IPv4 home address (the default router's, another
    /// VM's), or a sender hardware address that is not its MAC: never answered, never an announcement.
    /// </summary>
    ArpSpoofed,
    /// <summary>An IPv4 broadcast (255.255.255.255 or the home subnet's directed broadcast): never forwarded to other VMs.</summary>
    BroadcastNotForwarded,
    /// <summary>
    /// At a tunnel exit: the outer header says Congestion Experienced but the inner packet is Not-ECT, so the mark
    /// cannot be passed on; RFC 5213 §5.6.3 with RFC 3168 §9.1.1 / RFC 6040 §4.2 drop it.
    /// </summary>
    CongestionOnNotEct,
    /// <summary>Downlink for a VM that stopped for a live migration's last copy: the LMA sends it to the destination, which delivers it.</summary>
    VmStopped,
    /// <summary>Downlink for a VM whose handover buffer cannot take it (larger than the whole buffer, or no buffer was free).</summary>
    HandoverBufferFull,
}
