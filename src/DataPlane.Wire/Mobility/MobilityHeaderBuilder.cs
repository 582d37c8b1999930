using System.Buffers.Binary;
using System.Text;

namespace DataPlane.Wire;

/// <summary>
/// Writes a Mobility Header into a caller's buffer without allocating: the header, the fixed body
/// (filled by the caller through <see cref="Body"/>), then options in the order they are added, each
/// preceded by the Pad1/PadN its alignment rule needs, then padding to a multiple of 8 octets.
/// A buffer too small for what is added is a programming error and throws.
/// </summary>
public ref struct MobilityHeaderBuilder
{
    private readonly Span<byte> _buffer;
    private readonly int _bodyLength;
    private int _position;

    public MobilityHeaderBuilder(Span<byte> destination, MobilityHeaderType type, int bodyLength)
    {
        _buffer = destination;
        _bodyLength = bodyLength;
        var head = destination[..(MobilityHeader.MessageDataOffset + bodyLength)];
        head.Clear();
        head[MobilityHeader.PayloadProtoOffset] = (byte)IpProtocol.NoNextHeader;
        head[MobilityHeader.TypeOffset] = (byte)type;
        _position = head.Length;
    }

    /// <summary>The type's fixed fields, zeroed, for the caller to fill.</summary>
    public readonly Span<byte> Body => _buffer.Slice(MobilityHeader.MessageDataOffset, _bodyLength);

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    public void Add(MobilityOption option)
    {
        if (option is UnknownMobilityOption { Type: (byte)MobilityOptionType.Pad1 or (byte)MobilityOptionType.PadN })
            throw new ArgumentException("padding is written by the builder, not added as an option", nameof(option));
        option.WriteData(BeginOption((MobilityOptionType)option.RawType, option.DataLength));
    }

    public void AddMobileNodeIdentifierNai(ReadOnlySpan<byte> naiUtf8)
    {
        var d = BeginOption(MobilityOptionType.MobileNodeIdentifier, 1 + naiUtf8.Length);
        d[0] = (byte)MobileNodeIdentifierSubtype.Nai;
        naiUtf8.CopyTo(d[1..]);
    }

    public void AddMobileNodeIdentifierNai(string nai)
    {
        int n = Encoding.UTF8.GetByteCount(nai);
        var d = BeginOption(MobilityOptionType.MobileNodeIdentifier, 1 + n);
        d[0] = (byte)MobileNodeIdentifierSubtype.Nai;
        Encoding.UTF8.GetBytes(nai, d[1..]);
    }

    public void AddHomeNetworkPrefix(Ipv6Prefix prefix)
    {
        var d = BeginOption(MobilityOptionType.HomeNetworkPrefix, MobilityOptionLayout.HomeNetworkPrefixDataLength);
        d[0] = 0;
        d[1] = prefix.Length;
        prefix.Address.WriteTo(d[2..]);
    }

    public void AddHandoffIndicator(HandoffIndicator value)
    {
        var d = BeginOption(MobilityOptionType.HandoffIndicator, MobilityOptionLayout.HandoffIndicatorDataLength);
        d[0] = 0;
        d[1] = (byte)value;
    }

    public void AddAccessTechnologyType(AccessTechnologyType value)
    {
        var d = BeginOption(MobilityOptionType.AccessTechnologyType, MobilityOptionLayout.AccessTechnologyTypeDataLength);
        d[0] = 0;
        d[1] = (byte)value;
    }

    public void AddMobileNodeLinkLayerIdentifier(MacAddress mac)
    {
        var d = BeginOption(MobilityOptionType.MobileNodeLinkLayerIdentifier, 2 + MacAddress.Length);
        d[0] = 0;
        d[1] = 0;
        mac.WriteTo(d[2..]);
    }

    public void AddLinkLocalAddress(Ipv6Address address) =>
        address.WriteTo(BeginOption(MobilityOptionType.LinkLocalAddress, MobilityOptionLayout.LinkLocalAddressDataLength));

    public void AddTimestamp(PmipTimestamp timestamp) =>
        BinaryPrimitives.WriteUInt64BigEndian(BeginOption(MobilityOptionType.Timestamp, MobilityOptionLayout.TimestampDataLength), timestamp.Raw);

    public void AddRestartCounter(uint counter) =>
        BinaryPrimitives.WriteUInt32BigEndian(BeginOption(MobilityOptionType.RestartCounter, MobilityOptionLayout.RestartCounterDataLength), counter);

    /// <summary>Write padding, the option's Type and Length, and return its data span to fill.</summary>
    public Span<byte> BeginOption(MobilityOptionType type, int dataLength)
    {
        if ((uint)dataLength > byte.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(dataLength), dataLength, "mobility option data is at most 255 bytes");
        Pad(MobilityOptionLayout.PaddingBefore(type, _position));
        var o = _buffer.Slice(_position, MobilityOptionLayout.OptionHeaderLength + dataLength);
        o[0] = (byte)type;
        o[1] = (byte)dataLength;
        _position += o.Length;
        return o[MobilityOptionLayout.OptionHeaderLength..];
    }

    /// <summary>Pad to a multiple of 8 octets and set Header Len; returns the total length. Checksum left 0.</summary>
    public int Finish()
    {
        Pad(MobilityOptionLayout.PaddingTo(_position, 8, 0));
        int units = _position / 8 - 1;
        if (units > byte.MaxValue) throw new InvalidOperationException("a Mobility Header is at most 2048 bytes");
        _buffer[MobilityHeader.HeaderLengthOffset] = (byte)units;
        return _position;
    }

    /// <summary>As <see cref="Finish()"/>, and fill the checksum for the given IPv6 source and destination.</summary>
    public int Finish(Ipv6Address source, Ipv6Address destination)
    {
        int length = Finish();
        MobilityHeader.FillChecksum(_buffer[..length], source, destination);
        return length;
    }

    /// <summary>Pad1 for one byte, PadN for two or more (RFC 6275 §6.2.2, §6.2.3); contents zero.</summary>
    private void Pad(int count)
    {
        if (count == 0) return;
        var p = _buffer.Slice(_position, count);
        p.Clear();
        if (count >= 2)
        {
            p[0] = (byte)MobilityOptionType.PadN;
            p[1] = (byte)(count - 2);
        }
        _position += count;
    }
}
