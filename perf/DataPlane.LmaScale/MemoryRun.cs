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
        long revision = 1, encoded = 0;
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
            encoded += BindingRecordCodec.Encode(write.Record!).Length;
            foreach (var a in machine.Handle(new LmaEvent.BindingStored(write.WriteId, revision), now)) dp.Execute(a);
            if (v % 200_000 == 0 && v > 0) log($"{v} bindings, {sw.Elapsed.TotalSeconds:0} s");
        }
        if (machine.BindingCacheCount != bindings || dp.RouteCount != bindings) throw new InvalidOperationException("not every binding is in the cache and routed");
        long heapActive = Heap(), rssActive = Rss();
        results.Add(new Result("active: cache + data path", bindings, heapActive - heap0, rssActive - rss0));
        log($"active: {(heapActive - heap0) / 1048576.0:0} MiB heap, RSS +{(rssActive - rss0) / 1048576.0:0} MiB; store records {encoded / (double)bindings:0} bytes each");

        // The standby's copy of the same shard, from records as the active wrote them (taken from the machine,
        // which is then dropped: the two are measured apart, as they live in different processes).
        var json = new List<(string Key, byte[] Json)>(bindings);
        foreach (var b in machine.Bindings) json.Add((Protocol.Lma.Replication.BindingKeys.Of(machine.RecordOf(b.HomeNetworkPrefixes[0])!),
            BindingRecordCodec.Encode(machine.RecordOf(b.HomeNetworkPrefixes[0])!)));
        machine = null!;
        dp = null!;
        long heap1 = Heap(), rss1 = Rss();
        var replica = new BindingReplica();
        // The JSON stays alive in both measurements, so the difference is the copy alone.
        for (int i = 0; i < json.Count; i++) replica.Put(json[i].Key, json[i].Json, i + 2);
        long heapStandby = Heap(), rssStandby = Rss();
        if (replica.Count != bindings) throw new InvalidOperationException($"the copy has {replica.Count} bindings");
        results.Add(new Result("standby: replica copy", bindings, heapStandby - heap1, rssStandby - rss1));
        results.Add(new Result("store record (JSON bytes)", bindings, encoded, 0));
        GC.KeepAlive(replica);
        GC.KeepAlive(json);
        return results;
    }
}
