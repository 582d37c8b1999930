using System.Diagnostics;
using System.Text.RegularExpressions;
using DataPlane.Host.Metrics;

namespace DataPlane.Host.Tests;

/// <summary>
/// The Prometheus alerting rules operators install (deploy/prometheus/dataplane-alerts.yml): valid for promtool,
/// every rule unit-tested (dataplane-alerts.test.yml, run by promtool), and built only from metric families and
/// labels the daemons really export (<see cref="Families"/>, which docs/metrics.md documents).
/// </summary>
public sealed partial class AlertRulesTests
{
    private static readonly string Dir = Path.Combine(MetricsTests.RepositoryRoot(), "deploy", "prometheus");
    private static readonly string RulesFile = Path.Combine(Dir, "dataplane-alerts.yml");
    private static readonly string TestsFile = Path.Combine(Dir, "dataplane-alerts.test.yml");

    // Labels every scraped series has (target labels) and the histogram bucket label.
    private static readonly string[] ScrapeLabels = ["instance", "job", "le"];

    [Fact]
    public void Promtool_accepts_the_rules()
    {
        var (code, output) = Promtool("check", "rules", RulesFile);
        Assert.True(code == 0, output);
        Assert.Contains($"SUCCESS: {Rules().Count} rules found", output);
    }

    [Fact]
    public void Promtool_unit_tests_of_the_rules_pass()
    {
        var (code, output) = Promtool("test", "rules", TestsFile);
        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public void Every_rule_has_a_unit_test_in_which_it_fires()
    {
        var tests = File.ReadAllText(TestsFile);
        foreach (var (name, _) in Rules())
        {
            // An alert_rule_test for it whose exp_alerts is not empty.
            var firing = new Regex($@"alertname: {name}\s*\n\s*exp_alerts:\s*\n\s*- exp_labels:");
            Assert.True(firing.IsMatch(tests), $"{name}: no test in dataplane-alerts.test.yml expects it to fire");
        }
    }

    [Fact]
    public void Rules_use_only_metrics_and_labels_the_daemons_export()
    {
        var families = Families.Mag.Concat(Families.Lma).Concat(Families.Common).Concat(Families.Endpoint)
            .ToDictionary(f => f.Name);
        var problems = new List<string>();
        var rules = Rules();
        Assert.NotEmpty(rules);
        foreach (var (name, text) in rules)
        {
            var used = new HashSet<string>(ScrapeLabels);
            var selectors = Selector().Matches(text);
            // Only DataPlaneDaemonDown may do without one: it watches Prometheus's own `up` of the daemons' jobs.
            Assert.True(selectors.Count > 0 || text.Contains("up{job=", StringComparison.Ordinal), $"{name} names no dataplane metric");
            foreach (Match s in selectors)
            {
                var metric = s.Groups["metric"].Value;
                var family = Family(families, metric);
                if (family is null)
                {
                    problems.Add($"{name}: {metric} is not a metric either daemon exports");
                    continue;
                }
                used.UnionWith(family.Labels);
                foreach (Match m in Matcher().Matches(s.Groups["matchers"].Value))
                {
                    var label = m.Groups["label"].Value;
                    if (!family.Labels.Contains(label) && !(label == "le" && metric.EndsWith("_bucket", StringComparison.Ordinal)))
                        problems.Add($"{name}: {metric} has no label {label}");
                }
            }
            foreach (Match by in By().Matches(text))
                foreach (var label in by.Groups["labels"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    if (!used.Contains(label)) problems.Add($"{name}: aggregates by {label}, which none of its metrics has");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>A metric name as PromQL writes it: the family, or a histogram's _bucket/_sum/_count series.</summary>
    private static FamilyInfo? Family(Dictionary<string, FamilyInfo> families, string metric)
    {
        if (families.TryGetValue(metric, out var f)) return f;
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
            if (metric.EndsWith(suffix, StringComparison.Ordinal) && families.TryGetValue(metric[..^suffix.Length], out var h) &&
                h.Type == FamilyType.Histogram)
                return h;
        return null;
    }

    /// <summary>Each rule's name and its text (expression and annotations), split at "- alert:".</summary>
    private static List<(string Name, string Text)> Rules()
    {
        var text = File.ReadAllText(RulesFile);
        var starts = AlertStart().Matches(text).ToList();
        return [.. starts.Select((m, i) => (m.Groups["name"].Value,
            text[m.Index..(i + 1 < starts.Count ? starts[i + 1].Index : text.Length)]))];
    }

    private static (int Code, string Output) Promtool(params string[] args)
    {
        const string promtool = "/usr/bin/promtool";
        if (!File.Exists(promtool))
        {
            // Debian's prometheus package has it; install-deps installs it (as make test does).
            var deps = Process.Start(new ProcessStartInfo(Path.Combine(MetricsTests.RepositoryRoot(), "scripts", "install-deps"), ["prometheus"]))!;
            deps.WaitForExit();
            Assert.True(File.Exists(promtool), "promtool is missing and scripts/install-deps prometheus did not install it");
        }
        var psi = new ProcessStartInfo(promtool, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Dir };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), $"promtool {string.Join(' ', args)} did not finish in 2 minutes");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [GeneratedRegex(@"(?m)^\s*- alert: (?<name>\w+)")]
    private static partial Regex AlertStart();

    [GeneratedRegex(@"(?<metric>\bdataplane_[a-z0-9_]+)(\{(?<matchers>[^}]*)\})?")]
    private static partial Regex Selector();

    [GeneratedRegex(@"(?<label>[a-z_]+)\s*(=~|!~|!=|=)")]
    private static partial Regex Matcher();

    [GeneratedRegex(@"\bby \((?<labels>[^)]*)\)")]
    private static partial Regex By();
}
