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
