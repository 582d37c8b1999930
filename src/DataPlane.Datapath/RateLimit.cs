using DataPlane.Protocol;

namespace DataPlane.Datapath;

/// <summary>A rate: one event per <paramref name="Interval"/> on average, in bursts of up to <paramref name="Burst"/>.</summary>
public readonly record struct RateLimit(TimeSpan Interval, int Burst)
{
    public static RateLimit PerSecond(double rate, int burst) => new(TimeSpan.FromTicks((long)(TimeSpan.TicksPerSecond / rate)), burst);

    public bool IsValid => Interval > TimeSpan.Zero && Burst >= 1;

    public override string ToString() => $"{TimeSpan.TicksPerSecond / (double)Interval.Ticks:0.##}/s burst {Burst}";
}

/// <summary>
/// The generic cell rate algorithm (a token bucket kept as one timestamp, integers only): each event
/// moves the "theoretical arrival time" one interval on; an event is allowed while that time is at
/// most (burst − 1) intervals ahead of now. A mutable struct held in a field, so it costs no allocation.
/// </summary>
internal struct RateLimiter
{
    private long _theoreticalArrival;

    public bool TryAcquire(in RateLimit limit, Instant now)
    {
        long interval = limit.Interval.Ticks;
        long tat = Math.Max(_theoreticalArrival, now.Ticks);
        if (tat - now.Ticks > (limit.Burst - 1) * interval) return false;
        _theoreticalArrival = tat + interval;
        return true;
    }
}
