using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Configuration;

/// <summary>How log lines look: with our own timestamps, or for the systemd journal (priority prefix, no timestamp).</summary>
public enum LogFormat
{
    /// <summary>Journal when standard error is the journal (JOURNAL_STREAM names it) and no file is set; text otherwise.</summary>
    Auto,
    Text,
    Journal,
}

/// <summary>Log level, destination (standard error by default; a file when given) and line format.</summary>
public sealed record LoggingConfig(LogLevel Level = LogLevel.Information, string? File = null, LogFormat Format = LogFormat.Auto)
{
    public static LoggingConfig Parse(ConfigObject? o)
    {
        if (o is null) return new();
        var level = o.OptionalString("level") switch
        {
            null or "information" or "info" => LogLevel.Information,
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "warning" or "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            var l => throw o.Error("level", $"\"{l}\" is not a level (trace, debug, information, warning, error)"),
        };
        var file = o.OptionalString("file");
        var format = o.OptionalString("format") switch
        {
            null or "auto" => LogFormat.Auto,
            "text" => LogFormat.Text,
            "journal" => LogFormat.Journal,
            var f => throw o.Error("format", $"\"{f}\" is not a format (auto, text, journal)"),
        };
        if (format == LogFormat.Journal && file is not null)
            throw o.Error("format", "\"journal\" writes to standard error for systemd; it cannot be combined with \"file\"");
        o.Done();
        return new LoggingConfig(level, file, format);
    }
}
