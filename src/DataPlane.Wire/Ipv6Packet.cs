using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over an IPv6 packet (RFC 8200 §3). The checked constructor guarantees version 6 and a
/// payload length that fits the buffer; the view is cut to 40 + payload length. Jumbograms
/// (payload length 0 with a Jumbo option) are not supported and are reported as
/// <see cref="WireError.Unsupported"/> when the next header is hop-by-hop and the length is zero.
/// </summary>
public readonly ref struct Ipv6Packet
{
    public const int HeaderLength = 40;

    private const int VersionOffset = 0;
    private const int PayloadLengthOffset = 4;
    private const int NextHeaderOffset = 6;
    private const int HopLimitOffset = 7;
    private const int SourceOffset = 8;
    private const int DestinationOffset = 24;

    private readonly Span<byte> _buffer;

    private Ipv6Packet(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out Ipv6Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }
        if (buffer[VersionOffset] >> 4 != 6)
        {
            error = WireError.BadVersion;
            return false;
        }
        int payload = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(PayloadLengthOffset, 2));
        if (payload == 0 && buffer[NextHeaderOffset] == (byte)IpProtocol.HopByHop && buffer.Length > HeaderLength)
        {
            error = WireError.Unsupported; // a jumbogram
            return false;
        }
        if (HeaderLength + payload > buffer.Length)
        {
            error = WireError.Truncated;
            return false;
        }
        packet = new Ipv6Packet(buffer[..(HeaderLength + payload)]);
        error = WireError.None;
        return true;
    }

    /// <summary>The packet, cut to 40 + payload length.</summary>
    public Span<byte> Buffer => _buffer;

    public byte TrafficClass => (byte)(BinaryPrimitives.ReadUInt16BigEndian(_buffer) >> 4);

    public uint FlowLabel => BinaryPrimitives.ReadUInt32BigEndian(_buffer) & 0xF_FFFF;

    public ushort PayloadLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(PayloadLengthOffset, 2));

    public IpProtocol NextHeader
    {
        get => (IpProtocol)_buffer[NextHeaderOffset];
        set => _buffer[NextHeaderOffset] = (byte)value;
    }

    public byte HopLimit
    {
        get => _buffer[HopLimitOffset];
        set => _buffer[HopLimitOffset] = value;
    }

    public Ipv6Address Source
    {
        get => Ipv6Address.ReadFrom(_buffer.Slice(SourceOffset, 16));
        set => value.WriteTo(_buffer.Slice(SourceOffset, 16));
    }

    public Ipv6Address Destination
    {
        get => Ipv6Address.ReadFrom(_buffer.Slice(DestinationOffset, 16));
        set => value.WriteTo(_buffer.Slice(DestinationOffset, 16));
    }

    /// <summary>Everything after the fixed header: extension headers and the upper-layer payload.</summary>
    public Span<byte> Payload => _buffer[HeaderLength..];

    /// <summary>Walk the extension header chain to the upper-layer header. See <see cref="Ipv6HeaderChain"/>.</summary>
    public bool TryWalkHeaders(out Ipv6HeaderChain chain, out WireError error) =>
        Ipv6HeaderChain.TryWalk(Payload, NextHeader, out chain, out error);

    /// <summary>Pseudo-header partial sum for an upper-layer protocol of the given length.</summary>
    public uint PseudoHeaderSum(int upperLayerLength, IpProtocol protocol) =>
        InternetChecksum.PseudoHeader(Source, Destination, (uint)upperLayerLength, (byte)protocol);

    /// <summary>Write the fixed 40-byte header; returns 40.</summary>
    public static int WriteHeader(Span<byte> destination, Ipv6Address source, Ipv6Address dest, IpProtocol nextHeader,
        int payloadLength, byte hopLimit = 64, byte trafficClass = 0, uint flowLabel = 0)
    {
        var d = destination[..HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(d, (6u << 28) | ((uint)trafficClass << 20) | (flowLabel & 0xF_FFFF));
        BinaryPrimitives.WriteUInt16BigEndian(d[PayloadLengthOffset..], checked((ushort)payloadLength));
        d[NextHeaderOffset] = (byte)nextHeader;
        d[HopLimitOffset] = hopLimit;
        source.WriteTo(d[SourceOffset..]);
        dest.WriteTo(d[DestinationOffset..]);
        return HeaderLength;
    }

    /// <summary>Overwrite the payload length of an already written header.</summary>
    public static void SetPayloadLength(Span<byte> header, int payloadLength) =>
        BinaryPrimitives.WriteUInt16BigEndian(header.Slice(PayloadLengthOffset, 2), checked((ushort)payloadLength));
}
