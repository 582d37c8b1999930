using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over an IPv4 packet (RFC 791). The checked constructor guarantees version 4, a header
/// length of at least 20 bytes inside the buffer and a total length that fits; the view is then
/// cut to the total length so trailing Ethernet padding is never mistaken for payload.
/// </summary>
public readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;

    private const int VersionIhlOffset = 0;
    private const int TosOffset = 1;
    private const int TotalLengthOffset = 2;
    private const int IdentificationOffset = 4;
    private const int FlagsFragmentOffset = 6;
    private const int TtlOffset = 8;
    private const int ProtocolOffset = 9;
    private const int ChecksumOffset = 10;
    private const int SourceOffset = 12;
    private const int DestinationOffset = 16;

    private readonly Span<byte> _buffer;

    private Ipv4Packet(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out Ipv4Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }
        if (buffer[VersionIhlOffset] >> 4 != 4)
        {
            error = WireError.BadVersion;
            return false;
        }
        int ihl = (buffer[VersionIhlOffset] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(TotalLengthOffset, 2));
        if (ihl < MinHeaderLength || total < ihl)
        {
            error = WireError.BadLength;
            return false;
        }
        if (total > buffer.Length)
        {
            error = WireError.Truncated;
            return false;
        }
        packet = new Ipv4Packet(buffer[..total]);
        error = WireError.None;
        return true;
    }

    /// <summary>The packet, cut to its total length.</summary>
    public Span<byte> Buffer => _buffer;

    public int HeaderLength => (_buffer[VersionIhlOffset] & 0xF) * 4;
    public byte TypeOfService { get => _buffer[TosOffset]; set => _buffer[TosOffset] = value; }
    public ushort TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(TotalLengthOffset, 2));
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(IdentificationOffset, 2));
    private ushort FlagsAndFragment => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(FlagsFragmentOffset, 2));
    public bool DontFragment => (FlagsAndFragment & 0x4000) != 0;
    public bool MoreFragments => (FlagsAndFragment & 0x2000) != 0;
    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset => (FlagsAndFragment & 0x1FFF) * 8;
    public bool IsFragment => MoreFragments || FragmentOffset != 0;
    public byte TimeToLive { get => _buffer[TtlOffset]; set => _buffer[TtlOffset] = value; }
    public IpProtocol Protocol => (IpProtocol)_buffer[ProtocolOffset];
    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2));
    public Ipv4Address Source => Ipv4Address.ReadFrom(_buffer.Slice(SourceOffset, 4));
    public Ipv4Address Destination => Ipv4Address.ReadFrom(_buffer.Slice(DestinationOffset, 4));
    public Span<byte> Options => _buffer[MinHeaderLength..HeaderLength];
    public Span<byte> Payload => _buffer[HeaderLength..];

    public bool IsHeaderChecksumValid => InternetChecksum.Verify(_buffer[..HeaderLength]);

    public void FillHeaderChecksum()
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2), 0);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2), InternetChecksum.Compute(_buffer[..HeaderLength]));
    }

    /// <summary>Pseudo-header partial sum for the upper-layer checksum of this packet.</summary>
    public uint PseudoHeaderSum => InternetChecksum.PseudoHeader(Source, Destination, (ushort)(TotalLength - HeaderLength), (byte)Protocol);

    /// <summary>
    /// Decrement the TTL and patch the header checksum incrementally (RFC 1624). Returns false, leaving
    /// the packet untouched, when the TTL is already 0 or 1: a router must not forward it.
    /// </summary>
    public bool TryDecrementTimeToLive()
    {
        if (_buffer[TtlOffset] <= 1) return false;
        ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(TtlOffset, 2));
        _buffer[TtlOffset]--;
        ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(TtlOffset, 2));
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2), InternetChecksum.Update(HeaderChecksum, oldWord, newWord));
        return true;
    }

    /// <summary>
    /// Write a 20-byte header without options, checksum filled; returns 20.
    /// </summary>
    public static int WriteHeader(Span<byte> destination, Ipv4Address source, Ipv4Address dest, IpProtocol protocol,
        int payloadLength, byte ttl = 64, ushort identification = 0, bool dontFragment = true, byte tos = 0)
    {
        var d = destination[..MinHeaderLength];
        d[VersionIhlOffset] = 0x45;
        d[TosOffset] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(d[TotalLengthOffset..], checked((ushort)(MinHeaderLength + payloadLength)));
        BinaryPrimitives.WriteUInt16BigEndian(d[IdentificationOffset..], identification);
        BinaryPrimitives.WriteUInt16BigEndian(d[FlagsFragmentOffset..], dontFragment ? (ushort)0x4000 : (ushort)0);
        d[TtlOffset] = ttl;
        d[ProtocolOffset] = (byte)protocol;
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], 0);
        source.WriteTo(d[SourceOffset..]);
        dest.WriteTo(d[DestinationOffset..]);
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], InternetChecksum.Compute(d));
        return MinHeaderLength;
    }
}
