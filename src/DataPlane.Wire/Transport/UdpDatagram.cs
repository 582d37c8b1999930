using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over a UDP datagram (RFC 768): source port(2) destination port(2) length(2) checksum(2) data.
/// The checked constructor guarantees the 8-byte header and a length field between 8 and the buffer
/// size; the view is cut to the length field so that link-layer padding is never taken for data.
/// </summary>
/// <remarks>
/// The checksum rules differ by IP version. Over IPv4 a checksum field of zero means the sender did
/// not compute one (RFC 768), and a computed zero is sent as 0xFFFF. Over IPv6 the checksum is
/// mandatory (RFC 8200 §8.1): a received zero is invalid and a computed zero is also sent as 0xFFFF.
/// </remarks>
public readonly ref struct UdpDatagram
{
    public const int HeaderLength = 8;

    private const int SourcePortOffset = 0;
    private const int DestinationPortOffset = 2;
    private const int LengthOffset = 4;
    private const int ChecksumOffset = 6;

    private readonly Span<byte> _buffer;

    private UdpDatagram(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out UdpDatagram datagram, out WireError error)
    {
        datagram = default;
        if (!TryValidate(buffer, out int length, out error)) return false;
        datagram = new UdpDatagram(buffer[..length]);
        return true;
    }

    /// <summary>
    /// The validation <see cref="TryCreate"/> does, usable on read-only input; <paramref name="length"/>
    /// is the datagram's length field (header plus data).
    /// </summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, out int length, out WireError error)
    {
        length = 0;
        if (buffer.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }
        int declared = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(LengthOffset, 2));
        if (declared < HeaderLength)
        {
            // Includes 0, which only an IPv6 jumbogram (RFC 2675) may carry; we do not handle those.
            error = WireError.BadLength;
            return false;
        }
        if (declared > buffer.Length)
        {
            error = WireError.Truncated;
            return false;
        }
        length = declared;
        error = WireError.None;
        return true;
    }

    /// <summary>The datagram, cut to its length field.</summary>
    public Span<byte> Buffer => _buffer;

    public ushort SourcePort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(SourcePortOffset, 2));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(SourcePortOffset, 2), value);
    }

    public ushort DestinationPort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(DestinationPortOffset, 2));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(DestinationPortOffset, 2), value);
    }

    /// <summary>Header plus data, as the length field says (equal to <see cref="Buffer"/>'s length).</summary>
    public ushort Length => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(LengthOffset, 2));

    /// <summary>The raw checksum field. Setting it is for callers that patch it themselves (RFC 1624).</summary>
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2), value);
    }

    public Span<byte> Payload => _buffer[HeaderLength..];

    /// <summary>
    /// Over IPv6 the checksum is mandatory: zero is rejected, anything else must verify against the
    /// pseudo-header (which uses the UDP length field as the upper-layer length, RFC 8200 §8.1).
    /// </summary>
    public bool IsChecksumValid(Ipv6Address source, Ipv6Address destination) =>
        Checksum != 0 && InternetChecksum.Verify(_buffer, PseudoHeaderSum(source, destination));

    /// <summary>Over IPv4 a zero checksum field means "not computed" and is accepted (RFC 768).</summary>
    public bool IsChecksumValid(Ipv4Address source, Ipv4Address destination) =>
        Checksum == 0 || InternetChecksum.Verify(_buffer, PseudoHeaderSum(source, destination));

    public void FillChecksum(Ipv6Address source, Ipv6Address destination) => FillChecksum(PseudoHeaderSum(source, destination));

    public void FillChecksum(Ipv4Address source, Ipv4Address destination) => FillChecksum(PseudoHeaderSum(source, destination));

    /// <summary>
    /// Compute the checksum over the datagram with the given pseudo-header partial sum. A computed zero
    /// is written as 0xFFFF (its one's complement twin) because zero on the wire means "none" in IPv4
    /// and "invalid" in IPv6.
    /// </summary>
    public void FillChecksum(uint pseudoHeaderSum)
    {
        var field = _buffer.Slice(ChecksumOffset, 2);
        BinaryPrimitives.WriteUInt16BigEndian(field, 0);
        ushort sum = InternetChecksum.Finish(InternetChecksum.Sum(_buffer, pseudoHeaderSum));
        BinaryPrimitives.WriteUInt16BigEndian(field, sum == 0 ? (ushort)0xFFFF : sum);
    }

    /// <summary>IPv6 pseudo-header partial sum for this datagram (next header 17, length from the length field).</summary>
    public uint PseudoHeaderSum(Ipv6Address source, Ipv6Address destination) =>
        InternetChecksum.PseudoHeader(source, destination, Length, (byte)IpProtocol.Udp);

    /// <summary>IPv4 pseudo-header partial sum for this datagram (protocol 17, length from the length field).</summary>
    public uint PseudoHeaderSum(Ipv4Address source, Ipv4Address destination) =>
        InternetChecksum.PseudoHeader(source, destination, Length, (byte)IpProtocol.Udp);

    /// <summary>
    /// Write the 8-byte header with a zero checksum; returns 8. Write the data after it, then create a
    /// view over header plus data and call <see cref="FillChecksum(Ipv6Address, Ipv6Address)"/>.
    /// </summary>
    public static int WriteHeader(Span<byte> destination, ushort sourcePort, ushort destinationPort, int payloadLength)
    {
        var d = destination[..HeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(d[SourcePortOffset..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(d[DestinationPortOffset..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(d[LengthOffset..], checked((ushort)(HeaderLength + payloadLength)));
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], 0);
        return HeaderLength;
    }
}
