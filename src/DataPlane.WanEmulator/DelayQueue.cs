namespace DataPlane.WanEmulator;

/// <summary>
/// Frames waiting to leave, ordered by departure time and, for equal times, by arrival (a binary heap
/// keyed by (departure, sequence)), so equal departures — every frame at 0 ms delay, or a burst
/// clamped by order preservation — leave exactly in arrival order. Allocation-free once grown.
/// </summary>
public sealed class DelayQueue<T>
{
    private struct Entry
    {
        public long Departure;
        public long Sequence;
        public T Item;
    }

    private Entry[] _heap;
    private int _count;
    private long _sequence;

    public DelayQueue(int initialCapacity = 1024) => _heap = new Entry[Math.Max(4, initialCapacity)];

    public int Count => _count;

    /// <summary>The earliest departure, or <see cref="long.MaxValue"/> when empty.</summary>
    public long NextDeparture => _count == 0 ? long.MaxValue : _heap[0].Departure;

    public void Enqueue(long departure, T item)
    {
        if (_count == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
        var e = new Entry { Departure = departure, Sequence = _sequence++, Item = item };
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(e, _heap[parent])) break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = e;
    }

    /// <summary>The earliest frame if its departure is at or before <paramref name="nowNs"/>.</summary>
    public bool TryDequeueDue(long nowNs, out T item, out long departure)
    {
        if (_count == 0 || _heap[0].Departure > nowNs)
        {
            item = default!;
            departure = 0;
            return false;
        }
        item = _heap[0].Item;
        departure = _heap[0].Departure;
        RemoveTop();
        return true;
    }

    /// <summary>Look at the earliest frame without removing it.</summary>
    public bool TryPeek(out T item, out long departure)
    {
        if (_count == 0)
        {
            item = default!;
            departure = 0;
            return false;
        }
        item = _heap[0].Item;
        departure = _heap[0].Departure;
        return true;
    }

    private void RemoveTop()
    {
        var last = _heap[--_count];
        _heap[_count] = default;
        if (_count == 0) return;
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && Less(_heap[child + 1], _heap[child])) child++;
            if (!Less(_heap[child], last)) break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = last;
    }

    private static bool Less(in Entry a, in Entry b) =>
        a.Departure < b.Departure || (a.Departure == b.Departure && a.Sequence < b.Sequence);
}
