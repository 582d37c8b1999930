using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>A read-only snapshot of one binding cache entry, for the control channel and tests.</summary>
public readonly record struct BindingCacheView(
    string MobileNodeIdentifier,
    IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    BindingCacheState State,
    Ipv6Address? ProxyCareOfAddress,
    Instant ExpiresAt,
    Instant? DeleteAt,
    Ipv4Address? Ipv4HomeAddress = null,
    byte Ipv4PrefixLength = 0,
    Ipv4Address? Ipv4DefaultRouter = null,
    Ipv6Address? TransientMag = null,
    Instant? TransientExpiresAt = null,
    bool ServingMagStopped = false,
    bool AwaitingActivation = false);

/// <summary>A read-only snapshot of one localized routing pair: each party, the MAG told about it, and where that leg stands.</summary>
public readonly record struct LocalizedRoutingView(
    string MobileNodeA,
    IReadOnlyList<Ipv6Prefix> PrefixesA,
    Ipv6Address MagA,
    string LegA,
    string MobileNodeB,
    IReadOnlyList<Ipv6Prefix> PrefixesB,
    Ipv6Address MagB,
    string LegB,
    bool Established,
    Instant? ExpiresAt,
    Ipv4Address? Ipv4A = null,
    Ipv4Address? Ipv4B = null);
