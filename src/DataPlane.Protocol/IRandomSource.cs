namespace DataPlane.Protocol;

/// <summary>
/// The only source of randomness the machines use (RA jitter, refresh spreading, initial sequence
/// numbers). Injected so that a simulation seeded with one number reproduces a run bit for bit; a
/// host seeds a <see cref="SplitMix64Random"/> from OS entropy.
/// </summary>
public interface IRandomSource
{
    ulong NextUInt64();
}

public static class RandomSourceExtensions
{
    /// <summary>Uniform in [0, 1).</summary>
    public static double NextDouble(this IRandomSource random) => (random.NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, bound).</summary>
    public static int NextInt(this IRandomSource random, int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        return (int)((random.NextUInt64() >> 33) % (ulong)bound);
    }

    /// <summary>Uniform in [min, max] at tick resolution.</summary>
    public static TimeSpan NextTimeSpan(this IRandomSource random, TimeSpan min, TimeSpan max)
    {
        if (max <= min) return min;
        return min + TimeSpan.FromTicks((long)(random.NextDouble() * (max - min).Ticks));
    }
}
