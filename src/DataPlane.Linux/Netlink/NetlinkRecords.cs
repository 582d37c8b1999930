using DataPlane.Wire;

namespace DataPlane.Linux;

/// <summary>A network interface as RTM_GETLINK reports it.</summary>
public sealed record LinkInfo(int Index, string Name, uint Flags, int Mtu, MacAddress? MacAddress, byte OperState, string? Kind)
{
    /// <summary>Administratively up (IFF_UP).</summary>
    public bool IsUp => (Flags & 0x1) != 0;

    /// <summary>Carrier present (IFF_LOWER_UP).</summary>
    public bool HasCarrier => (Flags & 0x10000) != 0;
}

/// <summary>An IPv6 address on an interface as RTM_GETADDR reports it.</summary>
public sealed record AddressInfo(int IfIndex, Ipv6Address Address, int PrefixLength, uint Flags, byte Scope)
{
    /// <summary>IFA_F_TENTATIVE: duplicate address detection has not finished; bind() refuses it.</summary>
    public bool IsTentative => (Flags & 0x40) != 0;
}

/// <summary>An IPv6 route as RTM_GETROUTE reports it.</summary>
public sealed record RouteInfo(Ipv6Prefix Destination, int OutputIfIndex, Ipv6Address? Gateway, uint? Metric, uint Table, byte Protocol, byte Type);

/// <summary>Where the kernel would send a packet to a destination (RTM_GETROUTE for one address).</summary>
/// <param name="OutputIfIndex">The interface it leaves by.</param>
/// <param name="Gateway">The next-hop router, or null when the destination is on-link.</param>
/// <param name="PreferredSource">The source address the kernel would pick, if it says.</param>
public sealed record RouteLookup(Ipv6Address Destination, int OutputIfIndex, Ipv6Address? Gateway, Ipv6Address? PreferredSource)
{
    /// <summary>The neighbour whose link-layer address frames to the destination go to: the gateway, or the destination itself.</summary>
    public Ipv6Address NextHop => Gateway ?? Destination;
}

/// <summary>NUD states of a neighbour entry (linux/neighbour.h NUD_*).</summary>
[Flags]
public enum NeighborState : ushort
{
    None = 0,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

/// <summary>A neighbour cache entry as RTM_GETNEIGH reports it.</summary>
public sealed record NeighborInfo(int IfIndex, Ipv6Address Address, MacAddress? LinkLayerAddress, NeighborState State)
{
    /// <summary>The entry has an address the kernel itself would send to (reachable, stale, being re-checked, or static).</summary>
    public bool IsUsable => LinkLayerAddress is not null &&
        (State & (NeighborState.Reachable | NeighborState.Stale | NeighborState.Delay | NeighborState.Probe | NeighborState.Permanent | NeighborState.NoArp)) != 0;
}
