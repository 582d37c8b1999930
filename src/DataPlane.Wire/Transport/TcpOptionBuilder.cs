using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// Writes TCP options into a caller's buffer (the bytes after the 20-byte fixed header) without
/// allocating, in the order they are added; <see cref="Finish"/> pads with End of Option List to a
/// multiple of 4. More than 40 bytes of options, or a buffer too small, is a programming error and throws.
/// </summary>
public ref struct TcpOptionBuilder
{
    private readonly Span<byte> _buffer;
    private int _position;

    public TcpOptionBuilder(Span<byte> options)
    {
        _buffer = options;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    public void AddNoOperation() => _buffer[Take(1)] = (byte)TcpOptionKind.NoOperation;

    public void AddMaximumSegmentSize(ushort mss) =>
        BinaryPrimitives.WriteUInt16BigEndian(Begin(TcpOptionKind.MaximumSegmentSize, TcpOptionLayout.MaximumSegmentSizeLength), mss);

    public void AddWindowScale(byte shift) => Begin(TcpOptionKind.WindowScale, TcpOptionLayout.WindowScaleLength)[0] = shift;

    public void AddSackPermitted() => Begin(TcpOptionKind.SackPermitted, TcpOptionLayout.SackPermittedLength);

    public void AddTimestamps(uint value, uint echoReply)
    {
        var d = Begin(TcpOptionKind.Timestamps, TcpOptionLayout.TimestampsLength);
        BinaryPrimitives.WriteUInt32BigEndian(d, value);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], echoReply);
    }

    /// <summary>Pad with End of Option List (zero) bytes to a multiple of 4; returns the options length.</summary>
    public int Finish()
    {
        int padded = (_position + 3) & ~3;
        if (padded > TcpSegment.MaxHeaderLength - TcpSegment.MinHeaderLength)
            throw new InvalidOperationException($"{padded} bytes of TCP options exceed the 40 a header can hold");
        _buffer[_position..padded].Clear();
        _position = padded;
        return padded;
    }

    /// <summary>Write kind and length; returns the data bytes to fill.</summary>
    private Span<byte> Begin(TcpOptionKind kind, int length)
    {
        int at = Take(length);
        _buffer[at] = (byte)kind;
        _buffer[at + 1] = (byte)length;
        return _buffer.Slice(at + TcpOptionLayout.OptionHeaderLength, length - TcpOptionLayout.OptionHeaderLength);
    }

    private int Take(int length)
    {
        int at = _position;
        if (at + length > TcpSegment.MaxHeaderLength - TcpSegment.MinHeaderLength)
            throw new InvalidOperationException("TCP options exceed the 40 bytes a header can hold");
        _ = _buffer.Slice(at, length); // bounds check before writing anything
        _position = at + length;
        return at;
    }
}
