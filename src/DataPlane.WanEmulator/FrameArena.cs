namespace DataPlane.WanEmulator;

/// <summary>
/// Bookkeeping for a ring buffer of frame bytes (the memory itself belongs to the caller): frames are
/// placed one after the other and wrap at the end; space is reclaimed in allocation order, so a frame
/// freed out of order (a reordering link) waits until every older frame has been freed. A frame never
/// straddles the end of the ring. Sans-I/O, allocation-free once the record ring has grown.
/// </summary>
public sealed class FrameArena
{
    private struct Record
    {
        public int Offset;
        public int Length;
        public bool Freed;
    }

    private Record[] _records;
    private long _first;     // sequence number of the oldest live record
    private long _next;      // sequence number of the next allocation
    private int _head;       // where the next frame is written
    private int _tail;       // start of the oldest live frame

    public FrameArena(int capacityBytes, int initialRecords = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, 1);
        Capacity = capacityBytes;
        _records = new Record[Math.Max(4, initialRecords)];
    }

    public int Capacity { get; }

    /// <summary>Frames allocated and not yet reclaimed (freed frames still waiting behind an older one count).</summary>
    public int Count => (int)(_next - _first);

    /// <summary>Bytes between the oldest live frame and the write position (what the ring holds now).</summary>
    public long BytesInUse { get; private set; }

    /// <summary>
    /// Reserve <paramref name="length"/> bytes; returns a handle (for <see cref="Free"/>) and the offset
    /// into the caller's memory, or false when the ring has no room.
    /// </summary>
    public bool TryAllocate(int length, out long handle, out int offset)
    {
        handle = -1;
        offset = -1;
        if (length <= 0 || length > Capacity) return false;
        if (Count == 0)
        {
            _head = _tail = 0;
        }
        int at;
        if (Count == 0 || _head > _tail)
        {
            // Live data is [tail, head): room at [head, Capacity), else wrap to [0, tail).
            if (length <= Capacity - _head) at = _head;
            else if (length <= _tail) at = 0;
            else return false;
        }
        else
        {
            // Wrapped: live data is [tail, end) and [0, head); room only in [head, tail).
            if (length <= _tail - _head) at = _head;
            else return false;
        }
        if (Count == _records.Length) Grow();
        handle = _next++;
        ref var r = ref _records[handle % _records.Length];
        r.Offset = at;
        r.Length = length;
        r.Freed = false;
        _head = at + length;
        offset = at;
        BytesInUse += length;
        return true;
    }

    /// <summary>Release a frame's bytes (after it was sent or dropped).</summary>
    public void Free(long handle)
    {
        if (handle < _first || handle >= _next) throw new ArgumentOutOfRangeException(nameof(handle), handle, "not a live frame");
        ref var r = ref _records[handle % _records.Length];
        if (r.Freed) throw new InvalidOperationException($"frame {handle} freed twice");
        r.Freed = true;
        while (_first < _next && _records[_first % _records.Length].Freed)
        {
            BytesInUse -= _records[_first % _records.Length].Length;
            _first++;
        }
        if (_first == _next)
        {
            _head = _tail = 0;
            BytesInUse = 0;
        }
        else
        {
            _tail = _records[_first % _records.Length].Offset;
        }
    }

    private void Grow()
    {
        var bigger = new Record[_records.Length * 2];
        for (long s = _first; s < _next; s++) bigger[s % bigger.Length] = _records[s % _records.Length];
        _records = bigger;
    }
}
