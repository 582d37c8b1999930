using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace DataPlane.Experiment;

public sealed record ExperimentOptions
{
    public int Runs { get; init; } = 70;
    public double[] RttsMs { get; init; } = SeedData.RttsMs;
    /// <summary>The emulated stop-and-copy pause (the hypervisor's share of the downtime).</summary>
    public int PauseMs { get; init; } = 200;
    /// <summary>Pre-copy size (the seed's guest had 256 MB).</summary>
    public int MemoryMb { get; init; } = 256;
    public int MemoryPort { get; init; } = 7100;
    /// <summary>Rate of each emulated link (the seed's were gigabit Ethernet); null = unlimited.</summary>
    public string? Rate { get; init; } = "1gbit";
    /// <summary>Runs per RTT captured on the LMA's links for the overhead classes (the seed: 10 repetitions).</summary>
    public int CaptureRuns { get; init; } = 10;
    public string Announce { get; init; } = "na";
    public string OutputDirectory { get; init; } = "";
    public bool KeepCaptures { get; init; }
    /// <summary>The probe's outage threshold in intervals (its --outage-intervals): the stream stops at the first ack
    /// after a gap this long. 10 (≈ 100 ms) keeps a short congestion gap during the pre-copy from being taken for
    /// the migration's outage; the emulated stop alone lasts longer than that.</summary>
    public int OutageIntervals { get; init; } = 10;
    /// <summary>namespace (the emulated migration) or qemu (a real guest, <see cref="QemuMigrationDriver"/>).</summary>
    public string Driver { get; init; } = "namespace";
    /// <summary>Probe over IPv4 (RFC 5844): the VM runs dual stack (its IPv4 address from its MAG's DHCP server), the UDP
    /// probe targets its IPv4 home address, its TCP client the client node's IPv4 address, and the RTT is pinged over
    /// IPv4; everything else is the same, so the two runs compare directly.</summary>
    public bool Ipv4 { get; init; }
    /// <summary>QEMU's downtime-limit for the real guest; null = QEMU's default (300 ms).</summary>
    public int? DowntimeLimitMs { get; init; }
    /// <summary>QEMU's max-bandwidth (bytes/s with k/M/G suffixes), or null for its default.</summary>
    public string? MaxBandwidth { get; init; }
    /// <summary>QEMU's multifd channels, or null: one stream.</summary>
    public int? Multifd { get; init; }
    /// <summary>The MAGs pre-register an incoming VM (issue 16); false: its first frame registers it.</summary>
    public bool PreRegistration { get; init; } = true;
    /// <summary>The LMA copies the downlink to a pre-registered destination (issue 16); false: it switches when the source reports its VM stopped.</summary>
    public bool Bicast { get; init; } = true;

    /// <summary>`testbed up`'s arguments for the live-migration settings above.</summary>
    public IEnumerable<string> TestbedMigrationArgs()
    {
        if (!PreRegistration) yield return "--no-pre-registration";
        if (!Bicast)
        {
            yield return "--lma-migration";
            yield return "{ \"bicast\": false }";
        }
    }
    /// <summary>Time between one run's end and the next migration.</summary>
    public int SettleMs { get; init; } = 1000;
}

