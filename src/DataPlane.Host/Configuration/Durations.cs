using System.Globalization;

namespace DataPlane.Host.Configuration;

/// <summary>Durations as people write them in config files: 250ms, 1.5s, 2m, 1h, 7d (and 0).</summary>
public static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text == "0")
            return true;
        (string suffix, double scaleMs)[] units = [("ms", 1), ("us", 0.001), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
        foreach (var (suffix, scale) in units)
        {
            if (!text.EndsWith(suffix, StringComparison.Ordinal)) continue;
            var number = text[..^suffix.Length];
            // "ms" also ends with "s": make sure the number part is a number.
            if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n) || n < 0) continue;
            double ms = n * scale;
            if (ms > TimeSpan.MaxValue.TotalMilliseconds) return false;
            value = TimeSpan.FromMilliseconds(ms);
            return true;
        }
        return false;
    }

    public static string Format(TimeSpan t) => t.TotalMilliseconds switch
    {
        0 => "0",
        var ms when ms % 86_400_000 == 0 => $"{ms / 86_400_000}d",
        var ms when ms % 3_600_000 == 0 => $"{ms / 3_600_000}h",
        var ms when ms % 60_000 == 0 => $"{ms / 60_000}m",
        var ms when ms % 1000 == 0 => $"{ms / 1000}s",
        var ms => string.Create(CultureInfo.InvariantCulture, $"{ms}ms"),
    };
}
