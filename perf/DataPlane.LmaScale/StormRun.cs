using System.Diagnostics;
using DataPlane.Etcd;
using DataPlane.Etcd.Tests;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;

namespace DataPlane.LmaScale;

/// <summary>
/// A migration storm: N VMs boot on one MAG, then all move to the other at once, in the deterministic
/// simulation, with the LMA's binding writes going to a real etcd. The simulation hands the store every write
/// issued within one virtual instant as a batch; the batch runs against etcd concurrently (as the daemon's
/// replicator does) while virtual time stands still, and is answered after the configured virtual commit latency.
/// Reported: writes, the wall-clock time etcd took for them, hence etcd's write rate under the storm, and the
/// per-write latency.
/// </summary>
public sealed class StormRun : ISimBindingStore, IDisposable
{
    private readonly EtcdShardStore _store;
    private readonly long _leaderRevision;
    private readonly SemaphoreSlim _slots;
    public readonly List<double> LatenciesMs = [];
    public long Writes;
    public long Batches;
    public long LargestBatch;
    public TimeSpan EtcdTime;

    public sealed record Result(string Phase, int Members, int Vms, long Writes, long Batches, long LargestBatch, double EtcdSeconds,
        double WritesPerSecond, double P50Ms, double P99Ms, double MaxMs, double EtcdCpuSeconds, double VirtualSeconds,
        double WalFsyncs, double WalFsyncMeanMs, double ClientCpuSeconds);

