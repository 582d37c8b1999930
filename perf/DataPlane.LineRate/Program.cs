using System.Globalization;
using System.Text;
using DataPlane.LineRate;
using ScottPlot;

// `make perf`: the same VM → host → anchor → client path through the kernel's bridge and routing, through the
// kernel's bridge and VXLAN over IPv6, and through DataPlane's MAG and LMA, built in one run, measured in rotation,
// several times each. DataPlane is reported against both kernel paths.
int runs = 3, seconds = 5;
string? outDir = null, tuning = null;
var offloadSettings = new[] { "on", "off" };
var only = new HashSet<string>(["kernel", "vxlan", "dataplane"]);
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--duration": seconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--out": outDir = args[++i]; break;
        case "--offloads": offloadSettings = args[++i].Split(','); break;
        case "--tuning": tuning = args[++i]; break;
        case "--families": Workloads.Families = [.. args[++i].Split(',').Select(f => int.Parse(f, CultureInfo.InvariantCulture))]; break;
        case "--topologies": only = [.. args[++i].Split(',')]; break;
        default:
            Console.Error.WriteLine("usage: DataPlane.LineRate [--runs 3] [--duration 5] [--offloads on,off] [--families 6,4] [--topologies kernel,vxlan,dataplane] [--tuning '{\"tunnelOffload\":false}'] [--out DIR]");
            return 64;
    }
}
if (!only.Contains("dataplane")) throw new ArgumentException("--topologies must include dataplane: every figure is a ratio to it");
var root = FindRoot();
outDir ??= Path.Combine(root, "artifacts", "perf", "line-rate");
Directory.CreateDirectory(outDir);
var prefix = $"lr{Environment.ProcessId}";
var all = new List<Measurement>();
var loads = new List<string>();

var topologies = new List<ITopology>();
try
{
    if (only.Contains("kernel")) topologies.Add(new KernelTopology(prefix + "k"));
    if (only.Contains("vxlan")) topologies.Add(new VxlanTopology(prefix + "v"));
    topologies.Add(new DataplaneTopology(prefix + "d", root, tuning));
    foreach (var offloads in offloadSettings)
    {
        foreach (var t in topologies) Workloads.SetOffloads(t, offloads == "on");
        for (int run = 1; run <= runs; run++)
        {
            // Rotate which goes first, so drift in the machine's state (other work on it) hits all equally.
            var order = topologies.Skip((run - 1) % topologies.Count).Concat(topologies.Take((run - 1) % topologies.Count)).ToList();
            foreach (var t in order)
            {
                string load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
                loads.Add($"{DateTime.UtcNow:HH:mm:ss} offloads {offloads} run {run} {t.Label}: load {load}");
                Console.Error.WriteLine($"run {run}/{runs}, offloads {offloads}: {t.Label} (load {load})");
                all.AddRange(Workloads.Run(t, offloads, run, seconds));
                all.Add(new Measurement(t.Label, offloads, run, "load average 1 min", double.Parse(load, CultureInfo.InvariantCulture), ""));
            }
        }
    }
}
finally
{
    foreach (var t in topologies) t.Dispose();
}

// Raw results, then the ratios DataPlane / each kernel path with their spread over the runs.
var csv = new StringBuilder("topology,offloads,run,metric,value,unit\n");
foreach (var m in all) csv.Append(CultureInfo.InvariantCulture, $"{m.Topology},{m.Offloads},{m.Run},{m.Metric},{m.Value:G6},{m.Unit}\n");
File.WriteAllText(Path.Combine(outDir, "line-rate.csv"), csv.ToString());
File.WriteAllLines(Path.Combine(outDir, "load.txt"), loads);

var baselines = topologies.Where(t => t.Label != "dataplane").Select(t => t.Label).ToArray();
var table = new StringBuilder();
table.Append("| offloads | metric | unit |");
foreach (var b in baselines) table.Append(CultureInfo.InvariantCulture, $" {b} (mean) |");
table.Append(" DataPlane (mean) |");
foreach (var b in baselines) table.Append(CultureInfo.InvariantCulture, $" DataPlane/{b} (mean, min–max over {runs} runs) |");
table.AppendLine();
table.AppendLine("| --- | --- | --- |" + string.Concat(Enumerable.Repeat(" ---: |", baselines.Length * 2 + 1)));
var ratios = baselines.ToDictionary(b => b, _ => new List<(string Label, double Mean)>());
foreach (var g in all.Where(m => m.Metric != "load average 1 min").GroupBy(m => (m.Offloads, m.Metric)))
{
    var d = g.Where(m => m.Topology == "dataplane").OrderBy(m => m.Run).ToArray();
    table.Append(CultureInfo.InvariantCulture, $"| {g.Key.Offloads} | {g.Key.Metric} | {d[0].Unit} |");
    foreach (var b in baselines)
    {
        var values = g.Where(m => m.Topology == b).ToArray();
        table.Append(values.Length == 0 ? " – |" : string.Create(CultureInfo.InvariantCulture, $" {values.Average(m => m.Value):G4} |"));
    }
    table.Append(CultureInfo.InvariantCulture, $" {d.Average(m => m.Value):G4} |");
    foreach (var b in baselines)
    {
        var k = g.Where(m => m.Topology == b).OrderBy(m => m.Run).ToArray();
        if (k.Length == 0)
        {
            // A metric this baseline does not measure (none today): no ratio, and the plot's bars stay aligned.
            table.Append(" – |");
            ratios[b].Add(($"{g.Key.Metric} [{g.Key.Offloads}]", double.NaN));
            continue;
        }
        var r = k.Zip(d, (a, x) => x.Value / a.Value).ToArray();
        table.Append(CultureInfo.InvariantCulture, $" {r.Average():F2} ({r.Min():F2}–{r.Max():F2}) |");
        ratios[b].Add(($"{g.Key.Metric} [{g.Key.Offloads}]", r.Average()));
    }
    table.AppendLine();
}
File.WriteAllText(Path.Combine(outDir, "line-rate.md"), table.ToString());
Console.WriteLine(table);

var plot = new Plot();
var labels = ratios[baselines[0]].Select(x => x.Label).ToArray();
var palette = new ScottPlot.Palettes.Category10();
var bars = new List<Bar>();
for (int bi = 0; bi < baselines.Length; bi++)
{
    var series = ratios[baselines[bi]];
    for (int i = 0; i < series.Count; i++)
        bars.Add(new Bar { Position = i * (baselines.Length + 1) + bi, Value = series[i].Mean, FillColor = palette.GetColor(bi) });
}
plot.Add.Bars(bars);
for (int bi = 0; bi < baselines.Length; bi++)
    plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"DataPlane / {baselines[bi]}", FillColor = palette.GetColor(bi) });
plot.ShowLegend(Alignment.UpperRight);
plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, labels.Length).Select(i => i * (baselines.Length + 1) + (baselines.Length - 1) / 2.0)], labels);
plot.Axes.Bottom.TickLabelStyle.Rotation = 60;
plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
plot.Axes.Margins(bottom: 0);
plot.Add.HorizontalLine(1.0);
plot.Title($"DataPlane / kernel paths (1.0 = the kernel path), mean of {runs} runs");
plot.YLabel("ratio (higher is better for rates, lower for latency and CPU)");
plot.Layout.Fixed(new PixelPadding(80, 20, 260, 40));
plot.SavePng(Path.Combine(outDir, "line-rate.png"), 1400, 800);
Console.WriteLine($"results: {outDir}/line-rate.md, line-rate.csv, line-rate.png, load.txt");
return 0;

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return d.FullName;
    throw new InvalidOperationException("repository root not found");
}
