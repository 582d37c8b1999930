namespace DataPlane.Tests.Shared;

/// <summary>
/// How a test shows that a loop allocates nothing. One measured window is not enough on a loaded machine: the
/// tiered JIT can allocate on the thread that triggers a tier transition (observed: 5–6 KB once, only while
/// other work loads the two cores, only with tiered compilation on), and that lands in whichever window is
/// open. So the window is measured up to <c>windows</c> times and the best one counts. An allocation per
/// packet, per batch or per round shows in every window, so it still fails the test; a one-off of the runtime
/// does not (docs/testing.md, rule 2: a property of the best of many samples).
/// </summary>
internal static class Allocations
{
    /// <summary>The fewest bytes <paramref name="round"/> allocated on this thread over <paramref name="rounds"/>
    /// calls, in the best of up to <paramref name="windows"/> windows, each after <paramref name="warmUp"/> calls.</summary>
    public static long BestWindow(Action round, int rounds, int warmUp = 3, int windows = 5, Action<string>? log = null)
    {
        long best = long.MaxValue;
        for (int window = 1; window <= windows && best != 0; window++)
        {
            for (int i = 0; i < warmUp; i++) round();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < rounds; i++) round();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            log?.Invoke($"{allocated} bytes allocated over {rounds} rounds (window {window})");
            best = Math.Min(best, allocated);
        }
        return best;
    }
}
