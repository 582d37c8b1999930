using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>Which way a data packet went, or why it was lost.</summary>
public enum PacketFate
{
    /// <summary>Routed by the MAG between two of its ports (RFC 5213 §6.10.3).</summary>
    DeliveredLocally,
    /// <summary>Over a direct MAG–MAG tunnel (RFC 6705).</summary>
    DeliveredDirect,
    /// <summary>Up the tunnel to the LMA and down to the destination's MAG.</summary>
    DeliveredViaLma,
    /// <summary>The sender's MAG had no installed session for it (registering, or gone).</summary>
    LostNoSessionAtSource,
    /// <summary>The LMA was down, or had no route for the destination.</summary>
    LostAtLma,
    /// <summary>The LMA's source check refused it: the source prefix is bound to another MAG (the sender just moved).</summary>
    LostLmaSourceCheck,
    /// <summary>Arrived at a MAG whose VM had left or was paused (as on any path during a migration).</summary>
    LostVmNotThere,
    /// <summary>Arrived over a direct tunnel at a MAG with no matching route for it (refused as the data path does).</summary>
    LostUnauthorizedIngress,
}

/// <summary>
/// Data packets between VMs of a <see cref="PmipDomain"/>, forwarded by each host's view of what its machine installed
/// (sessions, direct routes) exactly as the data path decides: locally when both ends are on one MAG and
/// EnableMAGLocalRouting is on, over the direct route when there is one, else through the LMA, which reports the
/// VM-to-VM traffic it carries (and so triggers RFC 6705). Every packet sent over a direct route is judged against the
/// ground truth, the VM's real location: it must go to a MAG the destination VM was on within the last
/// <see cref="StalenessBound"/> — the time the domain's signalling needs to tell the sender the VM moved (a VM cannot
/// tell a MAG on another host that it left before the news can travel). Violations name the packet.
/// </summary>
public sealed class SimTraffic
{
    private readonly PmipDomain _d;
    private readonly long[] _fates = new long[Enum.GetValues<PacketFate>().Length];

    /// <param name="interMagDelay">One-way delay of the MAG–MAG path (a data centre LAN: small).</param>
    /// <param name="stalenessBound">How long after the destination VM left a MAG a direct packet may still be sent there.</param>
    public SimTraffic(PmipDomain domain, TimeSpan interMagDelay, TimeSpan stalenessBound)
    {
        _d = domain;
        InterMagDelay = interMagDelay;
        StalenessBound = stalenessBound;
    }

    public TimeSpan InterMagDelay { get; }

    public TimeSpan StalenessBound { get; set; }

    public long Sent { get; private set; }

    public long this[PacketFate fate] => _fates[(int)fate];

    public long Lost => _fates.Skip((int)PacketFate.LostNoSessionAtSource).Sum();

    /// <summary>Direct packets sent to a MAG the destination VM had left more than <see cref="StalenessBound"/> ago.</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Direct packets sent, per (sender MAG, destination MAG), for tests that want to see the path.</summary>
    public long DirectSent { get; private set; }

    /// <summary>Every fate with its time, when not null (opt-in).</summary>
    public List<(Instant At, SimVm From, SimVm To, PacketFate Fate)>? Log { get; set; }

    /// <summary>A packet every <paramref name="interval"/> from <paramref name="from"/> to <paramref name="to"/> until <paramref name="until"/> (or forever).</summary>
    public void Flow(SimVm from, SimVm to, TimeSpan interval, Instant? until = null)
    {
        void Next()
        {
            if (until is { } u && _d.Sim.Now > u) return;
            Send(from, to);
            _d.Sim.Schedule(interval, Next);
        }
        _d.Sim.Schedule(TimeSpan.Zero, Next);
    }

    /// <summary>As <see cref="Flow"/>, over IPv4: from the sender's IPv4 home address to the destination's.</summary>
    public void FlowIpv4(SimVm from, SimVm to, TimeSpan interval, Instant? until = null)
    {
        void Next()
        {
            if (until is { } u && _d.Sim.Now > u) return;
            SendIpv4(from, to);
            _d.Sim.Schedule(interval, Next);
        }
        _d.Sim.Schedule(TimeSpan.Zero, Next);
    }

