using System.Diagnostics;

namespace DataPlane.Host.Runtime;

/// <summary>
/// Busy-polling for the packet loop (`dataplane.busyPollMicroseconds`): for this long after the last wake-up
/// that found work, epoll is asked with a zero timeout instead of sleeping, so the next packet of a burst or
/// a reply is taken without the wake-up latency of a sleeping thread (tens of µs), at the price of a busy
/// core. Userspace, so it works on veth and TAP, which have no NAPI for the kernel's SO_BUSY_POLL.
/// </summary>
public sealed class BusyPoll(int microseconds)
{
    private readonly long _windowTicks = microseconds * Stopwatch.Frequency / 1_000_000;
    private long _lastWork;

    public bool Enabled => _windowTicks > 0;

    /// <summary>The timeout to wait with: zero inside the window, <paramref name="sleep"/> otherwise.</summary>
    public TimeSpan Timeout(TimeSpan sleep) =>
        _windowTicks > 0 && Stopwatch.GetTimestamp() - _lastWork < _windowTicks ? TimeSpan.Zero : sleep;

    /// <summary>After a wait that returned <paramref name="ready"/> descriptors.</summary>
    public void Woke(int ready)
    {
        if (ready > 0 && _windowTicks > 0) _lastWork = Stopwatch.GetTimestamp();
    }
}
