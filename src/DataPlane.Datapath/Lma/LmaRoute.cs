using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>One tunnel to a MAG: up while the machine says so; its counters outlive it (they only grow).</summary>
internal sealed class LmaTunnel(Ipv6Address mag)
{
    public Ipv6Address Mag { get; } = mag;

    public bool Up;

    public readonly CounterBlock Counters = new();
}

/// <summary>
/// What a bound prefix and a bound IPv4 home address share: the MAG serving it, the VM's counters, and during a live
/// migration the pre-registered destination (its second MAG: uplink accepted from it, downlink copied to it or sent
/// only to it; LmaDatapath.Transient.cs).
/// </summary>
internal abstract class LmaDownlinkRoute(LmaTunnel tunnel, CounterBlock vmCounters)
{
    public LmaTunnel Tunnel { get; } = tunnel;

    public Ipv6Address Mag => Tunnel.Mag;

    /// <summary>The VM's counters for this family (the prefix's, or the IPv4 home address's).</summary>
    public CounterBlock VmCounters { get; } = vmCounters;

    /// <summary>The pre-registered destination's tunnel, or null.</summary>
    public LmaTunnel? Secondary;
    /// <summary>Downlink is copied to <see cref="Secondary"/>.</summary>
    public bool CopyToSecondary;
    /// <summary>Downlink still goes to the serving MAG (false after its stop notice, without bicast).</summary>
    public bool SendToPrimary = true;
}

/// <summary>A bound prefix: which MAG serves it now, and the counters of the tunnel and of the prefix (the VM).</summary>
internal sealed class LmaRoute(Ipv6Prefix prefix, LmaTunnel tunnel, CounterBlock prefixCounters) : LmaDownlinkRoute(tunnel, prefixCounters)
{
    public Ipv6Prefix Prefix { get; } = prefix;

    public CounterBlock PrefixCounters => VmCounters;

    /// <summary>When traffic from this prefix to another MAG's VM may next be reported (RFC 6705), and the last report, reused while its destination stays.</summary>
    public long NextObservationTicks;
    public Protocol.Lma.LmaEvent.TrafficObserved? Observation;
}

/// <summary>A bound IPv4 home address (RFC 5844's host route): the MAG serving it now and the VM's IPv4 counters.</summary>
internal sealed class LmaIpv4Route(Ipv4Address homeAddress, LmaTunnel tunnel, CounterBlock counters) : LmaDownlinkRoute(tunnel, counters)
{
    public Ipv4Address HomeAddress { get; } = homeAddress;

    public CounterBlock Counters => VmCounters;

    /// <summary>As <see cref="LmaRoute"/>'s: when IPv4 traffic from this address to another MAG's VM may next be reported (RFC 6705 §7).</summary>
    public long NextObservationTicks;
    public Protocol.Lma.LmaEvent.Ipv4TrafficObserved? Observation;
}

/// <summary>A read-only snapshot of one IPv4 host route.</summary>
public readonly record struct LmaIpv4RouteView(Ipv4Address HomeAddress, Ipv6Address Mag, CounterBlock Counters);

/// <summary>A read-only snapshot of one tunnel.</summary>
public readonly record struct LmaTunnelView(Ipv6Address Mag, bool Up, CounterBlock Counters);

/// <summary>A read-only snapshot of one route: a bound prefix and the MAG serving it.</summary>
public readonly record struct LmaRouteView(Ipv6Prefix Prefix, Ipv6Address Mag, CounterBlock Counters);
