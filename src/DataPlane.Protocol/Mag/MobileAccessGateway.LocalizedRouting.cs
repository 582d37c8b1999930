using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// RFC 6705, the MAG's side of LMA-initiated localized routing: LRIs set up, refresh, re-point and end direct routes
// for the VMs attached here; every one is answered with an LRA. The LMA alone decides; the MAG only checks that the
// VM the LRI names is really attached here and registered with the LRI's sender, and falls back to the LMA path
// (removes its direct routes) whenever it doubts the LMA's word: the LMA unreachable or restarted, or the VM's
// session gone.
public sealed partial class MobileAccessGateway
{
    private readonly Dictionary<long, LocalizedRoute> _localizedRoutes = [];
    private long _lastLocalizedRouteId;

    /// <summary>Direct routes installed now.</summary>
    public int LocalizedRouteCount => _localizedRoutes.Count;

    public IEnumerable<LocalizedRouteView> LocalizedRoutes => _localizedRoutes.Values.Select(r => new LocalizedRouteView(
        r.Id, r.Session.Port, r.LocalMobileNodeIdentifier, r.Remote.MobileNodeIdentifier, r.Remote.HomeNetworkPrefixes, r.RemoteMag,
        r.LocalMobilityAnchor, r.Egress, r.ExpiresAt, r.LastUsedAt, r.Remote.Ipv4HomeAddress));

    private void OnLocalizedRoutingInitiation(Ipv6Address source, LocalizedRoutingInitiation lri, Instant now)
    {
        Counters.LrisReceived++;
        if (!LocalizedRoutingMessages.TryRead(lri.Options, out var local, out var remote, out var remoteMag))
        {
            Counters.LrisMalformed++;
            return;
        }
        _bindingUpdateList.TryGetValue(local!.MobileNodeIdentifier, out var entry);
        if (entry is not null && entry.LocalMobilityAnchor != source)
        {
            // Only the VM's own LMA may steer its traffic (the ESP policy has authenticated the sender as one of our LMAs).
            Counters.LrisFromOtherLma++;
            AnswerLri(source, lri, LocalizedRoutingStatus.MobileNodeNotAttached, 0, local, remote);
            return;
        }
        var session = entry?.Session;
        var route = remote is null ? null : session?.LocalizedRoutes?.GetValueOrDefault(remote.MobileNodeIdentifier);
        if (lri.IsTermination)
        {
            // Answered 0 even when there is nothing to end, so the LMA can finish its teardown.
            if (route is not null) EndLocalizedRoute(route, LocalizedRouteEnd.Terminated);
            AnswerLri(source, lri, LocalizedRoutingStatus.Success, 0, local, remote);
            return;
        }
        bool attached = session is { State: SessionState.Established, Installed: true }
                        && local.HomeNetworkPrefixes.All(entry!.HomeNetworkPrefixes.Contains)
                        && (local.Ipv4HomeAddress is not { } localV4 || entry.Ipv4?.HomeAddress == localV4);
        if (!attached)
        {
            if (route is not null) EndLocalizedRoute(route, LocalizedRouteEnd.Terminated);
            AnswerLri(source, lri, LocalizedRoutingStatus.MobileNodeNotAttached, 0, local, remote);
            return;
        }
        if (!_options.LocalizedRouting || remote is null || remoteMag is not { } mag || !IsUsablePeer(mag)
            || remote.MobileNodeIdentifier == local.MobileNodeIdentifier
            || remote.HomeNetworkPrefixes.Any(p => entry!.HomeNetworkPrefixes.Any(q => q.Contains(p.Address) || p.Contains(q.Address)))
            || (remote.Ipv4HomeAddress is { } remoteV4 && entry!.Ipv4?.HomeAddress == remoteV4)
            || (route is null && _localizedRoutes.Count >= _options.MaxLocalizedRoutes))
        {
            if (route is not null) EndLocalizedRoute(route, LocalizedRouteEnd.Terminated);
            AnswerLri(source, lri, LocalizedRoutingStatus.LocalizedRoutingNotAllowed, 0, local, remote);
            return;
        }
        if (route is not null && route.RemoteMag == mag && route.Egress && route.IsIdle(now))
        {
            // A refresh of a pair nobody uses: decline it (RFC 6705 lets the LRA grant less than asked, here nothing).
            EndLocalizedRoute(route, LocalizedRouteEnd.Idle);
            AnswerLri(source, lri, LocalizedRoutingStatus.Success, 0, local, remote);
            return;
        }
        var lifetime = lri.LifetimeSpan < _options.MaxLocalizedRoutingLifetime ? lri.LifetimeSpan : _options.MaxLocalizedRoutingLifetime;
        ushort granted = LocalizedRoutingLifetime.FromSpan(lifetime);
        if (granted == 0) granted = 1;
        if (route is null)
        {
            // New: accept the other MAG's packets; ours still go through the LMA until the LMA confirms.
            route = new LocalizedRoute(++_lastLocalizedRouteId, session!, local.MobileNodeIdentifier, remote, mag, source)
            {
                Sequence = lri.Sequence,
            };
            (session!.LocalizedRoutes ??= new(StringComparer.Ordinal)).Add(remote.MobileNodeIdentifier, route);
            _localizedRoutes.Add(route.Id, route);
            Counters.LocalizedRoutesInstalled++;
            InstallRoute(route);
        }
        else if (route.RemoteMag != mag || !route.Remote.Equals(remote))
        {
            // The other VM moved (or its prefixes changed): the same pair, pointed at its new MAG, which has to be
            // ready for our packets before we send them there: back to accepting only, through the LMA meanwhile.
            route.RemoteMag = mag;
            route.Remote = remote;
            route.Egress = false;
            route.Sequence = lri.Sequence;
            Counters.LocalizedRoutesRepointed++;
            InstallRoute(route);
        }
        else if (!route.Egress && lri.Sequence != route.Sequence)
        {
            // A new LRI for the same pair: the LMA confirms that the other MAG takes our packets.
            route.Egress = true;
            Counters.LocalizedRoutesConfirmed++;
            InstallRoute(route);
        }
        else
        {
            Counters.LocalizedRoutesRefreshed++;
        }
        route.GrantedAt = now;
        route.GrantedLifetime = TimeSpan.FromSeconds(granted);
        route.ExpiresAt = now + route.GrantedLifetime;
        _timers.Set(route, route.ExpiresAt);
        AnswerLri(source, lri, LocalizedRoutingStatus.Success, granted, local, remote);
    }

