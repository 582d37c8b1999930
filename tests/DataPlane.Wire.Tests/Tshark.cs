using System.Diagnostics;

namespace DataPlane.Wire.Tests;

/// <summary>
/// Runs tshark (Debian's, installed by scripts/install-deps, which `make test` calls) on a capture and
/// returns what it decoded. A missing tshark is a failure with instructions, never a skip.
/// </summary>
internal static class Tshark
{
    /// <summary>Check every checksum tshark knows how to check (it does not check the MH checksum).</summary>
    private static readonly string[] ChecksumPreferences =
    [
        "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
    ];

    public static string Run(params string[] args)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in ChecksumPreferences.Concat(args)) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("tshark is not installed: run scripts/install-deps (make test does)", e);
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(60_000))
            {
                p.Kill(true);
                throw new TimeoutException("tshark did not finish within 60 s");
            }
            if (p.ExitCode != 0) throw new InvalidOperationException($"tshark exited {p.ExitCode}: {stderr.Result}");
            return stdout.Result;
        }
    }

    /// <summary>The given fields of every frame, keyed by frame number then field name ("" when absent).</summary>
    public static Dictionary<int, Dictionary<string, string>> Fields(string pcap, params string[] fields) => Fields(pcap, [], fields);

    /// <summary>As <see cref="Fields(string, string[])"/>, with preferences (<c>-o</c>) before the field list.</summary>
    public static Dictionary<int, Dictionary<string, string>> Fields(string pcap, string[] options, params string[] fields)
    {
        var args = new List<string>(options) { "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-e", "frame.number" };
        foreach (var f in fields) args.AddRange(["-e", f]);
        var result = new Dictionary<int, Dictionary<string, string>>();
        foreach (var line in Run([.. args]).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var cols = line.TrimEnd('\r').Split('\t');
            var row = new Dictionary<string, string>();
            for (int i = 0; i < fields.Length; i++) row[fields[i]] = i + 1 < cols.Length ? cols[i + 1] : "";
            result[int.Parse(cols[0])] = row;
        }
        return result;
    }

    /// <summary>
    /// Every complaint tshark has about a capture: malformed packets and expert items of severity
    /// warning or error (bad checksums, bad lengths, dissector exceptions). Empty means clean.
    /// </summary>
    public static List<string> Complaints(string pcap)
    {
        var complaints = new List<string>();
        var malformed = Run("-r", pcap, "-Y", "_ws.malformed");
        complaints.AddRange(malformed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "malformed: " + l.Trim()));
        var expert = Run("-r", pcap, "-q", "-z", "expert,warn");
        bool inSection = false;
        foreach (var line in expert.Split('\n'))
        {
            if (line.StartsWith("Errors (") || line.StartsWith("Warns (")) inSection = true;
            else if (line.Length > 0 && char.IsLetter(line[0]) && line.Contains(" (")) inSection = false;
            else if (inSection && line.StartsWith(' ') && !line.TrimStart().StartsWith("Frequency")) complaints.Add("expert: " + line.Trim());
        }
        return complaints;
    }
}