    /// <summary>
    /// One IPv4 packet now (RFC 5844 home addresses), if the sender runs and both have an IPv4 address, decided as
    /// <c>MagDatapath.FromVmIpv4</c> does: locally, over a confirmed direct route naming the destination's IPv4 home
    /// address (RFC 6705 §7), else through the LMA's IPv4 host routes, which report the traffic.
    /// </summary>
    public void SendIpv4(SimVm from, SimVm to)
    {
        if (from.State != VmState.Running || from.Mag is not { } mag || from.Ipv4Address is not { } source || to.Ipv4Address is not { } destination) return;
        Sent++;
        var now = _d.Sim.Now;
        if (!mag.Forwarding.TryGetValue(from.Port, out var own) || own.Ipv4?.HomeAddress != source)
        {
            Record(from, to, PacketFate.LostNoSessionAtSource);
            return;
        }
        if (mag.Machine.Options.EnableMagLocalRouting)
        {
            foreach (var (port, session) in mag.Forwarding)
            {
                if (port == from.Port || session.Ipv4?.HomeAddress != destination) continue;
                Arrive(mag, port, from, to, PacketFate.DeliveredLocally);
                return;
            }
        }
        foreach (var route in mag.DirectRoutes.Values)
        {
            if (route.Port != from.Port || !route.Egress || route.RemoteIpv4HomeAddress != destination) continue;
            DirectSent++;
            var target = _d.Mags.First(m => m.Address == route.RemoteMag);
            if (!to.WasOn(target, now - StalenessBound, now))
                Violations.Add($"{now}: {from.Name} → {to.Name} (IPv4) sent by {mag.Name} straight to {target.Name}, which {to.Name} left more than " +
                               $"{StalenessBound.TotalMilliseconds} ms ago (it is on {to.Mag?.Name ?? "nothing"})");
            mag.ReportRouteUse(route.RouteId);
            _d.Sim.Schedule(InterMagDelay, () => ArriveDirectIpv4(mag, target, source, destination, from, to));
            return;
        }
        _d.Sim.Schedule(_d.Options.Uplink.Delay, () => AtLmaIpv4(mag, source, destination, from, to));
    }

    private void AtLmaIpv4(SimMag sender, Ipv4Address source, Ipv4Address destination, SimVm from, SimVm to)
    {
        var lma = _d.Lma;
        if (lma.IsDown || !lma.Ipv4Routes.TryGetValue(destination, out var mag))
        {
            Record(from, to, PacketFate.LostAtLma);
            return;
        }
        if (!lma.Ipv4Routes.TryGetValue(source, out var sourceMag) || sourceMag != sender.Address)
        {
            Record(from, to, PacketFate.LostLmaSourceCheck);
            return;
        }
        if (mag != sender.Address) lma.ObserveIpv4Traffic(source, destination);
        var target = _d.Mags.First(m => m.Address == mag);
        _d.Sim.Schedule(_d.Options.Downlink.Delay, () =>
        {
            var port = target.Forwarding.FirstOrDefault(kv => kv.Value.Ipv4?.HomeAddress == destination).Key;
            if (!target.Forwarding.ContainsKey(port)) Record(from, to, PacketFate.LostVmNotThere);
            else Arrive(target, port, from, to, PacketFate.DeliveredViaLma);
        });
    }

    private void ArriveDirectIpv4(SimMag sender, SimMag target, Ipv4Address source, Ipv4Address destination, SimVm from, SimVm to)
    {
        // As MagDatapath.FromTunnelIpv4: a session holding the destination, and a route of it naming the sender and the source.
        foreach (var (port, session) in target.Forwarding)
        {
            if (session.Ipv4?.HomeAddress != destination) continue;
            foreach (var route in target.DirectRoutes.Values)
            {
                if (route.Port != port || route.RemoteMag != sender.Address || route.RemoteIpv4HomeAddress != source) continue;
                target.ReportRouteUse(route.RouteId);
                Arrive(target, port, from, to, PacketFate.DeliveredDirect);
                return;
            }
            Record(from, to, PacketFate.LostUnauthorizedIngress);
            return;
        }
        Record(from, to, PacketFate.LostVmNotThere);
    }

