using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Host.Policy;

/// <summary>
/// The policy both daemons use, whatever the backend (the file, RADIUS). The MAG asks "may this VM join,
/// as whom, with which prefixes, anchored where?"; the LMA asks "may this MAG register?" and "which
/// prefixes may this mobile node use?". Answers the store has in memory (the file; a fresh RADIUS cache
/// entry) come back completed; anything else completes later on the thread pool, so the packet loop that
/// asks never waits on the network: it posts the answer back to itself (<see cref="Runtime.LoopWork"/>).
/// </summary>
public interface IPolicyStore : IDisposable
{
    /// <summary>For logs: "file /etc/dataplane/policy.json", "radius [2001:db8::1]:1812".</summary>
    string Description { get; }

    PolicyCounters Counters { get; }

    /// <summary>The MAG's decision for a VM seen on an access port. Never throws; failures are denials with the reason.</summary>
    ValueTask<PolicyDecision> DecideAsync(MacAddress mac, string port, Ipv6Address? fallbackLma);

    /// <summary>The LMA: may this Proxy-CoA send PBUs, beyond the LMA's own authorizedMags? From memory.</summary>
    bool IsMagAuthorized(Ipv6Address mag);

    /// <summary>The LMA: the mobile node's profile if it is in memory (true; null = not enabled). False: use <see cref="LookUpLmaProfileAsync"/>.</summary>
    bool TryGetLmaProfile(string nai, out LmaMobileNodeProfile? profile);

    /// <summary>The LMA: is this IPv4 address some VM's static home address (the pool must not give it to another)? From memory.</summary>
    bool IsReservedIpv4HomeAddress(Ipv4Address address) => false;

    /// <summary>The LMA: look the profile up (completes later). Never throws.</summary>
    ValueTask<LmaProfileDecision> LookUpLmaProfileAsync(string nai);

    /// <summary>Re-read what can be re-read (the file; RADIUS secret files) and drop cached answers. Null on success, else why not (the old policy stays).</summary>
    string? Reload();
}

/// <summary>The LMA's answer for one mobile node: a profile, or why not, and whether that was a failure to ask (128) or a refusal (152).</summary>
public readonly record struct LmaProfileDecision(LmaMobileNodeProfile? Profile, string? DenialReason, bool LookupFailed)
{
    public static LmaProfileDecision Allow(LmaMobileNodeProfile profile) => new(profile, null, false);
    public static LmaProfileDecision Deny(string reason) => new(null, reason, false);
    public static LmaProfileDecision Failed(string reason) => new(null, reason, true);
}

/// <summary>The LMA machine's view of a store (<see cref="ILmaPolicy"/>): synchronous where the store has the answer, else "ask me".</summary>
public sealed class LmaPolicyAdapter(IPolicyStore store) : ILmaPolicy
{
    public bool IsMagAuthorized(Ipv6Address mag) => store.IsMagAuthorized(mag);

    public LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier) =>
        store.TryGetLmaProfile(mobileNodeIdentifier, out var profile) ? profile : null;

    public bool TryGetProfile(string mobileNodeIdentifier, out LmaMobileNodeProfile? profile) =>
        store.TryGetLmaProfile(mobileNodeIdentifier, out profile);

    public bool IsReservedIpv4HomeAddress(Ipv4Address address) => store.IsReservedIpv4HomeAddress(address);
}
