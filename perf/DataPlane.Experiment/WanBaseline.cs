using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DataPlane.Experiment;

/// <summary>
/// What the WAN emulator itself costs, measured beside a plain veth in the same run, so the experiment's
/// numbers can be read honestly: the round trip it adds at 0 ms (ping, p50/p99), how exactly it holds a
/// configured delay, and its throughput ceiling (iperf3, one TCP stream) unlimited and at 1 Gbit/s.
/// Topology: namespaces A and B, either joined by one veth pair (baseline) or each by a veth pair to W,
/// where `dataplane-wan run` joins the two ends (the testbed's N-wan hop, once).
/// </summary>
public sealed class WanBaseline(Tools tools, TextWriter log)
{
    private readonly string _prefix = $"dpwb{Environment.ProcessId}";
    private const string AddressA = "2001:db8:99::1";
    private const string AddressB = "2001:db8:99::2";

    public sealed record PingStats(int Count, double P50, double P99, double Mean, double Max);

    public sealed record Result(PingStats Plain, PingStats Emulated0, PingStats Emulated10, double PlainGbit, double EmulatedGbit, double EmulatedRated1GbitGbit, string EmulatorStats)
    {
        public string ToMarkdown(int pings, int seconds)
        {
            var c = CultureInfo.InvariantCulture;
            var sb = new StringBuilder();
            sb.Append(c, $"Ping RTT A → B ({pings} echo requests, 10 ms apart; µs):\n\n| path | n | p50 | p99 | mean | max | added p50 | added p99 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
            void Row(string name, PingStats s, PingStats? baseline, double subtract = 0) =>
                sb.Append(c, $"| {name} | {s.Count} | {s.P50 * 1000:F0} | {s.P99 * 1000:F0} | {s.Mean * 1000:F0} | {s.Max * 1000:F0} | {(baseline is null ? "–" : ((s.P50 - subtract - baseline.P50) * 1000).ToString("F0", c))} | {(baseline is null ? "–" : ((s.P99 - subtract - baseline.P99) * 1000).ToString("F0", c))} |\n");
            Row("plain veth (baseline)", Plain, null);
            Row("through dataplane-wan, delay 0", Emulated0, Plain);
            Row("through dataplane-wan, delay 10 ms (added = minus the 20 ms configured)", Emulated10, Plain, 20);
            sb.Append(c, $"\nThroughput, iperf3 one TCP stream A → B, {seconds} s (Gbit/s): plain veth {PlainGbit:F2}; through dataplane-wan (delay 0, unlimited) {EmulatedGbit:F2}; through dataplane-wan at --rate 1gbit {EmulatedRated1GbitGbit:F3}.\n");
            sb.Append(c, $"\nThe emulator's own account after these runs (how late frames left against their departure time): `{EmulatorStats}`\n");
            sb.Append("\nIn the testbed a client–VM round trip crosses two emulated links, each twice: four passes, so at the seed's \"0.02 ms\" point the emulation adds about 2 × the added p50 above to the RTT.\n");
            return sb.ToString();
        }
    }

    private string Ns(string role) => $"{_prefix}-{role}";

    private static void Ip(params string[] args) => Proc.Check("ip", args, TimeSpan.FromSeconds(20));

    public Result Measure(int pings, int iperfSeconds)
    {
        RemoveStale();
        try
        {
            Build(emulated: false);
            var plain = Ping(pings);
            double plainGbit = Iperf(iperfSeconds);
            Teardown();

            Build(emulated: true);
            using var wan = Proc.Start("ip", ["netns", "exec", Ns("w"), tools.Wan, "run", "--a", "wa", "--b", "wb", "--control", Control]);
            if (!wan.WaitForOutput("ready", TimeSpan.FromSeconds(10))) throw new InvalidOperationException("dataplane-wan did not start: " + wan.Stderr);
            Thread.Sleep(300);
            var emulated0 = Ping(pings);
            double emulatedGbit = Iperf(iperfSeconds);
            Proc.Check(tools.Wan, ["set", "--control", Control, "--delay", "10ms"], TimeSpan.FromSeconds(5));
            var emulated10 = Ping(pings);
            Proc.Check(tools.Wan, ["set", "--control", Control, "--delay", "0", "--rate", "1gbit"], TimeSpan.FromSeconds(5));
            double ratedGbit = Iperf(iperfSeconds);
            string stats = Proc.Check(tools.Wan, ["stats", "--control", Control], TimeSpan.FromSeconds(5)).Trim();
            using (var doc = JsonDocument.Parse(stats))
            {
                var ab = doc.RootElement.GetProperty("aToB").GetProperty("latenessUs");
                stats = $"realtime {doc.RootElement.GetProperty("realtime")}, A→B lateness p50 {ab.GetProperty("p50")} µs, p99 {ab.GetProperty("p99")} µs, max {ab.GetProperty("max")} µs over {ab.GetProperty("count")} frames";
            }
            wan.Interrupt();
            wan.WaitForExit(TimeSpan.FromSeconds(5));
            return new Result(plain, emulated0, emulated10, plainGbit, emulatedGbit, ratedGbit, stats);
        }
        finally
        {
            Teardown();
        }
    }

    private string Control => $"/run/{_prefix}-wan.sock";

