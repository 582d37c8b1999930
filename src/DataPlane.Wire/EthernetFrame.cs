using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over an Ethernet II frame with up to two VLAN tags recognised (802.1Q, or an 802.1ad
/// service tag followed by an 802.1Q customer tag).
/// Layout: destination(6) source(6) [TPID(2) TCI(2) [TPID(2) TCI(2)]] EtherType(2) payload.
/// </summary>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    public const int TaggedHeaderLength = 18;
    public const int DoubleTaggedHeaderLength = 22;

    private const int DestinationOffset = 0;
    private const int SourceOffset = 6;
    private const int TypeOffset = 12;
    private const int TciOffset = 14;

    private readonly Span<byte> _buffer;

    private EthernetFrame(Span<byte> buffer, int headerLength)
    {
        _buffer = buffer;
        HeaderSize = headerLength;
    }

    public static bool TryCreate(Span<byte> buffer, out EthernetFrame frame, out WireError error)
    {
        frame = default;
        if (buffer.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }
        int header = HeaderLength;
        // Each tag pushes the EtherType four bytes further; two tags at most (QinQ).
        while (header < DoubleTaggedHeaderLength
               && (EtherType)BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(header - 2, 2)) is EtherType.Vlan or EtherType.QinQ)
        {
            header += 4;
            if (buffer.Length < header)
            {
                error = WireError.Truncated;
                return false;
            }
        }
        frame = new EthernetFrame(buffer, header);
        error = WireError.None;
        return true;
    }

    /// <summary>The whole frame.</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>14, 18 with one VLAN tag, 22 with two.</summary>
    public int HeaderSize { get; }

    public MacAddress Destination
    {
        get => MacAddress.ReadFrom(_buffer.Slice(DestinationOffset, 6));
        set => value.WriteTo(_buffer.Slice(DestinationOffset, 6));
    }

    public MacAddress Source
    {
        get => MacAddress.ReadFrom(_buffer.Slice(SourceOffset, 6));
        set => value.WriteTo(_buffer.Slice(SourceOffset, 6));
    }

    public bool HasVlanTag => HeaderSize > HeaderLength;

    /// <summary>The outer tag's control information (PCP, DEI, VID), or 0 when untagged.</summary>
    public ushort TagControl => HasVlanTag ? BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(TciOffset, 2)) : (ushort)0;

    public ushort VlanId => (ushort)(TagControl & 0x0FFF);

    /// <summary>The EtherType of the payload (after the VLAN tag, if any).</summary>
    public EtherType EtherType
    {
        get => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(HeaderSize - 2, 2));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(HeaderSize - 2, 2), (ushort)value);
    }

    public Span<byte> Payload => _buffer[HeaderSize..];

    /// <summary>Write an untagged Ethernet II header; returns its length (14).</summary>
    public static int WriteHeader(Span<byte> destination, MacAddress dst, MacAddress src, EtherType type)
    {
        dst.WriteTo(destination.Slice(DestinationOffset, 6));
        src.WriteTo(destination.Slice(SourceOffset, 6));
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(TypeOffset, 2), (ushort)type);
        return HeaderLength;
    }
}