    /// <summary>One packet now, if the sender runs and knows an address of the destination.</summary>
    public void Send(SimVm from, SimVm to)
    {
        if (from.State != VmState.Running || from.Mag is not { } mag || from.Prefix is not { } source || to.Prefix is not { } destination) return;
        Sent++;
        var now = _d.Sim.Now;
        if (!mag.Forwarding.ContainsKey(from.Port))
        {
            Record(from, to, PacketFate.LostNoSessionAtSource);
            return;
        }
        if (mag.Machine.Options.EnableMagLocalRouting)
        {
            foreach (var (port, session) in mag.Forwarding)
            {
                if (port == from.Port || !session.HomeNetworkPrefixes.Contains(destination)) continue;
                Arrive(mag, port, from, to, PacketFate.DeliveredLocally);
                return;
            }
        }
        foreach (var route in mag.DirectRoutes.Values)
        {
            if (route.Port != from.Port || !route.Egress || !route.RemotePrefixes.Contains(destination)) continue;
            DirectSent++;
            var target = _d.Mags.First(m => m.Address == route.RemoteMag);
            if (!to.WasOn(target, now - StalenessBound, now))
                Violations.Add($"{now}: {from.Name} → {to.Name} sent by {mag.Name} straight to {target.Name}, which {to.Name} left more than " +
                               $"{StalenessBound.TotalMilliseconds} ms ago (it is on {to.Mag?.Name ?? "nothing"})");
            mag.ReportRouteUse(route.RouteId);
            _d.Sim.Schedule(InterMagDelay, () => ArriveDirect(mag, target, source, destination, from, to));
            return;
        }
        _d.Sim.Schedule(_d.Options.Uplink.Delay, () => AtLma(mag, source, destination, from, to));
    }

    private void AtLma(SimMag sender, Ipv6Prefix source, Ipv6Prefix destination, SimVm from, SimVm to)
    {
        var lma = _d.Lma;
        if (lma.IsDown || !lma.Routes.TryGetValue(destination, out var mag))
        {
            Record(from, to, PacketFate.LostAtLma);
            return;
        }
        if (!lma.Routes.TryGetValue(source, out var sourceMag) || sourceMag != sender.Address)
        {
            Record(from, to, PacketFate.LostLmaSourceCheck);
            return;
        }
        if (mag != sender.Address) lma.ObserveTraffic(source, destination);
        var target = _d.Mags.First(m => m.Address == mag);
        _d.Sim.Schedule(_d.Options.Downlink.Delay, () =>
        {
            var port = target.Forwarding.FirstOrDefault(kv => kv.Value.HomeNetworkPrefixes.Contains(destination)).Key;
            if (!target.Forwarding.ContainsKey(port)) Record(from, to, PacketFate.LostVmNotThere);
            else Arrive(target, port, from, to, PacketFate.DeliveredViaLma);
        });
    }

    private void ArriveDirect(SimMag sender, SimMag target, Ipv6Prefix source, Ipv6Prefix destination, SimVm from, SimVm to)
    {
        // As MagDatapath.FromTunnel: a session for the destination, and a route of it naming the sender for the source.
        foreach (var (port, session) in target.Forwarding)
        {
            if (!session.HomeNetworkPrefixes.Contains(destination)) continue;
            foreach (var route in target.DirectRoutes.Values)
            {
                if (route.Port != port || route.RemoteMag != sender.Address || !route.RemotePrefixes.Contains(source)) continue;
                target.ReportRouteUse(route.RouteId);
                Arrive(target, port, from, to, PacketFate.DeliveredDirect);
                return;
            }
            Record(from, to, PacketFate.LostUnauthorizedIngress);
            return;
        }
        Record(from, to, PacketFate.LostVmNotThere);
    }

    private void Arrive(SimMag mag, PortId port, SimVm from, SimVm to, PacketFate fate)
    {
        _d.Sim.Schedule(_d.Options.AccessDelay, () =>
            Record(from, to, mag.VmOn(port) == to && to.State == VmState.Running && to.Mag == mag ? fate : PacketFate.LostVmNotThere));
    }

    private void Record(SimVm from, SimVm to, PacketFate fate)
    {
        _fates[(int)fate]++;
        Log?.Add((_d.Sim.Now, from, to, fate));
    }

    public override string ToString() =>
        $"sent {Sent}: " + string.Join(", ", Enum.GetValues<PacketFate>().Where(f => this[f] > 0).Select(f => $"{f} {this[f]}"));
}
