using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using DataPlane.Etcd;
using DataPlane.Etcd.Tests;
using DataPlane.Host.Lma.Replication;
using DataPlane.Host.Runtime;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.LmaScale;

/// <summary>
/// PBUs per second per LMA core, without etcd (the in-memory LMA) and with it (every change written through the
/// daemon's own <see cref="ShardReplicator"/>, the PBA after the commit), alternated in the same run. The machine
/// runs on one thread as on the daemon's loop; CPU is this process's (machine, gRPC client, JSON), not etcd's,
/// which is reported beside it.
/// </summary>
public sealed class ThroughputRun
{
    public sealed record Phase(string Mode, int Round, string Kind, int Pbus, long Writes, double WallSeconds, double CpuSeconds, double EtcdCpuSeconds)
    {
        public double PbusPerCpuSecond => Pbus / CpuSeconds;
        public double PbusPerWallSecond => Pbus / WallSeconds;
    }

    /// <summary>The daemon's loop, reduced: the machine, its store answers queued by the replicator.</summary>
    private sealed class Loop : IShardHost
    {
        public readonly ConcurrentQueue<LmaEvent> Answers = new();
        public LocalMobilityAnchor Machine = null!;
        public ShardReplicator? Replicator;
        public long Acks;
        public long Writes;
        public readonly object Gate = new();
        public readonly AutoResetEvent Answered = new(false);

        public Task<TakeoverResult> TakeOverAsync(IReadOnlyList<StoredBinding> records, uint stored, byte[]? storedEspSequences)
        {
            lock (Gate) Perform(Machine.TakeOver(records, stored == 0 ? 1 : stored, Instant.FromDateTime(DateTime.UtcNow), out uint c));
            return Task.FromResult(new TakeoverResult(stored == 0 ? 1u : stored, null)); // no ESP in the benchmark
        }
        public Task BringUpAsync() => Task.CompletedTask;
        public Task StepDownAsync(string reason) => throw new InvalidOperationException("stepped down during the benchmark: " + reason);
        public void StoreResults(IReadOnlyList<LmaEvent> results)
        {
            foreach (var r in results) Answers.Enqueue(r);
            Answered.Set();
        }

        public void Perform(IReadOnlyList<LmaAction> actions)
        {
            for (int i = 0; i < actions.Count; i++)
            {
                switch (actions[i])
                {
                    case LmaAction.SendMobilityMessage { Message: BindingAcknowledgement }: Acks++; break;
                    case LmaAction.StoreBinding w: Writes++; Replicator!.Write(w); break;
                    case LmaAction.StoreWriteFailed f: throw new InvalidOperationException($"store write failed: {f.Failure}");
                }
            }
        }

        public void Drain(Instant now)
        {
            while (Answers.TryDequeue(out var e)) Perform(Machine.Handle(e, now));
        }
    }

    public static List<Phase> Run(int vms, int rounds, Action<string> log)
    {
        using var etcd = LocalEtcd.Start(1, log);
        var results = new List<Phase>();
        // Warm-up, not reported: the JIT and the gRPC connection would otherwise be charged to the first round.
        foreach (bool withEtcd in new[] { false, true }) _ = Once(Math.Min(vms, 2000), 0, withEtcd, etcd, log).ToList();
        for (int round = 1; round <= rounds; round++)
        {
            // Alternate which goes first, so a drift in the machine's load does not favour one.
            var order = round % 2 == 1 ? new[] { false, true } : [true, false];
            foreach (bool withEtcd in order) results.AddRange(Once(vms, round, withEtcd, etcd, log));
        }
        return results;
    }

    public sealed record LatencySample(string Mode, int Round, double Milliseconds);

    /// <summary>
    /// The PBU → PBA time of one handoff at a time (nothing else in flight), per acknowledgement mode: what
    /// `acknowledge: after-commit` adds to a handover on this etcd, against `async` and the in-memory LMA.
    /// </summary>
    public static List<LatencySample> Latency(int samples, int rounds, Action<string> log)
    {
        using var etcd = LocalEtcd.Start(1, log);
        var all = new List<LatencySample>();
        var modes = new[] { BindingPersistence.None, BindingPersistence.AcknowledgeAsynchronously, BindingPersistence.AcknowledgeAfterCommit };
        for (int round = 1; round <= rounds; round++)
        {
            foreach (var mode in round % 2 == 1 ? modes : modes.Reverse())
            {
                var (loop, replicator) = Start(mode, etcd, round);
                string name = mode switch { BindingPersistence.None => "memory", BindingPersistence.AcknowledgeAsynchronously => "async", _ => "after-commit" };
                var now = Instant.FromDateTime(DateTime.UtcNow);
                // One VM, created, then moved back and forth.
                loop.Perform(loop.Machine.Handle(new LmaEvent.MobilityMessageReceived(Workload.Mag1, Workload.Pbu(0, now, 1, null, HandoffIndicator.AttachmentOverNewInterface)), now));
                WaitAcks(loop, 1, now);
                var prefix = loop.Machine.Bindings.Single().HomeNetworkPrefixes[0];
                for (int i = 0; i < samples; i++)
                {
                    now += TimeSpan.FromMilliseconds(1);
                    var mag = i % 2 == 0 ? Workload.Mag2 : Workload.Mag1;
                    long acks = loop.Acks;
                    var t0 = Stopwatch.GetTimestamp();
                    loop.Perform(loop.Machine.Handle(new LmaEvent.MobilityMessageReceived(mag, Workload.Pbu(0, now, (ushort)(i + 2), prefix, HandoffIndicator.HandoffBetweenMagsForSameInterface)), now));
                    WaitAcks(loop, acks + 1, now);
                    all.Add(new LatencySample(name, round, Stopwatch.GetElapsedTime(t0).TotalMilliseconds));
                    // Let an async write finish before the next handoff, so each sample is one handoff alone.
                    while (loop.Writes > 0 && Interlocked.Read(ref replicator!.Status.WritesInFlight) > 0) Thread.Sleep(1);
                    loop.Drain(now);
                }
                replicator?.Dispose();
            }
        }
        return all;
    }