/// <summary>One migration's measurements (one row of runs.csv).</summary>
public sealed record RunResult
{
    public double RttMs { get; init; }
    public int Run { get; init; }
    public string From { get; init; } = "";
    public string To { get; init; } = "";
    public string? Error { get; init; }
    // The UDP probe (client → VM, 10 ms), as the seed defines them.
    public double DowntimeMs { get; init; } = double.NaN;
    public double TotalMigrationMs { get; init; } = double.NaN;
    public double TotalMigrationSeedMs { get; init; } = double.NaN;
    public int Sent { get; init; }
    public int Lost { get; init; }
    public bool Recovered { get; init; }
    public double ProbeRttMedianMs { get; init; } = double.NaN;
    public double ProbeRttMaxMs { get; init; } = double.NaN;
    /// <summary>Longest time the client received no ack at all (late acks count): the outage a user of the VM feels.</summary>
    public double AckSilenceMs { get; init; } = double.NaN;
    // The TCP survivability test (VM → client, 10 ms).
    public bool TcpSurvived { get; init; }
    public string TcpOutcome { get; init; } = "";
    public double TcpLongestGapMs { get; init; } = double.NaN;
    // The switch's own measurement (destination MAG's log).
    public string Trigger { get; init; } = "";
    public double SwitchHandoverMs { get; init; } = double.NaN;
    public double SwitchPbuPbaMs { get; init; } = double.NaN;
    public int PbuTransmissions { get; init; }
    public double SwitchPbaRaMs { get; init; } = double.NaN;
    // The migration's steps (testbed migrate).
    public double PrecopyMs { get; init; } = double.NaN;
    public double PrecopyMbitPerSecond { get; init; } = double.NaN;
    /// <summary>link-down at the source → port-add at the destination: the VM is stopped or in transit (the hypervisor's share).</summary>
    public double VmStoppedMs { get; init; } = double.NaN;
    /// <summary>port-add → announced.</summary>
    public double AnnounceMs { get; init; } = double.NaN;
    public double MigrateCommandMs { get; init; } = double.NaN;
    /// <summary>Send time of the first probe answered after the outage minus port-add: how long the service stayed down once the VM was back on a network.</summary>
    public double ServiceBackAfterResumeMs { get; init; } = double.NaN;
    // QEMU's own figures (query-migrate on the source) when a real guest migrated; VmStoppedMs is then its STOP → RESUME.
    public string QemuStatus { get; init; } = "";
    public double QemuTotalMs { get; init; } = double.NaN;
    public double QemuDowntimeMs { get; init; } = double.NaN;
    public double QemuSetupMs { get; init; } = double.NaN;
    public long QemuRamTransferredBytes { get; init; }
    public long QemuRamTotalBytes { get; init; }
    // The fast handover (issue 16): the floor, the destination's pre-registration, the source's stop notice, the guest's restart.
    /// <summary>The migration path's one-way delay (MAG1 ↔ MAG2 ping, half the median round trip, measured per RTT): the floor
    /// below which no outage can go, since the VM's last state has to cross it.</summary>
    public double FloorMs { get; init; } = double.NaN;
    /// <summary>How long before the VM's arrival the destination's pre-registration was accepted (NaN: it was not pre-registered).</summary>
    public double PreRegisteredAheadMs { get; init; } = double.NaN;
    /// <summary>What the destination's log says of the source's end marker ("end marker before arrival", …).</summary>
    public string EndMarker { get; init; } = "";
    /// <summary>The source QEMU's STOP → its MAG had taken the stop (`port stopped` answered): the listener's latency.</summary>
    public double StopNotifiedMs { get; init; } = double.NaN;
    /// <summary>The VM's arrival at the destination (its first frame, QEMU's RARP) → its first packet into the network: the guest's restart.</summary>
    public double GuestFirstUplinkMs { get; init; } = double.NaN;
    // Capture on the LMA's MAG links (when this run was captured).
    public bool Captured { get; init; }
    public long CaptureBytes { get; init; }
    public long MigrationBytes { get; init; }
    public long ClientBytes { get; init; }
    public long MobilityBytes { get; init; }
    public long OtherBytes { get; init; }
    public long NdBytes { get; init; }
    public long MobilityFrames { get; init; }

    /// <summary>The downtime minus the hypervisor's share: what the network (switch, signalling, path) added.</summary>
    public double NetworkShareMs => DowntimeMs - VmStoppedMs;

    /// <summary>The end-to-end downtime minus QEMU's own: what the resume, the switch and the path added to it.</summary>
    public double BeyondQemuDowntimeMs => DowntimeMs - QemuDowntimeMs;

    /// <summary>The issue-16 goal's margin: the longest time without any ack minus (floor + 25 ms); ≤ 0 meets it.</summary>
    public double OverGoalMs => AckSilenceMs - (FloorMs + 25);

