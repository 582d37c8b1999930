using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Probe;

/// <summary>The result of one <c>udp-client</c> run (the JSON written by <c>--json</c>).</summary>
public sealed record UdpProbeReport
{
    public string Tool { get; init; } = "udp-client";
    public string? Target { get; init; }
    public int Port { get; init; }
    /// <summary>"duration", "until-recovered" or "until-settled".</summary>
    public string? Mode { get; init; }
    /// <summary>
    /// True when the run reached its goal before it stopped: --until-recovered saw acks resume after an outage;
    /// --until-settled saw a probe sent after the end mark acknowledged.
    /// </summary>
    public bool? RecoveredBeforeStop { get; init; }
    /// <summary>--until-settled: when standard input said the scenario was over.</summary>
    public double? EndMarkUnixMs { get; init; }
    /// <summary>--until-settled: end mark → arrival of the ack of the first probe sent after it.</summary>
    public double? SettledAfterMarkMs { get; init; }
    public double? StartedUnixMs { get; init; }
    public double IntervalMs { get; init; }
    public double OutageThresholdMs { get; init; }
    public int Sent { get; init; }
    public int Acked { get; init; }
    public int Lost { get; init; }
    public double LossPercent { get; init; }
    public long DuplicateAcks { get; init; }
    public long UnexpectedPackets { get; init; }
    /// <summary>Errors the socket reported on sending (no route, typically).</summary>
    public long SocketErrors { get; init; }
    /// <summary>Acks from another source address than the target (a multihomed responder answering from its outgoing address).</summary>
    public long AcksFromOtherAddress { get; init; }
    /// <summary>Probes sent before the first acknowledged one.</summary>
    public int LeadingLost { get; init; }
    /// <summary>Service downtime: the longest gap between consecutive acknowledged probes (send timestamps).</summary>
    public double? DowntimeMs { get; init; }
    /// <summary>Whether that longest gap is an outage (at least the threshold).</summary>
    public bool Outage { get; init; }
    public GapReport? Downtime { get; init; }
    /// <summary>First probe sent → first ack after the downtime received. Null without an outage.</summary>
    public double? TotalMigrationTimeMs { get; init; }
    /// <summary>The seed's formula: send timestamp of the first ack after the downtime − that of the first acknowledged probe.</summary>
    public double? TotalMigrationTimeSeedMs { get; init; }
    /// <summary>Set when the run ended inside an outage: how long it had lasted (send timestamps).</summary>
    public double? UnrecoveredOutageMs { get; init; }
    /// <summary>
    /// The longest time the client went without receiving any ack (arrival timestamps). Not the seed's metric: a
    /// paused guest's tap queues probes and answers them on resume, so they come back late rather than lost, and
    /// the seed's loss-based downtime does not see that wait; this does.
    /// </summary>
    public double? LongestAckSilenceMs { get; init; }
    public Summary? RttMs { get; init; }
    public IntervalReport? Intervals { get; init; }
    public List<SeriesPoint>? Series { get; init; }
}

public sealed record GapReport
{
    public int LastAckedBeforeSeq { get; init; }
    public int FirstAckedAfterSeq { get; init; }
    public int LostInGap { get; init; }
    /// <summary>Send time of the probe acknowledged just before the gap.</summary>
    public double StartUnixMs { get; init; }
    /// <summary>Send time of the probe acknowledged just after the gap.</summary>
    public double EndUnixMs { get; init; }
    public double FirstAckAfterArrivalUnixMs { get; init; }
}

public sealed record IntervalReport
{
    public double TargetMs { get; init; }
    public Summary? Achieved { get; init; }
    /// <summary>Sends more than 1 ms later than one interval after the previous one.</summary>
    public int LateSends { get; init; }
    /// <summary>Times the schedule restarted after a whole interval was missed.</summary>
    public int Resyncs { get; init; }
    /// <summary>Whether the sending thread ran under SCHED_FIFO.</summary>
    public bool Realtime { get; init; }
}

/// <summary>One probe: send time and ack arrival, ms since the first probe.</summary>
public sealed record SeriesPoint(int Seq, double SentMs, double? AckMs);

/// <summary>The result of a <c>tcp-server</c> run.</summary>
public sealed record TcpServerReport
{
    public string Tool { get; init; } = "tcp-server";
    /// <summary>"survived" (END marker before any 0/−1 from recv), "closed" (recv returned 0 first), "error"
    /// (recv failed), "stalled" (no data for the idle timeout), "corrupt" (bytes that are not our messages),
    /// "no-connection" (nobody connected within the accept timeout).</summary>
    public string Outcome { get; init; } = "";
    public bool Survived { get; init; }
    public string? Error { get; init; }
    public string? Peer { get; init; }
    public double? AcceptedUnixMs { get; init; }
    public long Messages { get; init; }
    public long Bytes { get; init; }
    public long? LastSequence { get; init; }
    public bool EndMarker { get; init; }
    public int SequenceErrors { get; init; }
    /// <summary>Longest time between the arrival of consecutive messages.</summary>
    public double? LongestGapMs { get; init; }
    public long? GapAfterSeq { get; init; }
    public double? GapStartUnixMs { get; init; }
    public double? GapEndUnixMs { get; init; }
    /// <summary>Largest send→arrival delay; meaningful only when client and server share a clock (the testbed: one machine).</summary>
    public double? MaxDelaySameHostMs { get; init; }
    public double? DurationMs { get; init; }
}

