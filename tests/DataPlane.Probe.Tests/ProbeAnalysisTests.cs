using DataPlane.Probe;
using static DataPlane.Probe.Tests.Synthetic;

namespace DataPlane.Probe.Tests;

public class ProbeAnalysisTests
{
    [Fact]
    public void Without_loss_the_downtime_is_one_interval_and_there_is_no_outage()
    {
        var r = ProbeAnalysis.Analyze(Series(100, _ => false), outageIntervals: 5);
        Assert.Equal(100, r.Sent);
        Assert.Equal(100, r.Acked);
        Assert.Equal(0, r.Lost);
        Assert.Equal(10.0, r.DowntimeMs);
        Assert.False(r.Outage);
        Assert.Null(r.TotalMigrationTimeMs);
        Assert.Null(r.TotalMigrationTimeSeedMs);
        Assert.Null(r.UnrecoveredOutageMs);
        Assert.Equal(0, r.LeadingLost);
    }

    [Fact]
    public void Downtime_is_measured_between_the_send_times_of_the_acked_probes_around_the_gap()
    {
        // Probes 30..59 lost: the last ack before is #29 (sent at 290 ms), the first after is #60 (600 ms).
        var r = ProbeAnalysis.Analyze(Series(100, LostIn((30, 59)), rttNs: 2 * Ms), outageIntervals: 5);
        Assert.Equal(310.0, r.DowntimeMs);
        Assert.True(r.Outage);
        Assert.Equal(30, r.Lost);
        Assert.Equal(30.0, r.LossPercent);
        var g = Assert.IsType<GapReport>(r.Downtime);
        Assert.Equal(29, g.LastAckedBeforeSeq);
        Assert.Equal(60, g.FirstAckedAfterSeq);
        Assert.Equal(30, g.LostInGap);
        Assert.Equal(310.0, g.EndUnixMs - g.StartUnixMs, 3); // unix ms as a double: ~0.5 µs resolution
        Assert.Equal(2.0, g.FirstAckAfterArrivalUnixMs - g.EndUnixMs, 3);
    }

    [Fact]
    public void Probes_held_during_a_pause_and_answered_late_are_not_lost_but_the_ack_silence_shows_the_wait()
    {
        // A paused guest: probes 30..64 (sent 300–640 ms) are queued and all answered at 650 ms (the resume), none lost.
        var s = Series(100, _ => false);
        for (int k = 30; k < 65; k++) s.AckNs[k] = s.SentNs[0] + 650 * Ms;
        var r = ProbeAnalysis.Analyze(s, outageIntervals: 5);
        Assert.Equal(0, r.Lost);
        Assert.False(r.Outage); // the seed's loss-based downtime sees one interval
        Assert.Equal(10.0, r.DowntimeMs);
        // Last ack before the pause: #29 at 290.1 ms; the next arrival: the queued ones at 650 ms.
        Assert.Equal(359.9, r.LongestAckSilenceMs!.Value, 3);
    }

    [Fact]
    public void Without_late_acks_the_ack_silence_follows_the_loss_gap()
    {
        var r = ProbeAnalysis.Analyze(Series(100, LostIn((30, 59)), rttNs: 2 * Ms), outageIntervals: 5);
        Assert.Equal(310.0, r.LongestAckSilenceMs!.Value, 3); // #29's ack at 292 ms → #60's at 602 ms
    }

    [Fact]
    public void Total_migration_time_runs_from_the_first_probe_to_the_first_ack_after_the_downtime()
    {
        var r = ProbeAnalysis.Analyze(Series(100, LostIn((30, 59)), rttNs: 2 * Ms), outageIntervals: 5);
        Assert.Equal(602.0, r.TotalMigrationTimeMs); // probe #60 sent at 600 ms, its ack arrives 2 ms later
        Assert.Equal(600.0, r.TotalMigrationTimeSeedMs); // the seed's difference of send timestamps
    }

