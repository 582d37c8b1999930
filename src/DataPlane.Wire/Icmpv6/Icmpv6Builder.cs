namespace DataPlane.Wire;

/// <summary>
/// Writes an ICMPv6 message into a caller's buffer without allocating: the 4-byte header, the type's
/// fixed body (zeroed, for the caller to fill through <see cref="FixedPart"/> with the offsets of the
/// type's view), then ND options or trailing data in the order they are added, then the checksum.
/// A buffer too small for what is added is a programming error and throws.
/// </summary>
public ref struct Icmpv6Builder
{
    private readonly Span<byte> _buffer;
    private readonly int _fixedLength;
    private int _position;

    public Icmpv6Builder(Span<byte> destination, Icmpv6Type type, byte code, int bodyLength)
    {
        _buffer = destination;
        _fixedLength = Icmpv6Packet.HeaderLength + bodyLength;
        var head = destination[.._fixedLength];
        head.Clear();
        head[Icmpv6Packet.TypeOffset] = (byte)type;
        head[Icmpv6Packet.CodeOffset] = code;
        _position = _fixedLength;
    }

    /// <summary>Header and fixed body, so the views' offsets (counted from the Type byte) apply directly.</summary>
    public readonly Span<byte> FixedPart => _buffer[.._fixedLength];

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    public void AddSourceLinkLayerAddress(MacAddress address) =>
        _position += NdOption.WriteLinkLayerAddress(_buffer[_position..], NdOptionType.SourceLinkLayerAddress, address);

    public void AddTargetLinkLayerAddress(MacAddress address) =>
        _position += NdOption.WriteLinkLayerAddress(_buffer[_position..], NdOptionType.TargetLinkLayerAddress, address);

    public void AddPrefixInformation(in PrefixInformation information) =>
        _position += NdOption.WritePrefixInformation(_buffer[_position..], information);

    public void AddMtu(uint mtu) => _position += NdOption.WriteMtu(_buffer[_position..], mtu);

    public void AddRecursiveDnsServer(uint lifetime, ReadOnlySpan<Ipv6Address> servers) =>
        _position += NdOption.WriteRecursiveDnsServer(_buffer[_position..], lifetime, servers);

    /// <summary>
    /// Start an option of <paramref name="length"/> bytes (a multiple of 8, Type and Length included):
    /// returns the whole option, zeroed, with Type and Length set, for the caller to fill.
    /// </summary>
    public Span<byte> BeginOption(NdOptionType type, int length)
    {
        if (length <= 0 || length % NdOption.LengthUnit != 0 || length / NdOption.LengthUnit > byte.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(length), length, "an ND option is 8..2040 bytes in 8-byte units");
        var o = _buffer.Slice(_position, length);
        o.Clear();
        o[NdOption.TypeOffset] = (byte)type;
        o[NdOption.LengthOffset] = (byte)(length / NdOption.LengthUnit);
        _position += length;
        return o;
    }

    /// <summary>
    /// Append raw bytes after the fixed part (an error message's invoking packet, echo data). They must
    /// not overlap the destination buffer.
    /// </summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        data.CopyTo(_buffer[_position..]);
        _position += data.Length;
    }

    /// <summary>Fill the checksum for the given IPv6 source and destination; returns the message length.</summary>
    public readonly int Finish(Ipv6Address source, Ipv6Address destination)
    {
        Icmpv6Packet.FillChecksum(_buffer[.._position], source, destination);
        return _position;
    }
}