/// <summary>The result of a <c>tcp-client</c> run.</summary>
public sealed record TcpClientReport
{
    public string Tool { get; init; } = "tcp-client";
    public string? Target { get; init; }
    public int Port { get; init; }
    public bool Completed { get; init; }
    public string? Error { get; init; }
    public long Sent { get; init; }
    public double? ConnectedUnixMs { get; init; }
    public IntervalReport? Intervals { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UdpProbeReport))]
[JsonSerializable(typeof(TcpServerReport))]
[JsonSerializable(typeof(TcpClientReport))]
public sealed partial class ProbeJsonContext : JsonSerializerContext;

/// <summary>Human-readable summaries and JSON files.</summary>
public static class ReportWriter
{
    public static void WriteJson<T>(string path, T report)
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ProbeJsonContext.Default.GetTypeInfo(typeof(T))!;
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(report, info) + "\n");
        File.Move(tmp, path, overwrite: true);
    }

    private static string F(double? v, string unit = " ms") =>
        v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) + unit : "n/a";

    public static string Format(UdpProbeReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"udp-client → {r.Target} port {r.Port}, interval {F(r.IntervalMs)}, mode {r.Mode}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  sent {r.Sent}  acked {r.Acked}  lost {r.Lost} ({r.LossPercent.ToString("0.##", CultureInfo.InvariantCulture)}%)  duplicate acks {r.DuplicateAcks}  unexpected {r.UnexpectedPackets}  socket errors {r.SocketErrors}{(r.AcksFromOtherAddress > 0 ? $"  acks from another address {r.AcksFromOtherAddress}" : "")}");
        if (r.Downtime is { } g)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"  service downtime {F(r.DowntimeMs)}: longest gap between acknowledged probes, #{g.LastAckedBeforeSeq} → #{g.FirstAckedAfterSeq} ({g.LostInGap} lost){(r.Outage ? "" : $" — below the outage threshold ({F(r.OutageThresholdMs)}): no outage")}");
        }
        else
        {
            sb.AppendLine("  service downtime n/a (fewer than two acknowledged probes)");
        }
        if (r.LongestAckSilenceMs is { } silence)
            sb.AppendLine(CultureInfo.InvariantCulture, $"  longest time without any ack arriving {F(silence)} (late acks included)");
        if (r.TotalMigrationTimeMs is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"  total migration time {F(r.TotalMigrationTimeMs)} (first probe → first ack after the downtime); {F(r.TotalMigrationTimeSeedMs)} by the seed's send timestamps");
        }
        if (r.LeadingLost > 0) sb.AppendLine(CultureInfo.InvariantCulture, $"  warning: the first {r.LeadingLost} probe(s) were never acknowledged");
        if (r.UnrecoveredOutageMs is { } u) sb.AppendLine(CultureInfo.InvariantCulture, $"  warning: the run ended inside an outage that had lasted {F(u)}");
        if (r.RecoveredBeforeStop == false)
        {
            sb.AppendLine(r.Mode == "until-settled"
                ? "  warning: --until-settled stopped without a probe sent after the end mark being acknowledged"
                : "  warning: --until-recovered stopped at --max-duration without seeing acks resume after an outage");
        }
        if (r.SettledAfterMarkMs is { } settled)
            sb.AppendLine(CultureInfo.InvariantCulture, $"  end mark → first ack of a probe sent after it {F(settled)}");
        if (r.RttMs is { } rtt)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  rtt min/median/mean/max {F(rtt.MinMs, "")}/{F(rtt.MedianMs, "")}/{F(rtt.MeanMs, "")}/{F(rtt.MaxMs)}");
        }
        AppendIntervals(sb, r.Intervals);
        return sb.ToString();
    }

    private static void AppendIntervals(StringBuilder sb, IntervalReport? iv)
    {
        if (iv?.Achieved is not { } a) return;
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"  achieved interval mean {F(a.MeanMs)} (target {F(iv.TargetMs)}), sd {F(a.StdDevMs)}, min {F(a.MinMs)}, max {F(a.MaxMs)}, p99 {F(a.P99Ms)}; late (>1 ms) {iv.LateSends}, resyncs {iv.Resyncs}, {(iv.Realtime ? "SCHED_FIFO" : "normal scheduling")}");
    }

    public static string Format(TcpServerReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"tcp-server: session {(r.Survived ? "SURVIVED" : "LOST")} (outcome {r.Outcome}{(r.Error is null ? "" : ": " + r.Error)})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  peer {r.Peer ?? "none"}  messages {r.Messages}  bytes {r.Bytes}  last seq {r.LastSequence?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}  END {(r.EndMarker ? "yes" : "no")}  sequence errors {r.SequenceErrors}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  longest gap between messages {F(r.LongestGapMs)}{(r.GapAfterSeq is { } s ? $" (after #{s})" : "")}; max send→arrival delay (same host) {F(r.MaxDelaySameHostMs)}; duration {F(r.DurationMs)}");
        return sb.ToString();
    }

    public static string Format(TcpClientReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"tcp-client → {r.Target} port {r.Port}: {(r.Completed ? "completed" : "FAILED")}{(r.Error is null ? "" : ": " + r.Error)}; sent {r.Sent} messages + END");
        AppendIntervals(sb, r.Intervals);
        return sb.ToString();
    }
}
