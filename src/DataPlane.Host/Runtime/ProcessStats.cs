using System.Text.Json.Nodes;

namespace DataPlane.Host.Runtime;

/// <summary>
/// The daemon's own memory for `ctl stats` (`process`): what an operator (and the churn soak) watches to see that
/// state stays bounded. Read on a control request, never on the packet path.
/// </summary>
public static class ProcessStats
{
    public static JsonObject ToJson()
    {
        var gc = GC.GetGCMemoryInfo();
        return new JsonObject
        {
            ["workingSetBytes"] = Environment.WorkingSet,
            ["managedHeapBytes"] = GC.GetTotalMemory(forceFullCollection: false),
            ["heapAfterLastGcBytes"] = gc.HeapSizeBytes - gc.FragmentedBytes,
            ["gcCount"] = GC.CollectionCount(0),
            ["gen2Count"] = GC.CollectionCount(2),
        };
    }
}
