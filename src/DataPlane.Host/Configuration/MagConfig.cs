using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Protocol.Heartbeat;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Configuration;

/// <summary>An access port configured at start (more come and go through <c>dataplane ctl port add|del</c>).</summary>
/// <param name="Kind">"packet": attach an existing interface (Xen vif, QEMU tap, veth) with AF_PACKET; "tap": create a TAP device.</param>
public sealed record PortConfig(string Name, MacAddress? Mac, PortKind Kind);

public enum PortKind
{
    /// <summary>An existing netdev attached with AF_PACKET.</summary>
    Packet,
    /// <summary>A TAP device the switch creates.</summary>
    Tap,
}

/// <summary>The `dataplane mag` configuration file (docs/configuration.md lists every key).</summary>
public sealed record MagConfig
{
    public const string DefaultControlSocket = "/run/dataplane/mag.sock";
    public const string DefaultSecurityStateFile = "/var/lib/dataplane/mag.esp-state";
    public const string DefaultRestartCounterFile = "/var/lib/dataplane/mag.restart";

    public required string File { get; init; }
    public required MagOptions Protocol { get; init; }
    /// <summary>The LMA for VMs whose policy profile names none.</summary>
    public Ipv6Address? LocalMobilityAnchor { get; init; }
    public string ControlSocket { get; init; } = DefaultControlSocket;
    public string RestartCounterFile { get; init; } = DefaultRestartCounterFile;
    /// <summary>MTU of the path to the LMA; the tunnel MTU is 40 less (RFC 2473).</summary>
    public int UplinkMtu { get; init; } = 1500;
    public int TunnelMtu => UplinkMtu - Ipv6Packet.HeaderLength;
    /// <summary>The data path's settings: the tunnel MTU and the IPv4 access link's DHCP server (the "dhcp" section).</summary>
    public Datapath.MagDatapathOptions Datapath { get; init; } = new();
    public IReadOnlyList<PortConfig> Ports { get; init; } = [];
    public required PolicyConfig Policy { get; init; }
    public LoggingConfig Logging { get; init; } = new();
    public MetricsConfig Metrics { get; init; } = MetricsConfig.Default(MetricsConfig.DefaultMagPort);
    public DataplaneConfig Dataplane { get; init; } = new();
    /// <summary>ESP keys for the Mobility Header (RFC 5213 §4); disabled when the section is absent.</summary>
    public SecurityConfig Security { get; init; } = SecurityConfig.Disabled;

    /// <summary>Live migration: pre-registration (in <see cref="Protocol"/>) and the handover buffers.</summary>
    public MagMigrationConfig Migration { get; init; } = new();

    public static MagConfig Load(string path) => Parse(ConfigObject.Load(path));

