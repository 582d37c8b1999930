using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Host.Configuration;

/// <summary>
/// The Prometheus endpoint (`metrics` section; docs/metrics.md). On by default, bound to loopback: the
/// switch's counters say which VMs a host serves, which is nobody's business off the host unless the
/// operator opens it (`"listen": "[2001:db8::2]:9465"`, or a reverse proxy).
/// </summary>
public sealed record MetricsConfig
{
    public const int DefaultMagPort = 9465;
    public const int DefaultLmaPort = 9466;

    public bool Enabled { get; init; } = true;

    /// <summary>Where the HTTP endpoint listens (GET /metrics).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>
    /// How long a VM's (MAG) or binding's (LMA) series stay after it is gone for good (no session, no
    /// Binding Update List entry; at the LMA: no binding cache entry), so the last values are scraped.
    /// </summary>
    public TimeSpan VmRetention { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a scrape waits for the packet loop's snapshot before answering with the previous one.</summary>
    public TimeSpan SnapshotTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public static MetricsConfig Default(int port) => new() { Listen = new IPEndPoint(IPAddress.Loopback, port) };

    public static MetricsConfig Parse(ConfigObject? o, int defaultPort)
    {
        if (o is null) return Default(defaultPort);
        bool enabled = o.OptionalBool("enabled", true);
        var listenText = o.OptionalString("listen");
        IPEndPoint listen = new(IPAddress.Loopback, defaultPort);
        if (listenText is not null && !TryParseEndPoint(listenText, defaultPort, out listen!))
            throw o.Error("listen", $"\"{listenText}\" is not ADDRESS:PORT (127.0.0.1:{defaultPort}, [::1]:{defaultPort}, [2001:db8::2]:{defaultPort}, 0.0.0.0:{defaultPort})");
        var retention = o.OptionalDuration("vmRetention", TimeSpan.FromMinutes(10));
        if (retention < TimeSpan.FromSeconds(1) || retention > TimeSpan.FromDays(7))
            throw o.Error("vmRetention", $"{Durations.Format(retention)} is out of range (1s..7d)");
        var timeout = o.OptionalDuration("snapshotTimeout", TimeSpan.FromSeconds(2));
        if (timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromSeconds(60))
            throw o.Error("snapshotTimeout", $"{Durations.Format(timeout)} is out of range (10ms..60s)");
        o.Done();
        return new MetricsConfig { Enabled = enabled, Listen = listen, VmRetention = retention, SnapshotTimeout = timeout };
    }

    /// <summary>"127.0.0.1:9465", "[::1]:9465", "[2001:db8::2]:9465", "0.0.0.0:9465", "[::]:9465"; a bare address takes the default port.</summary>
    public static bool TryParseEndPoint(string text, int defaultPort, out IPEndPoint? endPoint)
    {
        endPoint = null;
        text = text.Trim();
        string host;
        int port = defaultPort;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0) return false;
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryPort(rest[1..], out port))) return false;
        }
        else if (text.Count(c => c == ':') == 1)
        {
            int colon = text.IndexOf(':');
            host = text[..colon];
            if (!TryPort(text[(colon + 1)..], out port)) return false;
        }
        else
        {
            host = text; // a bare address (an IPv6 one without brackets has no port)
        }
        if (!IPAddress.TryParse(host, out var address)) return false;
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && text.Contains('%')) return false;
        endPoint = new IPEndPoint(address, port);
        return true;
    }

    private static bool TryPort(string s, out int port) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;

    public string Describe() => Enabled ? $"metrics http://{Format(Listen)}/metrics" : "metrics off";

    public static string Format(IPEndPoint e) => e.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{e.Address}]:{e.Port}" : $"{e.Address}:{e.Port}";
}
