namespace DataPlane.Protocol;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, statistically adequate for jitter, and its output
/// is fixed by its seed on every platform and runtime version (unlike <see cref="Random"/>'s unseeded
/// algorithm), which deterministic simulation needs.
/// </summary>
public sealed class SplitMix64Random(ulong seed) : IRandomSource
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E37_79B9_7F4A_7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
