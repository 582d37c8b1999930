using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// The LMA's authorisation source, called from inside PBU processing, so it answers from memory: which
/// MAGs may register (always synchronous: a short list that changes rarely) and each mobile node's
/// profile. A profile the policy does not hold in memory (a RADIUS cache miss) is looked up
/// asynchronously: <see cref="TryGetProfile"/> says so, the machine parks the PBU and asks its host
/// (<see cref="LmaAction.RequestProfile"/>), and the host's answer (<see cref="LmaEvent.ProfileDecided"/>)
/// resumes it. A synchronous policy (the file store, <see cref="InMemoryLmaPolicy"/>) implements only
/// <see cref="GetProfile"/>.
/// </summary>
public interface ILmaPolicy
{
    /// <summary>Beyond <see cref="LmaOptions.AuthorizedMags"/>: may this address send PBUs? (154 if not)</summary>
    bool IsMagAuthorized(Ipv6Address mag);

    /// <summary>The mobile node's profile, or null when it is not enabled for PMIPv6 service (152).</summary>
    LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier);

    /// <summary>
    /// True when the answer is in memory: <paramref name="profile"/> is the profile, or null for "not
    /// enabled" (152). False when it must be looked up: the machine parks the PBU and emits
    /// <see cref="LmaAction.RequestProfile"/>. The default is synchronous, from <see cref="GetProfile"/>.
    /// </summary>
    bool TryGetProfile(string mobileNodeIdentifier, out LmaMobileNodeProfile? profile)
    {
        profile = GetProfile(mobileNodeIdentifier);
        return true;
    }

    /// <summary>
    /// Is this IPv4 address some mobile node's static home address (so the pool must not give it to another)?
    /// A policy that lists its nodes (the file) knows; one that does not (RADIUS) answers false.
    /// </summary>
    bool IsReservedIpv4HomeAddress(Ipv4Address address) => false;
}

/// <summary>
/// What the LMA knows of a mobile node from its policy profile (RFC 5213 §6.2 and RFC 5844 §3.2.2): which IP
/// versions it is served (IPv4-only, IPv6-only or dual) and the addresses it may use.
/// </summary>
/// <param name="HomeNetworkPrefixes">The prefixes this MN may use; empty: the LMA assigns from its pool.</param>
public sealed record LmaMobileNodeProfile(IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes)
{
    /// <summary>IPv6 only, prefixes from the pool.</summary>
    public static LmaMobileNodeProfile FromPool { get; } = new([]);

    /// <summary>Dual stack, both from the pools.</summary>
    public static LmaMobileNodeProfile DualStackFromPools { get; } = new([]) { Ipv4Service = true };

    /// <summary>IPv6 home address mobility service (a PBU with Home Network Prefix options is refused with 172 without it).</summary>
    public bool Ipv6Service { get; init; } = true;

    /// <summary>IPv4 home address mobility service (RFC 5844; a PBU with an IPv4 Home Address Request is refused with 170 without it).</summary>
    public bool Ipv4Service { get; init; }

    /// <summary>The node's static IPv4 home address; null: from the LMA's pool.</summary>
    public Ipv4Address? Ipv4HomeAddress { get; init; }
}

/// <summary>An in-memory <see cref="ILmaPolicy"/>: explicit profiles, plus optionally any MN from the pool.</summary>
public sealed class InMemoryLmaPolicy : ILmaPolicy
{
    private readonly Dictionary<string, LmaMobileNodeProfile> _profiles = new(StringComparer.Ordinal);
    private readonly HashSet<string> _denied = new(StringComparer.Ordinal);
    private readonly HashSet<Ipv6Address> _extraMags = [];

    /// <summary>MNs without an explicit profile get pool-assigned prefixes (true) or are refused with 152 (false).</summary>
    public bool AllowUnknownMobileNodes { get; set; } = true;

    /// <summary>The profile MNs without an explicit one get when <see cref="AllowUnknownMobileNodes"/> (IPv6 from the pool).</summary>
    public LmaMobileNodeProfile UnknownMobileNodeProfile { get; set; } = LmaMobileNodeProfile.FromPool;

    public void SetProfile(string mobileNodeIdentifier, LmaMobileNodeProfile profile) => _profiles[mobileNodeIdentifier] = profile;

    public void Deny(string mobileNodeIdentifier) => _denied.Add(mobileNodeIdentifier);

    public void AuthorizeMag(Ipv6Address mag) => _extraMags.Add(mag);

    public bool IsMagAuthorized(Ipv6Address mag) => _extraMags.Contains(mag);

    public LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier)
    {
        if (_denied.Contains(mobileNodeIdentifier)) return null;
        if (_profiles.TryGetValue(mobileNodeIdentifier, out var p)) return p;
        return AllowUnknownMobileNodes ? UnknownMobileNodeProfile : null;
    }

    public bool IsReservedIpv4HomeAddress(Ipv4Address address)
    {
        foreach (var p in _profiles.Values)
            if (p.Ipv4HomeAddress == address) return true;
        return false;
    }
}
