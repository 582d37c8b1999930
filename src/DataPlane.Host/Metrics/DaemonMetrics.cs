using System.Diagnostics;
using System.Reflection;
using Prometheus;

namespace DataPlane.Host.Metrics;

/// <summary>
/// A daemon's metrics, collected at scrape time: the registry's before-collect callback asks the packet loop
/// (through <c>LoopWork.Post</c>) to fill a <see cref="Snapshot"/> — every counter copied in one go between two
/// batches, so the values are consistent with each other — and then sets the Prometheus series from it on the
/// scraping thread. The HTTP thread never reads the loop's dictionaries.
/// <para>
/// A stuck loop must not hang scrapes: a snapshot not back within the timeout leaves the previous values in
/// place (stale) and reports <c>dataplane_loop_responsive 0</c>. At most one snapshot request is ever queued
/// on the loop: while one is outstanding, later scrapes wait for that same one (with the same timeout) rather
/// than piling up work; when it finally arrives, the next scrape applies it, so no handover observation is lost.
/// </para>
/// </summary>
public sealed class DaemonMetrics
{
    private readonly Func<Snapshot, Task> _takeSnapshot;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Snapshot _snapshot = new();
    private readonly Gauge _responsive;
    private readonly Counter _failures;
    private readonly Gauge _buildSeconds;
    private Task? _outstanding;

    /// <param name="takeSnapshot">Fills the snapshot on the packet loop (clears it first); completes when done.</param>
    public DaemonMetrics(string role, IEnumerable<FamilyInfo> families, Func<Snapshot, Task> takeSnapshot, TimeSpan timeout)
    {
        _takeSnapshot = takeSnapshot;
        _timeout = timeout;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Exporter = new SeriesExporter(Registry);
        foreach (var f in families)
        {
            switch (f.Type)
            {
                case FamilyType.Counter: Exporter.DefineCounter(f.Name, f.Help, f.Labels); break;
                case FamilyType.Gauge: Exporter.DefineGauge(f.Name, f.Help, f.Labels); break;
                case FamilyType.Histogram: Exporter.DefineHistogram(f.Name, f.Help, Families.HandoverBuckets, f.Labels); break;
            }
        }
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        factory.CreateGauge(Families.Info.Name, Families.Info.Help, Families.Info.Labels).WithLabels(role, Version).Set(1);
        _responsive = factory.CreateGauge(Families.LoopResponsive.Name, Families.LoopResponsive.Help);
        _failures = factory.CreateCounter(Families.SnapshotFailures.Name, Families.SnapshotFailures.Help);
        _buildSeconds = factory.CreateGauge(Families.SnapshotSeconds.Name, Families.SnapshotSeconds.Help);
        Registry.AddBeforeCollectCallback(CollectAsync);
    }

    public CollectorRegistry Registry { get; }

    public SeriesExporter Exporter { get; }

    public static string Version { get; } =
        typeof(DaemonMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    /// <summary>Scrapes answered with stale values because the loop did not answer in time.</summary>
    public long SnapshotFailures => (long)_failures.Value;

    /// <summary>The before-collect callback: a fresh snapshot from the loop, applied; or, after the timeout, the old values.</summary>
    public async Task CollectAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_outstanding is null)
            {
                _snapshot.Clear();
                _outstanding = _takeSnapshot(_snapshot);
            }
            try
            {
                await _outstanding.WaitAsync(_timeout, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _failures.Inc();
                _responsive.Set(0);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The loop threw while building it (a bug) or is gone: report, and try afresh next time.
                _outstanding = null;
                _failures.Inc();
                _responsive.Set(0);
                return;
            }
            _outstanding = null;
            _responsive.Set(1);
            _buildSeconds.Set(_snapshot.BuildTime.TotalSeconds);
            Exporter.Apply(_snapshot, Families.HandoverHistogram);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The exposition text (what GET /metrics returns).</summary>
    public async Task<byte[]> ExportAsync(CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>Time a snapshot build (on the loop).</summary>
    public static void Timed(Snapshot snapshot, Action<Snapshot> build)
    {
        long start = Stopwatch.GetTimestamp();
        snapshot.Clear();
        build(snapshot);
        snapshot.BuildTime = Stopwatch.GetElapsedTime(start);
    }
}
