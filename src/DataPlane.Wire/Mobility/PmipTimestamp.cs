namespace DataPlane.Wire;

/// <summary>
/// The Timestamp option's value (RFC 5213 §8.8): seconds since 1970-01-01T00:00Z as a 64-bit fixed-point
/// number, 48 bits of seconds and 16 bits of 1/65536 fractions.
/// </summary>
public readonly record struct PmipTimestamp(ulong Raw) : IComparable<PmipTimestamp>
{
    public ulong Seconds => Raw >> 16;

    public ushort Fraction => (ushort)Raw;

    public static PmipTimestamp FromUnixTime(TimeSpan sinceEpoch)
    {
        if (sinceEpoch < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(sinceEpoch), "a PMIPv6 timestamp cannot precede 1970");
        ulong seconds = (ulong)(sinceEpoch.Ticks / TimeSpan.TicksPerSecond);
        ulong fraction = (ulong)(sinceEpoch.Ticks % TimeSpan.TicksPerSecond) * 65536UL / TimeSpan.TicksPerSecond;
        return new((seconds << 16) | fraction);
    }

    public TimeSpan ToUnixTime() =>
        TimeSpan.FromTicks((long)Seconds * TimeSpan.TicksPerSecond + (long)Fraction * TimeSpan.TicksPerSecond / 65536);

    public int CompareTo(PmipTimestamp other) => Raw.CompareTo(other.Raw);

    public static bool operator <(PmipTimestamp a, PmipTimestamp b) => a.Raw < b.Raw;
    public static bool operator >(PmipTimestamp a, PmipTimestamp b) => a.Raw > b.Raw;
    public static bool operator <=(PmipTimestamp a, PmipTimestamp b) => a.Raw <= b.Raw;
    public static bool operator >=(PmipTimestamp a, PmipTimestamp b) => a.Raw >= b.Raw;

    public override string ToString() => $"{Seconds}.{Fraction * 1_000_000UL / 65536:D6}";
}
