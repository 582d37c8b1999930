using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over a Mobility Header (RFC 6275 §6.1.1):
/// payload-proto(1) header-len(1, 8-octet units not counting the first 8) MH-type(1) reserved(1)
/// checksum(2) message-data. The checked constructor guarantees the declared length fits the buffer
/// and that the fixed part of the message type is present; the view is cut to the declared length.
/// </summary>
public readonly ref struct MobilityHeader
{
    public const int PayloadProtoOffset = 0;
    public const int HeaderLengthOffset = 1;
    public const int TypeOffset = 2;
    public const int ReservedOffset = 3;
    public const int ChecksumOffset = 4;
    /// <summary>Start of the message data (the type-specific fixed fields, then options).</summary>
    public const int MessageDataOffset = 6;
    public const int MinLength = 8;

    /// <summary>Fixed body lengths of the message types we parse (BU, BA, Heartbeat, LRI and LRA are all 6 bytes).</summary>
    public const int BindingUpdateBodyLength = 6;
    public const int BindingAcknowledgementBodyLength = 6;
    public const int HeartbeatBodyLength = 6;
    public const int LocalizedRoutingInitiationBodyLength = 6;
    public const int LocalizedRoutingAcknowledgementBodyLength = 6;
    /// <summary>Handover Initiate and Acknowledge: sequence(2) flags(1) code(1).</summary>
    public const int HandoverBodyLength = 4;

    private readonly Span<byte> _buffer;

    private MobilityHeader(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out MobilityHeader header, out WireError error)
    {
        header = default;
        if (!TryValidate(buffer, out int length, out error)) return false;
        header = new MobilityHeader(buffer[..length]);
        return true;
    }

    /// <summary>The validation <see cref="TryCreate"/> does, usable on read-only input.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, out int length, out WireError error)
    {
        length = 0;
        if (buffer.Length < MinLength)
        {
            error = WireError.Truncated;
            return false;
        }
        length = (buffer[HeaderLengthOffset] + 1) * 8;
        if (length > buffer.Length)
        {
            error = WireError.Truncated;
            return false;
        }
        int body = FixedBodyLength((MobilityHeaderType)buffer[TypeOffset]);
        if (body >= 0 && MessageDataOffset + body > length)
        {
            error = WireError.BadLength;
            return false;
        }
        error = WireError.None;
        return true;
    }

    /// <summary>Length of the fixed fields before the options for the types we know, else -1.</summary>
    public static int FixedBodyLength(MobilityHeaderType type) => type switch
    {
        MobilityHeaderType.BindingUpdate => BindingUpdateBodyLength,
        MobilityHeaderType.BindingAcknowledgement => BindingAcknowledgementBodyLength,
        MobilityHeaderType.Heartbeat => HeartbeatBodyLength,
        MobilityHeaderType.LocalizedRoutingInitiation => LocalizedRoutingInitiationBodyLength,
        MobilityHeaderType.LocalizedRoutingAcknowledgement => LocalizedRoutingAcknowledgementBodyLength,
        MobilityHeaderType.HandoverInitiate => HandoverBodyLength,
        MobilityHeaderType.HandoverAcknowledge => HandoverBodyLength,
        _ => -1,
    };

    public Span<byte> Buffer => _buffer;
    public IpProtocol PayloadProto => (IpProtocol)_buffer[PayloadProtoOffset];
    public int Length => _buffer.Length;
    public MobilityHeaderType Type => (MobilityHeaderType)_buffer[TypeOffset];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2));

    /// <summary>Everything after the checksum: the fixed body and the options.</summary>
    public Span<byte> MessageData => _buffer[MessageDataOffset..];

    /// <summary>The checksum covers the IPv6 pseudo-header with next header 135 (RFC 6275 §6.1.1).</summary>
    public bool IsChecksumValid(Ipv6Address source, Ipv6Address destination) =>
        InternetChecksum.Verify(_buffer, InternetChecksum.PseudoHeader(source, destination, (uint)_buffer.Length, (byte)IpProtocol.Mobility));

    public void FillChecksum(Ipv6Address source, Ipv6Address destination) => FillChecksum(_buffer, source, destination);

    internal static void FillChecksum(Span<byte> mh, Ipv6Address source, Ipv6Address destination)
    {
        var field = mh.Slice(ChecksumOffset, 2);
        BinaryPrimitives.WriteUInt16BigEndian(field, 0);
        uint pseudo = InternetChecksum.PseudoHeader(source, destination, (uint)mh.Length, (byte)IpProtocol.Mobility);
        BinaryPrimitives.WriteUInt16BigEndian(field, InternetChecksum.Finish(InternetChecksum.Sum(mh, pseudo)));
    }
}
