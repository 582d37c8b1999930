using System.Globalization;
using System.Text;

namespace DataPlane.Experiment;

/// <summary>One metric of the report: how to read it from a run, its unit, and the seed's tables for it if any.</summary>
public sealed record Metric(string Title, string Unit, Func<RunResult, double> Select, SeedColumn[]? SeedPmip = null, SeedColumn[]? SeedMip = null, string? Note = null);

/// <summary>Tables (Markdown), the raw CSV and the PNG plots of an experiment.</summary>
public static class Report
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static readonly Metric[] Metrics =
    [
        new("Service downtime", "ms", r => r.DowntimeMs, SeedData.PmipDowntimeMs, SeedData.MipDowntimeMs,
            "UDP probe every 10 ms, client → VM: the longest gap between consecutive acknowledged probes (seed Section IV.A). Seed: Tables I and II."),
        new("Total migration time", "s", r => r.TotalMigrationMs / 1000, SeedData.PmipTotalMigrationS, SeedData.MipTotalMigrationS,
            "First probe (started as the migration is invoked) → first ack after the downtime (seed Section IV.B). Seed: Tables III and IV (256 MB Xen guest, 1 Gbit/s links)."),
        new("Longest time without any ack", "ms", r => r.AckSilenceMs, Note:
            "Not the seed's metric: the longest interval in which the client received no ack at all, late ones included. A paused guest's tap queues " +
            "the probes and answers them on resume, so they are late rather than lost and the loss-based downtime above undercounts the outage; this does not."),
        new("Over the goal: longest time without any ack − (floor + 25 ms)", "ms", r => r.OverGoalMs, Note:
            "Issue 16's goal: the longest time without any ack at most the migration path's one-way delay (the floor, measured per RTT by " +
            "pinging MAG2 from MAG1) + 25 ms. At or below 0 meets it."),
        new("Guest restart (its arrival → its first packet into the network)", "ms", r => r.GuestFirstUplinkMs, Note:
            "The destination MAG's measurement: from the VM's first frame there (QEMU's RARP, sent as its vCPUs restart) to the first packet " +
            "the guest routed into the network. Neither QEMU's stop → resume nor the network: the guest catching up once it runs (under TCG " +
            "it re-translates its code, and a busy host delays it)."),
        new("Stop notice (source QEMU's STOP → its MAG took it)", "ms", r => r.StopNotifiedMs, Note:
            "The hypervisor's listener (qemu-vm's QMP event logger) passing QEMU's STOP to the source MAG (`port stopped`): until then the " +
            "source still delivers into the stopped guest's tap, where those frames are lost with it."),
        new("Switch handover latency (attachment seen → RA sent)", "ms", r => r.SwitchHandoverMs, Note:
            "The destination MAG's own measurement (its log's `handover:` line): the network's share of the downtime that the switch controls; the seed's D_PMIPv6 = D_mov.det + D_auth + D_reg (thesis equation (6)) has no published number."),
        new("Switch PBU → PBA", "ms", r => r.SwitchPbuPbaMs, Note: "The registration round trip inside the handover latency (one MAG–LMA RTT = RTT/2, plus processing)."),
        new("VM stopped (the hypervisor's share)", "ms", r => r.VmStoppedMs, Note:
            "Namespace testbed: link-down at the source → port-add at the destination (the emulated stop-and-copy pause plus moving the interface). " +
            "Real guest: QEMU's STOP event on the source → its RESUME event on the destination, both stamped by QEMU: the time the guest was really paused."),
        new("Network share (downtime − VM stopped)", "ms", r => r.NetworkShareMs, Note:
            "What the network added after the VM was back: switch handover, the first probe's path back through the LMA, and the probe's 10 ms quantisation."),
        new("Pre-copy (memory stream MAG → MAG through the LMA)", "s", r => r.PrecopyMs / 1000, Note: "The bulk TCP stream standing in for the hypervisor's iterative pre-copy."),
        new("QEMU downtime (query-migrate)", "ms", r => r.QemuDowntimeMs, Note:
            "QEMU's own figure, computed on the source: from the stop until the last bytes were sent; the destination's loading and resume are not in it (stop → resume is, above)."),
        new("QEMU total time (query-migrate)", "s", r => r.QemuTotalMs / 1000, Note: "QEMU's own total-time: from the migrate command to completion on the source."),
        new("QEMU setup time (query-migrate)", "ms", r => r.QemuSetupMs),
        new("RAM transferred (query-migrate)", "MB", r => r.QemuRamTransferredBytes == 0 ? double.NaN : r.QemuRamTransferredBytes / 1e6, Note:
            "Bytes of guest RAM QEMU sent (zero pages count only their headers), 10^6 bytes per MB."),
        new("Longest probe RTT", "ms", r => r.ProbeRttMaxMs, Note:
            "The largest client → VM → client round trip of the UDP probe in the run: probes held in a paused guest's tap queue come back late instead of being lost, which the loss-based downtime above cannot see."),
        new("Packets lost (UDP probe)", "packets", r => r.Lost),
        new("Longest TCP gap (VM → client)", "ms", r => r.TcpLongestGapMs, Note: "Longest gap between arrivals of the TCP test's 10 ms messages at the client."),
    ];

    public static void WriteCsv(string path, IEnumerable<RunResult> runs)
    {
        var sb = new StringBuilder(string.Join(',', RunResult.CsvHeader)).Append('\n');
        foreach (var r in runs) sb.Append(r.ToCsv()).Append('\n');
        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>Reads runs.csv back (for `report`, which re-renders tables and plots from the raw data).</summary>
    public static List<RunResult> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        var list = new List<RunResult>();
        foreach (var line in lines.Skip(1))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var f = SplitCsv(line);
            double D(string n) => Col(n) is int i and >= 0 && i < f.Count && double.TryParse(f[i], NumberStyles.Float, C, out var v) ? v : double.NaN;
            long L(string n) => Col(n) is int i and >= 0 && i < f.Count && long.TryParse(f[i], NumberStyles.Integer, C, out var v) ? v : 0;
            string S(string n) => Col(n) is int i and >= 0 && i < f.Count ? f[i] : "";
            list.Add(new RunResult
            {
                RttMs = D("rtt_ms"), Run = (int)L("run"), From = S("from"), To = S("to"), DowntimeMs = D("downtime_ms"),
                TotalMigrationMs = D("total_migration_ms"), TotalMigrationSeedMs = D("total_migration_seed_ms"), Sent = (int)L("sent"), Lost = (int)L("lost"),
                Recovered = S("recovered") == "1", ProbeRttMedianMs = D("probe_rtt_median_ms"), TcpSurvived = S("tcp_survived") == "1",
                TcpOutcome = S("tcp_outcome"), TcpLongestGapMs = D("tcp_longest_gap_ms"), Trigger = S("trigger"), SwitchHandoverMs = D("switch_handover_ms"),
                SwitchPbuPbaMs = D("switch_pbu_pba_ms"), PbuTransmissions = (int)L("pbu_tx"), SwitchPbaRaMs = D("switch_pba_ra_ms"),
                PrecopyMs = D("precopy_ms"), PrecopyMbitPerSecond = D("precopy_mbit_s"), VmStoppedMs = D("vm_stopped_ms"), AnnounceMs = D("announce_ms"),
                MigrateCommandMs = D("migrate_command_ms"), ServiceBackAfterResumeMs = D("service_back_after_resume_ms"), Captured = S("captured") == "1",
                CaptureBytes = L("capture_bytes"), MigrationBytes = L("migration_bytes"), ClientBytes = L("client_bytes"), MobilityBytes = L("mobility_bytes"),
                OtherBytes = L("other_bytes"), NdBytes = L("nd_bytes"), MobilityFrames = L("mobility_frames"),
                ProbeRttMaxMs = D("probe_rtt_max_ms"), QemuStatus = S("qemu_status"), QemuTotalMs = D("qemu_total_ms"),
                QemuDowntimeMs = D("qemu_downtime_ms"), QemuSetupMs = D("qemu_setup_ms"), QemuRamTransferredBytes = L("qemu_ram_transferred_bytes"),
                QemuRamTotalBytes = L("qemu_ram_total_bytes"), AckSilenceMs = D("ack_silence_ms"),
                FloorMs = D("floor_ms"), PreRegisteredAheadMs = D("pre_registered_ahead_ms"), EndMarker = S("end_marker"),
                StopNotifiedMs = D("stop_notified_ms"), GuestFirstUplinkMs = D("guest_first_uplink_ms"),
                Error = S("error") is { Length: > 0 } e ? e : null,
            });
        }
        return list;
    }

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else sb.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(ch);
        }
        fields.Add(sb.ToString());
        return fields;
    }

    private static string N(double v, int decimals = 2) => double.IsNaN(v) ? "–" : v.ToString("F" + decimals, C);

    private static int DecimalsFor(string unit) => unit == "s" ? 2 : unit == "packets" ? 1 : 2;

    /// <summary>The per-metric tables, the TCP survival counts and the overhead shares, as Markdown.</summary>
    public static string Tables(IReadOnlyList<RunResult> runs, IReadOnlyDictionary<double, double> measuredRtt)
    {
        var rtts = runs.Select(r => r.RttMs).Distinct().Order().ToArray();
        var sb = new StringBuilder();
        if (runs.Any(r => !double.IsNaN(r.QemuDowntimeMs))) sb.Append(QemuShares(runs, rtts));
        foreach (var m in Metrics)
        {
            // A metric this driver does not produce (the pre-copy stream of the namespace testbed, QEMU's figures) has no table.
            if (runs.Count > 0 && runs.All(r => double.IsNaN(m.Select(r)))) continue;
            sb.Append("### ").Append(m.Title).Append(" (").Append(m.Unit).Append(")\n\n");
            if (m.Note is not null) sb.Append(m.Note).Append("\n\n");
            bool seed = m.SeedPmip is not null;
            sb.Append("| RTT |");
            foreach (var rtt in rtts)
            {
                string name = SeedData.NameOf(rtt);
                string measured = measuredRtt.TryGetValue(rtt, out var mr) && !double.IsNaN(mr) ? $", measured {mr.ToString("0.###", C)} ms" : "";
                if (seed) sb.Append(C, $" {rtt} ms{(name.Length > 0 ? " " + name : "")}: ours{measured} | seed PMIPv6 | seed MIPv6 |");
                else sb.Append(C, $" {rtt} ms{(name.Length > 0 ? " " + name : "")}{measured} |");
            }
            sb.Append("\n|---|");
            foreach (var _ in rtts) sb.Append(seed ? "---:|---:|---:|" : "---:|");
            sb.Append('\n');
            var ours = rtts.Select(rtt => Summary.Of(runs.Where(r => r.RttMs == rtt && r.Error is null).Select(m.Select).ToList())).ToArray();
            int dd = DecimalsFor(m.Unit);
            void Row(string label, Func<Summary, double> ourValue, Func<SeedColumn, double>? seedValue, string suffix = "", int? decimals = null)
            {
                int d = decimals ?? dd;
                sb.Append("| ").Append(label).Append(" |");
                for (int i = 0; i < rtts.Length; i++)
                {
                    sb.Append(' ').Append(ours[i] is { } s ? N(ourValue(s), d) + suffix : "–").Append(" |");
                    if (!seed) continue;
                    var p = SeedData.For(m.SeedPmip!, rtts[i]);
                    var q = SeedData.For(m.SeedMip!, rtts[i]);
                    sb.Append(' ').Append(p is not null && seedValue is not null ? N(seedValue(p), d) + suffix : "–").Append(" |");
                    sb.Append(' ').Append(q is not null && seedValue is not null ? N(seedValue(q), d) + suffix : "–").Append(" |");
                }
                sb.Append('\n');
            }
            Row("n", s => s.N, _ => 70, "", decimals: 0);
            Row("Average", s => s.Mean, c => c.Mean);
            Row("Minimum", s => s.Min, c => c.Min);
            Row("Maximum", s => s.Max, c => c.Max);
            Row("Std. dev.", s => s.StdDev, c => c.StdDev);
            Row("Half-length of 95% CI", s => s.HalfLength, c => c.HalfLength);
            Row("Relative half-length (%)", s => s.RelativeHalfLengthPercent, c => c.RelativeHalfLengthPercent);
            sb.Append('\n');
        }

        sb.Append("### TCP survivability\n\nA TCP client in the VM sends every 10 ms to a server on the client node; a run survives unless the server's `recv` returns 0 or fails before the client's END marker (seed Section IV.C: survived in all 70 runs at every RTT, PMIPv6 and MIPv6).\n\n");
        sb.Append("| RTT | survived | runs | seed |\n|---|---:|---:|---:|\n");
        foreach (var rtt in rtts)
        {
            var all = runs.Where(r => r.RttMs == rtt && r.Error is null).ToList();
            sb.Append(C, $"| {rtt} ms | {all.Count(r => r.TcpSurvived)} | {all.Count} | 70 of 70 |\n");
        }
        sb.Append('\n');

        sb.Append("### Traffic on the LMA's MAG links during one migration (signalling overhead)\n\n");
        sb.Append("Captured with dumpcap in the LMA's namespace on `eth-mag1` and `eth-mag2` (what crosses both is counted twice, as in the seed) and classified by the IPv6 header chain: migration = the pre-copy TCP stream; client = IPv6-in-IPv6 or IPv4-in-IPv6 between a MAG and the LMA (the VM's traffic: the probes and the TCP test); mobility signalling = Mobility Header (PBU, PBA, heartbeat) and RADIUS (UDP 1812/1813, when AAA is configured); other = Neighbor Discovery, MLD and the rest. Frame lengths as on the wire, including the Ethernet header; segmentation-offload super-frames count as their total length. Seed (thesis 4.1.D, Figure 11, PMIPv6, 10 repetitions): 541.86 MB per migration, Xen 99.74 %, PMIPv6 signalling 0.00012 % (660.8 B); the paper's Section IV.D counts ND and SLAAC with the signalling.\n\n");
        sb.Append("| RTT | captured runs | total per migration (MB) | migration % | client % | mobility signalling % | other % | signalling bytes per migration | signalling frames | ND bytes (in other) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var rtt in rtts)
        {
            var cap = runs.Where(r => r.RttMs == rtt && r.Captured && r.Error is null).ToList();
            if (cap.Count == 0) continue;
            double total = cap.Sum(r => (double)r.CaptureBytes);
            double Share(Func<RunResult, long> f) => total == 0 ? 0 : cap.Sum(r => (double)f(r)) * 100 / total;
            sb.Append(C, $"| {rtt} ms | {cap.Count} | {cap.Average(r => r.CaptureBytes) / 1e6:F2} | {Share(r => r.MigrationBytes):F4} | {Share(r => r.ClientBytes):F4} | {Share(r => r.MobilityBytes):F6} | {Share(r => r.OtherBytes):F6} | {cap.Average(r => r.MobilityBytes):F1} | {cap.Average(r => r.MobilityFrames):F1} | {cap.Average(r => r.NdBytes):F1} |\n");
        }
        sb.Append(C, $"| seed (PMIPv6) | 10 | {SeedData.SeedTotalMb:F2} | {SeedData.SeedMigrationSharePercent:F2} | <0.27 (client+iSCSI+other) | {SeedData.SeedSignallingSharePercent:F5} | – | {SeedData.SeedSignallingBytes:F1} | – | – |\n\n");

        var errors = runs.Where(r => r.Error is not null).ToList();
        if (errors.Count > 0)
        {
            sb.Append(C, $"### Runs left out ({errors.Count})\n\n");
            foreach (var e in errors) sb.Append(C, $"- {e.RttMs} ms run {e.Run}: {e.Error}\n");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Means per RTT of the end-to-end figures beside the seed's Table I (downtime) and Table III (total migration
    /// time) and QEMU's own, so the network's share is visible at a glance: downtime − QEMU downtime is what the
    /// destination's load and resume, the switch's handover and the path added; downtime − stop → resume leaves out
    /// the resume too (QEMU's downtime ends on the source, before the destination has loaded the last pages).
    /// </summary>
    public static string QemuShares(IReadOnlyList<RunResult> runs, double[] rtts)
    {
        var sb = new StringBuilder();
        sb.Append("### Real guest: end-to-end beside QEMU's own figures and the seed (means; n runs without error)\n\n");
        sb.Append("| RTT | n | downtime (UDP probe) ms | longest time without any ack ms | floor (migration path one-way) ms | goal (floor + 25) ms | runs within the goal | seed PMIPv6 downtime (Table I) ms | QEMU downtime ms | QEMU stop → resume ms | guest restart (arrival → first packet) ms | rest (no ack − stop → resume − restart) ms | downtime − QEMU downtime ms | switch handover ms | probes lost | total migration time s | seed PMIPv6 total (Table III) s | QEMU total time s | RAM transferred MB | TCP survived |\n");
        sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var rtt in rtts)
        {
            var ok = runs.Where(r => r.RttMs == rtt && r.Error is null).ToList();
            double Mean(Func<RunResult, double> f) => ok.Select(f).Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Average();
            var seedDown = SeedData.For(SeedData.PmipDowntimeMs, rtt);
            var seedTotal = SeedData.For(SeedData.PmipTotalMigrationS, rtt);
            double floor = Mean(r => r.FloorMs);
            sb.Append(C, $"| {rtt} ms | {ok.Count} | {N(Mean(r => r.DowntimeMs))} | {N(Mean(r => r.AckSilenceMs))} | {N(floor)} | {N(floor + 25)} | {ok.Count(r => r.OverGoalMs <= 0)}/{ok.Count} | ");
            sb.Append(C, $"{(seedDown is null ? "–" : N(seedDown.Mean))} | {N(Mean(r => r.QemuDowntimeMs))} | ");
            sb.Append(C, $"{N(Mean(r => r.VmStoppedMs))} | {N(Mean(r => r.GuestFirstUplinkMs))} | {N(Mean(r => r.AckSilenceMs - r.VmStoppedMs - r.GuestFirstUplinkMs))} | {N(Mean(r => r.BeyondQemuDowntimeMs))} | {N(Mean(r => r.SwitchHandoverMs))} | {N(Mean(r => r.Lost), 1)} | {N(Mean(r => r.TotalMigrationMs / 1000))} | ");
            sb.Append(C, $"{(seedTotal is null ? "–" : N(seedTotal.Mean))} | {N(Mean(r => r.QemuTotalMs / 1000))} | {N(Mean(r => r.QemuRamTransferredBytes == 0 ? double.NaN : r.QemuRamTransferredBytes / 1e6), 1)} | {ok.Count(r => r.TcpSurvived)}/{ok.Count} |\n");
        }
        sb.Append("\nThe full statistics of each figure (minimum, maximum, standard deviation, 95% confidence half-length) are in the tables below.\n\n");
        return sb.ToString();
    }

    /// <summary>The seed's Figures 9/12 (downtime) and 10/13 (total migration time) with our series beside them, and our downtime's parts.</summary>
    public static List<string> Plots(IReadOnlyList<RunResult> runs, string directory)
    {
        var written = new List<string>();
        var rtts = runs.Select(r => r.RttMs).Distinct().Order().ToArray();
        (double[] X, double[] Y, double[] E) Ours(Func<RunResult, double> f)
        {
            var s = rtts.Select(rtt => Summary.Of(runs.Where(r => r.RttMs == rtt && r.Error is null).Select(f).ToList())).ToArray();
            var idx = Enumerable.Range(0, rtts.Length).Where(i => s[i] is not null).ToArray();
            return (idx.Select(i => rtts[i]).ToArray(), idx.Select(i => s[i]!.Mean).ToArray(), idx.Select(i => double.IsNaN(s[i]!.HalfLength) ? 0 : s[i]!.HalfLength).ToArray());
        }
        static (double[] X, double[] Y, double[] E) Seed(SeedColumn[] t) => (t.Select(c => c.RttMs).ToArray(), t.Select(c => c.Mean).ToArray(), t.Select(c => c.HalfLength).ToArray());

        string Figure(string file, string title, string yLabel, params (string Label, (double[] X, double[] Y, double[] E) Data)[] series)
        {
            var plt = new ScottPlot.Plot();
            var palette = new ScottPlot.Palettes.Category10();
            int k = 0;
            double top = 0;
            foreach (var (label, data) in series)
            {
                for (int i = 0; i < data.Y.Length; i++)
                    if (!double.IsNaN(data.Y[i])) top = Math.Max(top, data.Y[i] + Math.Min(data.E[i], data.Y[i]));
                if (data.X.Length == 0) continue;
                var color = palette.GetColor(k++);
                var sc = plt.Add.Scatter(data.X, data.Y);
                sc.LegendText = label;
                sc.Color = color;
                sc.MarkerSize = 8;
                sc.LineWidth = 2;
                var eb = plt.Add.ErrorBar(data.X, data.Y, data.E);
                eb.Color = color;
            }
            plt.Title(title);
            plt.XLabel("client–VM RTT (ms)");
            plt.YLabel(yLabel);
            plt.Axes.SetLimitsX(-8, 170);
            plt.Axes.SetLimitsY(0, top <= 0 ? 1 : top * 1.1);
            plt.ShowLegend(ScottPlot.Alignment.UpperLeft);
            string path = Path.Combine(directory, file);
            plt.SavePng(path, 900, 560);
            written.Add(path);
            return path;
        }

        Figure("downtime.png", "Service downtime vs RTT (mean, 95% CI): ours beside the seed (Figures 9, 12)", "downtime (ms)",
            ("DataPlane (this run)", Ours(r => r.DowntimeMs)), ("seed PMIPv6 (Table I)", Seed(SeedData.PmipDowntimeMs)), ("seed MIPv6 (Table II)", Seed(SeedData.MipDowntimeMs)));
        Figure("total-migration-time.png", "Total migration time vs RTT (mean, 95% CI): ours beside the seed (Figures 10, 13)", "total migration time (s)",
            ("DataPlane (this run)", Ours(r => r.TotalMigrationMs / 1000)), ("seed PMIPv6 (Table III)", Seed(SeedData.PmipTotalMigrationS)), ("seed MIPv6 (Table IV)", Seed(SeedData.MipTotalMigrationS)));
        Figure("downtime-parts.png", "Our downtime and its parts vs RTT (mean, 95% CI)", "ms",
            ("service downtime (UDP probe)", Ours(r => r.DowntimeMs)), ("VM stopped (hypervisor)", Ours(r => r.VmStoppedMs)),
            ("QEMU downtime (query-migrate)", Ours(r => r.QemuDowntimeMs)),
            ("network share (downtime − VM stopped)", Ours(r => r.NetworkShareMs)), ("switch handover (MAG log)", Ours(r => r.SwitchHandoverMs)),
            ("switch PBU→PBA", Ours(r => r.SwitchPbuPbaMs)));
        return written;
    }
}
