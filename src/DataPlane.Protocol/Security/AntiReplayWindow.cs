namespace DataPlane.Protocol.Security;

/// <summary>
/// The RFC 4303 §3.4.3 receive window for 32-bit sequence numbers: its right edge is the highest sequence
/// number that passed the integrity check; numbers left of the window, and numbers inside it already seen,
/// are replays. <see cref="Check"/> is the preliminary test done before the ICV (so a replayed packet costs no
/// cryptography); <see cref="Accept"/> moves the window, and must only be called once the ICV has verified.
/// A bitmap of <see cref="Size"/> bits, bit i meaning "right edge − i seen"; no allocation after construction.
/// </summary>
public sealed class AntiReplayWindow
{
    private readonly ulong[] _bits;

    /// <param name="size">Bits in the window: a multiple of 64 from 64 (RFC 4303's recommended default; 32 is
    /// its minimum) to 4096.</param>
    public AntiReplayWindow(int size = 64)
    {
        if (size < 64 || size > 4096 || size % 64 != 0)
            throw new ArgumentOutOfRangeException(nameof(size), size, "the replay window is a multiple of 64 from 64 to 4096");
        Size = size;
        _bits = new ulong[size / 64];
    }

    public int Size { get; }

    /// <summary>The highest sequence number accepted so far (0: none yet).</summary>
    public uint Highest { get; private set; }

    /// <summary>False for 0 (never sent, RFC 4303 §3.3.3), a number left of the window, or one already accepted.</summary>
    public bool Check(uint sequence)
    {
        if (sequence == 0) return false;
        if (sequence > Highest) return true;
        uint offset = Highest - sequence;
        if (offset >= (uint)Size) return false;
        return (_bits[offset >> 6] & (1UL << (int)(offset & 63))) == 0;
    }

    /// <summary>Record an authenticated sequence number (which passed <see cref="Check"/>).</summary>
    public void Accept(uint sequence)
    {
        if (sequence > Highest)
        {
            Shift(sequence - Highest);
            Highest = sequence;
            _bits[0] |= 1UL;
            return;
        }
        uint offset = Highest - sequence;
        if (offset < (uint)Size) _bits[offset >> 6] |= 1UL << (int)(offset & 63);
    }

    /// <summary>
    /// Start from a persisted right edge: everything at or below <paramref name="highest"/> counts as seen (after a
    /// restart we do not know which numbers inside the window arrived, so none of them may be accepted again).
    /// </summary>
    public void Restore(uint highest)
    {
        Highest = highest;
        Array.Fill(_bits, highest == 0 ? 0UL : ulong.MaxValue);
    }

    /// <summary>Move the bitmap <paramref name="by"/> places towards the left edge (older numbers).</summary>
    private void Shift(uint by)
    {
        if (by >= (uint)Size)
        {
            Array.Clear(_bits);
            return;
        }
        int words = (int)(by >> 6);
        int bits = (int)(by & 63);
        for (int i = _bits.Length - 1; i >= 0; i--)
        {
            int from = i - words;
            ulong value = from >= 0 ? _bits[from] << bits : 0;
            if (bits != 0 && from - 1 >= 0) value |= _bits[from - 1] >> (64 - bits);
            _bits[i] = value;
        }
    }
}
