namespace DataPlane.Datapath;

/// <summary>
/// Pre-allocated output slots for the segments cut from GSO super-frames, each with its own headroom and
/// its own <see cref="Verdict"/>. Segments accumulate over a batch: a <see cref="VerdictKind.Segmented"/>
/// verdict names its range (<see cref="Verdict.FirstSegment"/>, <see cref="Verdict.SegmentCount"/>); the host
/// copies or sends them and calls <see cref="Clear"/> as soon as nothing refers to them any more (the daemons:
/// after every super-frame, so the pool only has to hold one).
/// Each segment's verdict offsets count from the start of its slot (<see cref="Buffer"/>).
/// </summary>
public sealed class SegmentPool
{
    private readonly byte[] _memory;
    private readonly Verdict[] _verdicts;

    /// <param name="capacity">Slots per batch; a super-frame that does not fit in what is left is dropped (<see cref="DropReason.SegmentPoolExhausted"/>).</param>
    /// <param name="slotSize">Bytes per slot, headroom included.</param>
    /// <param name="headroom">Free bytes in front of each segment, for the host to prepend into.</param>
    public SegmentPool(int capacity, int slotSize, int headroom)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(slotSize, headroom);
        Capacity = capacity;
        SlotSize = slotSize;
        Headroom = headroom;
        _memory = GC.AllocateUninitializedArray<byte>(checked(capacity * slotSize), pinned: true);
        _verdicts = new Verdict[capacity];
    }

    public int Capacity { get; }

    public int SlotSize { get; }

    public int Headroom { get; }

    /// <summary>The largest segment (from its first header byte) a slot holds.</summary>
    public int MaxSegmentLength => SlotSize - Headroom;

    /// <summary>Segments written since the last <see cref="Clear"/>.</summary>
    public int Count { get; private set; }

    public int Free => Capacity - Count;

    /// <summary>The whole slot of segment <paramref name="index"/>; its verdict's offsets count from here.</summary>
    public Span<byte> Buffer(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _memory.AsSpan(index * SlotSize, SlotSize);
    }

    public Verdict VerdictOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _verdicts[index];
    }

    /// <summary>The segment's bytes as its verdict describes them (empty for drops and consumed ones).</summary>
    public Span<byte> Packet(int index)
    {
        var v = VerdictOf(index);
        return v.IsForwarded ? Buffer(index).Slice(v.Offset, v.Length) : default;
    }

    /// <summary>Forget every segment (after the host sent the batch).</summary>
    public void Clear() => Count = 0;

    /// <summary>Claim <paramref name="count"/> consecutive slots; false when they do not fit.</summary>
    internal bool TryReserve(int count, out int first)
    {
        first = Count;
        if (count > Capacity - Count) return false;
        Count += count;
        return true;
    }

    /// <summary>The slot of a reserved segment, for writing it.</summary>
    internal Span<byte> Slot(int index) => _memory.AsSpan(index * SlotSize, SlotSize);

    internal void SetVerdict(int index, in Verdict verdict) => _verdicts[index] = verdict;
}
