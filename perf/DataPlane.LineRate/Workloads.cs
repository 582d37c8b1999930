using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DataPlane.LineRate;

/// <summary>One measured figure of one run.</summary>
public sealed record Measurement(string Topology, string Offloads, int Run, string Metric, double Value, string Unit);

/// <summary>
/// The workloads the issue lists, over IPv6 and (where the path carries it) over IPv4, whose metrics carry an
/// "ipv4 " prefix. Throughput and packet rates come from iperf3's JSON (receiver side); latency from ping's
/// per-packet times; CPU from /proc/stat (all CPUs, busy jiffies) over the same window, divided by the gigabits
/// the receiver got.
/// </summary>
public static partial class Workloads
{
    /// <summary>The IP versions measured (`--families 6,4`); IPv4 only on topologies that carry it.</summary>
    public static HashSet<int> Families { get; set; } = [6, 4];

    public static IEnumerable<Measurement> Run(ITopology t, string offloads, int run, int seconds)
    {
        var paths = new List<(string Prefix, string Family, string Client)>();
        if (Families.Contains(6)) paths.Add(("", "-6", t.ClientAddress));
        if (Families.Contains(4) && t.ClientAddress4 is { } client4) paths.Add(("ipv4 ", "-4", client4));
        foreach (var (prefix, family, client) in paths)
        {
            var tag = (string metric, double value, string unit) => new Measurement(t.Label, offloads, run, prefix + metric, value, unit);
            foreach (var (streams, reverse) in new[] { (1, false), (1, true), (4, false), (4, true) })
            {
                var name = $"tcp {(reverse ? "client→vm" : "vm→client")} {streams}x";
                var (gbps, cpuPerGbit) = Tcp(t, client, streams, reverse, seconds);
                yield return tag(name, gbps, "Gbit/s");
                if (streams == 1) yield return tag(name + " cpu", cpuPerGbit, "CPU s/Gbit");
            }
            foreach (int size in new[] { 64, 1400 })
                yield return tag($"udp {size}B vm→client", Udp(t, client, size, seconds) / 1000, "kpps");
            var (p50, p99) = Ping(t, family, client);
            yield return tag("ping p50", p50, "µs");
            yield return tag("ping p99", p99, "µs");
        }
    }

    private static System.Diagnostics.Process Server(ITopology t, string client)
    {
        var s = Sh.StartInNs(t.ClientNs, "iperf3", "-s", "-1", "-B", client);
        Thread.Sleep(300);
        return s;
    }

    private static (double Gbps, double CpuSecondsPerGbit) Tcp(ITopology t, string client, int streams, bool reverse, int seconds)
    {
        using var server = Server(t, client);
        var cpu0 = BusyCpuSeconds();
        var args = new List<string> { "iperf3", "-c", client, "-t", seconds.ToString(CultureInfo.InvariantCulture), "-P", streams.ToString(CultureInfo.InvariantCulture), "-J" };
        if (reverse) args.Add("-R");
        var r = Sh.InNs(t.VmNs, TimeSpan.FromSeconds(seconds + 30), [.. args]);
        var cpu = BusyCpuSeconds() - cpu0;
        server.WaitForExit(5000);
        var j = JsonNode.Parse(r.Stdout)!;
        if (j["error"] is { } err) throw new InvalidOperationException($"{t.Label}: iperf3: {err}");
        double bps = j["end"]!["sum_received"]!["bits_per_second"]!.GetValue<double>();
        double secondsMeasured = j["end"]!["sum_received"]!["seconds"]!.GetValue<double>();
        double gbit = bps * secondsMeasured / 1e9;
        return (bps / 1e9, gbit > 0 ? cpu / gbit : double.NaN);
    }

    /// <summary>Packets per second the receiver got, with iperf3 sending as fast as it can.</summary>
    private static double Udp(ITopology t, string client, int size, int seconds)
    {
        using var server = Server(t, client);
        var r = Sh.InNs(t.VmNs, TimeSpan.FromSeconds(seconds + 30), "iperf3", "-c", client, "-u", "-b", "0", "-l", size.ToString(CultureInfo.InvariantCulture),
            "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J");
        server.WaitForExit(5000);
        var sum = JsonNode.Parse(r.Stdout)!["end"]!["sum"]!;
        double packets = sum["packets"]!.GetValue<double>() - sum["lost_packets"]!.GetValue<double>();
        return packets / sum["seconds"]!.GetValue<double>();
    }

    private static (double P50, double P99) Ping(ITopology t, string family, string client)
    {
        var r = Sh.InNs(t.VmNs, TimeSpan.FromSeconds(60), "ping", family, "-c", "400", "-i", "0.005", "-W", "1", client);
        var times = TimeRegex().Matches(r.Stdout).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1000).Order().ToArray();
        if (times.Length == 0) throw new InvalidOperationException($"{t.Label}: ping got no answer: {r.Stdout}{r.Stderr}");
        return (Percentile(times, 0.5), Percentile(times, 0.99));
    }

    public static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    [GeneratedRegex(@"time=([0-9.]+) ms")]
    private static partial Regex TimeRegex();

    /// <summary>Busy CPU seconds of the whole machine so far (user+nice+system+irq+softirq+steal).</summary>
    private static double BusyCpuSeconds()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Jiffies(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        long busy = Jiffies(1) + Jiffies(2) + Jiffies(3) + Jiffies(6) + Jiffies(7) + Jiffies(8);
        return busy / 100.0; // USER_HZ
    }

    /// <summary>Switch the offloads of every interface on the path (ethtool); "on" restores the veth defaults.</summary>
    public static void SetOffloads(ITopology t, bool on)
    {
        var v = on ? "on" : "off";
        foreach (var (ns, dev) in t.Interfaces)
            Sh.InNs(ns, TimeSpan.FromSeconds(10), "ethtool", "-K", dev, "tso", v, "gso", v, "gro", v, "tx", v, "rx", v, "sg", v);
    }
}
