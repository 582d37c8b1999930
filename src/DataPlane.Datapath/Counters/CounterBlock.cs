using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>Control frames from a VM that the data path consumed, by kind.</summary>
public enum ControlFrameKind : byte
{
    RouterSolicitation,
    /// <summary>DAD probe (source ::).</summary>
    DadNeighborSolicitation,
    /// <summary>NS for one of the MAG's own addresses: answered with an NA.</summary>
    NeighborSolicitationForRouter,
    /// <summary>NS for any other address (nobody else is on the emulated link): not answered.</summary>
    NeighborSolicitationUnanswered,
    UnsolicitedNeighborAdvertisement,
    /// <summary>An NA answering our NUD probe (reachability).</summary>
    SolicitedNeighborAdvertisement,
    /// <summary>MLD queries, reports and dones: there is no multicast routing, so they are absorbed quietly.</summary>
    MulticastListenerDiscovery,
    GratuitousArp,
    Rarp,
    /// <summary>ARP request for the default router's address: answered with the shared MAC.</summary>
    ArpRequestForRouter,
    /// <summary>ARP request for another address of the VM's IPv4 home subnet: proxy-ARP answered with the shared MAC (RFC 5844 §3.2.4).</summary>
    ArpRequestProxied,
    /// <summary>ARP request for an address outside the home subnet, or before the VM has one: not answered.</summary>
    ArpRequestUnanswered,
    /// <summary>ARP probe or announcement for the VM's own address (RFC 5227): never answered (an answer means a conflict).</summary>
    ArpProbe,
    /// <summary>An ARP reply from the VM (the answer to an IPv4 NUD probe).</summary>
    ArpReply,
    /// <summary>A DHCPv4 client message (DISCOVER, REQUEST, RELEASE, DECLINE, INFORM) handled by the MAG's DHCP server.</summary>
    Dhcp,
}

/// <summary>
/// The counters of one port, VM, tunnel or route: plain fields and flat arrays updated inline (no locks,
/// no allocation), read by the metrics exporter at scrape time. "In" and "Out" are seen from the entity:
/// <list type="bullet">
/// <item>access port: In = every frame received on it (before any check), Out = every frame sent to it (forwarded and control);</item>
/// <item>VM (MAG) or route/prefix (LMA): In = its packets forwarded towards the network, Out = packets delivered to it;</item>
/// <item>tunnel: In = inner packets accepted from it, Out = inner packets sent into it (inner bytes; the outer header is the kernel's).</item>
/// </list>
/// Single-writer: the packet loop that owns the data path.
/// </summary>
public sealed class CounterBlock
{
    public long InPackets;
    public long InBytes;
    public long OutPackets;
    public long OutBytes;

    private LabeledCounter<DropReason>? _drops;

    /// <summary>Dropped frames by reason (made on first use, like the two below).</summary>
    public LabeledCounter<DropReason> Drops => _drops ??= new();

    private LabeledCounter<WireError>? _malformedBy;
    private LabeledCounter<ControlFrameKind>? _control;

    /// <summary>
    /// The wire layer's reason for each <see cref="DropReason.Malformed"/> drop. Made on first use: most blocks
    /// (an LMA holds one per bound prefix, up to a million) never see a malformed packet.
    /// </summary>
    public LabeledCounter<WireError> MalformedBy => _malformedBy ??= new();

    /// <summary>Control frames consumed, by kind (access ports and VMs only; made on first use, as above).</summary>
    public LabeledCounter<ControlFrameKind> Control => _control ??= new();

    public long DroppedTotal => _drops?.Total ?? 0;

    /// <summary>
    /// A VM's (MAG) share of <see cref="InPackets"/>/<see cref="OutPackets"/> that did not go through the LMA: routed
    /// by the MAG between two of its ports (EnableMAGLocalRouting) and sent or received over a direct MAG–MAG tunnel
    /// (RFC 6705). The rest went through the LMA. Zero in other blocks.
    /// </summary>
    public readonly PathCounters Local = new();

    /// <inheritdoc cref="Local"/>
    public readonly PathCounters Direct = new();

    internal void CountIn(int bytes)
    {
        InPackets++;
        InBytes += bytes;
    }

    internal void CountOut(int bytes)
    {
        OutPackets++;
        OutBytes += bytes;
    }

    /// <summary>A super-frame forwarded whole counts as the packets it stands for (its segments on the wire).</summary>
    internal void CountIn(int packets, long bytes)
    {
        InPackets += packets;
        InBytes += bytes;
    }

    internal void CountOut(int packets, long bytes)
    {
        OutPackets += packets;
        OutBytes += bytes;
    }

    internal void CountDrop(DropReason reason, WireError error)
    {
        Drops.Increment(reason);
        if (reason == DropReason.Malformed) MalformedBy.Increment(error);
    }
}

