using DataPlane.Protocol.Lma;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// The LMA test harnesses' clock: moves time forward and fires each timer at its own deadline, in order, as the
/// daemon's loop does, so a test sees the actions a real LMA would have taken on the way.
/// </summary>
internal static class LmaClock
{
    /// <summary>Advances <paramref name="now"/> by <paramref name="by"/>; returns every action the timers due on the way produced.</summary>
    public static List<LmaAction> Advance(LocalMobilityAnchor lma, ref Instant now, TimeSpan by)
    {
        var end = now + by;
        var all = new List<LmaAction>();
        while (lma.NextDeadline is { } due && due <= end)
        {
            now = Instant.Max(now, due);
            all.AddRange(lma.Tick(now));
        }
        now = end;
        return all;
    }
}
