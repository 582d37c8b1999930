using DataPlane.Host.Metrics;

namespace DataPlane.Host.Capture;

/// <summary>
/// The captures a daemon runs, by target (a port name, "uplink", "home"), owned by the packet loop. A capture
/// may name a port that is not attached yet: it is armed, and starts with the port (so a migration's arrival
/// can be captured from its very first frame). At most <see cref="MaxCaptures"/> run at once, which bounds the
/// memory their rings take.
/// </summary>
public sealed class CaptureRegistry
{
    public const int MaxCaptures = 8;

    private readonly Dictionary<string, CaptureTap[]> _byTarget = new(StringComparer.Ordinal);
    private long _finishedCaptured;
    private long _finishedDropped;

    public int Count { get; private set; }

    /// <summary>The taps of a target, or null (the loop's per-batch check).</summary>
    public CaptureTap[]? For(string target) => _byTarget.TryGetValue(target, out var taps) ? taps : null;

    public IEnumerable<CaptureTap> All => _byTarget.Values.SelectMany(t => t);

    /// <summary>Add a tap; false when too many captures run.</summary>
    public bool TryAdd(CaptureTap tap)
    {
        if (Count >= MaxCaptures) return false;
        _byTarget[tap.Target] = _byTarget.TryGetValue(tap.Target, out var taps) ? [.. taps, tap] : [tap];
        Count++;
        return true;
    }

    public bool Remove(CaptureTap tap)
    {
        if (!_byTarget.TryGetValue(tap.Target, out var taps) || Array.IndexOf(taps, tap) < 0) return false;
        var rest = taps.Where(t => t != tap).ToArray();
        if (rest.Length == 0) _byTarget.Remove(tap.Target);
        else _byTarget[tap.Target] = rest;
        Count--;
        _finishedCaptured += tap.Ring.Written;
        _finishedDropped += tap.Ring.Dropped;
        return true;
    }

    public CaptureTotals Totals()
    {
        long captured = _finishedCaptured, dropped = _finishedDropped;
        foreach (var tap in All)
        {
            captured += tap.Ring.Written;
            dropped += tap.Ring.Dropped;
        }
        return new CaptureTotals(Count, captured, dropped);
    }
}
