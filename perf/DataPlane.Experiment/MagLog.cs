using System.Globalization;
using System.Text.RegularExpressions;

namespace DataPlane.Experiment;

/// <summary>
/// One "handover:" line of a MAG's log: what the switch itself measured, from the attachment trigger it
/// acted on to the first Router Advertisement it sent (total), with the PBU→PBA round trip inside it.
/// </summary>
public sealed record HandoverRecord(DateTimeOffset At, string Trigger, int HandoffIndicator, double TotalMs, double PolicyMs,
    double RegistrationMs, int Transmissions, double PbaToRaMs);

public static partial class MagLog
{
    /// <summary>Every handover line of a log file (lines it cannot read are skipped).</summary>
    public static List<HandoverRecord> Read(string path)
    {
        var list = new List<HandoverRecord>();
        if (!File.Exists(path)) return list;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        string? line;
        while ((line = reader.ReadLine()) is not null)
            if (TryParse(line, out var r)) list.Add(r);
        return list;
    }

    public static bool TryParse(string line, out HandoverRecord record)
    {
        record = null!;
        if (!line.Contains("handover:", StringComparison.Ordinal)) return false;
        var m = Line().Match(line);
        if (!m.Success) return false;
        if (!DateTimeOffset.TryParse(m.Groups["at"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) return false;
        static double D(Group g) => g.Success ? double.Parse(g.Value, CultureInfo.InvariantCulture) : double.NaN;
        record = new HandoverRecord(at, m.Groups["trigger"].Value, int.Parse(m.Groups["hi"].Value, CultureInfo.InvariantCulture),
            D(m.Groups["total"]), D(m.Groups["policy"]), D(m.Groups["reg"]),
            m.Groups["tx"].Success ? int.Parse(m.Groups["tx"].Value, CultureInfo.InvariantCulture) : 0, D(m.Groups["ra"]));
        return true;
    }

    // 2026-11-22T19:47:27.251Z info  mag: handover: vm1@… (52:54:…) on vm1 via HotplugIncomingMigration, HI 3, HNP 2001:…/64:
    //   total 80.5 ms (policy 0.0, PBU->PBA 80.5 in 1 tx, PBA->RA 0.0)
    [GeneratedRegex(@"^(?<at>\S+)\s.*handover: .* via (?<trigger>\w+), HI (?<hi>\d+),.*total (?<total>[\d.]+) ms(?: \((?:policy (?<policy>[\d.]+), )?PBU->PBA (?<reg>[\d.]+) in (?<tx>\d+) tx, PBA->RA (?<ra>[\d.]+)\))?")]
    private static partial Regex Line();
}
