namespace DataPlane.Host.Metrics;

/// <summary>
/// One value of a snapshot: the family's name, its value, and its label values — a shared array for the
/// labels every series of an entity has (a VM's mn_id, mac, port, hnp) plus up to two more (a direction, a
/// reason). Built on the packet loop without an array per sample; the exporter joins them.
/// </summary>
public readonly record struct Sample(string Family, double Value, string[]? Labels = null, string? Extra1 = null, string? Extra2 = null)
{
    public int LabelCount => (Labels?.Length ?? 0) + (Extra1 is null ? 0 : 1) + (Extra2 is null ? 0 : 1);

    public string[] AllLabels()
    {
        var all = new string[LabelCount];
        int n = 0;
        if (Labels is not null)
            foreach (var l in Labels) all[n++] = l;
        if (Extra1 is not null) all[n++] = Extra1;
        if (Extra2 is not null) all[n++] = Extra2;
        return all;
    }
}

/// <summary>A handover-latency observation, drained from the loop into the histogram at the next scrape.</summary>
public readonly record struct HandoverObservation(string Stage, double Seconds);

/// <summary>What one scrape takes from the packet loop: every sample, plus the histogram observations since the last one.</summary>
public sealed class Snapshot
{
    public List<Sample> Samples { get; } = new(256);
    public List<HandoverObservation> Observations { get; } = [];
    /// <summary>How long the loop took to build it.</summary>
    public TimeSpan BuildTime { get; set; }

    public void Clear()
    {
        Samples.Clear();
        Observations.Clear();
        BuildTime = default;
    }

    public void Add(string family, double value, string[]? labels = null, string? extra1 = null, string? extra2 = null) =>
        Samples.Add(new Sample(family, value, labels, extra1, extra2));
}
