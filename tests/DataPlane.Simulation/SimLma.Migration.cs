using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Simulation;

// The LMA's downlink forwarding during a live migration: the second MAG of a route (RouteSecondary), as the data path keeps it.
public sealed partial class SimLma
{
    /// <summary>Per prefix: the pre-registered destination, whether downlink is copied to it, whether the serving MAG still gets it.</summary>
    public Dictionary<Ipv6Prefix, (Ipv6Address Mag, bool Copy, bool Serving)> Secondaries { get; } = [];

    private void OnRouteSecondary(LmaAction.RouteSecondary s)
    {
        if (!Routes.ContainsKey(s.Prefix))
        {
            Violations.Add($"{_domain.Sim.Now}: RouteSecondary({s.Prefix}) without a route");
            return;
        }
        if (s.Mag is { } mag)
        {
            if (!Tunnels.ContainsKey(mag)) Violations.Add($"{_domain.Sim.Now}: RouteSecondary({s.Prefix} → {mag}) without a tunnel");
            Secondaries[s.Prefix] = (mag, s.CopyDownlink, s.ServingMagDownlink);
        }
        else
        {
            Secondaries.Remove(s.Prefix);
        }
    }

    /// <summary>One downlink packet from the home network: to the MAGs the forwarding view names, each after the downlink's delay.</summary>
    internal void ForwardDownlink(SimDownlink stream, int number, byte[] packet)
    {
        if (IsDown) return;
        var destination = Ipv6Packet.TryCreate(packet, out var ip, out _) ? ip.Destination : default;
        var route = Routes.FirstOrDefault(r => r.Key.Contains(destination));
        if (route.Value == default)
        {
            stream.NoRoute.Add(number);
            return;
        }
        var targets = new List<Ipv6Address>(2);
        if (Secondaries.TryGetValue(route.Key, out var s))
        {
            if (s.Serving) targets.Add(route.Value);
            if (s.Copy) targets.Add(s.Mag);
        }
        else
        {
            targets.Add(route.Value);
        }
        foreach (var mag in targets)
        {
            var host = _domain.Mags.First(m => m.Address == mag);
            var copy = (byte[])packet.Clone();
            _domain.Sim.Schedule(_domain.Options.Downlink.Delay, () => host.OnDownlink(stream, copy));
        }
    }
}
