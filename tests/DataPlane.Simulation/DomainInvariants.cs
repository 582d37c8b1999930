using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>
/// Properties that must hold in any run; each check returns human-readable violations (empty when fine)
/// so a failing test can print them with the seed.
/// </summary>
public static class DomainInvariants
{
    /// <summary>
    /// Every VM running for at least <paramref name="bound"/> (and at least that long since the last link
    /// disturbance) is served end to end by its MAG: session established with forwarding, LMA entry
    /// active at that MAG, routes to it, and the VM holds a valid address in its HNP.
    /// </summary>
    public static List<string> CheckAttachedVmsServed(PmipDomain d, TimeSpan bound, int maxReports = 20)
    {
        var violations = new List<string>();
        var now = d.Sim.Now;
        if (now - d.LastDisturbance < bound || d.Lma.IsDown) return violations;
        foreach (var vm in d.Vms)
        {
            if (violations.Count >= maxReports) break;
            if (vm.State != VmState.Running || vm.Mag is not { } mag || now - vm.AttachedSince < bound) continue;
            string who = $"{vm.Name} on {mag.Name}/{vm.Port} since {vm.AttachedSince}";
            if (!mag.Machine.TryGetSession(vm.Port, out var session) || session.State != SessionState.Established || !session.ForwardingInstalled)
            {
                violations.Add($"{who}: MAG session is {(mag.Machine.TryGetSession(vm.Port, out var s) ? s.State.ToString() : "missing")}");
                continue;
            }
            if (!d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var bce) || bce.State != BindingCacheState.Active
                || bce.ProxyCareOfAddress != mag.Address)
            {
                violations.Add($"{who}: LMA binding {(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var b) ? $"{b.State} at {b.ProxyCareOfAddress}" : "missing")}");
                continue;
            }
            foreach (var p in bce.HomeNetworkPrefixes)
            {
                if (!d.Lma.Routes.TryGetValue(p, out var via) || via != mag.Address)
                    violations.Add($"{who}: LMA route for {p} is {(d.Lma.Routes.TryGetValue(p, out var v) ? v.ToString() : "missing")}");
            }
            if (vm.HasIpv6 && (!vm.HasValidAddress(now) || !bce.HomeNetworkPrefixes.Contains(vm.Prefix!.Value)))
                violations.Add($"{who}: VM address prefix {vm.Prefix} valid until {vm.AddressValidUntil}, binding has {string.Join(",", bce.HomeNetworkPrefixes)}");
            if (d.Options.Service != IpService.Ipv6Only && d.Lma.Machine.Options.Ipv4HomeNetwork is not null)
            {
                // RFC 5844: the VM holds the entry's IPv4 home address, routed to its MAG, installed there.
                if (bce.Ipv4HomeAddress is not { } hoa)
                    violations.Add($"{who}: LMA binding has no IPv4 home address");
                else if (!d.Lma.Ipv4Routes.TryGetValue(hoa, out var via4) || via4 != mag.Address)
                    violations.Add($"{who}: LMA IPv4 route for {hoa} is {(d.Lma.Ipv4Routes.TryGetValue(hoa, out var v4) ? v4.ToString() : "missing")}");
                else if (vm.Ipv4Address != hoa || session.Ipv4?.HomeAddress != hoa)
                    violations.Add($"{who}: VM holds IPv4 {vm.Ipv4Address}, MAG session {session.Ipv4}, binding {hoa}");
            }
        }
        return violations;
    }

    /// <summary>The LMA's forwarding view (from its actions) equals what its binding cache says.</summary>
    public static List<string> CheckLmaForwardingMatchesCache(PmipDomain d)
    {
        var violations = new List<string>(d.Lma.Violations);
        if (d.Lma.IsDown) return violations;
        var lma = d.Lma.Machine;
        var expectedRoutes = new Dictionary<Ipv6Prefix, Ipv6Address>();
        var expectedIpv4 = new Dictionary<Ipv4Address, Ipv6Address>();
        var perMag = new Dictionary<Ipv6Address, int>();
        foreach (var b in lma.Bindings)
        {
            if (b.State != BindingCacheState.Active) continue;
            foreach (var p in b.HomeNetworkPrefixes) expectedRoutes[p] = b.ProxyCareOfAddress!.Value;
            if (b.Ipv4HomeAddress is { } hoa) expectedIpv4[hoa] = b.ProxyCareOfAddress!.Value;
            perMag[b.ProxyCareOfAddress!.Value] = perMag.GetValueOrDefault(b.ProxyCareOfAddress!.Value) + 1;
            // A pre-registered destination holds a tunnel reference too, and is every prefix's second MAG.
            if (b.TransientMag is { } t)
            {
                perMag[t] = perMag.GetValueOrDefault(t) + 1;
                foreach (var p in b.HomeNetworkPrefixes)
                    if (!d.Lma.Secondaries.TryGetValue(p, out var s) || s.Mag != t)
                        violations.Add($"LMA second MAG for {p} is {(d.Lma.Secondaries.TryGetValue(p, out var x) ? x.Mag.ToString() : "none")}, binding says {t}");
            }
        }
        int expectedSecondaries = lma.Bindings.Where(b => b.State == BindingCacheState.Active && b.TransientMag is not null).Sum(b => b.HomeNetworkPrefixes.Count);
        if (d.Lma.Secondaries.Count != expectedSecondaries)
            violations.Add($"LMA forwarding has {d.Lma.Secondaries.Count} second MAGs, the binding cache {expectedSecondaries}");
        if (expectedRoutes.Count != d.Lma.Routes.Count || expectedRoutes.Any(kv => !d.Lma.Routes.TryGetValue(kv.Key, out var m) || m != kv.Value))
            violations.Add($"LMA routes ({d.Lma.Routes.Count}) differ from active bindings ({expectedRoutes.Count})");
        if (expectedIpv4.Count != d.Lma.Ipv4Routes.Count || expectedIpv4.Any(kv => !d.Lma.Ipv4Routes.TryGetValue(kv.Key, out var m) || m != kv.Value))
            violations.Add($"LMA IPv4 routes ({d.Lma.Ipv4Routes.Count}) differ from active bindings' addresses ({expectedIpv4.Count})");
        if (lma.Ipv4HomeAddressesAllocated != lma.Bindings.Count(b => b.Ipv4HomeAddress is not null))
            violations.Add($"LMA IPv4 pool says {lma.Ipv4HomeAddressesAllocated} allocated, bindings hold {lma.Bindings.Count(b => b.Ipv4HomeAddress is not null)}");
        if (perMag.Count != d.Lma.Tunnels.Count || perMag.Keys.Any(m => !d.Lma.Tunnels.ContainsKey(m)))
            violations.Add($"LMA tunnels up ({d.Lma.Tunnels.Count}) differ from MAGs with active bindings ({perMag.Count})");
        foreach (var (mag, count) in perMag)
            if (lma.TunnelReferences(mag) != count) violations.Add($"tunnel to {mag}: {lma.TunnelReferences(mag)} references, {count} active bindings");
        if (lma.TunnelCount != perMag.Count) violations.Add($"LMA TunnelCount {lma.TunnelCount} ≠ {perMag.Count}");
        return violations;
    }

    /// <summary>No timer leaks: at most one timer per live object, and lazily deleted heap entries stay bounded.</summary>
    public static List<string> CheckTimerBounds(PmipDomain d)
    {
        var violations = new List<string>();
        foreach (var mag in d.Mags)
        {
            var m = mag.Machine;
            int live = m.SessionCount + m.BindingUpdateListCount + m.HeartbeatPeers + m.LocalizedRouteCount;
            if (m.PendingTimers > live) violations.Add($"{mag.Name}: {m.PendingTimers} timers for {live} sessions+entries+peers+direct routes");
            if (m.TimerHeapEntries > Math.Max(64, 2 * (m.PendingTimers - m.HeartbeatPeers)) + 1)
                violations.Add($"{mag.Name}: timer heap holds {m.TimerHeapEntries} entries for {m.PendingTimers} timers");
            if (m.PendingPolicyRequests > m.SessionCount) violations.Add($"{mag.Name}: {m.PendingPolicyRequests} policy requests for {m.SessionCount} sessions");
        }
        if (!d.Lma.IsDown)
        {
            var l = d.Lma.Machine;
            int live = l.BindingCacheCount + l.ParkedRegistrations + l.HeartbeatPeers + l.LocalizedRoutingSessionCount + l.LocalizedRoutingLegsInFlight;
            if (l.PendingTimers > live) violations.Add($"lma: {l.PendingTimers} timers for {live} entries+parked+peers+pairs+LRIs");
            if (l.TimerHeapEntries > Math.Max(64, 2 * (l.PendingTimers - l.HeartbeatPeers)) + 1)
                violations.Add($"lma: timer heap holds {l.TimerHeapEntries} entries for {l.PendingTimers} timers");
        }
        return violations;
    }

    /// <summary>
    /// Once nothing is in flight: every PBU sent was received or lost on the link, every PBU got exactly
    /// one PBA, every PBA that arrived at a MAG was either used or counted as dropped, and the LMA's
    /// created − removed entries equal its cache size. Only valid without an LMA restart (counters reset).
    /// </summary>
    public static List<string> CheckCountersAddUp(PmipDomain d)
    {
        var violations = new List<string>();
        var lma = d.Lma.Machine.Counters;
        long pbusTransmitted = 0, pbusLost = 0, pbusDuplicated = 0, pbasDelivered = 0, pbasAccountedAtMags = 0, pbasSent = 0, pbasLost = 0, pbasDup = 0;
        foreach (var mag in d.Mags)
        {
            var c = mag.Machine.Counters;
            pbusTransmitted += c.PbusSent.Total + c.PbusRetransmitted + c.SequenceResynchronisations;
            pbusLost += mag.Uplink.Counters.Dropped(MobilityHeaderType.BindingUpdate);
            pbusDuplicated += mag.Uplink.Counters.Duplicated(MobilityHeaderType.BindingUpdate);
            var down = d.Downlink(mag).Counters;
            pbasSent += down.Sent(MobilityHeaderType.BindingAcknowledgement);
            pbasLost += down.Dropped(MobilityHeaderType.BindingAcknowledgement);
            pbasDup += down.Duplicated(MobilityHeaderType.BindingAcknowledgement);
            pbasDelivered += down.Delivered(MobilityHeaderType.BindingAcknowledgement);
            pbasAccountedAtMags += c.PbasByStatus.Total + c.PbasDroppedUnknown + c.PbasDroppedStaleSequence
                + c.PbasDroppedTimestampMismatch + c.PbasDroppedMalformed;
            long sessionsStarted = c.SessionsStartedBy.Total;
            if (mag.Machine.SessionCount != sessionsStarted - c.Detaches.Total)
                violations.Add($"{mag.Name}: {sessionsStarted} sessions started − {c.Detaches.Total} detached ≠ {mag.Machine.SessionCount} live");
            if (c.PbusSent[RegistrationKind.Deregistration] < c.DeregistrationsAcknowledged + c.DeregistrationsTimedOut)
                violations.Add($"{mag.Name}: more de-registrations finished than started");
        }
        if (pbusTransmitted - pbusLost + pbusDuplicated != lma.PbusReceived)
            violations.Add($"PBUs: {pbusTransmitted} sent − {pbusLost} lost + {pbusDuplicated} duplicated ≠ {lma.PbusReceived} received by the LMA");
        var waiting = d.Lma.Machine.ParkedRegistrations + d.Lma.Machine.PbusAwaitingProfileNow;
        if (lma.PbusReceived != lma.PbasSentByStatus.Total + waiting)
            violations.Add($"LMA: {lma.PbusReceived} PBUs received ≠ {lma.PbasSentByStatus.Total} PBAs sent + {waiting} parked or waiting for a profile");
        if (pbasSent != lma.PbasSentByStatus.Total)
            violations.Add($"PBAs: {pbasSent} on the downlinks ≠ {lma.PbasSentByStatus.Total} sent by the LMA");
        if (pbasSent - pbasLost + pbasDup != pbasDelivered || pbasDelivered != pbasAccountedAtMags)
            violations.Add($"PBAs: {pbasSent} sent − {pbasLost} lost + {pbasDup} duplicated, {pbasDelivered} delivered, {pbasAccountedAtMags} accounted for by the MAGs");
        if (lma.BindingsCreated - lma.BindingsExpired - lma.BindingsDeletedAfterHoldDown != d.Lma.Machine.BindingCacheCount)
            violations.Add($"LMA: {lma.BindingsCreated} created − {lma.BindingsExpired} expired − {lma.BindingsDeletedAfterHoldDown} deleted ≠ {d.Lma.Machine.BindingCacheCount} entries");
        return violations;
    }

    /// <summary>
    /// RFC 6705 at any instant: the hosts' views saw no contradictory action, and every pair the LMA holds joins two
    /// bindings active at the very MAGs its legs name (the LMA re-points or ends pairs in the step that moves a binding).
    /// </summary>
    public static List<string> CheckLocalizedRouting(PmipDomain d)
    {
        var violations = new List<string>();
        foreach (var mag in d.Mags) violations.AddRange(mag.Violations);
        if (d.Lma.IsDown) return violations;
        var lma = d.Lma.Machine;
        foreach (var (local, localMag, remote, remoteMag, _) in lma.LocalizedRoutingLegs)
        {
            if (!lma.TryGetBinding(local, out var a) || a.State != BindingCacheState.Active || a.ProxyCareOfAddress != localMag)
                violations.Add($"LMA pair {local}@{localMag} – {remote}@{remoteMag}: {local}'s binding is {(lma.TryGetBinding(local, out var x) ? $"{x.State} at {x.ProxyCareOfAddress}" : "missing")}");
            if (!lma.TryGetBinding(remote, out var b) || b.State != BindingCacheState.Active || b.ProxyCareOfAddress != remoteMag)
                violations.Add($"LMA pair {local}@{localMag} – {remote}@{remoteMag}: {remote}'s binding is {(lma.TryGetBinding(remote, out var y) ? $"{y.State} at {y.ProxyCareOfAddress}" : "missing")}");
        }
        if (lma.LocalizedRoutingSessionCount > lma.Options.LocalizedRouting.MaxSessions)
            violations.Add($"LMA holds {lma.LocalizedRoutingSessionCount} pairs, above MaxSessions");
        return violations;
    }

    /// <summary>
    /// Once no LRI is in flight or unanswered: the direct routes the MAGs hold are exactly the legs the LMA has
    /// established (same VM, same MAG, same peer VM and MAG), and each MAG's forwarding view holds what its machine says.
    /// Empty (nothing checked) while signalling is still under way.
    /// </summary>
    public static List<string> CheckLocalizedRoutingSettled(PmipDomain d)
    {
        var violations = new List<string>();
        if (d.Lma.IsDown || d.Lma.Machine.LocalizedRoutingLegsInFlight > 0) return violations;
        if (d.Mags.Any(m => m.Uplink.MessagesInFlight > 0 || d.Downlink(m).MessagesInFlight > 0)) return violations;
        var atLma = d.Lma.Machine.LocalizedRoutingLegs.Where(l => l.Established).Select(l => (l.Local, l.LocalMag, l.Remote, l.RemoteMag)).ToHashSet();
        var atMags = new HashSet<(string, Ipv6Address, string, Ipv6Address)>();
        foreach (var mag in d.Mags)
        {
            foreach (var r in mag.Machine.LocalizedRoutes)
            {
                atMags.Add((r.LocalMobileNodeIdentifier, mag.Address, r.RemoteMobileNodeIdentifier, r.RemoteMag));
                if (!mag.DirectRoutes.TryGetValue(r.RouteId, out var view) || view.RemoteMag != r.RemoteMag || view.Port != r.Port)
                    violations.Add($"{mag.Name}: route {r.RouteId} ({r.LocalMobileNodeIdentifier} → {r.RemoteMobileNodeIdentifier} via {r.RemoteMag}) not installed as the machine says");
            }
            if (mag.DirectRoutes.Count != mag.Machine.LocalizedRouteCount)
                violations.Add($"{mag.Name}: {mag.DirectRoutes.Count} direct routes installed, the machine holds {mag.Machine.LocalizedRouteCount}");
        }
        foreach (var leg in atLma.Except(atMags)) violations.Add($"LMA leg {leg} established but not at the MAG");
        foreach (var route in atMags.Except(atLma)) violations.Add($"MAG route {route} that the LMA does not hold");
        return violations;
    }

    /// <summary>All of the above that hold at any instant.</summary>
    public static List<string> CheckAll(PmipDomain d, TimeSpan bound)
    {
        var v = CheckAttachedVmsServed(d, bound);
        v.AddRange(CheckLmaForwardingMatchesCache(d));
        v.AddRange(CheckTimerBounds(d));
        v.AddRange(CheckLocalizedRouting(d));
        return v;
    }
}