/// <summary>Packets and bytes a VM sent and received along one path (see <see cref="CounterBlock.Local"/>).</summary>
public sealed class PathCounters
{
    public long InPackets;
    public long InBytes;
    public long OutPackets;
    public long OutBytes;

    internal void CountIn(long packets, long bytes)
    {
        InPackets += packets;
        InBytes += bytes;
    }

    internal void CountOut(long packets, long bytes)
    {
        OutPackets += packets;
        OutBytes += bytes;
    }
}

/// <summary>Control messages the data path wrote to its <see cref="ControlOutput"/>, by kind.</summary>
public enum ControlMessageKind : byte
{
    RouterAdvertisement,
    NeighborSolicitation,
    NeighborAdvertisement,
    PacketTooBig,
    TimeExceeded,
    DestinationUnreachable,
    MobilityMessage,
    /// <summary>ARP replies for the default router and proxy-ARP replies (RFC 5844 §3.2.4).</summary>
    ArpReply,
    /// <summary>Unicast ARP requests probing a VM's IPv4 home address (IPv4 NUD).</summary>
    ArpProbe,
    /// <summary>DHCPOFFER, DHCPACK and DHCPNAK from the MAG's DHCP server.</summary>
    DhcpReply,
    /// <summary>ICMP (IPv4) Time Exceeded and Fragmentation Needed.</summary>
    Icmpv4Error,
    /// <summary>
    /// An unsolicited ARP reply for the default router to a VM whose IPv4 address was just installed here (after an
    /// attachment or a handover): IPv4's counterpart of the RA that follows a registration.
    /// </summary>
    ArpAnnouncement,
}

/// <summary>Whole-data-path counters: every drop lands here as well as in the block of the entity it concerns.</summary>
public sealed class DatapathCounters
{
    /// <summary>Every frame or packet handed to an entry point, and every drop and consumed control frame.</summary>
    public readonly CounterBlock All = new();

    /// <summary>Control messages queued, by kind.</summary>
    public readonly LabeledCounter<ControlMessageKind> ControlSent = new();

    /// <summary>Control messages lost because the <see cref="ControlOutput"/> was full (the host drains it too rarely).</summary>
    public long ControlOutputOverflows;

    /// <summary>ICMPv6 errors not sent: over the rate limit (RFC 4443 §2.4(f)) or forbidden (§2.4(e): about an error, to a non-unicast source).</summary>
    public long IcmpErrorsSuppressed;

    /// <summary>Partial checksums completed (NEEDS_CSUM).</summary>
    public long ChecksumsCompleted;

    /// <summary>GSO super-frames cut, and the segments they gave.</summary>
    public long SuperFramesSegmented;
    public long SegmentsProduced;

    /// <summary>MAG: packets routed between two of its ports (super-frames kept whole count once); and into direct MAG–MAG tunnels.</summary>
    public long RoutedLocally;
    public long RoutedDirect;

    /// <summary>LMA: VM-to-VM traffic between two MAGs reported to the machine (RFC 6705 may route it MAG to MAG).</summary>
    public long TrafficObservations;
    /// <summary>GSO super-frames forwarded whole into a tunnel (its path carries them: <see cref="ITunnelOffloads"/>).</summary>
    public long SuperFramesForwarded;

    /// <summary>GSO super-frames that came out of a tunnel whole (sent so, or merged by the receiving interface's GRO) and were delivered whole.</summary>
    public long SuperFramesDelivered;

    /// <summary>Protocol actions the data path performed itself (frames and tables) and those it passed to the host.</summary>
    public long ActionsExecuted;
    public long ActionsForHost;

    /// <summary>Actions for a port the data path no longer has (removed while the machine still knew it).</summary>
    public long ActionsForUnknownPort;

    /// <summary>Mobility Header messages from the uplink that did not parse or verify.</summary>
    public long MobilityMessagesMalformed;

    /// <summary>DHCPv4 client messages received, by type, and the server's replies, by type (MAG).</summary>
    public readonly LabeledCounter<DhcpMessageType> DhcpReceived = new();
    public readonly LabeledCounter<DhcpMessageType> DhcpSent = new();
    /// <summary>DHCP requests kept to be answered once the PBA brings the VM's IPv4 address (RFC 5844 §3.4.1's "delayed response").</summary>
    public long DhcpDeferred;
    /// <summary>DHCP requests ignored: for another server (SELECTING), a DECLINE, or superseded while deferred.</summary>
    public long DhcpIgnored;

    /// <summary>IPv4 packets over the tunnel MTU without DF, sent for the kernel to fragment the tunnel packet (RFC 2473 §7.2(b)).</summary>
    public long Ipv4TunnelFragmentations;

    /// <summary>Live migrations: the destinations' buffers and the sources' stops (MAG only).</summary>
    public readonly HandoverDatapathCounters Handover = new();
}
