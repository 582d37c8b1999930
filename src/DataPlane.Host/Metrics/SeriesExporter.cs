using Prometheus;

namespace DataPlane.Host.Metrics;

/// <summary>
/// The Prometheus side of a snapshot: families defined once, then every scrape is one round in which the
/// snapshot's samples set the series, and any series the snapshot no longer has is removed. That is the whole
/// label lifecycle: the packet loop decides which entities are still worth exporting (a VM for a while after
/// it is gone, a port while it is attached), and their series disappear the round after it stops listing them.
/// <para>
/// Counters are monotonic (<c>IncTo</c>); a counter whose source started over (a port detached and attached
/// again under the same name) is removed and recreated, which Prometheus reads as a counter reset.
/// Not thread-safe: one scrape at a time (the endpoint serialises them).
/// </para>
/// </summary>
public sealed class SeriesExporter
{
    private readonly MetricFactory _factory;
    private readonly Dictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Histogram> _histograms = new(StringComparer.Ordinal);
    private int _round;

    public SeriesExporter(CollectorRegistry registry)
    {
        Registry = registry;
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Samples naming a family that was never defined (a programming error, counted rather than thrown at a scrape).</summary>
    public long UnknownFamilySamples { get; private set; }

    /// <summary>Series currently exported (all families).</summary>
    public int SeriesCount => _families.Values.Sum(f => f.Series.Count);

    public void DefineCounter(string name, string help, params string[] labelNames)
    {
        if (!name.EndsWith("_total", StringComparison.Ordinal)) throw new ArgumentException($"counter {name} must end in _total", nameof(name));
        _families.Add(name, new Family(_factory.CreateCounter(name, help, new CounterConfiguration { LabelNames = labelNames, SuppressInitialValue = true }), null, labelNames.Length));
    }

    public void DefineGauge(string name, string help, params string[] labelNames) =>
        _families.Add(name, new Family(null, _factory.CreateGauge(name, help, new GaugeConfiguration { LabelNames = labelNames, SuppressInitialValue = true }), labelNames.Length));

    public void DefineHistogram(string name, string help, double[] buckets, params string[] labelNames) =>
        _histograms.Add(name, _factory.CreateHistogram(name, help, new HistogramConfiguration { LabelNames = labelNames, Buckets = buckets }));

    /// <summary>Set every sample of the snapshot, observe its histogram values, and remove the series it no longer lists.</summary>
    public void Apply(Snapshot snapshot, string histogram, string? stageLabel = "stage")
    {
        _round++;
        foreach (var s in snapshot.Samples) Set(s);
        if (_histograms.TryGetValue(histogram, out var h))
        {
            foreach (var o in snapshot.Observations)
            {
                if (stageLabel is null) h.Observe(o.Seconds);
                else h.WithLabels(o.Stage).Observe(o.Seconds);
            }
        }
        foreach (var family in _families.Values) family.RemoveStale(_round);
    }

    private void Set(in Sample s)
    {
        if (!_families.TryGetValue(s.Family, out var family) || s.LabelCount != family.LabelCount)
        {
            UnknownFamilySamples++;
            return;
        }
        var key = Key(s);
        if (family.Series.TryGetValue(key, out var series))
        {
            series.Round = _round;
        }
        else
        {
            series = new Series(s.AllLabels()) { Round = _round };
            family.Series.Add(key, series);
        }
        if (family.Counter is { } counter)
        {
            if (family.LabelCount == 0)
            {
                // Process-wide counters only grow while the process lives.
                counter.IncTo(s.Value);
                counter.Publish();
            }
            else
            {
                // The source started over: drop the series so Prometheus sees a reset, not a stuck counter.
                if (s.Value < series.Value) counter.RemoveLabelled(series.Labels);
                counter.WithLabels(series.Labels).IncTo(s.Value);
            }
        }
        else if (family.LabelCount == 0)
        {
            family.Gauge!.Set(s.Value);
            family.Gauge.Publish();
        }
        else
        {
            family.Gauge!.WithLabels(series.Labels).Set(s.Value);
        }
        series.Value = s.Value;
    }

    private static string Key(in Sample s)
    {
        if (s.LabelCount == 0) return "";
        return string.Join('\u001f', s.AllLabels());
    }

    private sealed class Family(Counter? counter, Gauge? gauge, int labelCount)
    {
        public Counter? Counter { get; } = counter;
        public Gauge? Gauge { get; } = gauge;
        public int LabelCount { get; } = labelCount;
        public Dictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

        public void RemoveStale(int round)
        {
            List<string>? stale = null;
            foreach (var (key, s) in Series)
                if (s.Round != round) (stale ??= []).Add(key);
            if (stale is null) return;
            foreach (var key in stale)
            {
                var labels = Series[key].Labels;
                if (LabelCount == 0)
                {
                    if (Counter is not null) Counter.Unpublish();
                    else Gauge!.Unpublish();
                }
                else if (Counter is not null)
                {
                    Counter.RemoveLabelled(labels);
                }
                else
                {
                    Gauge!.RemoveLabelled(labels);
                }
                Series.Remove(key);
            }
        }
    }

    private sealed class Series(string[] labels)
    {
        public string[] Labels { get; } = labels;
        public double Value = double.NegativeInfinity;
        public int Round;
    }
}
