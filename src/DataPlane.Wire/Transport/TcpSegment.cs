using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over a TCP segment (RFC 9293 §3.1): source port(2) destination port(2) sequence(4)
/// acknowledgment(4) data offset(4 bits) reserved(4 bits) control bits(1) window(2) checksum(2)
/// urgent pointer(2) options(data offset × 4 − 20) data.
/// </summary>
/// <remarks>
/// TCP carries no length of its own: the segment is whatever the IP layer says, so create the view
/// over exactly the IP payload (the IPv4/IPv6 views are already cut to their length fields). The
/// checked constructor guarantees a data offset between 20 and 60 bytes that fits the buffer; the
/// options are checked when read (<see cref="TcpOptionReader"/>), so a bad option never makes an
/// accessor throw, it makes the typed look-ups return false.
/// <para>
/// Every header field has a setter so that a userspace segmenter (TSO/GSO done before IPv6-in-IPv6
/// encapsulation, as Open vSwitch's <c>dp-packet-gso.c</c> does) can copy the header per segment,
/// set <see cref="SequenceNumber"/> and <see cref="Flags"/> (see <see cref="FlagsForSegment"/>) and
/// call <see cref="FillChecksum(uint)"/> with the new pseudo-header sum.
/// </para>
/// </remarks>
public readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;
    public const int MaxHeaderLength = 60;

    private const int SourcePortOffset = 0;
    private const int DestinationPortOffset = 2;
    private const int SequenceNumberOffset = 4;
    private const int AcknowledgmentNumberOffset = 8;
    private const int DataOffsetOffset = 12;
    private const int FlagsOffset = 13;
    private const int WindowOffset = 14;
    private const int ChecksumOffset = 16;
    private const int UrgentPointerOffset = 18;
    /// <summary>Options start right after the fixed header.</summary>
    public const int OptionsOffset = MinHeaderLength;

    private readonly Span<byte> _buffer;

    private TcpSegment(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out TcpSegment segment, out WireError error)
    {
        segment = default;
        if (!TryValidate(buffer, out _, out error)) return false;
        segment = new TcpSegment(buffer);
        return true;
    }

    /// <summary>
    /// The validation <see cref="TryCreate"/> does, usable on read-only input; <paramref name="headerLength"/>
    /// is the data offset in bytes.
    /// </summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, out int headerLength, out WireError error)
    {
        headerLength = 0;
        if (buffer.Length < MinHeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }
        int declared = (buffer[DataOffsetOffset] >> 4) * 4;
        if (declared < MinHeaderLength)
        {
            error = WireError.BadLength;
            return false;
        }
        if (declared > buffer.Length)
        {
            error = WireError.Truncated;
            return false;
        }
        headerLength = declared;
        error = WireError.None;
        return true;
    }

    /// <summary>The whole segment: header, options and data.</summary>
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

    public uint SequenceNumber
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(SequenceNumberOffset, 4));
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(SequenceNumberOffset, 4), value);
    }

    public uint AcknowledgmentNumber
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(AcknowledgmentNumberOffset, 4));
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(AcknowledgmentNumberOffset, 4), value);
    }

    /// <summary>The data offset in bytes (20 to 60): fixed header plus options.</summary>
    public int HeaderLength => (_buffer[DataOffsetOffset] >> 4) * 4;

    /// <summary>The control bits. Setting them leaves the data offset and reserved bits alone.</summary>
    public TcpFlags Flags
    {
        get => (TcpFlags)_buffer[FlagsOffset];
        set => _buffer[FlagsOffset] = (byte)value;
    }

    public ushort Window
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(WindowOffset, 2));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(WindowOffset, 2), value);
    }

    /// <summary>The raw checksum field. Setting it is for callers that patch it themselves (RFC 1624).</summary>
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(ChecksumOffset, 2), value);
    }

    public ushort UrgentPointer
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(UrgentPointerOffset, 2));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(UrgentPointerOffset, 2), value);
    }

    /// <summary>The options area (possibly empty); read it with <see cref="TcpOptionReader"/>.</summary>
    public Span<byte> Options => _buffer[OptionsOffset..HeaderLength];

    /// <summary>The segment's data after the header.</summary>
    public Span<byte> Payload => _buffer[HeaderLength..];

    public bool IsChecksumValid(Ipv6Address source, Ipv6Address destination) => IsChecksumValid(PseudoHeaderSum(source, destination));

    public bool IsChecksumValid(Ipv4Address source, Ipv4Address destination) => IsChecksumValid(PseudoHeaderSum(source, destination));

    /// <summary>Verify against a pseudo-header partial sum computed by the caller (e.g. once per batch).</summary>
    public bool IsChecksumValid(uint pseudoHeaderSum) => InternetChecksum.Verify(_buffer, pseudoHeaderSum);

    public void FillChecksum(Ipv6Address source, Ipv6Address destination) => FillChecksum(PseudoHeaderSum(source, destination));

    public void FillChecksum(Ipv4Address source, Ipv4Address destination) => FillChecksum(PseudoHeaderSum(source, destination));

    /// <summary>
    /// Compute the checksum over the whole segment with the given pseudo-header partial sum. Unlike
    /// UDP, TCP has no "no checksum" value, so a computed zero is written as zero.
    /// </summary>
    public void FillChecksum(uint pseudoHeaderSum)
    {
        var field = _buffer.Slice(ChecksumOffset, 2);
        BinaryPrimitives.WriteUInt16BigEndian(field, 0);
        BinaryPrimitives.WriteUInt16BigEndian(field, InternetChecksum.Finish(InternetChecksum.Sum(_buffer, pseudoHeaderSum)));
    }

    /// <summary>IPv6 pseudo-header partial sum for this segment (next header 6, length of the whole view).</summary>
    public uint PseudoHeaderSum(Ipv6Address source, Ipv6Address destination) =>
        InternetChecksum.PseudoHeader(source, destination, (uint)_buffer.Length, (byte)IpProtocol.Tcp);

    /// <summary>
    /// IPv4 pseudo-header partial sum for this segment (protocol 6, length of the whole view). The
    /// pseudo-header length is a 16-bit field, so a view over an oversized (not yet segmented) TSO
    /// frame gives a sum that is meaningless, as the on-wire checksum of such a frame is.
    /// </summary>
    public uint PseudoHeaderSum(Ipv4Address source, Ipv4Address destination) =>
        InternetChecksum.PseudoHeader(source, destination, (ushort)_buffer.Length, (byte)IpProtocol.Tcp);

    /// <summary>The MSS option's value; false when there is none or the options are malformed before it.</summary>
    public bool TryGetMss(out ushort mss)
    {
        mss = 0;
        if (!TcpOptionReader.TryFind(Options, TcpOptionKind.MaximumSegmentSize, out var data, out _)) return false;
        mss = BinaryPrimitives.ReadUInt16BigEndian(data);
        return true;
    }

    /// <summary>
    /// Overwrite the MSS option's value (MSS clamping for the tunnel MTU) and patch the checksum
    /// incrementally (RFC 1624), so the rest of the segment is not re-read. False when the segment has
    /// no MSS option. The checksum must be complete: on a frame whose checksum is still partial
    /// (offload), complete it first, or set the MSS and then compute it.
    /// </summary>
    public bool TrySetMss(ushort mss)
    {
        if (!TcpOptionReader.TryFind(Options, TcpOptionKind.MaximumSegmentSize, out _, out int optionOffset)) return false;
        int valueOffset = OptionsOffset + optionOffset + TcpOptionLayout.OptionHeaderLength;
        // The option may start at any byte (a single NOP before it makes the value odd-aligned), so
        // patch every 16-bit word of the segment the two value bytes touch: one word, or two.
        int first = valueOffset & ~1;
        int end = (valueOffset + 2 + 1) & ~1;
        ushort oldFirst = ReadWord(first);
        ushort oldSecond = end - first == 4 ? ReadWord(first + 2) : (ushort)0;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(valueOffset, 2), mss);
        ushort checksum = InternetChecksum.Update(Checksum, oldFirst, ReadWord(first));
        if (end - first == 4) checksum = InternetChecksum.Update(checksum, oldSecond, ReadWord(first + 2));
        Checksum = checksum;
        return true;
    }

    /// <summary>The window scale shift count; false when there is none or the options are malformed before it.</summary>
    public bool TryGetWindowScale(out byte shift)
    {
        shift = 0;
        if (!TcpOptionReader.TryFind(Options, TcpOptionKind.WindowScale, out var data, out _)) return false;
        shift = data[0];
        return true;
    }

    /// <summary>TSval and TSecr (RFC 7323 §3.2); false when absent or the options are malformed before it.</summary>
    public bool TryGetTimestamps(out uint value, out uint echoReply)
    {
        value = echoReply = 0;
        if (!TcpOptionReader.TryFind(Options, TcpOptionKind.Timestamps, out var data, out _)) return false;
        value = BinaryPrimitives.ReadUInt32BigEndian(data);
        echoReply = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        return true;
    }

    public bool IsSackPermitted => TcpOptionReader.TryFind(Options, TcpOptionKind.SackPermitted, out _, out _);

    /// <summary>
    /// The control bits for one piece of a segment split by a userspace segmenter, as Linux's
    /// <c>tcp_gso_segment</c> sets them: FIN and PSH only on the last piece (they mark the end of the
    /// data), CWR only on the first (the window was reduced once, not once per piece).
    /// </summary>
    public static TcpFlags FlagsForSegment(TcpFlags original, bool isFirst, bool isLast)
    {
        var flags = original;
        if (!isLast) flags &= ~(TcpFlags.Fin | TcpFlags.Psh);
        if (!isFirst) flags &= ~TcpFlags.Cwr;
        return flags;
    }

    /// <summary>
    /// Write the 20-byte fixed header with a zero checksum and a data offset covering
    /// <paramref name="optionsLength"/> bytes of options, which the caller writes at
    /// <see cref="OptionsOffset"/> (e.g. with <see cref="TcpOptionBuilder"/>) before or after this
    /// call; returns the header length. Options must be a multiple of 4 and at most 40 bytes.
    /// </summary>
    public static int WriteHeader(Span<byte> destination, ushort sourcePort, ushort destinationPort, uint sequenceNumber,
        uint acknowledgmentNumber, TcpFlags flags, ushort window, int optionsLength = 0, ushort urgentPointer = 0)
    {
        if (optionsLength < 0 || optionsLength > MaxHeaderLength - MinHeaderLength || optionsLength % 4 != 0)
            throw new ArgumentOutOfRangeException(nameof(optionsLength), optionsLength, "TCP options are 0 to 40 bytes in multiples of 4");
        int headerLength = MinHeaderLength + optionsLength;
        var d = destination[..MinHeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(d[SourcePortOffset..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(d[DestinationPortOffset..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(d[SequenceNumberOffset..], sequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(d[AcknowledgmentNumberOffset..], acknowledgmentNumber);
        d[DataOffsetOffset] = (byte)((headerLength / 4) << 4);
        d[FlagsOffset] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(d[WindowOffset..], window);
        BinaryPrimitives.WriteUInt16BigEndian(d[ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(d[UrgentPointerOffset..], urgentPointer);
        return headerLength;
    }

    private ushort ReadWord(int offset) => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(offset, 2));
}
