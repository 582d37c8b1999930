using System.Globalization;
using System.Text;
using DataPlane.LmaScale;

// dataplane-lma-scale throughput|latency|memory|storm|plot|all [--vms N] [--rounds R] [--bindings N] [--members 1|3] [--latency-ms M] [--out DIR]
var argv = args.ToList();
string command = argv.Count > 0 && !argv[0].StartsWith('-') ? argv[0] : "all";
string? Opt(string name) { int i = argv.IndexOf(name); return i >= 0 && i + 1 < argv.Count ? argv[i + 1] : null; }
int Int(string name, int fallback) => Opt(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
var outDir = Opt("--out");
if (outDir is not null) Directory.CreateDirectory(outDir);
void Log(string s) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {s}");
string Load() => File.ReadAllText("/proc/loadavg").Trim();
var ci = CultureInfo.InvariantCulture;
Log($"load before: {Load()}");

if (command is "throughput" or "all")
{
    int vms = Int("--vms", 20_000), rounds = Int("--rounds", 3);
    var phases = ThroughputRun.Run(vms, rounds, Log);
    var csv = new StringBuilder("mode,round,phase,pbus,writes,wall_s,cpu_s,etcd_cpu_s,pbus_per_cpu_s,pbus_per_wall_s\n");
    foreach (var p in phases)
        csv.Append(ci, $"{p.Mode},{p.Round},{p.Kind},{p.Pbus},{p.Writes},{p.WallSeconds:0.000},{p.CpuSeconds:0.000},{p.EtcdCpuSeconds:0.00},{p.PbusPerCpuSecond:0},{p.PbusPerWallSecond:0}\n");
    Console.WriteLine(csv);
    Console.WriteLine("phase    | memory: PBUs per CPU-second (min–max) | etcd: PBUs per CPU-second (min–max) | ratio | etcd: PBUs/s wall | etcd's own CPU per PBU");
    foreach (var kind in new[] { "create", "handoff", "refresh" })
    {
        var mem = phases.Where(p => p.Mode == "memory" && p.Kind == kind).Select(p => p.PbusPerCpuSecond).ToArray();
        var withEtcd = phases.Where(p => p.Mode == "etcd" && p.Kind == kind).ToArray();
        var e = withEtcd.Select(p => p.PbusPerCpuSecond).ToArray();
        Console.WriteLine(string.Create(ci, $"{kind,-8} | {mem.Average(),10:0} ({mem.Min():0}–{mem.Max():0}) | {e.Average(),10:0} ({e.Min():0}–{e.Max():0}) | {e.Average() / mem.Average():0.000} | {withEtcd.Average(p => p.PbusPerWallSecond),8:0} | {withEtcd.Sum(p => p.EtcdCpuSeconds) * 1e6 / withEtcd.Sum(p => p.Pbus):0} µs"));
    }
    if (outDir is not null) File.WriteAllText(Path.Combine(outDir, "throughput.csv"), csv.ToString());
}
if (command is "latency" or "all")
{
    var samples = ThroughputRun.Latency(Int("--samples", 300), Int("--rounds", 3), Log);
    var csv = new StringBuilder("mode,round,pbu_to_pba_ms\n");
    foreach (var x in samples) csv.Append(ci, $"{x.Mode},{x.Round},{x.Milliseconds:0.000}\n");
    Console.WriteLine("mode         | PBU→PBA of one handoff: p50 | p90 | p99 | max (ms), samples");
    foreach (var g in samples.GroupBy(x => x.Mode))
    {
        var l = g.Select(x => x.Milliseconds).Order().ToArray();
        double P(double q) => l[Math.Min(l.Length - 1, (int)(q * l.Length))];
        Console.WriteLine(string.Create(ci, $"{g.Key,-12} | {P(0.5):0.000} | {P(0.9):0.000} | {P(0.99):0.000} | {l[^1]:0.000}, {l.Length}"));
    }
    if (outDir is not null) File.WriteAllText(Path.Combine(outDir, "latency.csv"), csv.ToString());
}
if (command is "memory" or "all")
{
    int n = Int("--bindings", 1_000_000);
    var results = MemoryRun.Run(n, Log);
    var csv = new StringBuilder("what,bindings,heap_bytes,rss_bytes,heap_bytes_per_binding\n");
    foreach (var r in results) csv.Append(ci, $"\"{r.What}\",{r.Bindings},{r.HeapBytes},{r.RssBytes},{r.HeapPerBinding:0}\n");
    Console.WriteLine(csv);
    foreach (var r in results) Console.WriteLine(string.Create(ci, $"{r.What}: {r.HeapBytes / 1048576.0:0} MiB heap ({r.HeapPerBinding:0} B per binding), RSS +{r.RssBytes / 1048576.0:0} MiB"));
    if (outDir is not null) File.WriteAllText(Path.Combine(outDir, "memory.csv"), csv.ToString());
}
if (command is "storm" or "all")
{
    int vms = Int("--vms", 10_000);
    var members = Opt("--members") is { } m ? m.Split(',').Select(x => int.Parse(x, ci)).ToArray() : [1, 3];
    var latency = TimeSpan.FromMilliseconds(Int("--latency-ms", 2));
    var csv = new StringBuilder("phase,members,vms,writes,batches,largest_batch,etcd_s,writes_per_s,p50_ms,p99_ms,max_ms,etcd_cpu_s,virtual_s,wal_fsyncs,wal_fsync_mean_ms,client_cpu_s\n");
    foreach (int size in members)
    {
        foreach (var r in StormRun.Run(vms, size, latency, Int("--concurrency", 256), Log))
        {
            csv.Append(ci, $"{r.Phase},{r.Members},{r.Vms},{r.Writes},{r.Batches},{r.LargestBatch},{r.EtcdSeconds:0.000},{r.WritesPerSecond:0},{r.P50Ms:0.00},{r.P99Ms:0.00},{r.MaxMs:0.00},{r.EtcdCpuSeconds:0.00},{r.VirtualSeconds:0.000},{r.WalFsyncs:0},{r.WalFsyncMeanMs:0.00},{r.ClientCpuSeconds:0.00}\n");
            Console.WriteLine(string.Create(ci, $"{r.Phase} with {r.Members} member(s): {r.Writes} writes in {r.Batches} batches (largest {r.LargestBatch}) took etcd {r.EtcdSeconds:0.00} s: {r.WritesPerSecond:0} writes/s; per write p50 {r.P50Ms:0.0} ms, p99 {r.P99Ms:0.0} ms, max {r.MaxMs:0.0} ms; etcd CPU {r.EtcdCpuSeconds:0.0} s, client CPU {r.ClientCpuSeconds:0.0} s; {r.WalFsyncs:0} WAL fsyncs ({r.Writes / Math.Max(1, r.WalFsyncs):0} writes each), mean {r.WalFsyncMeanMs:0.0} ms; {r.VirtualSeconds:0.00} s of virtual time"));
        }
    }
    Console.WriteLine(csv);
    if (outDir is not null) File.WriteAllText(Path.Combine(outDir, "storm.csv"), csv.ToString());
}
if (command is "plot" or "all" && outDir is not null)
    foreach (var png in Plots.Draw(outDir)) Log($"wrote {png}");
Log($"load after: {Load()}");