    public static readonly string[] CsvHeader =
    [
        "rtt_ms", "run", "from", "to", "downtime_ms", "total_migration_ms", "total_migration_seed_ms", "sent", "lost", "recovered",
        "probe_rtt_median_ms", "tcp_survived", "tcp_outcome", "tcp_longest_gap_ms", "trigger", "switch_handover_ms", "switch_pbu_pba_ms",
        "pbu_tx", "switch_pba_ra_ms", "precopy_ms", "precopy_mbit_s", "vm_stopped_ms", "network_share_ms", "announce_ms", "migrate_command_ms",
        "service_back_after_resume_ms", "captured", "capture_bytes", "migration_bytes", "client_bytes", "mobility_bytes", "other_bytes", "nd_bytes",
        "mobility_frames", "probe_rtt_max_ms", "qemu_status", "qemu_total_ms", "qemu_downtime_ms", "qemu_setup_ms", "qemu_ram_transferred_bytes",
        "qemu_ram_total_bytes", "ack_silence_ms", "floor_ms", "pre_registered_ahead_ms", "end_marker", "stop_notified_ms", "guest_first_uplink_ms", "error",
    ];

    public string ToCsv()
    {
        static string F(double v) => double.IsNaN(v) ? "" : v.ToString("0.###", CultureInfo.InvariantCulture);
        static string S(string? s) => s is null ? "" : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal).Replace('\n', ' ') + "\"";
        var c = CultureInfo.InvariantCulture;
        return string.Join(',',
            F(RttMs), Run.ToString(c), From, To, F(DowntimeMs), F(TotalMigrationMs), F(TotalMigrationSeedMs), Sent.ToString(c), Lost.ToString(c),
            Recovered ? "1" : "0", F(ProbeRttMedianMs), TcpSurvived ? "1" : "0", TcpOutcome, F(TcpLongestGapMs), Trigger, F(SwitchHandoverMs),
            F(SwitchPbuPbaMs), PbuTransmissions.ToString(c), F(SwitchPbaRaMs), F(PrecopyMs), F(PrecopyMbitPerSecond), F(VmStoppedMs),
            F(NetworkShareMs), F(AnnounceMs), F(MigrateCommandMs), F(ServiceBackAfterResumeMs), Captured ? "1" : "0", CaptureBytes.ToString(c),
            MigrationBytes.ToString(c), ClientBytes.ToString(c), MobilityBytes.ToString(c), OtherBytes.ToString(c), NdBytes.ToString(c),
            MobilityFrames.ToString(c), F(ProbeRttMaxMs), QemuStatus, F(QemuTotalMs), F(QemuDowntimeMs), F(QemuSetupMs),
            QemuRamTransferredBytes.ToString(c), QemuRamTotalBytes.ToString(c), F(AckSilenceMs), F(FloorMs), F(PreRegisteredAheadMs), S(EndMarker),
            F(StopNotifiedMs), F(GuestFirstUplinkMs), S(Error));
    }
}

/// <summary>Runs the migrations of one RTT on a driver, measuring each the seed's way.</summary>
public sealed class Runner(Tools tools, ExperimentOptions options, IMigrationDriver driver, TextWriter log)
{
    public const int UdpPort = 7000;
    private const int TcpPort = 7001;
    private const string ClientAddress = "2001:db8:2::10";
    private const string ClientIpv4Address = "198.51.100.10";

    /// <summary>The VM's address the probes use: its IPv4 home address with --ipv4, else its IPv6 one.</summary>
    private string VmTarget => options.Ipv4
        ? driver.VmIpv4Address ?? throw new InvalidOperationException("--ipv4: the VM has no IPv4 address")
        : driver.VmAddress;

    private string Family => options.Ipv4 ? "-4" : "-6";

    /// <summary>What udp-client writes on stderr at its first ack, and the line that tells --until-settled the
    /// scenario is over (DataPlane.Probe.Cli.FirstAckLine / EndMarkLine: this program talks to the probe as a process).</summary>
    internal const string ProbeFirstAckLine = "udp-client: first ack";
    internal const string ProbeEndMarkLine = "end";

    /// <summary>
    /// The migration path's one-way delay: half the median ping RTT from MAG1 to MAG2 (the hosts reach each other only
    /// through the LMA here, so the stream crosses two emulated links, as the seed's did).
    /// </summary>
    public double MeasureMigrationPathOneWay()
    {
        var cmd = driver.On("mag1", "ping", "-6", "-c", "20", "-i", "0.05", "-W", "2", "2001:db8:100:2::2");
        var r = Proc.Run(cmd[0], cmd[1..], TimeSpan.FromSeconds(30));
        var rtts = r.Stdout.Split('\n').Select(l => l.IndexOf("time=", StringComparison.Ordinal) is int i and >= 0
                ? double.Parse(l[(i + 5)..].Split(' ')[0], CultureInfo.InvariantCulture) : double.NaN)
            .Where(v => !double.IsNaN(v)).Order().ToArray();
        return rtts.Length == 0 ? double.NaN : rtts[rtts.Length / 2] / 2;
    }