    private void Build(bool emulated)
    {
        foreach (var r in emulated ? new[] { "a", "w", "b" } : ["a", "b"])
        {
            Ip("netns", "add", Ns(r));
            Ip("-n", Ns(r), "link", "set", "lo", "up");
        }
        if (emulated)
        {
            Proc.Check("ip", ["netns", "exec", Ns("w"), "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], TimeSpan.FromSeconds(10));
            Ip("-n", Ns("a"), "link", "add", "eth0", "type", "veth", "peer", "name", "wa", "netns", Ns("w"));
            Ip("-n", Ns("b"), "link", "add", "eth0", "type", "veth", "peer", "name", "wb", "netns", Ns("w"));
            Ip("-n", Ns("w"), "link", "set", "dev", "wa", "up");
            Ip("-n", Ns("w"), "link", "set", "dev", "wb", "up");
        }
        else
        {
            Ip("-n", Ns("a"), "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", Ns("b"));
        }
        Ip("-n", Ns("a"), "addr", "add", AddressA + "/64", "dev", "eth0", "nodad");
        Ip("-n", Ns("b"), "addr", "add", AddressB + "/64", "dev", "eth0", "nodad");
        Ip("-n", Ns("a"), "link", "set", "dev", "eth0", "up");
        Ip("-n", Ns("b"), "link", "set", "dev", "eth0", "up");
        foreach (var (ns, dev) in emulated ? new[] { (Ns("a"), "eth0"), (Ns("b"), "eth0"), (Ns("w"), "wa"), (Ns("w"), "wb") } : [(Ns("a"), "eth0"), (Ns("b"), "eth0")])
        {
            for (int i = 0; i < 300; i++)
            {
                if (Proc.Run("ip", ["-n", ns, "-o", "link", "show", "dev", dev], TimeSpan.FromSeconds(5)).Stdout.Contains(" state UP ", StringComparison.Ordinal)) break;
                Thread.Sleep(10);
            }
        }
    }

    private PingStats Ping(int count)
    {
        // One warm-up exchange (neighbour discovery) first.
        Proc.Run("ip", ["netns", "exec", Ns("a"), "ping", "-6", "-c", "2", "-i", "0.1", "-W", "2", AddressB], TimeSpan.FromSeconds(10));
        var r = Proc.Run("ip", ["netns", "exec", Ns("a"), "ping", "-6", "-c", count.ToString(CultureInfo.InvariantCulture), "-i", "0.01", "-W", "2", AddressB],
            TimeSpan.FromSeconds(60 + count / 50));
        var v = r.Stdout.Split('\n').Select(l => l.IndexOf("time=", StringComparison.Ordinal) is int i and >= 0
                ? double.Parse(l[(i + 5)..].Split(' ')[0], CultureInfo.InvariantCulture) : double.NaN)
            .Where(x => !double.IsNaN(x)).Order().ToArray();
        if (v.Length == 0) throw new InvalidOperationException("ping through the baseline topology got no answer:\n" + r.Output);
        double P(double p) => v[Math.Min(v.Length - 1, (int)Math.Ceiling(p * v.Length) - 1)];
        return new PingStats(v.Length, P(0.5), P(0.99), v.Average(), v[^1]);
    }

    private double Iperf(int seconds)
    {
        using var server = Proc.Start("ip", ["netns", "exec", Ns("b"), "iperf3", "-s", "-1", "-B", AddressB]);
        Thread.Sleep(500);
        var r = Proc.Run("ip", ["netns", "exec", Ns("a"), "iperf3", "-c", AddressB, "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J"], TimeSpan.FromSeconds(seconds + 30));
        server.WaitForExit(TimeSpan.FromSeconds(5));
        if (r.ExitCode != 0) throw new InvalidOperationException("iperf3 failed: " + r.Output);
        // An interrupted iperf3 (Ctrl-C reaches the whole process group) exits 0 with a report that has no totals.
        using var doc = JsonDocument.Parse(r.Stdout);
        if (!doc.RootElement.TryGetProperty("end", out var end) || !end.TryGetProperty("sum_received", out var sum) ||
            !sum.TryGetProperty("bits_per_second", out var bps))
            throw new InvalidOperationException("iperf3 gave no throughput (interrupted?): " + r.Output);
        return bps.GetDouble() / 1e9;
    }

    private void Teardown()
    {
        foreach (var r in new[] { "a", "w", "b" })
        {
            if (!File.Exists($"/run/netns/{Ns(r)}")) continue;
            foreach (var pid in Proc.Run("ip", ["netns", "pids", Ns(r)], TimeSpan.FromSeconds(5)).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                if (int.TryParse(pid, out int p)) Proc.SysKill(p, 9);
            Proc.Run("ip", ["netns", "del", Ns(r)], TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Namespaces of baselines whose process is gone (dpwbPID-…).</summary>
    private void RemoveStale()
    {
        if (!Directory.Exists("/run/netns")) return;
        foreach (var f in Directory.GetFiles("/run/netns", "dpwb*"))
        {
            var name = Path.GetFileName(f);
            var digits = new string(name[4..].TakeWhile(char.IsDigit).ToArray());
            if (digits.Length == 0 || Directory.Exists($"/proc/{digits}")) continue;
            log.WriteLine($"removing stale namespace {name}");
            Proc.Run("ip", ["netns", "del", name], TimeSpan.FromSeconds(10));
        }
    }
}