    /// <summary>etcd's own histograms (its /metrics on the client URL): WAL fsyncs, their count and total seconds, summed over members.</summary>
    private static (double Count, double Sum) WalFsync(LocalEtcd etcd)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        double count = 0, sum = 0;
        foreach (var e in etcd.Endpoints)
        {
            try
            {
                foreach (var line in http.GetStringAsync(new Uri(e, "/metrics")).Result.Split('\n'))
                {
                    if (line.StartsWith("etcd_disk_wal_fsync_duration_seconds_count ", StringComparison.Ordinal)) count += double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                    if (line.StartsWith("etcd_disk_wal_fsync_duration_seconds_sum ", StringComparison.Ordinal)) sum += double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (AggregateException) { }
        }
        return (count, sum);
    }

    private StormRun(EtcdShardStore store, long leaderRevision, TimeSpan latency, int concurrency)
    {
        _store = store;
        _leaderRevision = leaderRevision;
        CommitLatency = latency;
        _slots = new SemaphoreSlim(concurrency);
    }

    public TimeSpan CommitLatency { get; }

    public IReadOnlyList<LmaEvent> Commit(IReadOnlyList<LmaAction.StoreBinding> writes)
    {
        var sw = Stopwatch.StartNew();
        var tasks = writes.Select(async w =>
        {
            await _slots.WaitAsync();
            try
            {
                var t0 = Stopwatch.GetTimestamp();
                var value = w.Record is null ? null : BindingRecordCodec.Encode(w.Record);
                var r = await _store.WriteBindingAsync(w.Key, value, w.ExpectedRevision, _leaderRevision, CancellationToken.None);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                lock (LatenciesMs) LatenciesMs.Add(ms);
                return r.Outcome == WriteOutcome.Written
                    ? (LmaEvent)new LmaEvent.BindingStored(w.WriteId, r.Revision)
                    : new LmaEvent.BindingStoreFailed(w.WriteId, r.Outcome == WriteOutcome.NotLeader ? BindingStoreFailure.NotLeader : BindingStoreFailure.Conflict);
            }
            finally
            {
                _slots.Release();
            }
        }).ToArray();
        Task.WaitAll(tasks);
        EtcdTime += sw.Elapsed;
        Writes += writes.Count;
        Batches++;
        LargestBatch = Math.Max(LargestBatch, writes.Count);
        return [.. tasks.Select(t => t.Result)];
    }

    public void Dispose() => _store.Dispose();

    private Result Snapshot(string phase, int members, int vms, double etcdCpu, double virtualSeconds, (double Count, double Sum) fsync0,
        (double Count, double Sum) fsync1, double clientCpu)
    {
        double fsyncs = fsync1.Count - fsync0.Count;
        var l = LatenciesMs.Order().ToArray();
        double P(double q) => l.Length == 0 ? 0 : l[Math.Min(l.Length - 1, (int)(q * l.Length))];
        return new Result(phase, members, vms, Writes, Batches, LargestBatch, EtcdTime.TotalSeconds, Writes / EtcdTime.TotalSeconds,
            P(0.5), P(0.99), l.Length == 0 ? 0 : l[^1], etcdCpu, virtualSeconds, fsyncs, fsyncs == 0 ? 0 : (fsync1.Sum - fsync0.Sum) * 1000 / fsyncs, clientCpu);
    }

    private void Reset()
    {
        LatenciesMs.Clear();
        Writes = Batches = LargestBatch = 0;
        EtcdTime = TimeSpan.Zero;
    }

    public static List<Result> Run(int vms, int members, TimeSpan latency, int concurrency, Action<string> log)
    {
        using var etcd = LocalEtcd.Start(members, log);
        var store = new EtcdShardStore(new EtcdOptions { Endpoints = etcd.Endpoints, RequestTimeout = TimeSpan.FromSeconds(10) },
            new ShardKeys("/dataplane-bench/v1", "storm"));
        var (lease, _) = store.GrantLeaseAsync(TimeSpan.FromSeconds(600), CancellationToken.None).Result;
        var won = store.CampaignAsync(lease, "storm", CancellationToken.None).Result;
        using var run = new StormRun(store, won.LeaderRevision, latency, concurrency);

        var d = new PmipDomain(19, new DomainOptions { MagCount = 2, ConfigureLma = o => o with { Persistence = BindingPersistence.AcknowledgeAfterCommit, RestartCounter = 1 } });
        d.Lma.Store = run;
        var all = Enumerable.Range(0, vms).Select(_ => d.AddVm()).ToList();
        var results = new List<Result>();

        double cpu0 = etcd.CpuSeconds();
        var fsync0 = WalFsync(etcd);
        var client0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var start = d.Sim.Now;
        foreach (var vm in all) d.Boot(vm, d.Mags[0]);
        // Done when every VM is routed and every write answered (routes change at once; PBAs wait for the commit).
        bool Settled() => d.Lma.Machine.StoreWritesInFlight == 0 && d.Lma.Machine.AcknowledgementsAwaitingCommit == 0;
        if (!d.Sim.RunUntil(() => all.All(v => v.Prefix is not null && d.Lma.Routes.ContainsKey(v.Prefix.Value)) && Settled(), TimeSpan.FromSeconds(120)))
            throw new InvalidOperationException("not every VM registered");
        results.Add(run.Snapshot("boot", members, vms, etcd.CpuSeconds() - cpu0, (d.Sim.Now - start).TotalSeconds, fsync0, WalFsync(etcd),
            (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - client0).TotalSeconds));
        log($"boot: {run.Writes} writes in {run.EtcdTime.TotalSeconds:0.00} s of etcd time");
        d.Sim.RunFor(TimeSpan.FromSeconds(2));

        run.Reset();
        cpu0 = etcd.CpuSeconds();
        fsync0 = WalFsync(etcd);
        client0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        start = d.Sim.Now;
        foreach (var vm in all) d.Migrate(vm, d.Mags[1], MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(100));
        if (!d.Sim.RunUntil(() => all.All(v => v.Mag == d.Mags[1] && d.Lma.Routes.TryGetValue(v.Prefix!.Value, out var m) && m == d.Mags[1].Address) && Settled(),
                TimeSpan.FromSeconds(120)))
            throw new InvalidOperationException("the storm did not complete");
        results.Add(run.Snapshot("storm", members, vms, etcd.CpuSeconds() - cpu0, (d.Sim.Now - start).TotalSeconds, fsync0, WalFsync(etcd),
            (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - client0).TotalSeconds));
        log($"storm: {run.Writes} writes in {run.EtcdTime.TotalSeconds:0.00} s of etcd time");
        if (run.Writes < vms) throw new InvalidOperationException($"the storm wrote {run.Writes} bindings for {vms} handoffs");
        if (d.Lma.Violations.Count > 0) throw new InvalidOperationException("LMA violations: " + string.Join("; ", d.Lma.Violations.Take(5)));
        return results;
    }
}
