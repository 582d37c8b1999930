using System.Text.Json;

namespace DataPlane.Experiment.Tests;

public sealed class QemuFiguresTests
{
    // QEMU 7.2's query-migrate return value once completed (as qemu-vm recorded it on this machine, abridged).
    private const string QueryMigrate = """
        {"status": "completed", "setup-time": 2, "downtime": 66, "total-time": 567,
         "ram": {"total": 134750208, "postcopy-requests": 0, "dirty-sync-count": 3, "multifd-bytes": 0, "pages-per-second": 38130,
                 "downtime-bytes": 1204224, "page-size": 4096, "remaining": 0, "postcopy-bytes": 0, "mbps": 1249.9, "transferred": 93494867,
                 "dirty-sync-missed-zero-copy": 0, "precopy-bytes": 92290643, "duplicate": 10240, "dirty-pages-rate": 0, "skipped": 0,
                 "normal-bytes": 92000256, "normal": 22461}}
        """;

    [Fact]
    public void Query_migrate_gives_qemus_own_figures()
    {
        using var doc = JsonDocument.Parse(QueryMigrate);
        var q = QemuFigures.FromQueryMigrate(doc.RootElement);
        Assert.Equal(("completed", 567.0, 66.0, 2.0, 93494867L, 134750208L), (q.Status, q.TotalTimeMs, q.DowntimeMs, q.SetupTimeMs, q.RamTransferredBytes, q.RamTotalBytes));
        Assert.True(double.IsNaN(q.StopToResumeMs));
    }

    [Fact]
    public void A_migration_still_active_or_failed_has_no_figures_where_qemu_gave_none()
    {
        using var doc = JsonDocument.Parse("""{"status": "failed", "error-desc": "Unable to write to socket"}""");
        var q = QemuFigures.FromQueryMigrate(doc.RootElement);
        Assert.Equal("failed", q.Status);
        Assert.True(double.IsNaN(q.TotalTimeMs) && double.IsNaN(q.DowntimeMs) && double.IsNaN(q.SetupTimeMs));
        Assert.Equal(0, q.RamTransferredBytes);
        using var none = JsonDocument.Parse("null");
        Assert.Equal("", QemuFigures.FromQueryMigrate(none.RootElement).Status);
    }

    [Fact]
    public void The_drivers_report_gives_the_steps_and_the_figures()
    {
        string report = $$"""
            {"guest": "g1", "from": "mag1", "to": "mag2", "uri": "tcp:[2001:db8:100:2::2]:7100", "hotplug": "incoming",
             "startedMs": 1763840557000.4, "destinationReadyMs": 1763840557180.2, "migrateMs": 1763840557201.9,
             "qemu": {"status": "completed", "totalTimeMs": 999, "downtimeMs": 999},
             "queryMigrate": {{QueryMigrate}},
             "completedSeenMs": 1763840557790.0, "destinationRunningMs": 1763840557850.5, "sourceQuitMs": 1763840557900.1,
             "events": {"sourceStopMs": 1763840557700.3, "sourceCompletedMs": 1763840557768.0, "destinationResumeMs": 1763840557821.5,
                        "destinationCompletedMs": null, "stopToResumeMs": 121.2},
             "finishedMs": 1763840558011.0, "wallMs": 1010.6, "ok": true}
            """;
        var steps = QemuMigrateReport.Parse(report);
        Assert.Equal(1763840557000, steps.At["start"]);
        Assert.Equal(1763840557202, steps.At["migrate"]);
        Assert.Equal(1763840558011, steps.At["finished"]);
        Assert.Equal(1011, steps.Between("start", "finished"));
        Assert.Equal(1763840557822, steps.ResumedAt);
        Assert.Equal(1763840557822 - 1763840557700, steps.VmStoppedMs);
        // QEMU's raw answer wins over the driver's summary.
        Assert.Equal((567.0, 66.0, 121.2), (steps.Qemu!.TotalTimeMs, steps.Qemu.DowntimeMs, steps.Qemu.StopToResumeMs));
        Assert.Null(steps.PrecopyJson);
    }

