using System.Globalization;

namespace DataPlane.LmaScale;

/// <summary>The results directory's PNGs, drawn from its CSVs (so a rerun of one part redraws from what is there).</summary>
public static class Plots
{
    private static List<Dictionary<string, string>> Read(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        var head = lines[0].Split(',');
        return [.. lines.Skip(1).Select(l => head.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second.Trim('"')))];
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    public static IEnumerable<string> Draw(string dir)
    {
        var palette = new ScottPlot.Palettes.Category10();
        var failover = Path.Combine(dir, "failover.csv");
        if (File.Exists(failover))
        {
            // Per run: when the standby was seen active after SIGKILL, and the longest gap the VM's TCP stream saw.
            var rows = Read(failover);
            var plt = new ScottPlot.Plot();
            var ticks = new List<ScottPlot.Tick>();
            for (int i = 0; i < rows.Count; i++)
            {
                plt.Add.Bar(new ScottPlot.Bar { Position = i * 3, Value = D(rows[i]["takeover_ms"]), FillColor = palette.GetColor(0) });
                plt.Add.Bar(new ScottPlot.Bar { Position = i * 3 + 1, Value = D(rows[i]["longest_tcp_gap_ms"]), FillColor = palette.GetColor(1) });
                ticks.Add(new ScottPlot.Tick(i * 3 + 0.5, $"run {rows[i]["run"]}\nload {rows[i]["load1_before"]}"));
            }
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
            plt.Axes.Left.Label.Text = "ms";
            plt.Title("SIGKILL of the active LMA: takeover seen (blue), longest TCP gap (orange)");
            plt.Axes.Margins(bottom: 0);
            string png = Path.Combine(dir, "failover.png");
            plt.SavePng(png, 800, 450);
            yield return png;
        }
        var throughput = Path.Combine(dir, "throughput.csv");
        if (File.Exists(throughput))
        {
            // Mean PBUs per CPU-second per phase, memory against etcd, log scale (they differ by ~50× for changes).
            var rows = Read(throughput).Where(r => r["round"] != "1" || r["mode"] == "etcd").ToList();
            var plt = new ScottPlot.Plot();
            string[] phases = ["create", "handoff", "refresh"];
            string[] modes = ["memory", "etcd"];
            var ticks = new List<ScottPlot.Tick>();
            for (int p = 0; p < phases.Length; p++)
            {
                for (int m = 0; m < modes.Length; m++)
                {
                    var v = rows.Where(r => r["phase"] == phases[p] && r["mode"] == modes[m]).Select(r => D(r["pbus_per_cpu_s"])).ToArray();
                    if (v.Length == 0) continue;
                    double x = p * 3 + m;
                    var bar = plt.Add.Bar(new ScottPlot.Bar { Position = x, Value = Math.Log10(v.Average()), FillColor = palette.GetColor(m) });
                    ticks.Add(new ScottPlot.Tick(x, $"{phases[p]}\n{modes[m]}"));
                }
            }
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
            plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                [new(3, "1k"), new(4, "10k"), new(5, "100k"), new(6, "1M"), new(7, "10M")]);
            plt.Axes.SetLimitsY(3, 7);
            plt.Title("LMA: PBUs per CPU-second, in memory vs writing changes to etcd (rounds 2–3 for memory)");
            plt.YLabel("PBUs per CPU-second (log)");
            string path = Path.Combine(dir, "throughput.png");
            plt.SavePng(path, 900, 560);
            yield return path;
        }
        var latency = Path.Combine(dir, "latency.csv");
        if (File.Exists(latency))
        {
            var rows = Read(latency);
            var plt = new ScottPlot.Plot();
            int k = 0;
            foreach (var g in rows.GroupBy(r => r["mode"]))
            {
                var l = g.Select(r => D(r["pbu_to_pba_ms"])).Order().ToArray();
                double[] xs = [.. l.Select(v => Math.Log10(Math.Max(v, 0.001)))];
                double[] ys = [.. Enumerable.Range(1, l.Length).Select(i => (double)i / l.Length)];
                var sc = plt.Add.ScatterLine(xs, ys);
                sc.LegendText = g.Key;
                sc.Color = palette.GetColor(k++);
                sc.LineWidth = 2;
            }
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                [new(-3, "1 µs"), new(-2, "10 µs"), new(-1, "0.1 ms"), new(0, "1 ms"), new(1, "10 ms"), new(2, "100 ms")]);
            plt.Title("PBU → PBA of one handoff, by acknowledgement mode (CDF)");
            plt.XLabel("time in the LMA (log)");
            plt.YLabel("fraction of handoffs");
            plt.ShowLegend(ScottPlot.Alignment.LowerRight);
            string path = Path.Combine(dir, "latency.png");
            plt.SavePng(path, 900, 560);
            yield return path;
        }
        var storm = Path.Combine(dir, "storm.csv");
        if (File.Exists(storm))
        {
            var rows = Read(storm);
            var plt = new ScottPlot.Plot();
            var ticks = new List<ScottPlot.Tick>();
            for (int i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                plt.Add.Bar(new ScottPlot.Bar { Position = i, Value = D(r["writes_per_s"]), FillColor = palette.GetColor(r["members"] == "1" ? 0 : 1) });
                ticks.Add(new ScottPlot.Tick(i, $"{r["phase"]}\n{r["members"]} member(s)"));
            }
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
            plt.Axes.SetLimitsY(0, rows.Max(r => D(r["writes_per_s"])) * 1.2);
            plt.Title($"etcd's write rate: {rows[0]["vms"]} VMs booting, then all migrating at once");
            plt.YLabel("binding writes per second");
            string path = Path.Combine(dir, "storm.png");
            plt.SavePng(path, 900, 560);
            yield return path;
        }
    }
}
