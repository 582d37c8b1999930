using System.Diagnostics;

namespace DataPlane.Probe;

/// <summary>
/// The one clock every measurement uses: <see cref="Stopwatch"/>, which on Linux is CLOCK_MONOTONIC and
/// therefore shared by every process and network namespace on the machine (so a probe's send time read
/// by another process on the same host is comparable). Wall-clock time is only ever derived from one
/// anchor taken at start, so a clock step (NTP) during a run cannot distort an interval.
/// </summary>
public static class MonotonicClock
{
    /// <summary>Now, in nanoseconds of the monotonic clock.</summary>
    public static long NowNs => TicksToNs(Stopwatch.GetTimestamp());

    public static long TicksToNs(long ticks) =>
        Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)((Int128)ticks * 1_000_000_000 / Stopwatch.Frequency);

    public static long NsToTicks(long ns) =>
        Stopwatch.Frequency == 1_000_000_000 ? ns : (long)((Int128)ns * Stopwatch.Frequency / 1_000_000_000);

    /// <summary>Unix time in nanoseconds from the system clock (for anchoring, not for intervals).</summary>
    public static long UnixNowNs => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    public static double NsToMs(long ns) => ns / 1_000_000.0;
}

/// <summary>A pairing of the monotonic clock with wall-clock time, taken once.</summary>
public readonly record struct ClockAnchor(long MonotonicNs, long UnixNs)
{
    public static ClockAnchor Now()
    {
        // Take the wall clock between two monotonic reads and use their midpoint.
        long a = MonotonicClock.NowNs;
        long unix = MonotonicClock.UnixNowNs;
        long b = MonotonicClock.NowNs;
        return new ClockAnchor(a + (b - a) / 2, unix);
    }

    public long ToUnixNs(long monotonicNs) => UnixNs + (monotonicNs - MonotonicNs);

    public double ToUnixMs(long monotonicNs) => ToUnixNs(monotonicNs) / 1_000_000.0;
}
