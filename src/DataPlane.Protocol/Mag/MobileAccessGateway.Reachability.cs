using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// Neighbor Unreachability Detection as a detachment signal (RFC 5213 §6.9.1.1 leaves detection to the MAG).
public sealed partial class MobileAccessGateway
{
    private void OnReachabilityConfirmed(MagEvent.ReachabilityConfirmed e, Instant now)
    {
        // Hot path: no timer work. The armed NUD deadline fires, sees the fresh confirmation and re-arms.
        if (!_sessions.TryGetValue(e.Port, out var s)) return;
        s.LastReachableAt = now;
        s.NudProbesSent = 0;
        if (s.VmLinkLocal is null && e.VmLinkLocal is { IsLinkLocal: true } ll) s.VmLinkLocal = ll;
    }

    /// <summary>Probe, or detach after NudMaxProbes unanswered probes. False when the session was detached.</summary>
    private bool RunNeighborUnreachabilityDetection(AccessSession s, Instant now)
    {
        if (s.NudProbesSent >= _options.NudMaxProbes)
        {
            Detach(s, DetachReason.NeighborUnreachable, now);
            return false;
        }
        s.NudProbesSent++;
        s.LastNudProbeAt = now;
        Counters.NudProbesSent++;
        // Without a known link-local address, probe the EUI-64 one derived from the MAC: any answer, or any
        // frame the VM sends, confirms reachability through the data path. With an IPv4 home address an ARP
        // request for it goes too (IPv4's NUD); an IPv4-only VM gets only that one.
        var ipv4 = s.Binding?.Ipv4;
        if (ipv4 is null || s.Ipv6Wanted)
        {
            var target = s.VmLinkLocal ?? Ipv6Address.LinkLocalFromMac(s.Mac);
            _actions.Add(new MagAction.SendNeighborSolicitation(s.Port, s.Mac, target, _options.SharedMacAddress, _options.SharedLinkLocalAddress));
        }
        if (ipv4 is { } a) _actions.Add(new MagAction.SendArpProbe(s.Port, s.Mac, a.HomeAddress, _options.SharedMacAddress, a.DefaultRouter));
        return true;
    }
}
