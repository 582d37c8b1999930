using System.Diagnostics;
using DataPlane.Protocol;

namespace DataPlane.Host.Runtime;

/// <summary>
/// The daemons' notion of now: wall-clock time read once at start, advanced by the monotonic clock, so
/// timers never jump with NTP or a manual clock change while PBU timestamps still carry real time.
/// </summary>
public sealed class DaemonClock
{
    private readonly Instant _start = Instant.FromDateTime(DateTime.UtcNow);
    private readonly long _startTicks = Stopwatch.GetTimestamp();

    public Instant Now => _start + Stopwatch.GetElapsedTime(_startTicks);
}
