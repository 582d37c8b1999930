using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over an ICMPv6 message (RFC 4443 §2.1): type(1) code(1) checksum(2) message body.
/// ICMPv6 has no length field of its own: the message is the whole upper-layer payload the IPv6
/// header declares, so pass exactly that (e.g. from <see cref="Ipv6HeaderChain"/>). The checked
/// constructor guarantees the 4-byte header plus the fixed part of every message type listed in
/// <see cref="FixedBodyLength"/>; the typed views (<see cref="RouterAdvertisementView"/> and the rest)
/// rely on that guarantee.
/// </summary>
public readonly ref struct Icmpv6Packet
{
    public const int TypeOffset = 0;
    public const int CodeOffset = 1;
    public const int ChecksumOffset = 2;
    /// <summary>Start of the message body (the type-specific fields, then options or data).</summary>
    public const int MessageBodyOffset = 4;
    public const int HeaderLength = 4;

    /// <summary>
    /// The IPv6 minimum link MTU (RFC 8200 §5). An error message must not make its IPv6 packet
    /// exceed it (RFC 4443 §2.4(c)).
    /// </summary>
    public const int MinimumMtu = 1280;

    // Fixed message body lengths (after the 4-byte header) of the types we know.
    /// <summary>Unused/MTU/pointer word of the error messages; identifier and sequence of Echo.</summary>
    public const int ErrorBodyLength = 4;
    public const int EchoBodyLength = 4;
    /// <summary>MLDv1 (RFC 2710 §3): maximum response delay(2) reserved(2) multicast address(16). MLDv2 queries are longer.</summary>
    public const int MulticastListenerBodyLength = 20;
    /// <summary>MLDv2 report (RFC 3810 §5.2): reserved(2) number of records(2).</summary>
    public const int Version2MulticastListenerReportBodyLength = 4;
    public const int RouterSolicitationBodyLength = 4;
    public const int RouterAdvertisementBodyLength = 12;
    public const int NeighborSolicitationBodyLength = 20;
    public const int NeighborAdvertisementBodyLength = 20;
    public const int RedirectBodyLength = 36;

    private readonly Span<byte> _buffer;

    internal Icmpv6Packet(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out Icmpv6Packet packet, out WireError error)
    {
        packet = default;
        if (!TryValidate(buffer, out error)) return false;
        packet = new Icmpv6Packet(buffer);
        return true;
    }

    /// <summary>As <see cref="TryCreate(Span{byte}, out Icmpv6Packet, out WireError)"/>, and the checksum must verify.</summary>
    public static bool TryCreate(Span<byte> buffer, Ipv6Address source, Ipv6Address destination, out Icmpv6Packet packet, out WireError error)
    {
        packet = default;
        if (!TryValidate(buffer, out error)) return false;
        if (!IsChecksumValid(buffer, source, destination))
        {
            error = WireError.BadChecksum;
            return false;
        }
        packet = new Icmpv6Packet(buffer);
        return true;
    }

    /// <summary>The validation <see cref="TryCreate(Span{byte}, out Icmpv6Packet, out WireError)"/> does, usable on read-only input.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error)
    {
        if (buffer.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }
        int body = FixedBodyLength((Icmpv6Type)buffer[TypeOffset]);
        if (body > 0 && HeaderLength + body > buffer.Length)
        {
            error = WireError.Truncated;
            return false;
        }
        error = WireError.None;
        return true;
    }

    /// <summary>
    /// <see cref="TryValidate(ReadOnlySpan{byte}, out WireError)"/>, and the type must be
    /// <paramref name="expected"/>: another type is <see cref="WireError.UnknownType"/> to a parser of
    /// this one.
    /// </summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, Icmpv6Type expected, out WireError error)
    {
        if (!TryValidate(buffer, out error)) return false;
        if ((Icmpv6Type)buffer[TypeOffset] != expected)
        {
            error = WireError.UnknownType;
            return false;
        }
        return true;
    }

    /// <summary>Length of the fixed body after the 4-byte header for the types we know, else -1.</summary>
    public static int FixedBodyLength(Icmpv6Type type) => type switch
    {
        Icmpv6Type.DestinationUnreachable or Icmpv6Type.PacketTooBig
            or Icmpv6Type.TimeExceeded or Icmpv6Type.ParameterProblem => ErrorBodyLength,
        Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply => EchoBodyLength,
        Icmpv6Type.MulticastListenerQuery or Icmpv6Type.MulticastListenerReport
            or Icmpv6Type.MulticastListenerDone => MulticastListenerBodyLength,
        Icmpv6Type.Version2MulticastListenerReport => Version2MulticastListenerReportBodyLength,
        Icmpv6Type.RouterSolicitation => RouterSolicitationBodyLength,
        Icmpv6Type.RouterAdvertisement => RouterAdvertisementBodyLength,
        Icmpv6Type.NeighborSolicitation => NeighborSolicitationBodyLength,
        Icmpv6Type.NeighborAdvertisement => NeighborAdvertisementBodyLength,
        Icmpv6Type.Redirect => RedirectBodyLength,
        _ => -1,
    };

    /// <summary>The whole message.</summary>
    public Span<byte> Buffer => _buffer;
    public int Length => _buffer.Length;
    public Icmpv6Type Type => (Icmpv6Type)_buffer[TypeOffset];
    public byte Code => _buffer[CodeOffset];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2));

    /// <summary>Everything after the checksum.</summary>
    public Span<byte> MessageBody => _buffer[MessageBodyOffset..];

    /// <summary>Error messages have the high-order bit of the type clear (RFC 4443 §2.1).</summary>
    public bool IsError => IsErrorType(Type);

    public static bool IsErrorType(Icmpv6Type type) => (byte)type < 128;

    /// <summary>The checksum covers the IPv6 pseudo-header with next header 58 (RFC 4443 §2.3).</summary>
    public bool IsChecksumValid(Ipv6Address source, Ipv6Address destination) => IsChecksumValid(_buffer, source, destination);

    /// <summary>Checksum check on read-only input (the whole ICMPv6 message).</summary>
    public static bool IsChecksumValid(ReadOnlySpan<byte> message, Ipv6Address source, Ipv6Address destination) =>
        message.Length >= HeaderLength
        && InternetChecksum.Verify(message, InternetChecksum.PseudoHeader(source, destination, (uint)message.Length, (byte)IpProtocol.Icmpv6));

    public void FillChecksum(Ipv6Address source, Ipv6Address destination) => FillChecksum(_buffer, source, destination);

    internal static void FillChecksum(Span<byte> message, Ipv6Address source, Ipv6Address destination)
    {
        var field = message.Slice(ChecksumOffset, 2);
        BinaryPrimitives.WriteUInt16BigEndian(field, 0);
        uint pseudo = InternetChecksum.PseudoHeader(source, destination, (uint)message.Length, (byte)IpProtocol.Icmpv6);
        BinaryPrimitives.WriteUInt16BigEndian(field, InternetChecksum.Finish(InternetChecksum.Sum(message, pseudo)));
    }
}