    [Fact]
    public void The_namespace_steps_keep_their_meaning()
    {
        var steps = MigrationSteps.Parse("1000 start\n1100 link-down\n1400 port-add vm1 mag2\n1500 announced\n1600 finished\n");
        Assert.Equal(300, steps.VmStoppedMs);
        Assert.Equal(1400, steps.ResumedAt);
        Assert.Null(steps.Qemu);
    }

    [Fact]
    public void Qemu_columns_survive_the_csv_round_trip_and_old_files_still_read()
    {
        var run = new RunResult
        {
            RttMs = 30, Run = 1, From = "mag1", To = "mag2", DowntimeMs = 180.5, TotalMigrationMs = 1200, Recovered = true, TcpSurvived = true,
            TcpOutcome = "survived", VmStoppedMs = 121.2, ProbeRttMaxMs = 140.25, QemuStatus = "completed", QemuTotalMs = 567, QemuDowntimeMs = 66,
            QemuSetupMs = 2, QemuRamTransferredBytes = 93494867, QemuRamTotalBytes = 134750208, AckSilenceMs = 190.75,
        };
        var path = Path.GetTempFileName();
        try
        {
            Report.WriteCsv(path, [run]);
            var header = File.ReadLines(path).First().Split(',');
            Assert.Contains("qemu_downtime_ms", header);
            Assert.Contains("qemu_ram_transferred_bytes", header);
            Assert.Contains("ack_silence_ms", header);
            Assert.Equal(run, Report.ReadCsv(path).Single() with { TotalMigrationSeedMs = double.NaN });
            Assert.Equal(180.5 - 66, run.BeyondQemuDowntimeMs);

            // A runs.csv written before the QEMU columns existed re-renders: they read as absent.
            File.WriteAllText(path, "rtt_ms,run,from,to,downtime_ms,error\n0.02,1,mag1,mag2,300,\n");
            var old = Report.ReadCsv(path).Single();
            Assert.Equal(300, old.DowntimeMs);
            Assert.True(double.IsNaN(old.QemuDowntimeMs));
            Assert.Equal(0, old.QemuRamTransferredBytes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_report_puts_qemus_downtime_beside_the_end_to_end_one_and_the_seeds()
    {
        var runs = Enumerable.Range(1, 3).Select(i => new RunResult
        {
            RttMs = 30, Run = i, DowntimeMs = 150 + i, TotalMigrationMs = 1500, Recovered = true, TcpSurvived = true, VmStoppedMs = 100,
            QemuDowntimeMs = 60, QemuTotalMs = 600, QemuSetupMs = 2, QemuRamTransferredBytes = 90_000_000, AckSilenceMs = 170,
            FloorMs = 20, GuestFirstUplinkMs = 30,
        }).ToList();
        string md = Report.Tables(runs, new Dictionary<double, double>());
        Assert.Contains("### Real guest: end-to-end beside QEMU's own figures", md, StringComparison.Ordinal);
        // downtime 152, no ack for 170, floor 20 so the goal is 45 (no run within it), the seed's Table I at 30 ms, QEMU 60,
        // stop→resume 100, the guest's restart 30, the rest 170 − 100 − 30 = 40, beyond QEMU 92.
        var row = md.Split('\n').First(l => l.StartsWith("| 30 ms | 3 |", StringComparison.Ordinal));
        Assert.StartsWith($"| 30 ms | 3 | 152.00 | 170.00 | 20.00 | 45.00 | 0/3 | {SeedData.For(SeedData.PmipDowntimeMs, 30)!.Mean:F2} | 60.00 | 100.00 | 30.00 | 40.00 | 92.00 |", row, StringComparison.Ordinal);
        Assert.Contains("### QEMU downtime (query-migrate) (ms)", md, StringComparison.Ordinal);
        // The namespace testbed's pre-copy stream did not run: no table for it.
        Assert.DoesNotContain("### Pre-copy", md, StringComparison.Ordinal);

        string ns = Report.Tables([new RunResult { RttMs = 30, Run = 1, DowntimeMs = 300, PrecopyMs = 2000 }], new Dictionary<double, double>());
        Assert.DoesNotContain("### QEMU", ns, StringComparison.Ordinal);
        Assert.DoesNotContain("Real guest:", ns, StringComparison.Ordinal);
    }
}
