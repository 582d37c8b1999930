using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>One access port's state: the one VM behind it, its installed session and its rate limits.</summary>
internal sealed class AccessPort
{
    public AccessPort(PortId id, string name, MacAddress? configuredMac)
    {
        Id = id;
        Name = name;
        ConfiguredMac = configuredMac;
        if (configuredMac is { } mac) LearnMac(mac);
        ReachabilityEvent = new MagEvent.ReachabilityConfirmed(id);
    }

    public PortId Id { get; }

    public string Name { get; }

    /// <summary>The VM's MAC from the configuration (hotplug script, ctl); never forgotten.</summary>
    public MacAddress? ConfiguredMac { get; }

    /// <summary>The VM's MAC, configured or learned from its first frame. Only meaningful when <see cref="HasVmMac"/>.</summary>
    public MacAddress VmMac;

    public bool HasVmMac;

    /// <summary>Forwarding for the VM, from the machine's InstallSession; null until then and after RemoveSession.</summary>
    public InstalledSession? Session;

    /// <summary>When the port may next report activity (reachability, or FirstFrame without a session).</summary>
    public Instant NextActivityReport;

    // Mutable structs held in fields, updated in place.
    public RateLimiter ControlLimiter;
    public RateLimiter ErrorLimiter;

    public readonly CounterBlock Counters = new();

    /// <summary>One immutable event reused for every report, so reporting allocates nothing.</summary>
    public readonly MagEvent.ReachabilityConfirmed ReachabilityEvent;

    public void LearnMac(MacAddress mac)
    {
        VmMac = mac;
        HasVmMac = true;
    }

    /// <summary>A learned MAC is forgotten when its VM is gone, so the port can serve the next one; a configured one stays.</summary>
    public void ForgetLearnedMac()
    {
        if (ConfiguredMac is not null) return;
        VmMac = default;
        HasVmMac = false;
        NextActivityReport = default; // the next VM's first frame is reported at once
    }
}

/// <summary>What <see cref="MagAction.InstallSession"/> installed for a port: where the VM's traffic goes and what it may send from.</summary>
internal sealed class InstalledSession(MacAddress mac, Ipv6Prefix[] prefixes, Ipv6Address localMobilityAnchor, Ipv4Address? ipv4HomeAddress,
    CounterBlock vm, CounterBlock tunnel)
{
    public MacAddress Mac { get; } = mac;

    public Ipv6Prefix[] HomeNetworkPrefixes { get; } = prefixes;

    public Ipv6Address LocalMobilityAnchor { get; } = localMobilityAnchor;

    /// <summary>Kept for the DHCPv4 service to come; IPv4 is not forwarded yet.</summary>
    public Ipv4Address? Ipv4HomeAddress { get; } = ipv4HomeAddress;

    public CounterBlock Vm { get; } = vm;

    public CounterBlock Tunnel { get; } = tunnel;

    /// <summary>Is <paramref name="source"/> one of the VM's own addresses (inside one of its HNPs)?</summary>
    public bool OwnsSource(Ipv6Address source)
    {
        foreach (var p in HomeNetworkPrefixes)
            if (p.Contains(source)) return true;
        return false;
    }
}

/// <summary>A read-only snapshot of one access port, for the control channel and metrics.</summary>
public readonly record struct MagPortView(
    PortId Id,
    string Name,
    MacAddress? VmMac,
    bool MacConfigured,
    IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    Ipv6Address? LocalMobilityAnchor,
    CounterBlock Counters);
