using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using DataPlane.Experiment;

const string Usage = """
    dataplane-experiment — the seed's evaluation on the namespace testbed (needs root; `make build` first).

    dataplane-experiment run [--runs 70] [--rtts 0.02,30,90,160] [--pause 200] [--memory-mb 256] [--rate 1gbit|unlimited]
                             [--capture-runs 10] [--announce na|rarp|garp|none] [--settle 1000] [--outage-intervals 10|5] [--ipv4]
                             [--driver namespace|qemu] [--downtime-limit MS] [--max-bandwidth B/s] [--multifd N] [--no-pre-registration] [--no-bicast]
                             [--baseline-pings 1000] [--baseline-seconds 5] [--no-baseline]
                             [--keep-captures] [--out DIR]
        For each RTT: brings the testbed up with the LMA's links delayed by RTT/4 each way (and the rate), runs
        --runs migrations of vm1 back and forth, each with the UDP probe (downtime, total migration time, loss),
        the TCP survivability test, the switch's own handover latency from the MAG's log and the migration's
        steps; the first --capture-runs of each RTT are captured on the LMA's MAG links and classified. First it
        measures the WAN emulator against a plain veth (--no-baseline skips it). Writes DIR/runs.csv (after
        every run), DIR/README.md (command, commit, machine, tables beside the seed's), DIR/*.png.
        Default DIR: perf/results/<UTC date-time>.
        --ipv4: the same measurements over IPv4 (RFC 5844): the VM runs dual stack (its IPv4 home address from its MAG's
        DHCP server, busybox udhcpc), the UDP probe targets that address, the VM's TCP client the client node's IPv4
        address, and the RTT is pinged over IPv4. --announce garp sends the guest's gratuitous ARP instead of its NA.
        --driver qemu: a real guest instead of the namespace VM (docs/real-guest.md): QEMU (TCG) in MAG1's namespace,
        --memory-mb of guest RAM, live-migrated over QMP (scripts/guest/qemu-vm) with the stream across the emulated WAN;
        --pause and --announce do not apply; --downtime-limit sets QEMU's (default 300 ms), --max-bandwidth its rate cap (k/M/G
        suffixes), --multifd N its parallel streams; --outage-intervals defaults
        to 5. Each run also records QEMU's query-migrate figures (total time, downtime, setup time, RAM transferred)
        and its STOP → RESUME interval.
        --no-pre-registration: the MAGs do not pre-register an incoming VM (its first frame registers it, as before
        issue 16), so the switch's share and the hypervisor settings' share of the downtime can be measured apart.
        --no-bicast: the LMA does not copy the downlink to the pre-registered destination; it moves it there when the
        source reports its VM stopped (the LMA's migration.bicast false), so the two ways of getting the downlink there
        can be measured against each other.

    dataplane-experiment report --out DIR
        Re-render README tables and plots from DIR/runs.csv (and DIR/meta.txt).

    dataplane-experiment wan-baseline [--pings 1000] [--seconds 5]
        Only the WAN emulator's own added delay (ping p50/p99 vs a plain veth) and throughput ceiling (iperf3).
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 64 : 0;
}

var tools = Tools.Find();
using var cts = new CancellationTokenSource();
int interrupts = 0;
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    Console.Error.WriteLine(Interlocked.Increment(ref interrupts) == 1
        ? "dataplane-experiment: interrupted: stopping the children and tearing the testbed down…"
        : "dataplane-experiment: interrupted again: killing children");
    cts.Cancel();
    Proc.KillAll();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

try
{
    var opts = Options.Parse(args[1..]);
    return args[0] switch
    {
        "run" => RunExperiment(opts),
        "report" => Rerender(opts),
        "wan-baseline" => Baseline(opts),
        _ => throw new ArgumentException($"unknown command '{args[0]}'"),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"dataplane-experiment: {e.Message}\n(run with --help for usage)");
    return 64;
}
catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
{
    // Runs that finished are in runs.csv already; the testbed and the children are gone (Stop, Dispose).
    Console.Error.WriteLine($"dataplane-experiment: {e.Message}");
    return 1;
}

int Baseline(Options o)
{
    tools.Require();
    int pings = o.Int("pings", 1000), seconds = o.Int("seconds", 5);
    var result = new WanBaseline(tools, Console.Error).Measure(pings, seconds);
    Console.WriteLine(result.ToMarkdown(pings, seconds));
    return 0;
}

int RunExperiment(Options o)
{
    Tools.Find().Require();
    string loadAtStart = Load();
    var options = new ExperimentOptions
    {
        Runs = o.Int("runs", 70),
        RttsMs = o.Get("rtts") is { } r ? r.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray() : SeedData.RttsMs,
        PauseMs = o.Int("pause", 200),
        MemoryMb = o.Int("memory-mb", 256),
        Rate = o.Get("rate") is { } rate ? (rate is "unlimited" or "0" ? null : rate) : "1gbit",
        CaptureRuns = o.Int("capture-runs", 10),
        Announce = o.Get("announce") ?? "na",
        SettleMs = o.Int("settle", 1000),
        KeepCaptures = o.Has("keep-captures"),
        Driver = o.Get("driver") ?? "namespace",
        Ipv4 = o.Has("ipv4"),
        DowntimeLimitMs = o.Has("downtime-limit") ? o.Int("downtime-limit", 300) : null,
        MaxBandwidth = o.Get("max-bandwidth"),
        Multifd = o.Has("multifd") ? o.Int("multifd", 2) : null,
        PreRegistration = !o.Has("no-pre-registration"),
        Bicast = !o.Has("no-bicast"),
    };
    if (options.Driver is not ("namespace" or "qemu")) throw new ArgumentException($"--driver {options.Driver}: namespace or qemu");
    if (options.Announce is not ("na" or "rarp" or "garp" or "none")) throw new ArgumentException($"--announce {options.Announce}: na, rarp, garp or none");
    // A real guest's outage is QEMU's stop → resume (often under 100 ms) plus the handover; the emulated pause is 200 ms.
    options = options with { OutageIntervals = Math.Max(2, o.Int("outage-intervals", options.Driver == "qemu" ? 5 : 10)) };
    string outDir = Path.GetFullPath(o.Get("out") ?? Path.Combine(tools.Root, "perf", "results", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HHmm'Z'", CultureInfo.InvariantCulture)));
    Directory.CreateDirectory(outDir);
    string work = Path.Combine(outDir, "work");
    Directory.CreateDirectory(work);
    // The binaries as they are now, for the whole run (the README records their hashes).
    var snapshot = Tools.Find().Snapshot(Path.Combine(outDir, "work", "bin"));
    var started = DateTime.UtcNow;
    var sw = Stopwatch.StartNew();
    var log = Console.Out;
    string command = "dataplane-experiment " + string.Join(' ', args);
    string how = options.Driver == "qemu" ? $"real QEMU guest of {options.MemoryMb} MB" : $"pause {options.PauseMs} ms, memory {options.MemoryMb} MiB";
    log.WriteLine($"experiment: {options.Runs} runs at RTT {string.Join(", ", options.RttsMs.Select(x => x.ToString(CultureInfo.InvariantCulture)))} ms, {how}, rate {options.Rate ?? "unlimited"}; output {outDir}");

    string baseline = "";
    if (!o.Has("no-baseline"))
    {
        int pings = o.Int("baseline-pings", 1000), seconds = o.Int("baseline-seconds", 5);
        log.WriteLine($"WAN emulator baseline ({pings} pings, {seconds} s iperf3 per path)…");
        try
        {
            baseline = new WanBaseline(snapshot, Console.Error).Measure(pings, seconds).ToMarkdown(pings, seconds);
            log.WriteLine(baseline);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            baseline = $"(not measured: {e.Message.Split('\n')[0]})\n";
            log.WriteLine("baseline failed: " + e.Message);
        }
        File.WriteAllText(Path.Combine(outDir, "wan-baseline.md"), baseline);
    }

    var all = new List<RunResult>();
    var measuredRtt = new Dictionary<double, double>();
    string driverDescription = "";
    string csv = Path.Combine(outDir, "runs.csv");
    foreach (double rtt in options.RttsMs)
    {
        if (cts.IsCancellationRequested) break;
        using IMigrationDriver driver = options.Driver == "qemu"
            ? new QemuMigrationDriver(snapshot, options, log)
            : new NamespaceMigrationDriver(snapshot, options, log);
        driverDescription = driver.Description;
        try
        {
            log.WriteLine($"RTT {rtt} ms ({SeedData.NameOf(rtt)}):");
            driver.Up(rtt);
            var runner = new Runner(snapshot, options, driver, log);
            measuredRtt[rtt] = runner.MeasureRtt();
            runner.FloorMs = runner.MeasureMigrationPathOneWay();
            log.WriteLine($"  measured client–VM RTT (ping median): {measuredRtt[rtt]:F3} ms; migration path one-way (MAG1 ↔ MAG2 ping / 2, the floor): {runner.FloorMs:F3} ms");
            runner.RunAll(rtt, work, r =>
            {
                all.Add(r);
                Report.WriteCsv(csv, all);
            }, cts.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            log.WriteLine($"RTT {rtt} ms aborted: {e.Message}");
            if (cts.IsCancellationRequested) break;
        }
        finally
        {
            driver.Down();
        }
        // Commit-ready after every RTT, so an interrupted run still leaves its tables and plots.
        WriteReadme(outDir, all, measuredRtt, command, started, sw.Elapsed, driverDescription, options, baseline, interrupted: true, snapshot, loadAtStart, Load());
    }
    Report.WriteCsv(csv, all);
    var meta = new StringBuilder();
    meta.AppendLine($"command={command}");
    meta.AppendLine($"started={started:O}");
    meta.AppendLine($"duration_s={sw.Elapsed.TotalSeconds:F0}");
    meta.AppendLine($"driver={driverDescription}");
    meta.AppendLine($"load_start={loadAtStart}");
    meta.AppendLine($"load_end={Load()}");
    foreach (var (k, v) in measuredRtt) meta.AppendLine(string.Create(CultureInfo.InvariantCulture, $"measured_rtt_{k}={v}"));
    File.WriteAllText(Path.Combine(outDir, "meta.txt"), meta.ToString());
    WriteReadme(outDir, all, measuredRtt, command, started, sw.Elapsed, driverDescription, options, baseline, cts.IsCancellationRequested, snapshot, loadAtStart, Load());
    // The binaries' copies go (their hashes are in the README); the per-run probe reports stay (they are small).
    foreach (var f in new[] { snapshot.Dataplane, snapshot.Probe, snapshot.Wan }) File.Delete(f);
    log.WriteLine();
    log.WriteLine(Report.Tables(all, measuredRtt));
    log.WriteLine($"experiment: {all.Count} runs in {sw.Elapsed.TotalMinutes:F1} min; outputs in {outDir}: README.md (tables), runs.csv, downtime.png, total-migration-time.png, downtime-parts.png");
    return cts.IsCancellationRequested ? 130 : 0;
}

int Rerender(Options o)
{
    string outDir = Path.GetFullPath(o.Get("out") ?? throw new ArgumentException("--out DIR is required"));
    var all = Report.ReadCsv(Path.Combine(outDir, "runs.csv"));
    var meta = File.Exists(Path.Combine(outDir, "meta.txt"))
        ? File.ReadAllLines(Path.Combine(outDir, "meta.txt")).Where(l => l.Contains('=')).ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..])
        : [];
    var measured = meta.Where(kv => kv.Key.StartsWith("measured_rtt_", StringComparison.Ordinal))
        .ToDictionary(kv => double.Parse(kv.Key["measured_rtt_".Length..], CultureInfo.InvariantCulture), kv => double.Parse(kv.Value, CultureInfo.InvariantCulture));
    string baseline = File.Exists(Path.Combine(outDir, "wan-baseline.md")) ? File.ReadAllText(Path.Combine(outDir, "wan-baseline.md")) : "";
    var started = meta.TryGetValue("started", out var s) ? DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind) : DateTime.UtcNow;
    var duration = meta.TryGetValue("duration_s", out var ds) ? TimeSpan.FromSeconds(double.Parse(ds, CultureInfo.InvariantCulture)) : TimeSpan.Zero;
    string bin = Path.Combine(outDir, "work", "bin");
    var used = Directory.Exists(bin)
        ? tools with { Dataplane = Path.Combine(bin, "dataplane"), Probe = Path.Combine(bin, "dataplane-probe"), Wan = Path.Combine(bin, "dataplane-wan") }
        : tools;
    WriteReadme(outDir, all, measured, meta.GetValueOrDefault("command", "?"), started, duration, meta.GetValueOrDefault("driver", ""), null, baseline, false, used,
        meta.GetValueOrDefault("load_start", "?"), meta.GetValueOrDefault("load_end", "?"));
    Console.WriteLine(Report.Tables(all, measured));
    return 0;
}

void WriteReadme(string outDir, List<RunResult> all, Dictionary<double, double> measuredRtt, string command, DateTime started, TimeSpan duration,
    string driver, ExperimentOptions? options, string baseline, bool interrupted, Tools tools, string loadStart, string loadEnd)
{
    var plots = all.Count > 0 ? Report.Plots(all, outDir) : [];
    var sb = new StringBuilder();
    sb.Append("# DataPlane beside the seed study: migration downtime, total migration time, TCP survival, signalling overhead\n\n");
    if (interrupted) sb.Append("**Partial results: the run was interrupted, or is still going (this file is rewritten after every RTT).**\n\n");
    sb.Append("| | |\n|---|---|\n");
    sb.Append($"| command | `{command}` (from the repository root, as root: `artifacts/bin/DataPlane.Experiment/Release/net10.0/dataplane-experiment`; `make experiment EXPERIMENT_ARGS='…'` runs the same after building) |\n");
    sb.Append($"| commit | `{Git("rev-parse HEAD")}`{(Git("status --porcelain --untracked-files=no").Length > 0 ? " (with uncommitted changes in the work tree)" : "")} |\n");
    sb.Append($"| machine | {Machine()} |\n");
    sb.Append($"| binaries (sha256, first 12) | {string.Join(", ", new[] { tools.Dataplane, tools.Probe, tools.Wan }.Select(f => $"`{Path.GetFileName(f)}` {Sha(f)}"))} |\n");
    sb.Append(CultureInfo.InvariantCulture, $"| started | {started:yyyy-MM-dd HH:mm} UTC, took {duration.TotalMinutes:F0} min; load average (1/5/15 min) at start {loadStart}, at the end {loadEnd} (other work on the machine shares its two cores) |\n");
    sb.Append($"| method | {driver} |\n");
    if (options is not null && options.Driver == "qemu")
        sb.Append(CultureInfo.InvariantCulture, $"| settings | {options.Runs} migrations per RTT, real guest of {options.MemoryMb} MB, link rate {options.Rate ?? "unlimited"}, {options.CaptureRuns} captured runs per RTT, probe outage threshold {options.OutageIntervals} intervals, probes over {(options.Ipv4 ? "IPv4" : "IPv6")} |\n");
    else if (options is not null)
        sb.Append(CultureInfo.InvariantCulture, $"| settings | {options.Runs} migrations per RTT, pause {options.PauseMs} ms, pre-copy {options.MemoryMb} MiB, link rate {options.Rate ?? "unlimited"}, {options.CaptureRuns} captured runs per RTT, announce {options.Announce}, probes over {(options.Ipv4 ? "IPv4" : "IPv6")} |\n");
    sb.Append('\n');
    sb.Append("""
        ## How to read this

        The seed (shared/seeds/: Kassahun, Demessie, Ilie, 2013/14) migrated a 256 MB Xen guest between two hosts acting
        as MAGs, with NetEm delaying all of the LMA's links, and measured each point 70 times. Here the same topology runs
        in network namespaces on one two-core machine: the VM is a namespace whose interface the testbed moves between the
        MAGs' namespaces as a hypervisor moves a vif; the hypervisor's work is emulated: the pre-copy is one bulk TCP stream
        of the guest's memory size from the source MAG to the destination MAG (through the LMA, across the emulated WAN),
        and the stop-and-copy is a fixed pause. So the *hypervisor's share* is a setting, not a measurement; what is
        measured is everything else: the switch's handover, the signalling across the emulated WAN, the path, and TCP's
        behaviour over it. The switch's own handover latency (from the destination MAG's log) and the "VM stopped"
        interval (source link-down → destination port-add) are reported beside the end-to-end downtime so the two
        shares can be told apart.

        **The pause.** The thesis attributes 60–210 ms of a LAN migration's downtime to Xen itself (its reference [4],
        Clark et al.) and the rest to PMIPv6 (equation (5): D_total = D_Xen + D_PMIPv6). The default pause is 200 ms, the
        upper end of that range, as the seed's hosts were 2005-era Athlon 64 machines with 1 GB of RAM; moving the
        interface between namespaces adds ~30–40 ms to the "VM stopped" time. Unlike Xen's, the emulated stop-and-copy
        does not grow with the RTT (Xen's final copy and commit cross the WAN), so at long RTTs our downtime understates
        the hypervisor's share that the seed saw.

        **The WAN.** `dataplane-wan` sits in the middle of each of the LMA's three links (client, MAG1, MAG2) and delays
        every frame by RTT/4 each way, so the client–VM RTT is the seed's RTT and the MAG–LMA RTT half of it (thesis
        Figure 8); the links are rate-limited to the seed's 1 Gbit/s unless the settings say otherwise. The seed's
        "0.02 ms" point is its testbed without NetEm; ours is the testbed with the emulator at 0 ms delay, whose own
        cost is measured below against a plain veth.

        """.Replace("\n        ", "\n", StringComparison.Ordinal));
    if (driver.StartsWith("real guest", StringComparison.Ordinal)) sb.Append(QemuMigrationDriver.ReadmeNote);
    sb.Append('\n');
    if (baseline.Length > 0) sb.Append("## The WAN emulator's own cost (measured in this run)\n\n").Append(baseline).Append('\n');
    sb.Append("## Results\n\n");
    sb.Append(Report.Tables(all, measuredRtt));
    sb.Append("## Plots\n\n");
    foreach (var p in plots) sb.Append($"![{Path.GetFileNameWithoutExtension(p)}]({Path.GetFileName(p)})\n\n");
    sb.Append("## Raw data\n\n`runs.csv`: one row per migration (every metric above, the migration's step times, the capture's bytes per class); `work/` holds each run's probe reports (`udp-RTTms-N.json`, `tcp-RTTms-N.json`; left out when results are committed). `dataplane-experiment report --out <this directory>` re-renders the tables and plots from `runs.csv`.\n");
    File.WriteAllText(Path.Combine(outDir, "README.md"), sb.ToString());
}

string Git(string arguments)
{
    try
    {
        var r = Proc.Run("git", ["-C", tools.Root, .. arguments.Split(' ')], TimeSpan.FromSeconds(10));
        return r.ExitCode == 0 ? r.Stdout.Trim() : "?";
    }
    catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
    {
        return "?";
    }
}

static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

static string Sha(string path)
{
    if (!File.Exists(path)) return "missing";
    using var f = File.OpenRead(path);
    return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(f))[..12];
}

static string Machine()
{
    string cpu = File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
        : "?";
    string mem = File.Exists("/proc/meminfo")
        ? (long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024).ToString("F0", CultureInfo.InvariantCulture) + " GiB"
        : "?";
    string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?";
    return $"{Environment.ProcessorCount} cores ({cpu}), {mem}, Linux {kernel}, .NET {Environment.Version}";
}

/// <summary><c>--name value</c>, <c>--name=value</c>, <c>--flag</c>.</summary>
internal sealed class Options
{
    private static readonly HashSet<string> Flags = ["no-baseline", "keep-captures", "ipv4", "no-pre-registration", "no-bicast"];
    private static readonly HashSet<string> Values =
        ["runs", "rtts", "pause", "outage-intervals", "downtime-limit", "max-bandwidth", "multifd", "memory-mb", "rate", "capture-runs", "announce", "settle", "driver", "baseline-pings", "baseline-seconds", "out", "pings", "seconds"];
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{a}'");
            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (Flags.Contains(name)) o._flags.Add(name);
            else if (Values.Contains(name)) o._values[name] = inline ?? (i + 1 < args.Length ? args[++i] : throw new ArgumentException($"--{name} needs a value"));
            else throw new ArgumentException($"unknown option --{name}");
        }
        return o;
    }

    public bool Has(string name) => _flags.Contains(name) || _values.ContainsKey(name);
    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public int Int(string name, int fallback) => Get(name) is { } s
        ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0 ? v : throw new ArgumentException($"--{name}: '{s}' is not a whole number")
        : fallback;
}
