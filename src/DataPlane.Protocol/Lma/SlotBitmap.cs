namespace DataPlane.Protocol.Lma;

/// <summary>
/// Which slots of a pool are in use, one bit each, with the count: the whole state of the LMA's prefix and IPv4
/// address pools (a copy elsewhere restores it by marking the same slots).
/// </summary>
internal sealed class SlotBitmap(int slots)
{
    private readonly ulong[] _bits = new ulong[Math.Max(1, (slots + 63) / 64)];

    public int Count { get; private set; }

    public bool IsUsed(int slot) => (_bits[slot >> 6] & (1UL << (slot & 63))) != 0;

    /// <summary>Mark or clear a slot; the count follows only real changes.</summary>
    public void Set(int slot, bool used)
    {
        if (IsUsed(slot) == used) return;
        if (used) _bits[slot >> 6] |= 1UL << (slot & 63);
        else _bits[slot >> 6] &= ~(1UL << (slot & 63));
        Count += used ? 1 : -1;
    }

    /// <summary>Free every slot (an LMA stepping down from a shard forgets its allocations).</summary>
    public void Clear()
    {
        Array.Clear(_bits);
        Count = 0;
    }

    /// <summary>
    /// FNV-1a over the UTF-16 code units of a mobile node identifier: the slot a node prefers, stable across
    /// processes and restarts (string.GetHashCode is randomised per process).
    /// </summary>
    public static ulong StableHash(string s)
    {
        ulong h = 0xCBF2_9CE4_8422_2325UL;
        foreach (char c in s)
        {
            h = (h ^ (byte)c) * 0x100_0000_01B3UL;
            h = (h ^ (byte)(c >> 8)) * 0x100_0000_01B3UL;
        }
        return h;
    }
}
