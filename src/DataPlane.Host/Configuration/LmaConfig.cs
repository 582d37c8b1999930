using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Protocol.Heartbeat;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Host.Configuration;

/// <summary>The `dataplane lma` configuration file (docs/configuration.md lists every key).</summary>
public sealed record LmaConfig
{
    public const string DefaultControlSocket = "/run/dataplane/lma.sock";
    public const string DefaultSecurityStateFile = "/var/lib/dataplane/lma.esp-state";
    public const string DefaultRestartCounterFile = "/var/lib/dataplane/lma.restart";
    public const string DefaultHomeInterface = "dphome";

    public required string File { get; init; }
    public required LmaOptions Protocol { get; init; }
    /// <summary>The TUN device the daemon creates for the home network side; routes for bound prefixes point at it.</summary>
    public string HomeInterface { get; init; } = DefaultHomeInterface;
    public string ControlSocket { get; init; } = DefaultControlSocket;
    public string RestartCounterFile { get; init; } = DefaultRestartCounterFile;
    /// <summary>MTU of the paths to the MAGs; the tunnel MTU is 40 less.</summary>
    public int UplinkMtu { get; init; } = 1500;
    public int TunnelMtu => UplinkMtu - Ipv6Packet.HeaderLength;
    public required PolicyConfig Policy { get; init; }
    public LoggingConfig Logging { get; init; } = new();
    public MetricsConfig Metrics { get; init; } = MetricsConfig.Default(MetricsConfig.DefaultLmaPort);
    public DataplaneConfig Dataplane { get; init; } = new();
    /// <summary>ESP keys for the Mobility Header (RFC 5213 §4); disabled when the section is absent.</summary>
    public SecurityConfig Security { get; init; } = SecurityConfig.Disabled;
    /// <summary>The data path's settings (the tunnel MTU comes from uplinkMtu; how often VM-to-VM traffic is reported for RFC 6705).</summary>
    public Datapath.LmaDatapathOptions Datapath { get; init; } = new();
    /// <summary>Replication and active/standby on etcd; null: the binding cache lives in memory only.</summary>
    public EtcdConfig? Etcd { get; init; }

    public static LmaConfig Load(string path) => Parse(ConfigObject.Load(path));