    /// <summary>Median client → VM ping RTT on the testbed as it is (what the emulated path really has).</summary>
    public double MeasureRtt()
    {
        var ping = driver.On("client", "ping", Family, "-c", "20", "-i", "0.05", "-W", "2", VmTarget);
        var r = Proc.Run(ping[0], ping[1..], TimeSpan.FromSeconds(30));
        var rtts = r.Stdout.Split('\n').Select(l => l.IndexOf("time=", StringComparison.Ordinal) is int i and >= 0
                ? double.Parse(l[(i + 5)..].Split(' ')[0], CultureInfo.InvariantCulture) : double.NaN)
            .Where(v => !double.IsNaN(v)).Order().ToArray();
        return rtts.Length == 0 ? double.NaN : rtts[rtts.Length / 2];
    }

    /// <summary>The migration path's one-way delay at this RTT (<see cref="MeasureMigrationPathOneWay"/>), written into every run's row.</summary>
    public double FloorMs { get; set; } = double.NaN;

    public RunResult RunOnce(double rttMs, int run, bool capture, string workDir)
    {
        string from = driver.VmAt, to = from == "mag1" ? "mag2" : "mag1";
        var result = new RunResult { RttMs = rttMs, Run = run, From = from, To = to, FloorMs = FloorMs };
        string tag = string.Create(CultureInfo.InvariantCulture, $"{rttMs}ms-{run}");
        string udpJson = Path.Combine(workDir, $"udp-{tag}.json");
        string tcpJson = Path.Combine(workDir, $"tcp-{tag}.json");
        string pcap = Path.Combine(workDir, $"lma-{tag}.pcapng");
        Background? server = null, dump = null, probe = null;
        IVmSide? vm = null;
        try
        {
            server = Start(driver.On("client", tools.Probe, "tcp-server", "--port", TcpPort.ToString(CultureInfo.InvariantCulture), "--json", tcpJson,
                "--accept-timeout", "20s", "--idle-timeout", "90s"));
            if (!server.WaitForOutput("listening", TimeSpan.FromSeconds(10))) throw new InvalidOperationException("tcp-server did not start: " + server.Stderr);
            vm = driver.StartVmSide(UdpPort, options.Ipv4 ? ClientIpv4Address : ClientAddress, TcpPort);
            if (capture)
            {
                dump = Start(driver.On("lma", "dumpcap", "-q", "-B", "64", "-i", "eth-mag1", "-i", "eth-mag2", "-s", "256", "-w", pcap));
                var sw = Stopwatch.StartNew();
                while (sw.Elapsed < TimeSpan.FromSeconds(10) && !(File.Exists(pcap) && new FileInfo(pcap).Length > 0)) Thread.Sleep(20);
                Thread.Sleep(300);
            }
            Thread.Sleep(300); // the TCP session is established and carrying data before the migration

            // The seed started the UDP stream right after invoking the migration; starting it just before is the same
            // to within the probe's own start-up, and the first probe is the start of the total migration time. The
            // probe runs until this runner says the migration is over ("end" on its standard input) and a probe sent
            // after that has come back: that needs no outage threshold, so an outage of any length is measured, down
            // to none (--until-recovered never ends when the outage is shorter than its threshold).
            var probeCommand = driver.On("client", tools.Probe, "udp-client", "--target", VmTarget, "--port", UdpPort.ToString(CultureInfo.InvariantCulture),
                "--interval", "10ms", "--until-settled", "--max-duration", "240s", "--outage-intervals", options.OutageIntervals.ToString(CultureInfo.InvariantCulture),
                "--json", udpJson, "--quiet");
            probe = Proc.Start(probeCommand[0], probeCommand[1..], keepStdin: true);
            // From its first ack on, the probe sees any outage: only then may the migration start.
            if (!probe.WaitForError(ProbeFirstAckLine, TimeSpan.FromSeconds(30)))
                throw new InvalidOperationException("udp-client saw no ack before the migration: " + probe.Stderr);
            var steps = driver.Migrate();
            probe.WriteLine(ProbeEndMarkLine);
            if (!probe.WaitForExit(TimeSpan.FromSeconds(260))) throw new TimeoutException("udp-client did not finish");
            Thread.Sleep(300);
            vm.StopTcpClient();
            server.WaitForExit(TimeSpan.FromSeconds(20));
            dump?.Interrupt();
            dump?.WaitForExit(TimeSpan.FromSeconds(20));

            result = Fill(result, steps, udpJson, tcpJson);
            result = result with { Error = result.Recovered ? null : "no probe sent after the migration was acknowledged" };
            if (capture && File.Exists(pcap))
            {
                var t = TrafficClassifier.ClassifyFile(pcap, options.MemoryPort);
                result = result with
                {
                    Captured = true,
                    CaptureBytes = t.TotalBytes,
                    MigrationBytes = t.Bytes[(int)TrafficClass.Migration],
                    ClientBytes = t.Bytes[(int)TrafficClass.Client],
                    MobilityBytes = t.Bytes[(int)TrafficClass.Mobility],
                    OtherBytes = t.Bytes[(int)TrafficClass.Other],
                    NdBytes = t.NeighborDiscoveryBytes,
                    MobilityFrames = t.Frames[(int)TrafficClass.Mobility],
                };
                if (!options.KeepCaptures) File.Delete(pcap);
            }
            return result;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or JsonException)
        {
            return result with { Error = e.Message.Split('\n')[0] };
        }
        finally
        {
            foreach (var b in new[] { probe, dump })
            {
                if (b is null) continue;
                b.Interrupt();
                b.WaitForExit(TimeSpan.FromSeconds(3));
                b.Dispose();
            }
            vm?.Dispose();
            if (server is not null)
            {
                server.Interrupt();
                server.WaitForExit(TimeSpan.FromSeconds(3));
                server.Dispose();
            }
        }
    }

