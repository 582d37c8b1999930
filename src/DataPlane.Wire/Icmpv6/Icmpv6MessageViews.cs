using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over one of the four RFC 4443 error messages: header(4) parameter(4) invoking packet.
/// The parameter word is the MTU of a Packet Too Big (§3.2), the pointer of a Parameter Problem (§3.4)
/// and unused (zero) in Destination Unreachable (§3.1) and Time Exceeded (§3.3). The invoking packet is
/// as much of the offending IPv6 packet as fitted, so it is usually truncated.
/// </summary>
public readonly ref struct Icmpv6ErrorView
{
    public const int ParameterOffset = 4;
    public const int InvokingPacketOffset = 8;

    /// <summary>
    /// The most of the invoking packet an error message may carry: 1280 − 40 (IPv6 header) − 8, so the
    /// whole error packet fits the minimum MTU (RFC 4443 §2.4(c)). Assumes no extension headers on the
    /// error packet itself, which is how this switch sends them.
    /// </summary>
    public const int MaxInvokingPacketLength = Icmpv6Packet.MinimumMtu - Ipv6Packet.HeaderLength - InvokingPacketOffset;

    private readonly Span<byte> _buffer;

    private Icmpv6ErrorView(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out Icmpv6ErrorView view, out WireError error)
    {
        view = default;
        if (!TryValidate(buffer, out error)) return false;
        view = new Icmpv6ErrorView(buffer);
        return true;
    }

    /// <summary>The message must be Destination Unreachable, Packet Too Big, Time Exceeded or Parameter Problem.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error)
    {
        if (!Icmpv6Packet.TryValidate(buffer, out error)) return false;
        if (!IsKnownErrorType((Icmpv6Type)buffer[Icmpv6Packet.TypeOffset]))
        {
            error = WireError.UnknownType;
            return false;
        }
        return true;
    }

    /// <summary>The error types whose parameter word and invoking packet this view knows.</summary>
    public static bool IsKnownErrorType(Icmpv6Type type) =>
        type is Icmpv6Type.DestinationUnreachable or Icmpv6Type.PacketTooBig or Icmpv6Type.TimeExceeded or Icmpv6Type.ParameterProblem;

    /// <summary>How much of an invoking packet of <paramref name="length"/> bytes an error message carries.</summary>
    public static int TruncatedInvokingPacketLength(int length) => Math.Min(length, MaxInvokingPacketLength);

    public Span<byte> Buffer => _buffer;
    public Icmpv6Packet Packet => new(_buffer);
    public Icmpv6Type Type => (Icmpv6Type)_buffer[Icmpv6Packet.TypeOffset];
    public byte Code => _buffer[Icmpv6Packet.CodeOffset];

    /// <summary>The raw parameter word (see <see cref="Mtu"/> and <see cref="Pointer"/>).</summary>
    public uint Parameter => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(ParameterOffset, 4));

    /// <summary>Packet Too Big: the MTU of the next-hop link. Meaningless for the other types.</summary>
    public uint Mtu => Parameter;

    /// <summary>Parameter Problem: the offset in the invoking packet where the error was found. Meaningless for the other types.</summary>
    public uint Pointer => Parameter;

    /// <summary>The (possibly truncated) packet that caused the error, starting at its IPv6 header.</summary>
    public Span<byte> InvokingPacket => _buffer[InvokingPacketOffset..];
}

/// <summary>A view over an Echo Request or Echo Reply (RFC 4443 §4.1, §4.2): header(4) identifier(2) sequence(2) data.</summary>
public readonly ref struct EchoView
{
    public const int IdentifierOffset = 4;
    public const int SequenceNumberOffset = 6;
    public const int DataOffset = 8;

    private readonly Span<byte> _buffer;

    private EchoView(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out EchoView view, out WireError error)
    {
        view = default;
        if (!TryValidate(buffer, out error)) return false;
        view = new EchoView(buffer);
        return true;
    }

    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error)
    {
        if (!Icmpv6Packet.TryValidate(buffer, out error)) return false;
        if ((Icmpv6Type)buffer[Icmpv6Packet.TypeOffset] is not (Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply))
        {
            error = WireError.UnknownType;
            return false;
        }
        return true;
    }

    public Span<byte> Buffer => _buffer;
    public Icmpv6Packet Packet => new(_buffer);
    public Icmpv6Type Type => (Icmpv6Type)_buffer[Icmpv6Packet.TypeOffset];
    public bool IsRequest => Type == Icmpv6Type.EchoRequest;
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(IdentifierOffset, 2));
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(SequenceNumberOffset, 2));
    public Span<byte> Data => _buffer[DataOffset..];
}