    public static LmaConfig Parse(ConfigObject root)
    {
        var address = root.RequiredIpv6("address");
        if (!address.IsUnicast || address.IsLinkLocal) throw root.Error("address", $"{address} must be a global unicast address");
        var home = root.OptionalString("homeInterface") ?? DefaultHomeInterface;
        if (!InterfaceNames.IsValid(home)) throw root.Error("homeInterface", $"\"{home}\" is not a valid interface name");
        var pool = root.OptionalPrefix("prefixPool");
        int assigned = (int)root.OptionalInteger("assignedPrefixLength", 64, 1, 128);
        if (pool is { } p && assigned < p.Length) throw root.Error("assignedPrefixLength", $"/{assigned} is shorter than the pool {p}");
        // RFC 5844: the IPv4 home network (a shared subnet, §1.1) and its default router (its first host unless given).
        var ipv4Pool = root.OptionalIpv4Prefix("ipv4Pool");
        var ipv4Router = root.OptionalIpv4("ipv4DefaultRouter");
        Ipv4HomeNetwork? ipv4 = null;
        if (ipv4Pool is { } subnet)
        {
            if (subnet.Length is < Ipv4HomeNetwork.MinPrefixLength or > Ipv4HomeNetwork.MaxPrefixLength)
                throw root.Error("ipv4Pool", $"{subnet} must be a /{Ipv4HomeNetwork.MinPrefixLength} to /{Ipv4HomeNetwork.MaxPrefixLength}");
            if (!subnet.Address.IsUnicast) throw root.Error("ipv4Pool", $"{subnet} is not a unicast subnet");
            var router = ipv4Router ?? Ipv4HomeNetwork.WithFirstHostAsRouter(subnet).DefaultRouter;
            if (!subnet.IsHostAddress(router)) throw root.Error("ipv4DefaultRouter", $"{router} is not a host address of ipv4Pool {subnet}");
            ipv4 = new Ipv4HomeNetwork(subnet, router);
        }
        else if (ipv4Router is not null)
        {
            throw root.Error("ipv4DefaultRouter", "needs ipv4Pool (the IPv4 home subnet it belongs to)");
        }
        var mags = root.OptionalArray("authorizedMags", s => Ipv6Address.TryParse(s, out var a) ? a : (Ipv6Address?)null, "an IPv6 address");
        var controlSocket = root.OptionalString("controlSocket") ?? DefaultControlSocket;
        var restartFile = root.OptionalString("restartCounterFile") ?? DefaultRestartCounterFile;
        int uplinkMtu = (int)root.OptionalInteger("uplinkMtu", 1500, 1320, 65535);
        var policy = PolicyConfig.Parse(root.OptionalObject("policy") ?? throw root.Error("policy", "is required (at least {\"file\": \"/etc/dataplane/policy.json\"})"));
        var logging = LoggingConfig.Parse(root.OptionalObject("logging"));
        var metrics = MetricsConfig.Parse(root.OptionalObject("metrics"), MetricsConfig.DefaultLmaPort);
        var dataplane = DataplaneConfig.Parse(root.OptionalObject("dataplane"));
        var security = SecurityConfig.Parse(root.OptionalObject("security"), SecurityRole.Responder, DefaultSecurityStateFile);

        var o = new LmaOptions
        {
            LocalMobilityAnchorAddress = address,
            AuthorizedMags = mags.ToHashSet(),
            HomeNetworkPrefixPool = pool,
            AssignedPrefixLength = assigned,
            Ipv4HomeNetwork = ipv4,
            Heartbeat = new HeartbeatOptions { Interval = TimeSpan.FromSeconds(5) },
        };
        if (root.OptionalObject("timers") is { } t)
        {
            o = o with
            {
                MinDelayBeforeBceDelete = t.OptionalDuration("minDelayBeforeBceDelete", o.MinDelayBeforeBceDelete),
                MaxDelayBeforeNewBceAssign = t.OptionalDuration("maxDelayBeforeNewBceAssign", o.MaxDelayBeforeNewBceAssign),
                TimestampValidityWindow = t.OptionalDuration("timestampValidityWindow", o.TimestampValidityWindow),
                MaxBindingLifetime = t.OptionalDuration("maxBindingLifetime", o.MaxBindingLifetime),
                AllowSequenceNumberOrdering = t.OptionalBool("allowSequenceNumberOrdering", o.AllowSequenceNumberOrdering),
                ProfileLookupTimeout = t.OptionalDuration("profileLookupTimeout", o.ProfileLookupTimeout),
                Heartbeat = new HeartbeatOptions
                {
                    Enabled = t.OptionalBool("heartbeat", o.Heartbeat.Enabled),
                    Interval = t.OptionalDuration("heartbeatInterval", o.Heartbeat.Interval),
                    MissingHeartbeatsAllowed = (int)t.OptionalInteger("missingHeartbeatsAllowed", o.Heartbeat.MissingHeartbeatsAllowed, 1, 100),
                },
            };
            t.Done();
        }
        if (root.OptionalObject("limits") is { } limits)
        {
            o = o with
            {
                MaxMessagesPerMagPerSecond = (int)limits.OptionalInteger("messagesPerMagPerSecond", o.MaxMessagesPerMagPerSecond, 1, 1_000_000),
                MaxMessageBurstPerMag = (int)limits.OptionalInteger("messageBurstPerMag", o.MaxMessageBurstPerMag, 1, 10_000_000),
            };
            limits.Done();
        }
        var datapath = new Datapath.LmaDatapathOptions { TunnelMtu = uplinkMtu - Ipv6Packet.HeaderLength };
        if (root.OptionalObject("localizedRouting") is { } lr)
        {
            var d = o.LocalizedRouting;
            o = o with
            {
                LocalizedRouting = d with
                {
                    Enabled = lr.OptionalBool("enabled", d.Enabled),
                    Lifetime = lr.OptionalDuration("lifetime", d.Lifetime),
                    RefreshFraction = lr.OptionalNumber("refreshFraction", d.RefreshFraction, 0.1, 0.95),
                    InitialRetransmissionTimeout = lr.OptionalDuration("initialRetransmissionTimeout", d.InitialRetransmissionTimeout),
                    MaxRetransmissionTimeout = lr.OptionalDuration("maxRetransmissionTimeout", d.MaxRetransmissionTimeout),
                    MaxTransmissions = (int)lr.OptionalInteger("maxTransmissions", d.MaxTransmissions, 1, 100),
                    MaxSessions = (int)lr.OptionalInteger("maxSessions", d.MaxSessions, 0, 10_000_000),
                    RefusalHoldOff = lr.OptionalDuration("refusalHoldOff", d.RefusalHoldOff),
                    RepairInterval = lr.OptionalDuration("repairInterval", d.RepairInterval),
                },
            };
            datapath = datapath with { TrafficObservationInterval = lr.OptionalDuration("trafficObservationInterval", datapath.TrafficObservationInterval) };
            lr.Done();
        }
        var etcd = EtcdConfig.Parse(root.OptionalObject("etcd"), o);
        if (etcd is not null) o = o with { Persistence = etcd.Acknowledge };
        o = LmaMigrationConfig.Parse(root.OptionalObject("migration"), o);
        root.Done();
        try
        {
            datapath.Validate();
            o.Validate();
        }
        catch (ProtocolOptionsException e)
        {
            throw root.Error(e.Message);
        }
        // The failure policy must get to decide before the machine gives up on the answer.
        if (policy.Radius is { } radius && radius.WorstCase >= o.ProfileLookupTimeout)
            throw root.Error("policy.radius", $"every server and try take up to {Durations.Format(radius.WorstCase)}, not less than timers.profileLookupTimeout " +
                $"{Durations.Format(o.ProfileLookupTimeout)}: lower timeout or retries, or raise timers.profileLookupTimeout");
        return new LmaConfig
        {
            File = root.FileName,
            Protocol = o,
            HomeInterface = home,
            ControlSocket = controlSocket,
            RestartCounterFile = restartFile,
            UplinkMtu = uplinkMtu,
            Policy = policy,
            Logging = logging,
            Metrics = metrics,
            Dataplane = dataplane,
            Security = security,
            Datapath = datapath,
            Etcd = etcd,
        };
    }
}
