namespace DataPlane.Datapath;

/// <summary>The flags of struct virtio_net_hdr (linux/virtio_net.h).</summary>
[Flags]
public enum OffloadFlags : byte
{
    None = 0,
    /// <summary>
    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum field holds only the pseudo-header sum; the sum over
    /// [<see cref="OffloadInfo.ChecksumStart"/>, end of packet) must still be folded into it.
    /// </summary>
    NeedsChecksum = 1,
    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the sender already verified the checksum (nothing for us to do).</summary>
    DataValid = 2,
}

/// <summary>The gso_type of struct virtio_net_hdr. There is no IP-in-IP type, which is why we segment ourselves.</summary>
public enum GsoType : byte
{
    None = 0,
    TcpV4 = 1,
    /// <summary>UFO (IPv4 fragmentation offload), long deprecated by Linux.</summary>
    Udp = 3,
    TcpV6 = 4,
    /// <summary>VIRTIO_NET_HDR_GSO_UDP_L4 (USO).</summary>
    UdpL4 = 5,
    /// <summary>VIRTIO_NET_HDR_GSO_ECN, or-ed onto a TCP type.</summary>
    Ecn = 0x80,
}

/// <summary>
/// The offload metadata that comes with a frame from a TAP (IFF_VNET_HDR) or AF_PACKET (PACKET_VNET_HDR)
/// port: a plain mirror of struct virtio_net_hdr, so the data path does not depend on the Linux layer.
/// Offsets are counted from the first byte of the frame (the Ethernet header), as the kernel counts them.
/// </summary>
public struct OffloadInfo
{
    public OffloadFlags Flags;
    public GsoType GsoType;
    /// <summary>hdr_len: the length of the headers in front of the payload to segment (a hint; we measure it ourselves).</summary>
    public ushort HeaderLength;
    /// <summary>gso_size: payload bytes per segment (the MSS).</summary>
    public ushort GsoSize;
    /// <summary>csum_start: where checksumming begins, from the start of the frame.</summary>
    public ushort ChecksumStart;
    /// <summary>csum_offset: where the checksum field is, after <see cref="ChecksumStart"/> (16 for TCP, 6 for UDP).</summary>
    public ushort ChecksumOffset;

    /// <summary>No offload: a complete frame with complete checksums.</summary>
    public static OffloadInfo None => default;

    public readonly bool NeedsChecksum => (Flags & OffloadFlags.NeedsChecksum) != 0;

    /// <summary>The segmentation type without the ECN modifier.</summary>
    public readonly GsoType Segmentation => GsoType & ~GsoType.Ecn;

    public readonly bool IsGso => Segmentation != GsoType.None;

    /// <summary>A TCP super-frame with its checksum left partial.</summary>
    public static OffloadInfo TcpSegmentation(GsoType type, ushort gsoSize, ushort headerLength, ushort checksumStart, ushort checksumOffset) => new()
    {
        Flags = OffloadFlags.NeedsChecksum,
        GsoType = type,
        GsoSize = gsoSize,
        HeaderLength = headerLength,
        ChecksumStart = checksumStart,
        ChecksumOffset = checksumOffset,
    };

    /// <summary>A single frame whose L4 checksum is partial.</summary>
    public static OffloadInfo PartialChecksum(ushort checksumStart, ushort checksumOffset) => new()
    {
        Flags = OffloadFlags.NeedsChecksum,
        ChecksumStart = checksumStart,
        ChecksumOffset = checksumOffset,
    };

    public override readonly string ToString() =>
        $"flags={Flags} gso={GsoType} hdr_len={HeaderLength} gso_size={GsoSize} csum_start={ChecksumStart} csum_offset={ChecksumOffset}";
}