    private static Background Start(string[] command) => Proc.Start(command[0], command[1..]);

    private RunResult Fill(RunResult r, MigrationSteps steps, string udpJson, string tcpJson)
    {
        if (File.Exists(udpJson))
        {
            using var udp = JsonDocument.Parse(File.ReadAllText(udpJson));
            var u = udp.RootElement;
            double D(string name) => u.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
            double back = double.NaN;
            if (u.TryGetProperty("downtime", out var gap) && gap.ValueKind == JsonValueKind.Object && steps.ResumedAt is long resumed)
                back = gap.GetProperty("endUnixMs").GetDouble() - resumed;
            var rtt = u.TryGetProperty("rttMs", out var rt) && rt.ValueKind == JsonValueKind.Object ? rt : default;
            double rttMedian = QemuFigures.Number(rtt, "medianMs");
            r = r with
            {
                DowntimeMs = D("downtimeMs"),
                TotalMigrationMs = TotalMigration(D("totalMigrationTimeMs"), D("startedUnixMs"), D("endMarkUnixMs"), D("settledAfterMarkMs")),
                TotalMigrationSeedMs = D("totalMigrationTimeSeedMs"),
                Sent = u.GetProperty("sent").GetInt32(),
                Lost = u.GetProperty("lost").GetInt32(),
                Recovered = u.TryGetProperty("recoveredBeforeStop", out var rec) && rec.ValueKind == JsonValueKind.True,
                ProbeRttMedianMs = rttMedian,
                // A real guest's tap queues the probes while it is paused and hands them over on resume: they come
                // back late rather than not at all, which the loss-based downtime does not see and the largest RTT does.
                ProbeRttMaxMs = QemuFigures.Number(rtt, "maxMs"),
                AckSilenceMs = D("longestAckSilenceMs"),
                ServiceBackAfterResumeMs = back,
            };
        }
        if (File.Exists(tcpJson))
        {
            using var tcp = JsonDocument.Parse(File.ReadAllText(tcpJson));
            var t = tcp.RootElement;
            r = r with
            {
                TcpSurvived = t.GetProperty("survived").GetBoolean(),
                TcpOutcome = t.GetProperty("outcome").GetString() ?? "",
                TcpLongestGapMs = t.TryGetProperty("longestGapMs", out var g) && g.ValueKind == JsonValueKind.Number ? g.GetDouble() : double.NaN,
            };
        }
        else
        {
            r = r with { TcpOutcome = "no report" };
        }
        double precopyMbit = double.NaN;
        if (steps.PrecopyJson is { } pj)
        {
            try
            {
                using var p = JsonDocument.Parse(pj);
                precopyMbit = p.RootElement.GetProperty("mbitPerSecond").GetDouble();
            }
            catch (JsonException) { }
        }
        r = r with
        {
            PrecopyMs = steps.Between("precopy-start", "precopy-end") ?? double.NaN,
            PrecopyMbitPerSecond = precopyMbit,
            VmStoppedMs = steps.VmStoppedMs ?? double.NaN,
            AnnounceMs = steps.Between("port-add", "announced") ?? double.NaN,
            MigrateCommandMs = steps.Between("start", "finished") ?? double.NaN,
        };
        if (steps.Qemu is { } q)
        {
            r = r with
            {
                QemuStatus = q.Status,
                QemuTotalMs = q.TotalTimeMs,
                QemuDowntimeMs = q.DowntimeMs,
                QemuSetupMs = q.SetupTimeMs,
                QemuRamTransferredBytes = q.RamTransferredBytes,
                QemuRamTotalBytes = q.RamTotalBytes,
            };
        }
        r = r with { StopNotifiedMs = steps.Between("vm-stop", "vm-stop-notified") ?? double.NaN };
        // The destination MAG's own account of the handover that this migration caused.
        if (steps.At.TryGetValue("start", out long startMs))
        {
            var since = DateTimeOffset.FromUnixTimeMilliseconds(startMs - 5);
            var h = MagLog.Read(Path.Combine(driver.RunDir, $"{r.To}.log")).LastOrDefault(x => x.At >= since && x.HandoffIndicator == 3);
            if (h is not null)
            {
                r = r with
                {
                    Trigger = h.Trigger,
                    SwitchHandoverMs = h.TotalMs,
                    SwitchPbuPbaMs = h.RegistrationMs,
                    PbuTransmissions = h.Transmissions,
                    SwitchPbaRaMs = h.PbaToRaMs,
                    PreRegisteredAheadMs = h.PreRegisteredAheadMs,
                    EndMarker = h.EndMarker,
                };
            }
            if (MagLog.ReadFirstUplinks(Path.Combine(driver.RunDir, $"{r.To}.log")).LastOrDefault(x => x.At >= since) is { } up)
                r = r with { GuestFirstUplinkMs = up.Ms };
        }
        return r;
    }

