using DataPlane.Datapath;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;

namespace DataPlane.Host.Configuration;

/// <summary>
/// The `migration` section of a MAG's configuration (docs/configuration.md): pre-registration of a live migration's
/// destination and the handover buffer. Every key is optional.
/// </summary>
public sealed record MagMigrationConfig
{
    public int BufferBytes { get; init; } = new MagDatapathOptions().HandoverBufferBytes;
    public int BufferPackets { get; init; } = new MagDatapathOptions().HandoverBufferPackets;
    public int Buffers { get; init; } = new MagDatapathOptions().HandoverBuffers;
    public TimeSpan StopGrace { get; init; } = new MagDatapathOptions().StopGrace;

    /// <summary>Reads the section into the machine's options and the buffer settings.</summary>
    public static (MagOptions Options, MagMigrationConfig Config) Parse(ConfigObject? m, MagOptions options)
    {
        if (m is null) return (options, new MagMigrationConfig());
        TimeSpan? markerWait = options.EndMarkerWait;
        if (m.OptionalString("endMarkerWait") is { } w)
        {
            if (w == "auto") markerWait = null;
            else if (Durations.TryParse(w, out var d)) markerWait = d;
            else throw m.Error("endMarkerWait", $"\"{w}\" is neither \"auto\" nor a duration (50ms, 1s)");
        }
        options = options with
        {
            PreRegistration = m.OptionalBool("preRegistration", options.PreRegistration),
            TransientLifetime = m.OptionalDuration("transientLifetime", options.TransientLifetime),
            PreRegistrationTimeout = m.OptionalDuration("preRegistrationTimeout", options.PreRegistrationTimeout),
            EndMarkerWait = markerWait,
        };
        var config = new MagMigrationConfig
        {
            BufferBytes = (int)m.OptionalInteger("bufferBytes", new MagDatapathOptions().HandoverBufferBytes, 64 << 10, 1 << 30),
            BufferPackets = (int)m.OptionalInteger("bufferPackets", new MagDatapathOptions().HandoverBufferPackets, 16, 1 << 20),
            Buffers = (int)m.OptionalInteger("buffers", new MagDatapathOptions().HandoverBuffers, 0, 4096),
            StopGrace = m.OptionalDuration("stopGrace", new MagDatapathOptions().StopGrace),
        };
        if (config.StopGrace < TimeSpan.Zero || config.StopGrace > TimeSpan.FromSeconds(10))
            throw m.Error("stopGrace", $"{config.StopGrace.TotalMilliseconds} ms is not within 0..10 s");
        m.Done();
        return (options, config);
    }
}

/// <summary>The `migration` section of the LMA's configuration: what it does while a destination is pre-registered.</summary>
public static class LmaMigrationConfig
{
    public static LmaOptions Parse(ConfigObject? m, LmaOptions options)
    {
        if (m is null) return options;
        options = options with
        {
            Bicast = m.OptionalBool("bicast", options.Bicast),
            MaxTransientLifetime = m.OptionalDuration("maxTransientLifetime", options.MaxTransientLifetime),
        };
        m.Done();
        return options;
    }
}
