using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>What the host does with a frame after the data path saw it.</summary>
public enum VerdictKind : byte
{
    /// <summary>Dropped and counted; <see cref="Verdict.Reason"/> says why.</summary>
    Drop,
    /// <summary>A control frame fully handled here; any replies were queued on the <see cref="ControlOutput"/>.</summary>
    Consumed,
    /// <summary>Send the IP packet at [Offset, Offset+Length) of the same buffer into the tunnel to <see cref="Verdict.TunnelDestination"/>.</summary>
    ToTunnel,
    /// <summary>Send the Ethernet frame at [Offset, Offset+Length) of the same buffer out of <see cref="Verdict.Port"/>.</summary>
    ToPort,
    /// <summary>Write the IPv6 packet at [Offset, Offset+Length) of the same buffer to the LMA's home-network device.</summary>
    ToHome,
    /// <summary>A GSO super-frame was cut into <see cref="Verdict.SegmentCount"/> segments in the <see cref="SegmentPool"/>, each with its own verdict.</summary>
    Segmented,
}

/// <summary>
/// The data path's answer for one frame: a small value (no allocation) that tells the host where the
/// bytes go. Forwarding verdicts point into the caller's own buffer, modified in place, so the host sends
/// straight from its receive buffers.
/// </summary>
public readonly struct Verdict
{
    private readonly Ipv6Address _address;
    private readonly int _a;
    private readonly int _b;
    private readonly int _port;
    private readonly Ipv6Address _copy;

    private Verdict(VerdictKind kind, DropReason reason, WireError error, int port, Ipv6Address address, int a, int b, in OffloadInfo offload = default, Ipv6Address copy = default)
    {
        _copy = copy;
        Kind = kind;
        Reason = reason;
        Error = error;
        _port = port;
        _address = address;
        _a = a;
        _b = b;
        Offload = offload;
    }

    public VerdictKind Kind { get; }

    /// <summary>For <see cref="VerdictKind.Drop"/>: why.</summary>
    public DropReason Reason { get; }

    /// <summary>For <see cref="DropReason.Malformed"/>: the wire layer's reason.</summary>
    public WireError Error { get; }

    /// <summary>For <see cref="VerdictKind.ToPort"/>: the access port to send from.</summary>
    public PortId Port => new(_port);

    /// <summary>For <see cref="VerdictKind.ToTunnel"/>: the tunnel's far end (LMA on a MAG, MAG on the LMA); the outer source is our own address.</summary>
    public Ipv6Address TunnelDestination => _address;

    /// <summary>
    /// For <see cref="VerdictKind.ToTunnel"/>: the same bytes go into a second tunnel too, to <see cref="CopyTunnelDestination"/>
    /// (the LMA's bicast during a live migration of a TCP super-frame that both paths carry whole: sent twice from the
    /// receive slot, since no segment-pool slot holds a super-frame).
    /// </summary>
    public bool HasTunnelCopy => Kind == VerdictKind.ToTunnel && _port == 1;

    /// <summary>For <see cref="HasTunnelCopy"/>: the second tunnel's far end.</summary>
    public Ipv6Address CopyTunnelDestination => _copy;

    /// <summary>Where the packet or frame to send starts in the buffer.</summary>
    public int Offset => _a;

    public int Length => _b;

    /// <summary>For <see cref="VerdictKind.Segmented"/>: the first segment's index in the <see cref="SegmentPool"/>.</summary>
    public int FirstSegment => _a;

    public int SegmentCount => _b;

    /// <summary>
    /// For the forwarding verdicts: the offload metadata to send the packet or frame with — a TCP super-frame kept
    /// whole (GSO type, gso_size) or a partial checksum left for the kernel or NIC to complete (NEEDS_CSUM).
    /// Offsets count from the verdict's <see cref="Offset"/>: the inner IP packet for <see cref="VerdictKind.ToTunnel"/>
    /// and <see cref="VerdictKind.ToHome"/>, the Ethernet frame for <see cref="VerdictKind.ToPort"/>.
    /// <see cref="OffloadInfo.None"/>: a complete packet.
    /// </summary>
    public OffloadInfo Offload { get; }

    /// <summary>True for the verdicts that send bytes (<see cref="VerdictKind.ToTunnel"/>, <see cref="VerdictKind.ToPort"/>, <see cref="VerdictKind.ToHome"/>).</summary>
    public bool IsForwarded => Kind is VerdictKind.ToTunnel or VerdictKind.ToPort or VerdictKind.ToHome;

    public static Verdict Drop(DropReason reason, WireError error = WireError.None) => new(VerdictKind.Drop, reason, error, 0, default, 0, 0);

    public static Verdict Consumed => new(VerdictKind.Consumed, DropReason.None, WireError.None, 0, default, 0, 0);

    public static Verdict ToTunnel(Ipv6Address destination, int offset, int length) =>
        new(VerdictKind.ToTunnel, DropReason.None, WireError.None, 0, destination, offset, length);

    public static Verdict ToTunnel(Ipv6Address destination, int offset, int length, in OffloadInfo offload) =>
        new(VerdictKind.ToTunnel, DropReason.None, WireError.None, 0, destination, offset, length, offload);

    /// <summary>To <paramref name="destination"/> and the same bytes to <paramref name="copyDestination"/> (<see cref="HasTunnelCopy"/>).</summary>
    public static Verdict ToTunnelAndCopy(Ipv6Address destination, Ipv6Address copyDestination, int offset, int length, in OffloadInfo offload) =>
        new(VerdictKind.ToTunnel, DropReason.None, WireError.None, 1, destination, offset, length, offload, copyDestination);

    public static Verdict ToPort(PortId port, int offset, int length) =>
        new(VerdictKind.ToPort, DropReason.None, WireError.None, port.Value, default, offset, length);

    public static Verdict ToPort(PortId port, int offset, int length, in OffloadInfo offload) =>
        new(VerdictKind.ToPort, DropReason.None, WireError.None, port.Value, default, offset, length, offload);

    public static Verdict ToHome(int offset, int length) => new(VerdictKind.ToHome, DropReason.None, WireError.None, 0, default, offset, length);

    public static Verdict ToHome(int offset, int length, in OffloadInfo offload) =>
        new(VerdictKind.ToHome, DropReason.None, WireError.None, 0, default, offset, length, offload);

    public static Verdict Segmented(int firstSegment, int count) =>
        new(VerdictKind.Segmented, DropReason.None, WireError.None, 0, default, firstSegment, count);

    public override string ToString() => Kind switch
    {
        VerdictKind.Drop when Error != WireError.None => $"Drop({Reason}, {Error})",
        VerdictKind.Drop => $"Drop({Reason})",
        VerdictKind.ToTunnel when HasTunnelCopy => $"ToTunnel({TunnelDestination} and {CopyTunnelDestination}, {Offset}, {Length}{OffloadText})",
        VerdictKind.ToTunnel => $"ToTunnel({TunnelDestination}, {Offset}, {Length}{OffloadText})",
        VerdictKind.ToPort => $"ToPort({Port}, {Offset}, {Length}{OffloadText})",
        VerdictKind.ToHome => $"ToHome({Offset}, {Length}{OffloadText})",
        VerdictKind.Segmented => $"Segmented({FirstSegment}, {SegmentCount})",
        _ => Kind.ToString(),
    };

    private string OffloadText => Offload.IsGso || Offload.NeedsChecksum ? $", {Offload}" : "";
}
