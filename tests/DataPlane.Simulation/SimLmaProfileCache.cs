using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>
/// The LMA's policy when profiles come from an AAA server (the host's RADIUS cache): only what was looked up
/// is in memory; anything else makes the machine ask (RequestProfile), which <see cref="PmipDomain"/> answers
/// after <see cref="DomainOptions.LmaProfileLookupDelay"/>. Survives LMA restarts, as a host's cache would not
/// need to (it is refilled by the next look-up).
/// </summary>
public sealed class SimLmaProfileCache(ILmaPolicy source) : ILmaPolicy
{
    private readonly Dictionary<string, LmaMobileNodeProfile?> _known = new(StringComparer.Ordinal);

    public int Count => _known.Count;

    public void Store(string mobileNodeIdentifier, LmaMobileNodeProfile? profile)
    {
        // An answer is only kept when it admits the node, as the RADIUS cache keeps only Access-Accepts.
        if (profile is null) _known.Remove(mobileNodeIdentifier);
        else _known[mobileNodeIdentifier] = profile;
    }

    public bool IsMagAuthorized(Ipv6Address mag) => source.IsMagAuthorized(mag);

    public LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier) => _known.GetValueOrDefault(mobileNodeIdentifier);

    public bool TryGetProfile(string mobileNodeIdentifier, out LmaMobileNodeProfile? profile) => _known.TryGetValue(mobileNodeIdentifier, out profile);
}
