using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// Assigns HNPs from a range (e.g. a /48 carved into /64s). A mobile node's first choice is a slot
/// derived from a stable hash of its MN-ID, so it gets the same prefix back after its entry was
/// deleted or the LMA restarted, as long as nobody else took it, without the LMA remembering anything.
/// </summary>
public sealed class HomeNetworkPrefixPoolAllocator
{
    /// <summary>At most 2^24 slots (a 2 MiB bitmap).</summary>
    public const int MaxSlotBits = 24;

    private readonly Ipv6Prefix _range;
    private readonly int _assignedLength;
    private readonly int _slotBits;
    private readonly SlotBitmap _used;

    public HomeNetworkPrefixPoolAllocator(Ipv6Prefix range, int assignedLength)
    {
        if (assignedLength > 64 || assignedLength <= range.Length || assignedLength - range.Length > MaxSlotBits)
            throw new ArgumentOutOfRangeException(nameof(assignedLength), $"cannot carve {range} into /{assignedLength}s");
        _range = range;
        _assignedLength = assignedLength;
        _slotBits = assignedLength - range.Length;
        _used = new SlotBitmap(1 << _slotBits);
    }

    public int Capacity => 1 << _slotBits;

    public int Allocated => _used.Count;

    public bool Contains(Ipv6Prefix prefix) => prefix.Length == _assignedLength && _range.Contains(prefix.Address);

    public bool IsFree(Ipv6Prefix prefix) => Contains(prefix) && !_used.IsUsed(SlotOf(prefix));

    /// <summary>Take a specific prefix (one a MAG asks for again after an LMA restart). False if taken or outside.</summary>
    public bool TryClaim(Ipv6Prefix prefix)
    {
        if (!IsFree(prefix)) return false;
        _used.Set(SlotOf(prefix), true);
        return true;
    }

    /// <summary>Allocate, preferring the MN's hash slot, then the next free one.</summary>
    public bool TryAllocate(string mobileNodeIdentifier, out Ipv6Prefix prefix)
    {
        prefix = default;
        if (Allocated >= Capacity) return false;
        int mask = Capacity - 1;
        int slot = (int)(SlotBitmap.StableHash(mobileNodeIdentifier) & (ulong)mask);
        while (_used.IsUsed(slot)) slot = (slot + 1) & mask;
        _used.Set(slot, true);
        prefix = PrefixOf(slot);
        return true;
    }

    public void Release(Ipv6Prefix prefix)
    {
        if (Contains(prefix)) _used.Set(SlotOf(prefix), false);
    }

    /// <summary>Forget every allocation (an LMA stepping down from a shard).</summary>
    public void Clear() => _used.Clear();

    private int SlotOf(Ipv6Prefix p) => (int)((p.Address.High >> (64 - _assignedLength)) & (ulong)(Capacity - 1));

    private Ipv6Prefix PrefixOf(int slot) =>
        new(new Ipv6Address(_range.Address.High | ((ulong)slot << (64 - _assignedLength)), 0), _assignedLength);
}
