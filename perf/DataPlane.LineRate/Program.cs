using System.Globalization;
using System.Text;
using DataPlane.LineRate;
using ScottPlot;

// `make perf`: the same VM → host → anchor → client path through the kernel's bridge and routing and
// through DataPlane's MAG and LMA, built in one run, measured alternately, several times each.
int runs = 3, seconds = 5;
string? outDir = null, tuning = null;
var offloadSettings = new[] { "on", "off" };
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
        default:
            Console.Error.WriteLine("usage: DataPlane.LineRate [--runs 3] [--duration 5] [--offloads on,off] [--families 6,4] [--tuning '{\"receiveOffload\":false}'] [--out DIR]");
            return 64;
    }
}
var root = FindRoot();
outDir ??= Path.Combine(root, "artifacts", "perf", "line-rate");
Directory.CreateDirectory(outDir);
var prefix = $"lr{Environment.ProcessId}";
var all = new List<Measurement>();

using var kernel = new KernelTopology(prefix + "k");
using var dataplane = new DataplaneTopology(prefix + "d", root, tuning);
ITopology[] both = [kernel, dataplane];
foreach (var offloads in offloadSettings)
{
    foreach (var t in both) Workloads.SetOffloads(t, offloads == "on");
    for (int run = 1; run <= runs; run++)
    {
        // Alternate which goes first, so drift in the machine's state hits both equally.
        foreach (var t in run % 2 == 1 ? both : both.Reverse())
        {
            Console.Error.WriteLine($"run {run}/{runs}, offloads {offloads}: {t.Label}");
            all.AddRange(Workloads.Run(t, offloads, run, seconds));
        }
    }
}

// Raw results, then the ratios DataPlane/kernel with their spread over the runs.
var csv = new StringBuilder("topology,offloads,run,metric,value,unit\n");
foreach (var m in all) csv.Append(CultureInfo.InvariantCulture, $"{m.Topology},{m.Offloads},{m.Run},{m.Metric},{m.Value:G6},{m.Unit}\n");
File.WriteAllText(Path.Combine(outDir, "line-rate.csv"), csv.ToString());

var table = new StringBuilder();
table.AppendLine($"| offloads | metric | kernel (mean) | DataPlane (mean) | unit | DataPlane/kernel (mean, min–max over {runs} runs) |");
table.AppendLine("| --- | --- | ---: | ---: | --- | ---: |");
var ratios = new List<(string Label, double Mean)>();
foreach (var g in all.GroupBy(m => (m.Offloads, m.Metric)))
{
    var k = g.Where(m => m.Topology == "kernel").OrderBy(m => m.Run).ToArray();
    var d = g.Where(m => m.Topology == "dataplane").OrderBy(m => m.Run).ToArray();
    var r = k.Zip(d, (a, b) => b.Value / a.Value).ToArray();
    table.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"| {g.Key.Offloads} | {g.Key.Metric} | {k.Average(m => m.Value):G4} | {d.Average(m => m.Value):G4} | {k[0].Unit} | {r.Average():F2} ({r.Min():F2}–{r.Max():F2}) |"));
    ratios.Add(($"{g.Key.Metric} [{g.Key.Offloads}]", r.Average()));
}
File.WriteAllText(Path.Combine(outDir, "line-rate.md"), table.ToString());
Console.WriteLine(table);

var plot = new Plot();
var bars = plot.Add.Bars(ratios.Select(x => x.Mean).ToArray());
plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, ratios.Count).Select(i => (double)i)], [.. ratios.Select(x => x.Label)]);
plot.Axes.Bottom.TickLabelStyle.Rotation = 60;
plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
plot.Axes.Margins(bottom: 0);
plot.Add.HorizontalLine(1.0);
plot.Title("DataPlane / kernel bridge+routing (1.0 = kernel)");
plot.YLabel("ratio (higher is better for rates, lower for latency and CPU)");
plot.Layout.Fixed(new PixelPadding(80, 20, 260, 40));
plot.SavePng(Path.Combine(outDir, "line-rate.png"), 1200, 800);
Console.WriteLine($"results: {outDir}/line-rate.md, line-rate.csv, line-rate.png");
return 0;

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return d.FullName;
    throw new InvalidOperationException("repository root not found");
}