    [Fact]
    public void The_longest_gap_wins_and_the_first_of_equal_gaps_is_reported()
    {
        var r = ProbeAnalysis.Analyze(Series(200, LostIn((10, 19), (50, 89), (120, 159))), outageIntervals: 5);
        Assert.Equal(410.0, r.DowntimeMs);
        Assert.Equal(49, r.Downtime!.LastAckedBeforeSeq);
        Assert.Equal(90, r.Downtime.FirstAckedAfterSeq);
        Assert.Equal(90, r.Lost);
    }

    [Fact]
    public void Send_time_jitter_is_taken_from_the_real_timestamps_not_the_sequence_numbers()
    {
        // #29 went out 3 ms late, #60 1 ms early: 600 − 1 − (290 + 3) = 306 ms.
        long Jitter(int k) => k switch { 29 => 3 * Ms, 60 => -Ms, _ => 0 };
        var r = ProbeAnalysis.Analyze(Series(100, LostIn((30, 59)), jitterNs: Jitter), outageIntervals: 5);
        Assert.Equal(306.0, r.DowntimeMs);
    }

    [Fact]
    public void Loss_before_the_first_ack_is_reported_and_the_seed_total_starts_at_the_first_acknowledged_probe()
    {
        var r = ProbeAnalysis.Analyze(Series(100, LostIn((0, 4), (40, 69)), rttNs: Ms), outageIntervals: 5);
        Assert.Equal(5, r.LeadingLost);
        Assert.Equal(310.0, r.DowntimeMs);
        Assert.Equal(701.0, r.TotalMigrationTimeMs); // from probe #0, which was never acked
        Assert.Equal(650.0, r.TotalMigrationTimeSeedMs); // 700 − 50: from the first acknowledged probe
    }

    [Fact]
    public void A_run_that_ends_inside_an_outage_is_flagged_unrecovered()
    {
        var r = ProbeAnalysis.Analyze(Series(100, k => k > 80), outageIntervals: 5);
        Assert.Equal(190.0, r.UnrecoveredOutageMs); // #99 sent 190 ms after the last acked #80
        Assert.False(r.Outage);
        Assert.Equal(10.0, r.DowntimeMs);
        Assert.Null(r.TotalMigrationTimeMs);
    }

    [Fact]
    public void A_short_tail_of_unacked_probes_is_not_an_outage()
    {
        var r = ProbeAnalysis.Analyze(Series(100, k => k > 97), outageIntervals: 5);
        Assert.Null(r.UnrecoveredOutageMs);
        Assert.Equal(2, r.Lost);
    }

    [Theory]
    [InlineData(3, true)]  // 4 lost → gap of 5 intervals
    [InlineData(2, false)] // 3 lost → gap of 4 intervals, under (5 − ½)
    public void The_outage_threshold_is_n_intervals_less_half_an_interval(int lostCount, bool outage)
    {
        var r = ProbeAnalysis.Analyze(Series(50, k => k >= 20 && k <= 20 + lostCount), outageIntervals: 5);
        Assert.Equal(45.0, r.OutageThresholdMs);
        Assert.Equal(outage, r.Outage);
    }

    [Fact]
    public void Threshold_edge_uses_the_real_gap()
    {
        // Gap of exactly 45 ms (4.5 intervals) counts; 44.9 ms does not.
        long Jitter(int k) => k >= 25 ? -5 * Ms : 0;
        var at = ProbeAnalysis.Analyze(Series(50, k => k is >= 21 and <= 24, jitterNs: Jitter), outageIntervals: 5);
        Assert.Equal(45.0, at.DowntimeMs);
        Assert.True(at.Outage);
        long Jitter2(int k) => k >= 25 ? -5 * Ms - Ms / 10 : 0;
        var under = ProbeAnalysis.Analyze(Series(50, k => k is >= 21 and <= 24, jitterNs: Jitter2), outageIntervals: 5);
        Assert.False(under.Outage);
    }

    [Fact]
    public void No_acks_at_all_gives_no_downtime_and_an_unrecovered_outage()
    {
        var r = ProbeAnalysis.Analyze(Series(30, _ => true), outageIntervals: 5);
        Assert.Equal(0, r.Acked);
        Assert.Equal(30, r.LeadingLost);
        Assert.Null(r.DowntimeMs);
        Assert.Null(r.Downtime);
        Assert.Equal(300.0, r.UnrecoveredOutageMs);
    }

