using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// The policy store's answer for an authorised VM.
/// </summary>
/// <param name="MobileNodeIdentifier">The MN-ID NAI, e.g. "52-54-00-12-34-56@vm.example".</param>
/// <param name="HomeNetworkPrefixes">The VM's HNPs; empty asks the LMA to assign them (the PBU carries ::/0).</param>
/// <param name="LocalMobilityAnchor">The LMA that anchors this VM.</param>
/// <param name="Ipv4HomeAddress">An IPv4 home address for the data path's DHCPv4 (RFC 5844 signalling is not done here).</param>
public sealed record VmProfile(
    string MobileNodeIdentifier,
    IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    Ipv6Address LocalMobilityAnchor,
    Ipv4Address? Ipv4HomeAddress = null);
