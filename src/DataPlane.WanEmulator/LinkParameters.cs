using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace DataPlane.WanEmulator;

/// <summary>A command-line or control-socket mistake (exit code 64 on the command line).</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// What one direction of an emulated link does to a frame: hold it for <see cref="DelayNs"/> (± a
/// uniformly distributed <see cref="JitterNs"/>, as netem's default distribution), drop it with
/// probability <see cref="LossProbability"/>, serialise it at <see cref="RateBitsPerSecond"/>, and
/// refuse it when <see cref="LimitPackets"/> frames are held already. Frames leave in arrival order
/// unless <see cref="AllowReorder"/> (then jitter may reorder them, as netem does). Immutable: a change
/// replaces the whole record and applies to frames arriving after it.
/// </summary>
public sealed partial record LinkParameters
{
    /// <summary>One-way delay in nanoseconds.</summary>
    public long DelayNs { get; init; }

    /// <summary>Jitter in nanoseconds: each frame's delay is uniform in [delay − jitter, delay + jitter] (never below 0).</summary>
    public long JitterNs { get; init; }

    /// <summary>Independent (Bernoulli) loss probability per frame, 0..1.</summary>
    public double LossProbability { get; init; }

    /// <summary>Serialisation rate in bit/s; 0 = unlimited.</summary>
    public long RateBitsPerSecond { get; init; }

    /// <summary>Most frames held at once (serialisation backlog and frames in flight, as netem's limit); 0 = only the buffer bounds it.</summary>
    public int LimitPackets { get; init; }

    /// <summary>Let jitter reorder frames (netem's behaviour); by default a frame never leaves before one that arrived earlier.</summary>
    public bool AllowReorder { get; init; }

    public static readonly LinkParameters Default = new();

    public void Validate()
    {
        if (DelayNs < 0 || DelayNs > 60_000_000_000L) throw new UsageException("delay must be within 0..60s");
        if (JitterNs < 0 || JitterNs > 60_000_000_000L) throw new UsageException("jitter must be within 0..60s");
        if (LossProbability is < 0 or > 1 || double.IsNaN(LossProbability)) throw new UsageException("loss must be within 0..100%");
        if (RateBitsPerSecond < 0) throw new UsageException("rate must not be negative");
        if (LimitPackets < 0) throw new UsageException("limit must not be negative");
    }

    /// <summary>Applies "key=value" settings (delay, jitter, loss, rate, limit, reorder) to a copy.</summary>
    public LinkParameters With(string key, string value) => key switch
    {
        "delay" => this with { DelayNs = ParseDurationNs(value, key) },
        "jitter" => this with { JitterNs = ParseDurationNs(value, key) },
        "loss" => this with { LossProbability = ParseLoss(value) },
        "rate" => this with { RateBitsPerSecond = ParseRate(value) },
        "limit" => this with { LimitPackets = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int l) && l >= 0 ? l : throw new UsageException($"limit: '{value}' is not a packet count") },
        "reorder" => this with { AllowReorder = value is "1" or "yes" or "true" or "on" ? true : value is "0" or "no" or "false" or "off" ? false : throw new UsageException($"reorder: '{value}' is not yes/no") },
        _ => throw new UsageException($"unknown link setting '{key}' (delay, jitter, loss, rate, limit, reorder)"),
    };

    /// <summary>"delay=15ms jitter=0ms loss=0% rate=unlimited limit=0 reorder=no".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("delay=").Append(FormatDuration(DelayNs));
        sb.Append(" jitter=").Append(FormatDuration(JitterNs));
        sb.Append(" loss=").Append((LossProbability * 100).ToString("0.######", CultureInfo.InvariantCulture)).Append('%');
        sb.Append(" rate=").Append(FormatRate(RateBitsPerSecond));
        sb.Append(" limit=").Append(LimitPackets.ToString(CultureInfo.InvariantCulture));
        sb.Append(" reorder=").Append(AllowReorder ? "yes" : "no");
        return sb.ToString();
    }

    public static string FormatDuration(long ns) => ns % 1_000_000 == 0
        ? (ns / 1_000_000).ToString(CultureInfo.InvariantCulture) + "ms"
        : (ns / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + "us";

    public static string FormatRate(long bps) => bps == 0 ? "unlimited"
        : bps % 1_000_000_000 == 0 ? (bps / 1_000_000_000).ToString(CultureInfo.InvariantCulture) + "gbit"
        : bps % 1_000_000 == 0 ? (bps / 1_000_000).ToString(CultureInfo.InvariantCulture) + "mbit"
        : bps % 1000 == 0 ? (bps / 1000).ToString(CultureInfo.InvariantCulture) + "kbit"
        : bps.ToString(CultureInfo.InvariantCulture) + "bit";

    /// <summary>"10ms", "7.5ms", "250us", "1.5s", "0" (a bare 0 is allowed; anything else needs a unit).</summary>
    public static long ParseDurationNs(string text, string name = "duration")
    {
        text = text.Trim();
        if (text == "0") return 0;
        var m = DurationPattern().Match(text);
        if (!m.Success) throw new UsageException($"{name}: '{text}' is not a duration (like 0, 10ms, 7.5ms, 250us, 1.5s)");
        double v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        double ns = m.Groups[2].Value switch
        {
            "ns" => v,
            "us" or "µs" => v * 1e3,
            "ms" => v * 1e6,
            "s" => v * 1e9,
            _ => v * 60e9,
        };
        return (long)Math.Round(ns);
    }

    /// <summary>"1%", "0.5%", "1" (percent, as netem), "0".</summary>
    public static double ParseLoss(string text)
    {
        string t = text.Trim().TrimEnd('%');
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) || p < 0 || p > 100)
            throw new UsageException($"loss: '{text}' is not a percentage within 0..100 (like 1%, 0.1%)");
        return p / 100.0;
    }

    /// <summary>"1gbit", "100mbit", "512kbit", "1000000bit", "0"/"unlimited" (bit/s, as tc).</summary>
    public static long ParseRate(string text)
    {
        text = text.Trim().ToLowerInvariant();
        if (text is "0" or "unlimited" or "none") return 0;
        var m = RatePattern().Match(text);
        if (!m.Success) throw new UsageException($"rate: '{text}' is not a rate (like 1gbit, 100mbit, 512kbit, 0 = unlimited)");
        double v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        double bps = m.Groups[2].Value switch
        {
            "gbit" => v * 1e9,
            "mbit" => v * 1e6,
            "kbit" => v * 1e3,
            _ => v,
        };
        if (bps < 1) throw new UsageException($"rate: '{text}' is below 1 bit/s");
        return (long)Math.Round(bps);
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m)$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(gbit|mbit|kbit|bit)$")]
    private static partial Regex RatePattern();
}
