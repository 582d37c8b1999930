using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// The policy store's answer for an authorised VM: its identity, where it is anchored, and which IP versions it
/// is served with which addresses (RFC 5213 §6.2, RFC 5844 §3.2.2's "IPv4-only, IPv6-only, and dual").
/// </summary>
/// <param name="MobileNodeIdentifier">The MN-ID NAI, e.g. "52-54-00-12-34-56@vm.example".</param>
/// <param name="HomeNetworkPrefixes">The VM's HNPs; empty asks the LMA to assign them (the PBU carries ::/0).</param>
/// <param name="LocalMobilityAnchor">The LMA that anchors this VM.</param>
/// <param name="Ipv4HomeAddress">A static IPv4 home address to request (RFC 5844 §3.2.3.1); null asks the LMA to allocate (ALL_ZERO).</param>
public sealed record VmProfile(
    string MobileNodeIdentifier,
    IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    Ipv6Address LocalMobilityAnchor,
    Ipv4Address? Ipv4HomeAddress = null)
{
    /// <summary>IPv6 home address mobility service: PBUs carry Home Network Prefix options and the VM gets RAs.</summary>
    public bool Ipv6Service { get; init; } = true;

    /// <summary>IPv4 home address mobility service: PBUs carry an IPv4 Home Address Request. On when a static address is given.</summary>
    public bool Ipv4Service { get; init; } = Ipv4HomeAddress is not null;

    /// <summary>The prefix length of the static address's home network, sent with it in the Request (0 when unknown).</summary>
    public byte Ipv4PrefixLength { get; init; }
}

/// <summary>What a session holds for IPv4 (RFC 5844 §3.2.1): the home address, its subnet-mask length and the default router.</summary>
public readonly record struct Ipv4Assignment(Ipv4Address HomeAddress, byte PrefixLength, Ipv4Address DefaultRouter)
{
    public Ipv4Prefix Subnet => new(HomeAddress, PrefixLength);

    public override string ToString() => $"{HomeAddress}/{PrefixLength} via {DefaultRouter}";
}
