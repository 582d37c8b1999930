using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>The MAGs' policy store (AAA stand-in): a profile or a denial per MAC, answered after <see cref="Delay"/>.</summary>
public sealed class SimPolicyStore
{
    private readonly Dictionary<MacAddress, VmProfile?> _profiles = [];

    public TimeSpan Delay { get; set; }

    /// <summary>When true, requests are never answered (exercises the MAG's PolicyTimeout).</summary>
    public bool Unresponsive { get; set; }

    public long Requests { get; internal set; }

    public void Allow(MacAddress mac, VmProfile profile) => _profiles[mac] = profile;

    public void Deny(MacAddress mac) => _profiles[mac] = null;

    public void Forget(MacAddress mac) => _profiles.Remove(mac);

    /// <summary>The profile, or null for a denied or unknown VM.</summary>
    public VmProfile? Lookup(MacAddress mac) => _profiles.GetValueOrDefault(mac);
}
