using System.Buffers.Binary;

namespace DataPlane.Linux;

/// <summary>virtio_net_hdr flags (linux/virtio_net.h).</summary>
[Flags]
public enum VirtioNetHeaderFlags : byte
{
    None = 0,
    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum is partial (pseudo-header sum only);
    /// complete it over [CsumStart, end) and store it at CsumStart + CsumOffset.</summary>
    NeedsChecksum = 1,
    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the checksum was already verified.</summary>
    DataValid = 2,
}

/// <summary>virtio_net_hdr gso_type (linux/virtio_net.h). There is no IP-in-IP type: tunnelled
/// super-frames must be segmented by us (see DESIGN, "Offloads").</summary>
public enum VirtioGsoType : byte
{
    None = 0,
    TcpV4 = 1,
    Udp = 3,
    TcpV6 = 4,
    /// <summary>VIRTIO_NET_HDR_GSO_UDP_L4 (USO).</summary>
    UdpL4 = 5,
    /// <summary>VIRTIO_NET_HDR_GSO_ECN, or-ed onto a TCP type when the CWR bit must be kept.</summary>
    Ecn = 0x80,
}

/// <summary>
/// struct virtio_net_hdr, the offload metadata the kernel puts in front of every frame on an
/// AF_PACKET socket with PACKET_VNET_HDR and on a TAP/TUN fd with IFF_VNET_HDR. Host byte order
/// (little-endian on every machine we run on; the kernel's virtio_legacy_is_little_endian()).
/// </summary>
public struct VirtioNetHeader : IEquatable<VirtioNetHeader>
{
    /// <summary>sizeof(struct virtio_net_hdr): what PACKET_VNET_HDR always uses and TUN's default.</summary>
    public const int Length = 10;

    public VirtioNetHeaderFlags Flags;
    public VirtioGsoType GsoType;
    /// <summary>hdr_len: bytes of headers (Ethernet+IP+TCP) in front of the payload to segment.</summary>
    public ushort HeaderLength;
    /// <summary>gso_size: payload bytes per segment (the MSS) for GSO frames.</summary>
    public ushort GsoSize;
    /// <summary>csum_start: offset from the frame start where checksumming begins.</summary>
    public ushort CsumStart;
    /// <summary>csum_offset: where, after CsumStart, the checksum field lives (16 for TCP, 6 for UDP).</summary>
    public ushort CsumOffset;

    public readonly bool NeedsChecksum => (Flags & VirtioNetHeaderFlags.NeedsChecksum) != 0;
    public readonly bool IsGso => (GsoType & ~VirtioGsoType.Ecn) != VirtioGsoType.None;

    public static VirtioNetHeader ReadFrom(ReadOnlySpan<byte> source) => new()
    {
        Flags = (VirtioNetHeaderFlags)source[0],
        GsoType = (VirtioGsoType)source[1],
        HeaderLength = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(2, 2)),
        GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(4, 2)),
        CsumStart = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(6, 2)),
        CsumOffset = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(8, 2)),
    };

    public readonly void WriteTo(Span<byte> destination)
    {
        destination[0] = (byte)Flags;
        destination[1] = (byte)GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(2, 2), HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(4, 2), GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(6, 2), CsumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(8, 2), CsumOffset);
    }

    public readonly bool Equals(VirtioNetHeader other) =>
        Flags == other.Flags && GsoType == other.GsoType && HeaderLength == other.HeaderLength &&
        GsoSize == other.GsoSize && CsumStart == other.CsumStart && CsumOffset == other.CsumOffset;

    public override readonly bool Equals(object? obj) => obj is VirtioNetHeader h && Equals(h);
    public override readonly int GetHashCode() => HashCode.Combine(Flags, GsoType, HeaderLength, GsoSize, CsumStart, CsumOffset);
    public static bool operator ==(VirtioNetHeader a, VirtioNetHeader b) => a.Equals(b);
    public static bool operator !=(VirtioNetHeader a, VirtioNetHeader b) => !a.Equals(b);

    public override readonly string ToString() =>
        $"flags={Flags} gso={GsoType} hdr_len={HeaderLength} gso_size={GsoSize} csum_start={CsumStart} csum_offset={CsumOffset}";
}
