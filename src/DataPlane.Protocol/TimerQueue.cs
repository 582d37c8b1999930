namespace DataPlane.Protocol;

/// <summary>
/// One timer per target object (a session, a binding, a heartbeat peer), kept in a binary heap.
/// Re-arming or cancelling does not search the heap: the target's current (due, generation) lives in
/// a dictionary and heap entries whose generation no longer matches are stale and skipped when they
/// surface (lazy deletion). So that stale entries cannot pile up when timers are re-armed far more
/// often than they fire, the heap is rebuilt from the live set once stale entries outnumber live ones.
/// Ties on the due time are broken by arming order, which keeps runs reproducible.
/// </summary>
public sealed class TimerQueue<T> where T : class
{
    private readonly Dictionary<T, Armed> _armed = new(ReferenceEqualityComparer.Instance);
    private readonly PriorityQueue<T, Key> _heap = new();
    private long _generation;

    private readonly record struct Armed(Instant Due, long Generation);

    private readonly record struct Key(Instant Due, long Generation) : IComparable<Key>
    {
        public int CompareTo(Key other)
        {
            int c = Due.CompareTo(other.Due);
            return c != 0 ? c : Generation.CompareTo(other.Generation);
        }
    }

    /// <summary>Timers armed now (one per target at most).</summary>
    public int Count => _armed.Count;

    /// <summary>Heap entries including stale ones; bounded by about twice <see cref="Count"/>.</summary>
    public int HeapEntries => _heap.Count;

    public bool IsArmed(T target) => _armed.ContainsKey(target);

    public Instant? DueOf(T target) => _armed.TryGetValue(target, out var a) ? a.Due : null;

    /// <summary>Arm (or re-arm) the target's timer. Setting the same due time again is free.</summary>
    public void Set(T target, Instant due)
    {
        if (_armed.TryGetValue(target, out var current) && current.Due == due) return;
        long generation = ++_generation;
        _armed[target] = new Armed(due, generation);
        _heap.Enqueue(target, new Key(due, generation));
        CompactIfMostlyStale();
    }

    /// <summary>Arm when <paramref name="due"/> has a value, cancel when it is null.</summary>
    public void SetOrCancel(T target, Instant? due)
    {
        if (due is { } d) Set(target, d);
        else Cancel(target);
    }

    public void Cancel(T target)
    {
        if (_armed.Remove(target)) CompactIfMostlyStale();
    }

    /// <summary>The earliest live due time, or null when nothing is armed.</summary>
    public Instant? NextDue
    {
        get
        {
            DropStaleHead();
            return _heap.TryPeek(out _, out var key) ? key.Due : null;
        }
    }

    /// <summary>Remove and return a target whose timer is due at <paramref name="now"/>; its timer is disarmed.</summary>
    public bool TryDequeueDue(Instant now, out T target)
    {
        DropStaleHead();
        if (_heap.TryPeek(out var t, out var key) && key.Due <= now)
        {
            _heap.Dequeue();
            _armed.Remove(t);
            CompactIfMostlyStale();
            target = t;
            return true;
        }
        target = null!;
        return false;
    }

    public void Clear()
    {
        _armed.Clear();
        _heap.Clear();
    }

    private void DropStaleHead()
    {
        while (_heap.TryPeek(out var t, out var key) && !IsLive(t, key)) _heap.Dequeue();
    }

    private bool IsLive(T target, Key key) => _armed.TryGetValue(target, out var a) && a.Generation == key.Generation;

    private void CompactIfMostlyStale()
    {
        if (_heap.Count <= 64 || _heap.Count <= 2 * _armed.Count) return;
        _heap.Clear();
        foreach (var (target, armed) in _armed) _heap.Enqueue(target, new Key(armed.Due, armed.Generation));
    }
}
