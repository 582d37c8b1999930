namespace DataPlane.Probe;

/// <summary>
/// Releases its caller once per interval on an absolute schedule (slot k at start + k·interval, so
/// errors never accumulate). It sleeps until about <see cref="SpinNs"/> before the slot and spins the
/// rest, which keeps a 10 ms stream within tens of microseconds of its schedule on an idle machine.
/// When the caller falls a whole interval or more behind (the process was descheduled), the schedule
/// restarts from now instead of bursting the missed slots: the probe stream stays a 10 ms stream, and
/// the achieved intervals (which the report shows) record the stall honestly.
/// </summary>
public sealed class Pacer
{
    /// <summary>The last stretch before a slot that is spun rather than slept (sleep overshoots ~0.1 ms, more under load).</summary>
    public const long SpinNs = 1_500_000;

    private readonly long _intervalNs;
    private long _nextNs;

    public Pacer(long intervalNs, long startNs)
    {
        if (intervalNs <= 0) throw new ArgumentOutOfRangeException(nameof(intervalNs));
        _intervalNs = intervalNs;
        _nextNs = startNs;
    }

    /// <summary>How many times the schedule restarted because a whole slot was missed.</summary>
    public int Resyncs { get; private set; }

    /// <summary>The time the next slot is due.</summary>
    public long NextNs => _nextNs;

    /// <summary>Waits for the next slot; returns the monotonic time of release, or -1 when cancelled.</summary>
    public long WaitNext(CancellationToken cancellationToken)
    {
        long target = _nextNs;
        long now = WaitUntil(target, cancellationToken);
        if (now < 0) return -1;
        if (now - target >= _intervalNs)
        {
            _nextNs = now + _intervalNs;
            Resyncs++;
        }
        else
        {
            _nextNs = target + _intervalNs;
        }
        return now;
    }

    /// <summary>Sleeps, then spins, until <paramref name="targetNs"/>; returns the time of release or -1 when cancelled.</summary>
    public static long WaitUntil(long targetNs, CancellationToken cancellationToken)
    {
        while (true)
        {
            long now = MonotonicClock.NowNs;
            long remaining = targetNs - now;
            if (remaining <= 0) return now;
            if (cancellationToken.IsCancellationRequested) return -1;
            if (remaining > SpinNs)
            {
                int ms = (int)((remaining - SpinNs) / 1_000_000);
                if (ms >= 1)
                {
                    if (cancellationToken.WaitHandle.WaitOne(ms)) return -1;
                    continue;
                }
            }
            Thread.SpinWait(32);
        }
    }
}
