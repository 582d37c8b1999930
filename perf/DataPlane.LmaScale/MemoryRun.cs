using System.Diagnostics;
using DataPlane.Datapath;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;

namespace DataPlane.LmaScale;

/// <summary>
/// The memory of N bindings at the active LMA (the machine's cache, pool, timers and the data path's routes,
/// tunnels and per-prefix counters, as the daemon holds them) and at a standby (its decoded copy of the store).
/// Managed heap after a full collection, and the process's resident set, each against its value before.
/// </summary>
public static class MemoryRun
{
    public sealed record Result(string What, int Bindings, long HeapBytes, long RssBytes)
    {
        public double HeapPerBinding => (double)HeapBytes / Bindings;
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(true);
    }

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    public static List<Result> Run(int bindings, Action<string> log)
    {
        var results = new List<Result>();
        var now = Instant.FromDateTime(DateTime.UtcNow);
        long heap0 = Heap(), rss0 = Rss();
        // The active: persistence on (the entries carry their store revision), writes answered at once so no PBA waits.
        var machine = new LocalMobilityAnchor(Workload.Options(BindingPersistence.AcknowledgeAfterCommit), new InMemoryLmaPolicy(), new SplitMix64Random(1));
        var dp = new LmaDatapath(machine);
        var records = new List<(string Key, byte[] Json, long Revision)>(bindings);
        long revision = 1;
        var sw = Stopwatch.StartNew();
        for (int v = 0; v < bindings; v++)
        {
            var mag = (v & 1) == 0 ? Workload.Mag1 : Workload.Mag2;
            var actions = machine.Handle(new LmaEvent.MobilityMessageReceived(mag, Workload.Pbu(v, now, 1, null, HandoffIndicator.AttachmentOverNewInterface)), now);
            LmaAction.StoreBinding? write = null;
            foreach (var a in actions)
            {
                if (a is LmaAction.StoreBinding w) write = w;
                else dp.Execute(a);
            }
            if (write is null) throw new InvalidOperationException($"no write for VM {v}");
            revision++;
            records.Add((write.Key, BindingRecordCodec.Encode(write.Record!), revision));
            foreach (var a in machine.Handle(new LmaEvent.BindingStored(write.WriteId, revision), now)) dp.Execute(a);
            if (v % 200_000 == 0 && v > 0) log($"{v} bindings, {sw.Elapsed.TotalSeconds:0} s");
        }
        if (machine.BindingCacheCount != bindings || dp.RouteCount != bindings) throw new InvalidOperationException("not every binding is in the cache and routed");
        var encoded = records.Sum(r => (long)r.Json.Length + r.Key.Length);
        long heapActive = Heap(), rssActive = Rss();
        // The records' bytes are the benchmark's, not the LMA's: subtract them (and their list) from the active's figure.
        long recordsHeap = records.Sum(r => (long)r.Json.Length + 24 + r.Key.Length * 2 + 22) + (long)records.Capacity * 24;
        results.Add(new Result("active: cache + data path", bindings, heapActive - heap0 - recordsHeap, rssActive - rss0));
        log($"active: {(heapActive - heap0 - recordsHeap) / 1048576.0:0} MiB heap; store records {encoded / (double)bindings:0} bytes each");
        GC.KeepAlive(machine);
        GC.KeepAlive(dp);

        // The standby's copy, decoded from the same records (the active is gone from the heap first).
        machine = null!;
        dp = null!;
        long heap1 = Heap(), rss1 = Rss();
        var replica = new BindingReplica();
        foreach (var (key, json, rev) in records) replica.Put(key, json, rev);
        long heapStandby = Heap(), rssStandby = Rss();
        results.Add(new Result("standby: replica copy", bindings, heapStandby - heap1, rssStandby - rss1));
        results.Add(new Result("store record (JSON bytes)", bindings, encoded, 0));
        GC.KeepAlive(replica);
        GC.KeepAlive(records);
        return results;
    }
}
