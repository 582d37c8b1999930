using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Configuration;

/// <summary>Log level and destination (standard error by default; a file when given).</summary>
public sealed record LoggingConfig(LogLevel Level = LogLevel.Information, string? File = null)
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
        o.Done();
        return new LoggingConfig(level, file);
    }
}