    private static void WaitAcks(Loop loop, long target, Instant now)
    {
        var sw = Stopwatch.StartNew();
        while (loop.Acks < target)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("no PBA within 30 s");
            loop.Drain(now);
            if (loop.Acks < target) loop.Answered.WaitOne(1);
        }
    }

    private static (Loop, ShardReplicator?) Start(BindingPersistence mode, LocalEtcd etcd, int round)
    {
        var loop = new Loop();
        loop.Machine = new LocalMobilityAnchor(Workload.Options(mode), new InMemoryLmaPolicy(), new SplitMix64Random(1));
        if (mode == BindingPersistence.None) return (loop, null);
        var store = new EtcdShardStore(new EtcdOptions { Endpoints = etcd.Endpoints, RequestTimeout = TimeSpan.FromSeconds(5) },
            new ShardKeys("/dataplane-bench/v1", $"r{round}x{mode}x{Environment.TickCount64}"));
        var replicator = new ShardReplicator(store, new ElectionOptions { LeaseTtl = TimeSpan.FromSeconds(10) }, "bench", loop, new DaemonClock(),
            NullLogger.Instance, "{}", _ => null);
        loop.Replicator = replicator;
        replicator.Start();
        var sw = Stopwatch.StartNew();
        while (replicator.Status.Role != LmaRole.Active)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the benchmark's LMA was not elected");
            Thread.Sleep(10);
        }
        return (loop, replicator);
    }

    private static IEnumerable<Phase> Once(int vms, int round, bool withEtcd, LocalEtcd etcd, Action<string> log)
    {
        var (loop, replicator) = Start(withEtcd ? BindingPersistence.AcknowledgeAfterCommit : BindingPersistence.None, etcd, round);
        string mode = withEtcd ? "etcd" : "memory";
        var now = Instant.FromDateTime(DateTime.UtcNow);
        var prefixes = new Ipv6Prefix[vms];
        // Phase 1: every VM attaches at MAG1 (a write each with etcd).
        var creates = Enumerable.Range(0, vms).Select(v => Workload.Pbu(v, now, 1, null, HandoffIndicator.AttachmentOverNewInterface)).ToArray();
        yield return Measure(mode, round, "create", loop, etcd, creates, Workload.Mag1, now);
        foreach (var b in loop.Machine.Bindings) prefixes[int.Parse(b.MobileNodeIdentifier.AsSpan(2, b.MobileNodeIdentifier.IndexOf('@') - 2), CultureInfo.InvariantCulture)] = b.HomeNetworkPrefixes[0];
        // Phase 2: every VM moves to MAG2 (a write each).
        now += TimeSpan.FromMilliseconds(10);
        var handoffs = Enumerable.Range(0, vms).Select(v => Workload.Pbu(v, now, 2, prefixes[v], HandoffIndicator.HandoffBetweenMagsForSameInterface)).ToArray();
        yield return Measure(mode, round, "handoff", loop, etcd, handoffs, Workload.Mag2, now);
        // Phase 3: MAG2 refreshes every binding (nothing written).
        now += TimeSpan.FromMilliseconds(10);
        var refreshes = Enumerable.Range(0, vms).Select(v => Workload.Pbu(v, now, 3, prefixes[v], HandoffIndicator.HandoffStateNotChanged)).ToArray();
        yield return Measure(mode, round, "refresh", loop, etcd, refreshes, Workload.Mag2, now);
        replicator?.Dispose();
    }

    private static Phase Measure(string mode, int round, string kind, Loop loop, LocalEtcd etcd, BindingUpdate[] pbus, Ipv6Address mag, Instant now)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        double etcd0 = etcd.CpuSeconds();
        long acks0 = loop.Acks, writes0 = loop.Writes;
        var sw = Stopwatch.StartNew();
        const int Batch = 64;
        for (int i = 0; i < pbus.Length; i += Batch)
        {
            int end = Math.Min(i + Batch, pbus.Length);
            for (int j = i; j < end; j++) loop.Perform(loop.Machine.Handle(new LmaEvent.MobilityMessageReceived(mag, pbus[j]), now));
            loop.Drain(now);
        }
        // Every PBA out (with etcd: every write committed).
        while (loop.Acks - acks0 < pbus.Length)
        {
            if (sw.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"{kind}: {loop.Acks - acks0} of {pbus.Length} PBAs after 5 min");
            loop.Drain(now);
            // Sleep until answers come, as the daemon's loop sleeps in epoll: a spin would be counted as LMA CPU.
            loop.Answered.WaitOne(50);
        }
        var wall = sw.Elapsed.TotalSeconds;
        proc.Refresh();
        var cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
        return new Phase(mode, round, kind, pbus.Length, loop.Writes - writes0, wall, cpu, etcd.CpuSeconds() - etcd0);
    }
}