    public static MagConfig Parse(ConfigObject root)
    {
        var coa = root.RequiredIpv6("proxyCareOfAddress");
        if (!coa.IsUnicast || coa.IsLinkLocal) throw root.Error("proxyCareOfAddress", $"{coa} must be a global unicast address");
        var lma = root.OptionalIpv6("localMobilityAnchor");
        var controlSocket = root.OptionalString("controlSocket") ?? DefaultControlSocket;
        var restartFile = root.OptionalString("restartCounterFile") ?? DefaultRestartCounterFile;

        int uplinkMtu = 1500;
        if (root.OptionalObject("uplink") is { } uplink)
        {
            uplinkMtu = (int)uplink.OptionalInteger("mtu", 1500, 1320, 65535);
            uplink.Done();
        }

        var sharedMac = PmipDefaults.SharedMagMacAddress;
        Ipv6Address? sharedLinkLocal = null;
        uint advertisedMtu = (uint)(uplinkMtu - Ipv6Packet.HeaderLength);
        if (root.OptionalObject("accessLink") is { } access)
        {
            sharedMac = access.OptionalMac("sharedMac") ?? sharedMac;
            if (sharedMac.IsMulticast || sharedMac.IsZero) throw access.Error("sharedMac", $"{sharedMac} must be a unicast MAC");
            sharedLinkLocal = access.OptionalIpv6("sharedLinkLocal");
            if (sharedLinkLocal is { IsLinkLocal: false } ll) throw access.Error("sharedLinkLocal", $"{ll} is not a link-local address");
            advertisedMtu = (uint)access.OptionalInteger("mtu", advertisedMtu, 1280, uplinkMtu - Ipv6Packet.HeaderLength);
            access.Done();
        }

        var ports = new List<PortConfig>();
        foreach (var p in root.OptionalObjectArray("ports"))
        {
            var name = p.RequiredString("name");
            if (!InterfaceNames.IsValid(name)) throw p.Error("name", $"\"{name}\" is not a valid interface name (1-15 characters, no '/', ':' or spaces)");
            var kind = p.OptionalString("kind") switch
            {
                null or "packet" => PortKind.Packet,
                "tap" => PortKind.Tap,
                var k => throw p.Error("kind", $"\"{k}\" is not a port kind (packet or tap)"),
            };
            ports.Add(new PortConfig(name, p.OptionalMac("mac"), kind));
            p.Done();
        }
        if (ports.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw root.Error("ports", $"port \"{dup.Key}\" is listed twice");

        var datapath = ParseDhcp(root.OptionalObject("dhcp"), new Datapath.MagDatapathOptions { TunnelMtu = uplinkMtu - Ipv6Packet.HeaderLength });
        var policy = PolicyConfig.Parse(root.OptionalObject("policy") ?? throw root.Error("policy", "is required (at least {\"file\": \"/etc/dataplane/policy.json\"})"));
        var options = ParseTimers(root.OptionalObject("timers"), coa) with
        {
            SharedMacAddress = sharedMac,
            SharedLinkLocalAddress = sharedLinkLocal ?? Ipv6Address.LinkLocalFromMac(sharedMac),
            AdvertisedMtu = advertisedMtu,
        };
        options = ParseLocalRouting(root.OptionalObject("localRouting"), options);
        var logging = LoggingConfig.Parse(root.OptionalObject("logging"));
        var metrics = MetricsConfig.Parse(root.OptionalObject("metrics"), MetricsConfig.DefaultMagPort);
        var dataplane = DataplaneConfig.Parse(root.OptionalObject("dataplane"));
        var security = SecurityConfig.Parse(root.OptionalObject("security"), SecurityRole.Initiator, DefaultSecurityStateFile);
        (options, var migration) = MagMigrationConfig.Parse(root.OptionalObject("migration"), options);
        datapath = datapath with
        {
            HandoverBufferBytes = migration.BufferBytes,
            HandoverBufferPackets = migration.BufferPackets,
            HandoverBuffers = migration.Buffers,
            StopGrace = migration.StopGrace,
        };
        root.Done();

        var config = new MagConfig
        {
            File = root.FileName,
            Protocol = options,
            LocalMobilityAnchor = lma,
            ControlSocket = controlSocket,
            RestartCounterFile = restartFile,
            UplinkMtu = uplinkMtu,
            Ports = ports,
            Policy = policy,
            Logging = logging,
            Metrics = metrics,
            Dataplane = dataplane,
            Security = security,
            Datapath = datapath,
            Migration = migration,
        };
        try
        {
            options.Validate();
        }
        catch (ProtocolOptionsException e)
        {
            throw root.Error($"{(e.Key is "Mag.TransientLifetime" or "Mag.PreRegistrationTimeout" or "Mag.EndMarkerWait" ? "migration" : "timers")}: {e.Message}");
        }
        try
        {
            datapath.Validate(options);
        }
        catch (ProtocolOptionsException e)
        {
            throw root.Error(e.Message);
        }
        // The failure policy must get to decide before the machine gives up on the answer.
        if (policy.Radius is { } radius && radius.WorstCase >= options.PolicyTimeout)
            throw root.Error("policy.radius", $"every server and try take up to {Durations.Format(radius.WorstCase)}, not less than timers.policyTimeout " +
                $"{Durations.Format(options.PolicyTimeout)}: lower timeout or retries, or raise timers.policyTimeout");
        return config;
    }

    /// <summary>
    /// The "dhcp" section: the MAG's DHCPv4 server for IPv4 VMs (RFC 5844 §3.4.1). Everything in it must be the
    /// same on every MAG of the domain (§3.4), the server identifier above all, so that a unicast RENEW after a
    /// migration reaches the new MAG.
    /// </summary>
    private static Datapath.MagDatapathOptions ParseDhcp(ConfigObject? d, Datapath.MagDatapathOptions o)
    {
        if (d is null) return o;
        var serverId = d.OptionalIpv4("serverIdentifier");
        if (serverId is { IsUnicast: false } bad) throw d.Error("serverIdentifier", $"{bad} is not a unicast IPv4 address");
        var lease = d.OptionalDuration("leaseTime", o.DhcpLeaseTime);
        if (lease < TimeSpan.FromMinutes(1) || lease.TotalSeconds >= uint.MaxValue) throw d.Error("leaseTime", $"{Durations.Format(lease)} must be at least 1 min");
        var dns = d.OptionalArray("dnsServers", s => Ipv4Address.TryParse(s, out var a) && a.IsUnicast ? a : (Ipv4Address?)null, "a unicast IPv4 address");
        var domain = d.OptionalString("domainName");
        if (domain is { Length: 0 or > 255 } || (domain is not null && domain.Any(c => c is <= ' ' or >= (char)127)))
            throw d.Error("domainName", $"\"{domain}\" must be 1 to 255 printable ASCII characters");
        d.Done();
        return o with { DhcpServerIdentifier = serverId, DhcpLeaseTime = lease, DhcpDnsServers = dns, DhcpDomainName = domain };
    }

    /// <summary>
    /// The "localRouting" section: VM-to-VM traffic that need not go through the LMA. enableMagLocalRouting (RFC 5213
    /// §6.10.3) routes between two VMs of this MAG here; localizedRouting answers the LMA's RFC 6705 LRIs and so lets
    /// two VMs on two MAGs talk MAG to MAG. Both on by default (docs/configuration.md says why and when to turn them off).
    /// </summary>
    private static MagOptions ParseLocalRouting(ConfigObject? l, MagOptions o)
    {
        if (l is null) return o;
        o = o with
        {
            EnableMagLocalRouting = l.OptionalBool("enableMagLocalRouting", o.EnableMagLocalRouting),
            LocalizedRouting = l.OptionalBool("localizedRouting", o.LocalizedRouting),
            MaxLocalizedRoutingLifetime = l.OptionalDuration("maxLifetime", o.MaxLocalizedRoutingLifetime),
            MaxLocalizedRoutes = (int)l.OptionalInteger("maxRoutes", o.MaxLocalizedRoutes, 0, 10_000_000),
        };
        l.Done();
        if (o.MaxLocalizedRoutingLifetime < TimeSpan.FromSeconds(1) || o.MaxLocalizedRoutingLifetime > TimeSpan.FromSeconds(0xFFFE))
            throw l.Error("maxLifetime", $"{Durations.Format(o.MaxLocalizedRoutingLifetime)} must be within 1s..65534s (the LRA's lifetime field counts 4 s units up to 65535)");
        return o;
    }

    /// <summary>
    /// The timers start from a preset ("migration", the default: retransmission a little above
    /// expectedMaxRtt, 4 s cap, 5 s heartbeats; or "rfc": RFC 5213/6275/5847 values) and any key overrides it.
    /// </summary>
    private static MagOptions ParseTimers(ConfigObject? t, Ipv6Address coa)
    {
        if (t is null) return MagOptions.RecommendedForMigration(coa, TimeSpan.FromMilliseconds(200));
        var rtt = t.OptionalDuration("expectedMaxRtt", TimeSpan.FromMilliseconds(200));
        var o = t.OptionalString("preset") switch
        {
            null or "migration" => MagOptions.RecommendedForMigration(coa, rtt),
            "rfc" => new MagOptions { ProxyCareOfAddress = coa },
            var p => throw t.Error("preset", $"\"{p}\" is not a preset (migration or rfc)"),
        };
        var hb = o.Heartbeat;
        o = o with
        {
            BindingLifetime = t.OptionalDuration("bindingLifetime", o.BindingLifetime),
            RefreshFraction = t.OptionalNumber("refreshFraction", o.RefreshFraction, 0.1, 0.95),
            InitialBindackTimeoutFirstReg = t.OptionalDuration("initialBindackTimeoutFirstReg", o.InitialBindackTimeoutFirstReg),
            InitialBindackTimeout = t.OptionalDuration("initialBindackTimeout", o.InitialBindackTimeout),
            MaxBindackTimeout = t.OptionalDuration("maxBindackTimeout", o.MaxBindackTimeout),
            MaxPbuTransmissions = (int)t.OptionalInteger("maxPbuTransmissions", o.MaxPbuTransmissions, 1, 100),
            SendTimestamp = t.OptionalBool("sendTimestamp", o.SendTimestamp),
            MinRtrAdvInterval = t.OptionalDuration("minRtrAdvInterval", o.MinRtrAdvInterval),
            MaxRtrAdvInterval = t.OptionalDuration("maxRtrAdvInterval", o.MaxRtrAdvInterval),
            RouterLifetime = t.OptionalDuration("routerLifetime", o.RouterLifetime),
            PreferredLifetime = t.OptionalDuration("preferredLifetime", o.PreferredLifetime),
            RouterSolicitationMinInterval = t.OptionalDuration("routerSolicitationMinInterval", o.RouterSolicitationMinInterval),
            AnnounceReregistrationMinInterval = t.OptionalDuration("announceReregistrationMinInterval", o.AnnounceReregistrationMinInterval),
            NudReachableTime = t.OptionalDuration("nudReachableTime", o.NudReachableTime),
            NudProbeInterval = t.OptionalDuration("nudProbeInterval", o.NudProbeInterval),
            NudMaxProbes = (int)t.OptionalInteger("nudMaxProbes", o.NudMaxProbes, 1, 100),
            PolicyTimeout = t.OptionalDuration("policyTimeout", o.PolicyTimeout),
            FailedSessionRetryInitial = t.OptionalDuration("failedSessionRetryInitial", o.FailedSessionRetryInitial),
            FailedSessionRetryMax = t.OptionalDuration("failedSessionRetryMax", o.FailedSessionRetryMax),
            RejectedSessionHoldOff = t.OptionalDuration("rejectedSessionHoldOff", o.RejectedSessionHoldOff),
            Heartbeat = new HeartbeatOptions
            {
                Enabled = t.OptionalBool("heartbeat", hb.Enabled),
                Interval = t.OptionalDuration("heartbeatInterval", hb.Interval),
                MissingHeartbeatsAllowed = (int)t.OptionalInteger("missingHeartbeatsAllowed", hb.MissingHeartbeatsAllowed, 1, 100),
            },
        };
        t.Done();
        return o;
    }
}
