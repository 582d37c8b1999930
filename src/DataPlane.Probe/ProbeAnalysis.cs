namespace DataPlane.Probe;

/// <summary>
/// One UDP probe run as recorded: probe k was sent at <see cref="SentNs"/>[k] and its first
/// acknowledgement arrived at <see cref="AckNs"/>[k] (−1 when none did), both on the monotonic clock.
/// </summary>
public sealed class ProbeSeries
{
    public required long IntervalNs { get; init; }
    public required long[] SentNs { get; init; }
    public required long[] AckNs { get; init; }
    public ClockAnchor Anchor { get; init; }
    public long DuplicateAcks { get; init; }
    public long UnexpectedPackets { get; init; }
    public long SocketErrors { get; init; }
    /// <summary>Acks that came from another address than the target (a multihomed responder).</summary>
    public long AcksFromOtherAddress { get; init; }
    public int Resyncs { get; init; }
    /// <summary>Whether the sender ran under SCHED_FIFO.</summary>
    public bool Realtime { get; init; }
    /// <summary>Until-settled: when the scenario said it was over (monotonic ns), if it did.</summary>
    public long? EndMarkNs { get; init; }
    /// <summary>Until-settled: the first probe sent after the mark that was acknowledged.</summary>
    public long? SettledSeq { get; init; }

    public int Count => SentNs.Length;
}

/// <summary>
/// Tells, ack by ack, when acknowledgements resume after an outage: a gap of at least
/// <c>outageIntervals</c> intervals (less half an interval of pacing slack) between the send times of
/// the newest acknowledged probe before and the probe now acknowledged. Older acks arriving late are
/// ignored. Used online by <c>--until-recovered</c>; the final numbers come from <see cref="ProbeAnalysis"/>.
/// </summary>
public sealed class OutageDetector(long intervalNs, int outageIntervals)
{
    private long _newestSeq = -1;
    private long _newestSentNs;

    public long ThresholdNs { get; } = ProbeAnalysis.OutageThresholdNs(intervalNs, outageIntervals);

    public bool Recovered { get; private set; }

    /// <summary>Records the ack of probe <paramref name="seq"/>; true exactly once, on the ack that ends the first outage.</summary>
    public bool OnAck(long seq, long sentNs)
    {
        if (seq <= _newestSeq) return false;
        bool ends = _newestSeq >= 0 && sentNs - _newestSentNs >= ThresholdNs && !Recovered;
        _newestSeq = seq;
        _newestSentNs = sentNs;
        if (ends) Recovered = true;
        return ends;
    }
}

/// <summary>The seed study's arithmetic (Section IV): service downtime, total migration time, loss.</summary>
public static class ProbeAnalysis
{
    /// <summary>A gap counts as an outage from (N − ½)·interval: half an interval of slack for pacing jitter.</summary>
    public static long OutageThresholdNs(long intervalNs, int outageIntervals) =>
        Math.Max(1, outageIntervals * intervalNs - intervalNs / 2);

