using System.Text.Json;

namespace DataPlane.Experiment;

/// <summary>
/// QEMU's own account of one live migration, from its QMP <c>query-migrate</c> answer once the status is
/// completed, plus the STOP → RESUME interval from QEMU's event timestamps (source STOP, destination RESUME).
/// QEMU's <c>downtime</c> is computed on the source and ends when the last bytes are sent, so it leaves out
/// the destination's loading and resume; stop → resume is the time the guest really was paused.
/// </summary>
public sealed record QemuFigures
{
    public string Status { get; init; } = "";
    public double TotalTimeMs { get; init; } = double.NaN;
    public double DowntimeMs { get; init; } = double.NaN;
    public double SetupTimeMs { get; init; } = double.NaN;
    public long RamTransferredBytes { get; init; }
    public long RamTotalBytes { get; init; }
    public double StopToResumeMs { get; init; } = double.NaN;

    /// <summary>The figures in a <c>query-migrate</c> return value (QEMU's JSON as is: "total-time", "downtime",
    /// "setup-time" in ms, "ram": {"transferred", "total"} in bytes). Missing members stay NaN/0.</summary>
    public static QemuFigures FromQueryMigrate(JsonElement info)
    {
        if (info.ValueKind != JsonValueKind.Object) return new QemuFigures();
        var ram = info.TryGetProperty("ram", out var r) && r.ValueKind == JsonValueKind.Object ? r : default;
        return new QemuFigures
        {
            Status = info.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() ?? "" : "",
            TotalTimeMs = Number(info, "total-time"),
            DowntimeMs = Number(info, "downtime"),
            SetupTimeMs = Number(info, "setup-time"),
            RamTransferredBytes = Long(ram, "transferred"),
            RamTotalBytes = Long(ram, "total"),
        };
    }

    internal static double Number(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    private static long Long(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l) ? l : 0;
}

/// <summary>Reads what <c>scripts/guest/qemu-vm migrate</c> prints (one JSON object, docs/real-guest.md).</summary>
public static class QemuMigrateReport
{
    /// <summary>
    /// The migration's steps on the experiment's clock (epoch ms) and QEMU's figures. Steps: start (the driver
    /// began: destination QEMU starting), migrate (QMP migrate sent), vm-stop (source STOP event), vm-resume
    /// (destination RESUME event), completed (query-migrate said so), finished (source quit, driver done).
    /// </summary>
    public static MigrationSteps Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var at = new Dictionary<string, long>();
        void Step(string name, JsonElement e, string member)
        {
            double v = QemuFigures.Number(e, member);
            if (!double.IsNaN(v)) at[name] = (long)Math.Round(v);
        }
        var events = root.TryGetProperty("events", out var ev) ? ev : default;
        Step("start", root, "startedMs");
        Step("migrate", root, "migrateMs");
        Step("vm-stop", events, "sourceStopMs");
        Step("vm-resume", events, "destinationResumeMs");
        Step("vm-stop-notified", events, "sourceStopNotifiedMs");
        Step("completed", root, "completedSeenMs");
        Step("finished", root, "finishedMs");
        // QEMU's raw answer is the source of truth; the driver's own "qemu" summary is its copy.
        var figures = QemuFigures.FromQueryMigrate(root.TryGetProperty("queryMigrate", out var q) ? q : default);
        return new MigrationSteps(at, null) { Qemu = figures with { StopToResumeMs = QemuFigures.Number(events, "stopToResumeMs") } };
    }
}
