using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// The LMA's IPv4 home network (RFC 5844 §1.1: a shared subnet, not any one node's): the subnet its IPv4
/// home addresses come from and are anchored in, and the default-router address every VM of it is given
/// (the IPv4 Default-Router Address option, which the MAGs answer ARP for and put in DHCP's Router option).
/// Without one the LMA serves no IPv4 (PBUs asking for it get 170: "IPv4 routing is not enabled").
/// </summary>
/// <param name="Subnet">e.g. 10.200.0.0/24; /8 to /30.</param>
/// <param name="DefaultRouter">A host address of <paramref name="Subnet"/>; never assigned to a VM.</param>
public sealed record Ipv4HomeNetwork(Ipv4Prefix Subnet, Ipv4Address DefaultRouter)
{
    /// <summary>Longest subnet: a /30 has two host addresses, one of them the router's.</summary>
    public const int MaxPrefixLength = 30;

    /// <summary>Shortest subnet: a /8 is a 2 MiB bitmap.</summary>
    public const int MinPrefixLength = 8;

    /// <summary>
    /// The IPv4 DHCP Support Mode option's S flag (RFC 5844 §3.3.4) sent in accepting PBAs: true, the MAG is
    /// the VMs' DHCP server. This MAG implements only that mode (a relay needs a DHCP server elsewhere).
    /// </summary>
    public bool DhcpServerMode { get; init; } = true;

    /// <summary>The subnet's first host address, the usual choice of default router.</summary>
    public static Ipv4HomeNetwork WithFirstHostAsRouter(Ipv4Prefix subnet) => new(subnet, new Ipv4Address(subnet.Address.Value + 1));

    /// <summary>An address a VM of this network may have: a host address of the subnet that is not the router's.</summary>
    public bool IsAssignable(Ipv4Address address) => address.IsUnicast && Subnet.IsHostAddress(address) && address != DefaultRouter;

    internal void Validate(string key)
    {
        Check.That(Subnet.Length is >= MinPrefixLength and <= MaxPrefixLength, key + "." + nameof(Subnet),
            $"must be a /{MinPrefixLength} to /{MaxPrefixLength} (was {Subnet})");
        Check.That(Subnet.Address.IsUnicast, key + "." + nameof(Subnet), $"{Subnet} is not a unicast subnet");
        Check.That(Subnet.IsHostAddress(DefaultRouter), key + "." + nameof(DefaultRouter),
            $"{DefaultRouter} must be a host address of {Subnet}");
    }
}