    /// <summary>
    /// Service downtime is the longest gap between consecutive acknowledged probes, measured on the send
    /// timestamps of the probe acknowledged just before and the probe acknowledged just after the gap
    /// (with no outage it is about one interval). Total migration time runs from the first probe (the
    /// client starts when the migration is invoked) to the arrival of the first ack after that gap; the
    /// seed's own variant, the difference of the send timestamps of the first and that last acknowledged
    /// probe, is reported beside it. Both are null unless the longest gap is an outage.
    /// </summary>
    public static UdpProbeReport Analyze(ProbeSeries s, int outageIntervals, bool includeSeries = false)
    {
        int sent = s.Count;
        long threshold = OutageThresholdNs(s.IntervalNs, outageIntervals);
        int acked = 0, firstAcked = -1, lastAcked = -1;
        int gapFrom = -1, gapTo = -1;
        long longest = -1;
        var rtts = new List<long>();
        for (int k = 0; k < sent; k++)
        {
            if (s.AckNs[k] < 0) continue;
            acked++;
            rtts.Add(s.AckNs[k] - s.SentNs[k]);
            if (firstAcked < 0) firstAcked = k;
            if (lastAcked >= 0)
            {
                long gap = s.SentNs[k] - s.SentNs[lastAcked];
                if (gap > longest)
                {
                    longest = gap;
                    gapFrom = lastAcked;
                    gapTo = k;
                }
            }
            lastAcked = k;
        }

        bool outage = longest >= threshold;
        double? downtime = longest >= 0 ? MonotonicClock.NsToMs(longest) : null;
        double? total = null, totalSeed = null;
        if (outage)
        {
            total = MonotonicClock.NsToMs(s.AckNs[gapTo] - s.SentNs[0]);
            totalSeed = MonotonicClock.NsToMs(s.SentNs[gapTo] - s.SentNs[firstAcked]);
        }

        double? unrecovered = null;
        if (sent > 0)
        {
            long open = lastAcked < 0 ? s.SentNs[sent - 1] - s.SentNs[0] + s.IntervalNs : s.SentNs[sent - 1] - s.SentNs[lastAcked];
            if (open >= threshold) unrecovered = MonotonicClock.NsToMs(open);
        }

        var arrivals = new List<long>(acked);
        for (int k = 0; k < sent; k++)
            if (s.AckNs[k] >= 0) arrivals.Add(s.AckNs[k]);
        arrivals.Sort();
        long silence = -1;
        for (int i = 1; i < arrivals.Count; i++) silence = Math.Max(silence, arrivals[i] - arrivals[i - 1]);

        var deltas = new List<long>(Math.Max(0, sent - 1));
        for (int k = 1; k < sent; k++) deltas.Add(s.SentNs[k] - s.SentNs[k - 1]);
        int late = deltas.Count(d => d > s.IntervalNs + 1_000_000);

        return new UdpProbeReport
        {
            StartedUnixMs = sent > 0 ? s.Anchor.ToUnixMs(s.SentNs[0]) : null,
            IntervalMs = MonotonicClock.NsToMs(s.IntervalNs),
            OutageThresholdMs = MonotonicClock.NsToMs(threshold),
            Sent = sent,
            Acked = acked,
            Lost = sent - acked,
            LossPercent = sent == 0 ? 0 : Math.Round(100.0 * (sent - acked) / sent, 3),
            DuplicateAcks = s.DuplicateAcks,
            UnexpectedPackets = s.UnexpectedPackets,
            SocketErrors = s.SocketErrors,
            AcksFromOtherAddress = s.AcksFromOtherAddress,
            LeadingLost = firstAcked < 0 ? sent : firstAcked,
            DowntimeMs = downtime,
            Outage = outage,
            Downtime = gapFrom < 0 ? null : new GapReport
            {
                LastAckedBeforeSeq = gapFrom,
                FirstAckedAfterSeq = gapTo,
                LostInGap = gapTo - gapFrom - 1,
                StartUnixMs = s.Anchor.ToUnixMs(s.SentNs[gapFrom]),
                EndUnixMs = s.Anchor.ToUnixMs(s.SentNs[gapTo]),
                FirstAckAfterArrivalUnixMs = s.Anchor.ToUnixMs(s.AckNs[gapTo]),
            },
            TotalMigrationTimeMs = total,
            TotalMigrationTimeSeedMs = totalSeed,
            UnrecoveredOutageMs = unrecovered,
            LongestAckSilenceMs = silence >= 0 ? MonotonicClock.NsToMs(silence) : null,
            EndMarkUnixMs = s.EndMarkNs is { } mark ? s.Anchor.ToUnixMs(mark) : null,
            SettledAfterMarkMs = s.EndMarkNs is { } m && s.SettledSeq is { } settledSeq ? MonotonicClock.NsToMs(s.AckNs[settledSeq] - m) : null,
            RttMs = Summary.Of(rtts),
            Intervals = new IntervalReport
            {
                TargetMs = MonotonicClock.NsToMs(s.IntervalNs),
                Achieved = Summary.Of(deltas),
                LateSends = late,
                Resyncs = s.Resyncs,
                Realtime = s.Realtime,
            },
            Series = includeSeries ? BuildSeries(s) : null,
        };
    }

    private static List<SeriesPoint> BuildSeries(ProbeSeries s)
    {
        var list = new List<SeriesPoint>(s.Count);
        long t0 = s.Count > 0 ? s.SentNs[0] : 0;
        for (int k = 0; k < s.Count; k++)
        {
            list.Add(new SeriesPoint(k, Math.Round(MonotonicClock.NsToMs(s.SentNs[k] - t0), 3),
                s.AckNs[k] < 0 ? null : Math.Round(MonotonicClock.NsToMs(s.AckNs[k] - t0), 3)));
        }
        return list;
    }
}

/// <summary>Min/median/mean/max/standard deviation/99th percentile of a set of durations, in ms.</summary>
public sealed record Summary(int Count, double MinMs, double MedianMs, double MeanMs, double MaxMs, double StdDevMs, double P99Ms)
{
    public static Summary? Of(IReadOnlyCollection<long> valuesNs)
    {
        if (valuesNs.Count == 0) return null;
        var v = valuesNs.Select(MonotonicClock.NsToMs).Order().ToArray();
        double mean = v.Average();
        double sd = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return new Summary(v.Length, R(v[0]), R(Percentile(v, 50)), R(mean), R(v[^1]), R(sd), R(Percentile(v, 99)));
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static double R(double x) => Math.Round(x, 4);
}