    [Fact]
    public void One_ack_gives_no_gap()
    {
        var r = ProbeAnalysis.Analyze(Series(3, k => k != 1), outageIntervals: 5);
        Assert.Equal(1, r.Acked);
        Assert.Null(r.DowntimeMs);
    }

    [Fact]
    public void An_empty_run_is_reported_without_failing()
    {
        var r = ProbeAnalysis.Analyze(Series(0, _ => false), outageIntervals: 5);
        Assert.Equal(0, r.Sent);
        Assert.Null(r.StartedUnixMs);
        Assert.Null(r.RttMs);
        Assert.Null(r.Intervals!.Achieved);
    }

    [Fact]
    public void Rtt_and_interval_statistics_come_from_the_series()
    {
        long Jitter(int k) => k == 10 ? 2 * Ms : 0;
        var r = ProbeAnalysis.Analyze(Series(21, _ => false, rttNs: 3 * Ms, jitterNs: Jitter), outageIntervals: 5);
        Assert.Equal(3.0, r.RttMs!.MinMs);
        Assert.Equal(3.0, r.RttMs.MaxMs);
        var a = r.Intervals!.Achieved!;
        Assert.Equal(20, a.Count);
        Assert.Equal(8.0, a.MinMs);
        Assert.Equal(12.0, a.MaxMs);
        Assert.Equal(10.0, a.MeanMs);
        Assert.Equal(1, r.Intervals.LateSends);
    }

    [Fact]
    public void The_series_is_included_on_request_relative_to_the_first_probe()
    {
        var r = ProbeAnalysis.Analyze(Series(5, k => k == 2, rttNs: Ms), outageIntervals: 5, includeSeries: true);
        Assert.Equal(5, r.Series!.Count);
        Assert.Equal(new SeriesPoint(2, 20, null), r.Series[2]);
        Assert.Equal(new SeriesPoint(3, 30, 31), r.Series[3]);
        Assert.Null(ProbeAnalysis.Analyze(Series(5, _ => false), 5).Series);
    }

    [Fact]
    public void Summary_uses_nearest_rank_percentiles_and_the_sample_standard_deviation()
    {
        var s = Summary.Of([1 * Ms, 2 * Ms, 3 * Ms, 4 * Ms])!;
        Assert.Equal(2.0, s.MedianMs);
        Assert.Equal(2.5, s.MeanMs);
        Assert.Equal(4.0, s.P99Ms);
        Assert.Equal(1.291, s.StdDevMs, 3);
        Assert.Null(Summary.Of([]));
    }
}

public class OutageDetectorTests
{
    private const long Ms = Synthetic.Ms;

    [Fact]
    public void Fires_once_on_the_first_ack_after_a_long_enough_gap()
    {
        var d = new OutageDetector(10 * Ms, 5);
        Assert.False(d.OnAck(0, 0));
        Assert.False(d.OnAck(1, 10 * Ms));
        Assert.False(d.OnAck(4, 40 * Ms)); // 3 intervals: not an outage
        Assert.True(d.OnAck(10, 100 * Ms)); // 6 intervals
        Assert.True(d.Recovered);
        Assert.False(d.OnAck(30, 300 * Ms)); // only once
    }

    [Fact]
    public void Needs_an_ack_before_the_outage()
    {
        var d = new OutageDetector(10 * Ms, 5);
        Assert.False(d.OnAck(50, 500 * Ms));
        Assert.False(d.Recovered);
    }

    [Fact]
    public void Late_acks_of_older_probes_are_ignored()
    {
        var d = new OutageDetector(10 * Ms, 5);
        Assert.False(d.OnAck(0, 0));
        Assert.False(d.OnAck(2, 20 * Ms));
        Assert.False(d.OnAck(1, 10 * Ms)); // reordered
        Assert.True(d.OnAck(8, 80 * Ms));
    }
}
