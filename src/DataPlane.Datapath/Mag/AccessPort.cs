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

    /// <summary>
    /// Plugged in as the destination of a live migration: the VM is not here yet. Its first frame after it
    /// resumes (QEMU's RARP, the guest's NA or gratuitous ARP, anything) registers it as arriving from
    /// another MAG.
    /// </summary>
    public bool AwaitingMigratedVm;

    /// <summary>
    /// The VM's latest DHCP request that could not be answered yet (no IPv4 address until the PBA comes): answered
    /// as soon as one is installed (RFC 5844 §3.4.1's "delayed response"), NAKed when none can be had.
    /// </summary>
    public DhcpRepr? PendingDhcp;

    // Mutable structs held in fields, updated in place.
    public RateLimiter ControlLimiter;
    public RateLimiter ErrorLimiter;

    public readonly CounterBlock Counters = new();

    /// <summary>RFC 6705 routes of the port's VM (copy on write: a handful at most). They belong to the port, not to the
    /// installed session, so that re-installing a session with changed prefixes keeps them; RemoveSession clears them.</summary>
    public DirectRoute[] DirectRoutes = [];

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
        AwaitingMigratedVm = false;
        PendingDhcp = null;
        if (ConfiguredMac is not null) return;
        VmMac = default;
        HasVmMac = false;
        NextActivityReport = default; // the next VM's first frame is reported at once
    }
}

/// <summary>What the hotplug path knows when it says a port is online (<see cref="MagDatapath.PortOnline"/>).</summary>
public enum PortOnlineKind : byte
{
    /// <summary>The interface is there; the VM may not run yet (a boot, or a migration the caller cannot tell from one). Its first frame registers it.</summary>
    AwaitVm,
    /// <summary>The destination of a live migration: the VM's first frame after it resumes registers it as arriving from another MAG (HI 3).</summary>
    IncomingMigration,
    /// <summary>The VM runs on this port now (e.g. an operator re-plugging a running VM): register at once.</summary>
    VmRunning,
}

/// <summary>What <see cref="MagAction.InstallSession"/> installed for a port: where the VM's traffic goes and what it may send from.</summary>
internal sealed partial class InstalledSession(MacAddress mac, Ipv6Prefix[] prefixes, Ipv6Address localMobilityAnchor, Ipv4Assignment? ipv4,
    CounterBlock vm, CounterBlock vm4, CounterBlock tunnel)
{
    public MacAddress Mac { get; } = mac;

    public Ipv6Prefix[] HomeNetworkPrefixes { get; } = prefixes;

    public Ipv6Address LocalMobilityAnchor { get; } = localMobilityAnchor;

    /// <summary>The VM's IPv4 home address, subnet and default router (RFC 5844), or null: no IPv4 for this VM.</summary>
    public Ipv4Assignment? Ipv4 { get; } = ipv4;

    /// <summary>The home address as a plain value for the per-packet source check (0 when none: never a valid source).</summary>
    public uint Ipv4HomeAddressValue { get; } = ipv4?.HomeAddress.Value ?? 0;

    /// <summary>All the VM's packets (both families).</summary>
    public CounterBlock Vm { get; } = vm;

    /// <summary>The VM's IPv4 packets alone (RFC 5844's per-VM view).</summary>
    public CounterBlock Vm4 { get; } = vm4;

    public CounterBlock Tunnel { get; } = tunnel;

    /// <summary>
    /// When the first packet from the tunnel was delivered to the VM under this installation (ticks of the
    /// <see cref="Instant"/>; 0 until then). Set once per installation by <c>FromTunnel</c>, for the
    /// handover's "first downlink packet" latency.
    /// </summary>
    public long FirstDeliveryTicks;

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
    CounterBlock Counters,
    Ipv4Assignment? Ipv4 = null);
