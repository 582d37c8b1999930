using DataPlane.Protocol;

namespace DataPlane.Simulation;

/// <summary>
/// A virtual clock and an event queue ordered by (time, insertion sequence): two runs that schedule
/// the same events in the same order process them in the same order, so a run is reproduced exactly
/// from its seed. Nothing here reads the real clock.
/// </summary>
public sealed class Simulation
{
    private readonly PriorityQueue<Action, Key> _queue = new();
    private long _sequence;

    private readonly record struct Key(long Ticks, long Sequence) : IComparable<Key>
    {
        public int CompareTo(Key other)
        {
            int c = Ticks.CompareTo(other.Ticks);
            return c != 0 ? c : Sequence.CompareTo(other.Sequence);
        }
    }

    /// <summary>2025-01-01T00:00Z: a realistic epoch, so PMIPv6 timestamps look like real ones.</summary>
    public static Instant DefaultStart { get; } = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

    public Simulation(long seed, Instant? start = null)
    {
        Seed = seed;
        Now = start ?? DefaultStart;
        Start = Now;
        Random = new SplitMix64Random((ulong)seed);
    }

    public long Seed { get; }

    public Instant Start { get; }

    public Instant Now { get; private set; }

    public TimeSpan Elapsed => Now - Start;

    /// <summary>The run's master random source; components derive their own streams from it at construction.</summary>
    public SplitMix64Random Random { get; }

    public long EventsProcessed { get; private set; }

    public int PendingEvents => _queue.Count;

    /// <summary>A new independent random stream (for one machine or link), drawn from the master.</summary>
    public SplitMix64Random NewRandomStream() => new(Random.NextUInt64());

    public void Schedule(TimeSpan delay, Action action) => ScheduleAt(Now + (delay < TimeSpan.Zero ? TimeSpan.Zero : delay), action);

    public void ScheduleAt(Instant at, Action action)
    {
        if (at < Now) at = Now;
        _queue.Enqueue(action, new Key(at.Ticks, _sequence++));
    }

    /// <summary>Process events up to and including <paramref name="until"/>; the clock ends there.</summary>
    public void RunUntil(Instant until)
    {
        while (_queue.TryPeek(out var action, out var key) && key.Ticks <= until.Ticks)
        {
            _queue.Dequeue();
            Now = new Instant(key.Ticks);
            EventsProcessed++;
            action();
        }
        if (until > Now) Now = until;
    }

    public void RunFor(TimeSpan duration) => RunUntil(Now + duration);

    /// <summary>Run until <paramref name="condition"/> holds (checked after each event) or the time limit; true if it held.</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan limit)
    {
        var end = Now + limit;
        if (condition()) return true;
        while (_queue.TryPeek(out var action, out var key) && key.Ticks <= end.Ticks)
        {
            _queue.Dequeue();
            Now = new Instant(key.Ticks);
            EventsProcessed++;
            action();
            if (condition()) return true;
        }
        Now = end;
        return condition();
    }
}
