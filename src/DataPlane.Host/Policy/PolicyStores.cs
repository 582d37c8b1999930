using DataPlane.Host.Configuration;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Policy;

/// <summary>Builds the configured backend for a daemon.</summary>
public static class PolicyStores
{
    /// <param name="ownAddress">The daemon's address: the MAG's Proxy-CoA or the LMA's address (the RADIUS NAS-IPv6-Address).</param>
    /// <param name="authorizedMags">The LMA's authorizedMags (for RADIUS, which is not asked about MAGs).</param>
    public static IPolicyStore Create(PolicyConfig config, Ipv6Address ownAddress, ILogger log, IReadOnlySet<Ipv6Address>? authorizedMags = null) =>
        config.Radius is { } radius
            ? new RadiusPolicyStore(radius, ownAddress, log, authorizedMags)
            : new FilePolicyStore(config.File!, log, ownAddress);
}
