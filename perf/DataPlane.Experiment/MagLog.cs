using System.Globalization;
using System.Text.RegularExpressions;

namespace DataPlane.Experiment;

/// <summary>
/// One "handover:" line of a MAG's log: what the switch itself measured, from the attachment trigger it
/// acted on to the first Router Advertisement it sent (total), with the PBU→PBA round trip inside it.
/// </summary>
/// <param name="PreRegisteredAheadMs">For a pre-registered VM (issue 16): how long before its arrival the pre-registration was accepted; NaN otherwise.</param>
/// <param name="EndMarker">For a pre-registered VM: what the log says of the source's end marker ("end marker before arrival", …).</param>
public sealed record HandoverRecord(DateTimeOffset At, string Trigger, int HandoffIndicator, double TotalMs, double PolicyMs,
    double RegistrationMs, int Transmissions, double PbaToRaMs, double PreRegisteredAheadMs = double.NaN, string EndMarker = "");

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

    /// <summary>The "first packet … into the network N ms after its arrival" lines (a pre-registered VM's restart, issue 16).</summary>
    public static List<(DateTimeOffset At, double Ms)> ReadFirstUplinks(string path)
    {
        var list = new List<(DateTimeOffset, double)>();
        if (!File.Exists(path)) return list;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (!line.Contains("into the network", StringComparison.Ordinal)) continue;
            var m = FirstUplink().Match(line);
            if (m.Success && DateTimeOffset.TryParse(m.Groups["at"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                list.Add((at, double.Parse(m.Groups["ms"].Value, CultureInfo.InvariantCulture)));
        }
        return list;
    }

    // 2026-12-06T05:14:22.100Z info  mag: handover: first packet from 52:54:00:00:00:01 on qv-g1 into the network 61.2 ms after its arrival
    [GeneratedRegex(@"^(?<at>\S+)\s.*handover: first packet from .* into the network (?<ms>[\d.]+) ms after its arrival")]
    private static partial Regex FirstUplink();

    public static bool TryParse(string line, out HandoverRecord record)
    {
        record = null!;
        if (!line.Contains("handover:", StringComparison.Ordinal)) return false;
        var m = Line().Match(line);
        if (!m.Success) return false;
        if (!DateTimeOffset.TryParse(m.Groups["at"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) return false;
        static double D(Group g) => g.Success ? double.Parse(g.Value, CultureInfo.InvariantCulture) : double.NaN;
        bool pre = m.Groups["ahead"].Success;
        record = new HandoverRecord(at, m.Groups["trigger"].Value, int.Parse(m.Groups["hi"].Value, CultureInfo.InvariantCulture),
            D(m.Groups["total"]), D(m.Groups["policy"]), D(pre ? m.Groups["preg"] : m.Groups["reg"]),
            (pre ? m.Groups["ptx"] : m.Groups["tx"]) is { Success: true } tx ? int.Parse(tx.Value, CultureInfo.InvariantCulture) : 0, D(m.Groups["ra"]),
            D(m.Groups["ahead"]), m.Groups["marker"].Value);
        return true;
    }

    // 2026-11-22T19:47:27.251Z info  mag: handover: vm1@… (52:54:…) on vm1 via HotplugIncomingMigration, HI 3, HNP 2001:…/64:
    //   total 80.5 ms (policy 0.0, PBU->PBA 80.5 in 1 tx, PBA->RA 0.0)
    // A pre-registered VM (the registration happened before it arrived; total is its arrival → its buffer released):
    //   total 0.0 ms (pre-registered 376.4 ms before, PBU->PBA 30.8 in 1 tx; end marker before arrival)
    [GeneratedRegex(@"^(?<at>\S+)\s.*handover: .* via (?<trigger>\w+), HI (?<hi>\d+),.*total (?<total>[\d.]+) ms(?: \((?:(?:policy (?<policy>[\d.]+), )?PBU->PBA (?<reg>[\d.]+) in (?<tx>\d+) tx, PBA->RA (?<ra>[\d.]+)|pre-registered (?<ahead>[\d.]+) ms before, PBU->PBA (?<preg>[\d.]+) in (?<ptx>\d+) tx; (?<marker>[^)]*))\))?")]
    private static partial Regex Line();
}
