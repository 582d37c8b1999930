using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// Unicast RAs that emulate the VM's home link.
public sealed partial class MobileAccessGateway
{
    /// <summary>Emit an RA for the session's binding and schedule the next periodic one; returns when it was sent.</summary>
    private Instant SendRouterAdvertisement(AccessSession s, RouterAdvertisementReason reason, Instant now)
    {
        var entry = s.Binding!;
        // Lifetimes never outlast the binding: if the MAG loses it, the VM stops using the prefix by itself.
        var remaining = entry.BindingExpiresAt - now;
        var valid = TimeSpan.FromSeconds(Math.Max(0, Math.Floor(remaining.TotalSeconds)));
        var preferred = valid < _options.PreferredLifetime ? valid : _options.PreferredLifetime;
        var routerLifetime = valid < _options.RouterLifetime ? valid : _options.RouterLifetime;
        _actions.Add(new MagAction.SendRouterAdvertisement(s.Port, s.Mac, s.VmLinkLocal ?? Ipv6Address.AllNodes,
            _options.SharedMacAddress, _options.SharedLinkLocalAddress, entry.HomeNetworkPrefixes,
            valid, preferred, routerLifetime, _options.AdvertisedMtu, reason));
        Counters.RouterAdvertisementsSent.Increment(reason);
        if (reason == RouterAdvertisementReason.Solicited) s.LastSolicitedRouterAdvertisementAt = now;

        // At least one RA must fall between a refresh and the old expiry, even when the LMA granted less
        // than we asked for (Validate checks the same for the requested lifetime).
        var interval = _random.NextTimeSpan(_options.MinRtrAdvInterval, _options.MaxRtrAdvInterval);
        var cap = entry.GrantedLifetime * ((1 - _options.RefreshFraction) / 2);
        if (cap > TimeSpan.Zero && interval > cap) interval = cap;
        s.NextRouterAdvertisementAt = now + interval;
        return now;
    }
}