    private bool IsUsablePeer(Ipv6Address mag) =>
        mag.IsUnicast && !mag.IsLinkLocal && mag != Ipv6Address.Loopback && mag != _options.ProxyCareOfAddress;

    private void InstallRoute(LocalizedRoute route) =>
        _actions.Add(new MagAction.InstallLocalizedRoute(route.Id, route.Session.Port, route.Session.Mac, route.Remote.HomeNetworkPrefixes,
            route.RemoteMag, route.Egress, route.Remote.Ipv4HomeAddress));

    private void AnswerLri(Ipv6Address lma, LocalizedRoutingInitiation lri, LocalizedRoutingStatus status, ushort lifetime,
        LocalizedRoutingParty local, LocalizedRoutingParty? remote)
    {
        Counters.LrasSent.Increment(status);
        var lra = LocalizedRoutingMessages.Acknowledgement(lri.Sequence, unsolicited: false, status, lifetime, local, remote);
        _actions.Add(new MagAction.SendMobilityMessage(_options.ProxyCareOfAddress, lma, lra));
    }

    private void OnLocalizedRouteUsed(MagEvent.LocalizedRouteUsed e, Instant now)
    {
        if (_localizedRoutes.TryGetValue(e.RouteId, out var route)) route.LastUsedAt = now;
    }

    private void OnLocalizedRouteTimer(LocalizedRoute route, Instant now)
    {
        if (now >= route.ExpiresAt) EndLocalizedRoute(route, LocalizedRouteEnd.Expired);
        else _timers.Set(route, route.ExpiresAt);
    }

    private void EndLocalizedRoute(LocalizedRoute route, LocalizedRouteEnd reason)
    {
        if (!_localizedRoutes.Remove(route.Id)) return;
        route.Session.LocalizedRoutes?.Remove(route.Remote.MobileNodeIdentifier);
        _timers.Cancel(route);
        Counters.LocalizedRoutesEnded.Increment(reason);
        _actions.Add(new MagAction.RemoveLocalizedRoute(route.Id, route.Session.Port, reason));
    }

    /// <summary>The session's VM is no longer served here: its direct routes go first (before RemoveSession).</summary>
    private void EndLocalizedRoutes(AccessSession s, LocalizedRouteEnd reason)
    {
        if (s.LocalizedRoutes is not { Count: > 0 } routes) return;
        foreach (var route in routes.Values.ToArray()) EndLocalizedRoute(route, reason);
    }

    /// <summary>In doubt about an LMA (unreachable, restarted): every direct route it set up goes, its traffic back to it.</summary>
    private void EndLocalizedRoutesOf(Ipv6Address lma, LocalizedRouteEnd reason)
    {
        if (_localizedRoutes.Count == 0) return;
        foreach (var route in _localizedRoutes.Values.Where(r => r.LocalMobilityAnchor == lma).ToArray()) EndLocalizedRoute(route, reason);
    }
}
