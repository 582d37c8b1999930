using System.Buffers.Binary;

namespace DataPlane.Host.Capture;

/// <summary>Which way a captured frame went, seen from the switch.</summary>
public enum CaptureDirection : byte
{
    /// <summary>Received: from the VM on an access port, from the peer on the uplink or home network.</summary>
    Rx = 0,
    /// <summary>Sent: to the VM on an access port, to the peer on the uplink or home network.</summary>
    Tx = 1,
}

/// <summary>
/// The bounded buffer between the packet loop (one producer) and a capture's writer (one consumer): records
/// <c>[length][direction][timestamp][bytes]</c> in one pre-allocated byte array, published with volatile
/// head/tail positions, no locks. The loop never waits: a record that does not fit is dropped and counted,
/// so a slow reader costs frames in its capture, never latency or memory in the switch.
/// </summary>
public sealed class CaptureRing
{
    private const int HeaderLength = 16;
    private const int SkipMarker = -1;

    private readonly byte[] _buffer;
    private readonly int _mask;
    private long _head;
    private long _tail;
    private long _pendingTail;
    private long _written;
    private long _dropped;

    /// <param name="capacity">Bytes; rounded up to a power of two (at least 64 KiB).</param>
    public CaptureRing(int capacity)
    {
        int size = 1 << 16;
        while (size < capacity && size < (1 << 30)) size <<= 1;
        _buffer = new byte[size];
        _mask = size - 1;
    }

    public int Capacity => _buffer.Length;

    /// <summary>Records accepted (producer's count; read elsewhere as an estimate).</summary>
    public long Written => Volatile.Read(ref _written);

    /// <summary>Records dropped because the ring was full.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Producer (the packet loop): append <paramref name="first"/> then <paramref name="second"/> as one record, or drop it.</summary>
    public bool TryWrite(long unixMicros, CaptureDirection direction, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second = default)
    {
        int length = first.Length + second.Length;
        int total = Align(HeaderLength + length);
        long head = _head;
        long tail = Volatile.Read(ref _tail);
        int position = (int)(head & _mask);
        int toEnd = _buffer.Length - position;
        long needed = toEnd < total ? toEnd + total : total;
        if (total > _buffer.Length / 2 || _buffer.Length - (head - tail) < needed)
        {
            Volatile.Write(ref _dropped, _dropped + 1);
            return false;
        }
        if (toEnd < total)
        {
            // Not enough room before the end: mark the rest as skipped and start over at 0 (toEnd is a multiple of 8).
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(position), SkipMarker);
            head += toEnd;
            position = 0;
        }
        var record = _buffer.AsSpan(position, total);
        BinaryPrimitives.WriteInt32LittleEndian(record, length);
        record[4] = (byte)direction;
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], unixMicros);
        first.CopyTo(record[HeaderLength..]);
        second.CopyTo(record[(HeaderLength + first.Length)..]);
        Volatile.Write(ref _head, head + total);
        Volatile.Write(ref _written, _written + 1);
        return true;
    }

    /// <summary>
    /// Consumer: the oldest record, if any. Its bytes stay valid until <see cref="Release"/>, which must be
    /// called before the next read.
    /// </summary>
    public bool TryRead(out CaptureRecord record)
    {
        long tail = _tail;
        long head = Volatile.Read(ref _head);
        record = default;
        if (tail == head) return false;
        int position = (int)(tail & _mask);
        int length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(position));
        if (length == SkipMarker)
        {
            tail += _buffer.Length - position;
            position = 0;
            length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(0));
        }
        var direction = (CaptureDirection)_buffer[position + 4];
        long micros = BinaryPrimitives.ReadInt64LittleEndian(_buffer.AsSpan(position + 8));
        record = new CaptureRecord(micros, direction, new ArraySegment<byte>(_buffer, position + HeaderLength, length));
        _pendingTail = tail + Align(HeaderLength + length);
        return true;
    }

    /// <summary>Consumer: the record returned by the last <see cref="TryRead"/> is done with; its room goes back to the producer.</summary>
    public void Release() => Volatile.Write(ref _tail, _pendingTail);

    private static int Align(int n) => (n + 7) & ~7;
}

/// <summary>One captured frame: when (µs since the Unix epoch), which way, and its bytes (inside the ring until released).</summary>
public readonly record struct CaptureRecord(long UnixMicros, CaptureDirection Direction, ArraySegment<byte> Data);
