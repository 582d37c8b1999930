using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace DataPlane.Probe;

/// <summary>A command-line mistake: reported with the command's usage, exit code 64.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c>, <c>--name=value</c> and <c>--flag</c> options for one subcommand; anything not
/// declared is an error, so a typo never silently falls back to a default.
/// </summary>
public sealed partial class Arguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public Arguments(IReadOnlyList<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flagOptions)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unexpected argument '{a}'");
            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            if (flagOptions.Contains(name))
            {
                if (inline is not null) throw new UsageException($"--{name} takes no value");
                _flags.Add(name);
            }
            else if (valueOptions.Contains(name))
            {
                string value = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"--{name} needs a value"));
                if (!_values.TryGetValue(name, out var list)) _values[name] = list = [];
                list.Add(value);
            }
            else
            {
                throw new UsageException($"unknown option --{name}");
            }
        }
    }

    public bool Has(string name) => _flags.Contains(name) || _values.ContainsKey(name);

    public string? Get(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;

    public IReadOnlyList<string> GetAll(string name) => _values.TryGetValue(name, out var l) ? l : [];

    public string Required(string name) => Get(name) ?? throw new UsageException($"--{name} is required");

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? s = Get(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new UsageException($"--{name}: '{s}' is not an integer in [{min}, {max}]");
        return v;
    }

    public int Port(string name = "port", bool allowZero = false)
    {
        string s = Required(name);
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < (allowZero ? 0 : 1) || v > 65535)
            throw new UsageException($"--{name}: '{s}' is not a port number");
        return v;
    }

    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        string? s = Get(name);
        return s is null ? fallback : ParseDuration(s, name);
    }

    public IPAddress? Address(string name)
    {
        string? s = Get(name);
        if (s is null) return null;
        return IPAddress.TryParse(s, out var a) ? a : throw new UsageException($"--{name}: '{s}' is not an IP address");
    }

    /// <summary>"10ms", "1.5s", "250us", "2m", "500ns", "1h"; a unit is required.</summary>
    public static TimeSpan ParseDuration(string text, string name = "duration")
    {
        var m = DurationPattern().Match(text.Trim());
        if (!m.Success) throw new UsageException($"--{name}: '{text}' is not a duration (like 10ms, 1.5s, 250us, 2m)");
        double v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        double ns = m.Groups[2].Value switch
        {
            "ns" => v,
            "us" or "µs" => v * 1e3,
            "ms" => v * 1e6,
            "s" => v * 1e9,
            "m" => v * 60e9,
            _ => v * 3600e9,
        };
        if (ns <= 0) throw new UsageException($"--{name}: '{text}' must be positive");
        return TimeSpan.FromTicks((long)Math.Round(ns / 100));
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$")]
    private static partial Regex DurationPattern();
}