    /// <summary>
    /// The seed's total migration time: first probe → first ack after the downtime, when the probe saw an outage (a gap
    /// of at least its threshold). Without one (a handover faster than the threshold) the first ack after the outage is
    /// not defined, so the migration's own end stands in for it: first probe → the ack of the first probe sent after the
    /// migration command returned (the probe's end mark).
    /// </summary>
    internal static double TotalMigration(double probeTotalMs, double startedUnixMs, double endMarkUnixMs, double settledAfterMarkMs) =>
        !double.IsNaN(probeTotalMs) ? probeTotalMs : endMarkUnixMs + settledAfterMarkMs - startedUnixMs;

    public List<RunResult> RunAll(double rttMs, string workDir, Action<RunResult> onResult, CancellationToken ct)
    {
        var results = new List<RunResult>();
        for (int i = 1; i <= options.Runs && !ct.IsCancellationRequested; i++)
        {
            bool capture = i <= options.CaptureRuns;
            var r = RunOnce(rttMs, i, capture, workDir);
            results.Add(r);
            onResult(r);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {rttMs,6} ms run {i,3}/{options.Runs} {r.From}->{r.To}: downtime {r.DowntimeMs,7:F1} ms, total {r.TotalMigrationMs / 1000,6:F2} s, lost {r.Lost,3}, TCP {(r.TcpSurvived ? "survived" : r.TcpOutcome)}, switch {r.SwitchHandoverMs:F1} ms (PBU->PBA {r.SwitchPbuPbaMs:F1}){(capture ? ", captured" : "")}{(r.Error is null ? "" : " ERROR " + r.Error)}"));
            if (ct.WaitHandle.WaitOne(options.SettleMs)) break;
        }
        return results;
    }
}
