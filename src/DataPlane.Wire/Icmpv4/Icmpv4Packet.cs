using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over an ICMP message carried in IPv4 (RFC 792): type(1) code(1) checksum(2) rest-of-header(4)
/// data. The checksum covers the message alone (no pseudo-header, unlike ICMPv6). Error messages quote
/// the invoking packet's IP header and the start of its data; <see cref="WriteError"/> writes one.
/// </summary>
public readonly ref struct Icmpv4Packet
{
    public const int HeaderLength = 8;
    public const int TypeOffset = 0;
    public const int CodeOffset = 1;
    public const int ChecksumOffset = 2;
    /// <summary>The 32-bit word after the checksum: unused in most errors, the next-hop MTU's 16 bits in Fragmentation Needed (RFC 1191 §4).</summary>
    public const int RestOfHeaderOffset = 4;
    private const int NextHopMtuOffset = 6;

    /// <summary>
    /// RFC 1812 §4.3.2.3: an error quotes as much of the invoking datagram as fits without the whole ICMP
    /// packet (IP header included) exceeding 576 bytes.
    /// </summary>
    public const int MaxErrorDatagramLength = 576;

    private readonly Span<byte> _buffer;

    private Icmpv4Packet(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out Icmpv4Packet packet, out WireError error)
    {
        packet = default;
        if (!TryValidate(buffer, out error)) return false;
        packet = new Icmpv4Packet(buffer);
        return true;
    }

    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error)
    {
        error = buffer.Length < HeaderLength ? WireError.Truncated : WireError.None;
        return error == WireError.None;
    }

    public Icmpv4Type Type => (Icmpv4Type)_buffer[TypeOffset];
    public byte Code => _buffer[CodeOffset];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2));
    /// <summary>For Fragmentation Needed: the MTU of the next hop (RFC 1191).</summary>
    public ushort NextHopMtu => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(NextHopMtuOffset, 2));
    public Span<byte> Data => _buffer[HeaderLength..];
    public bool IsChecksumValid => InternetChecksum.Verify(_buffer);
    public bool IsError => IsErrorType(Type);

    /// <summary>The error types (RFC 1812 §4.3.2.7 forbids answering them with another error).</summary>
    public static bool IsErrorType(Icmpv4Type type) => type is Icmpv4Type.DestinationUnreachable or Icmpv4Type.TimeExceeded
        or Icmpv4Type.ParameterProblem or Icmpv4Type.Redirect || (byte)type == 4 /* source quench */;

    /// <summary>
    /// Write an error message about <paramref name="invokingPacket"/> (an IPv4 packet, header first),
    /// quoting as much of it as keeps the whole IP packet within <see cref="MaxErrorDatagramLength"/>;
    /// returns the ICMP length. <paramref name="restOfHeader"/> is the 32-bit word after the checksum
    /// (the next-hop MTU in its low 16 bits for Fragmentation Needed). Must not overlap the invoking packet.
    /// </summary>
    public static int WriteError(Span<byte> destination, Icmpv4Type type, byte code, uint restOfHeader, ReadOnlySpan<byte> invokingPacket)
    {
        int quote = Math.Min(invokingPacket.Length, MaxErrorDatagramLength - Ipv4Packet.MinHeaderLength - HeaderLength);
        var d = destination[..(HeaderLength + quote)];
        d[TypeOffset] = (byte)type;
        d[CodeOffset] = code;
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(d[RestOfHeaderOffset..], restOfHeader);
        invokingPacket[..quote].CopyTo(d[HeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], InternetChecksum.Compute(d));
        return d.Length;
    }

    /// <summary>Fragmentation Needed and DF set (type 3 code 4) advertising <paramref name="nextHopMtu"/> (RFC 1191 §4).</summary>
    public static int WriteFragmentationNeeded(Span<byte> destination, ushort nextHopMtu, ReadOnlySpan<byte> invokingPacket) =>
        WriteError(destination, Icmpv4Type.DestinationUnreachable, (byte)Icmpv4DestinationUnreachableCode.FragmentationNeeded, nextHopMtu, invokingPacket);

    /// <summary>Time Exceeded, TTL exceeded in transit (type 11 code 0).</summary>
    public static int WriteTimeExceeded(Span<byte> destination, ReadOnlySpan<byte> invokingPacket) =>
        WriteError(destination, Icmpv4Type.TimeExceeded, (byte)Icmpv4TimeExceededCode.TimeToLiveExceededInTransit, 0, invokingPacket);

    /// <summary>An Echo Request or Reply (type 8 / 0) with identifier, sequence number and data; returns its length.</summary>
    public static int WriteEcho(Span<byte> destination, Icmpv4Type type, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        var d = destination[..(HeaderLength + data.Length)];
        d[TypeOffset] = (byte)type;
        d[CodeOffset] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(d[RestOfHeaderOffset..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(d[(RestOfHeaderOffset + 2)..], sequence);
        data.CopyTo(d[HeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], InternetChecksum.Compute(d));
        return d.Length;
    }
}
