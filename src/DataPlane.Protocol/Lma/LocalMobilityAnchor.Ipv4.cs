using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// RFC 5844 §3.1: IPv4 home addresses in the binding cache — authorisation, allocation, release, and the
// changes of an entry's address families (extensions, selective de-registrations, releases after handoff).
public sealed partial class LocalMobilityAnchor
{
    /// <summary>IPv4 home addresses bound now (dynamic and static).</summary>
    public int Ipv4HomeAddressesAllocated => _ipv4Pool?.Allocated ?? 0;

    /// <summary>The IPv4 pool's state, for a copy elsewhere (issue 19's store) and for tests; null without an IPv4 home network.</summary>
    public Ipv4HomeAddressPool? Ipv4Pool => _ipv4Pool;

    public bool TryGetBindingByIpv4HomeAddress(Ipv4Address address, out BindingCacheView view)
    {
        var e = _cache.FindByIpv4HomeAddress(address);
        view = e is null ? default : ToView(e);
        return e is not null;
    }

    /// <summary>
    /// §3.1.2.1's checks that need the profile, after 5213's: 172 for HNPs without IPv6 service, 170 for a Request
    /// without IPv4 service (or no IPv4 home network here, or a profile address not anchored in it), 173 for more
    /// than one Request. False when a reply was sent.
    /// </summary>
    private bool CheckAddressFamilies(Ipv6Address source, BindingUpdate pbu, LmaMobileNodeProfile profile, Instant now)
    {
        if (pbu.HomeNetworkPrefixes.Any() && !profile.Ipv6Service)
        {
            Reply(source, pbu, BindingAckStatus.NotAuthorizedForIpv6MobilityService, now);
            return false;
        }
        if (pbu.Ipv4HomeAddressRequest is not null
            && (!profile.Ipv4Service || _options.Ipv4HomeNetwork is not { } network
                || (profile.Ipv4HomeAddress is { } fixedAddress && !network.IsAssignable(fixedAddress))))
        {
            Counters.Ipv4Refusals++;
            Reply(source, pbu, BindingAckStatus.NotAuthorizedForIpv4MobilityService, now);
            return false;
        }
        if (pbu.Ipv4HomeAddressRequestCount > 1)
        {
            Counters.Ipv4Refusals++;
            Reply(source, pbu, BindingAckStatus.MultipleIpv4HomeAddressAssignmentNotSupported, now);
            return false;
        }
        return true;
    }

    /// <summary>
    /// §3.1.2.2: a NON_ZERO requested address must be anchored here (a host of the IPv4 home network, not its
    /// router) and the node's: its profile's static address, or a pool address that is free (what a MAG asks
    /// for again after an LMA restart) or already its own. The Reply status says why not.
    /// </summary>
    private bool IsAuthorizedIpv4(string mnId, LmaMobileNodeProfile profile, Ipv4Address address, out Ipv4HomeAddressReplyStatus why)
    {
        var network = _options.Ipv4HomeNetwork!;
        why = Ipv4HomeAddressReplyStatus.AdministrativelyProhibited;
        if (!address.IsUnicast || address == network.Subnet.Address || address == network.Subnet.Broadcast)
        {
            why = Ipv4HomeAddressReplyStatus.InvalidIpv4Address;
            return false;
        }
        if (!network.IsAssignable(address)) return false;
        if (profile.Ipv4HomeAddress is { } fixedAddress) return address == fixedAddress && IsFreeOrOwn(mnId, address);
        return !_policy.IsReservedIpv4HomeAddress(address) && IsFreeOrOwn(mnId, address);
    }

    private bool IsFreeOrOwn(string mnId, Ipv4Address address) => _cache.FindByIpv4HomeAddress(address) is { } owner
        ? owner.MobileNodeIdentifier == mnId
        : _ipv4Pool!.IsFree(address);

    /// <summary>
    /// §3.1.2.2: allocate the session's IPv4 home address — the requested one (already authorised), else the
    /// profile's, else one from the pool. False with the PBA and Reply statuses to refuse with: 171/129 for a
    /// requested address someone else took meanwhile, 130/128 when nothing can be had.
    /// </summary>
    private bool TryAllocateIpv4(string mnId, LmaMobileNodeProfile profile, Ipv4HomeAddressRequestOption request, out Ipv4Address address,
        out BindingAckStatus refusal)
    {
        var pool = _ipv4Pool!;
        refusal = BindingAckStatus.Accepted;
        if (!request.IsAllZero)
        {
            address = request.Address;
            if (pool.TryClaim(address)) return true;
            refusal = BindingAckStatus.NotAuthorizedForIpv4HomeAddress;
            return false;
        }
        if (profile.Ipv4HomeAddress is { } fixedAddress)
        {
            address = fixedAddress;
            if (pool.TryClaim(address)) return true;
        }
        else if (pool.TryAllocate(mnId, _isReservedIpv4, out address))
        {
            return true;
        }
        refusal = BindingAckStatus.InsufficientResources;
        return false;
    }

    private void SetIpv4(BindingCacheEntry entry, Ipv4Address address)
    {
        var network = _options.Ipv4HomeNetwork!;
        _cache.SetIpv4HomeAddress(entry, address, network.Subnet.Length, network.DefaultRouter);
        Counters.Ipv4HomeAddressesAssigned++;
    }

    /// <summary>Take the entry's IPv4 home address away: host route, pool slot, cache index.</summary>
    private void ReleaseIpv4(BindingCacheEntry entry)
    {
        if (entry.Ipv4HomeAddress is not { } address) return;
        if (entry.State == BindingCacheState.Active) _actions.Add(new LmaAction.Ipv4RouteRemove(address));
        _ipv4Pool?.Release(address);
        _cache.SetIpv4HomeAddress(entry, null, 0, default);
    }

    /// <summary>Take the entry's prefixes away: routes, pool prefixes, cache index.</summary>
    private void ReleasePrefixes(BindingCacheEntry entry)
    {
        if (entry.HomeNetworkPrefixes.Length == 0) return;
        if (entry.State == BindingCacheState.Active) foreach (var p in entry.HomeNetworkPrefixes) _actions.Add(new LmaAction.RouteRemove(p));
        if (entry.PrefixesFromPool) foreach (var p in entry.HomeNetworkPrefixes) _pool!.Release(p);
        _cache.SetPrefixes(entry, [], fromPool: false);
    }

    /// <summary>
    /// Bring an existing entry's address families in line with a registration PBU from <paramref name="source"/>:
    /// <list type="bullet">
    /// <item>a family the PBU asks for and the entry lacks is added (§3.1.2.1's last bullet: "extending an IPv4
    ///   home address mobility support to the existing IPv6-only mobility session" applies §3.1.2.2; the IPv6
    ///   counterpart likewise);</item>
    /// <item>a family the entry has and the PBU does not ask for is released (§3.1.2.4: the PBU is taken as a
    ///   lifetime extension for the other family only).</item>
    /// </list>
    /// Routes of added addresses are installed here when the entry already points at <paramref name="source"/>
    /// (otherwise <see cref="Activate"/> installs all of them). False when a reply (a refusal) was sent.
    /// </summary>
    private bool AlignAddressFamilies(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, LmaMobileNodeProfile profile,
        ref BindingChange? change, Instant now)
    {
        bool wantsIpv6 = pbu.HomeNetworkPrefixes.Any();
        var request = pbu.Ipv4HomeAddressRequest;
        bool routesHere = entry.State == BindingCacheState.Active && entry.ProxyCareOfAddress == source;
        bool changed = false;
        Ipv6Prefix[] addedPrefixes = [];
        if (wantsIpv6 && entry.HomeNetworkPrefixes.Length == 0)
        {
            var nonZero = pbu.HomeNetworkPrefixes.Where(p => !p.IsUnspecified).ToArray();
            if (!TryAssignPrefixes(entry.MobileNodeIdentifier, profile, nonZero, out addedPrefixes, out bool fromPool))
            {
                Reply(source, pbu, BindingAckStatus.InsufficientResources, now);
                return false;
            }
            _cache.SetPrefixes(entry, addedPrefixes, fromPool);
            Counters.Ipv6Extensions++;
            changed = true;
        }
        if (request is not null && entry.Ipv4HomeAddress is null)
        {
            if (!TryAllocateIpv4(entry.MobileNodeIdentifier, profile, request, out var address, out var refusal))
            {
                if (addedPrefixes.Length > 0) ReleasePrefixes(entry); // not installed yet: nothing routed
                Counters.Ipv4Refusals++;
                Reply(source, pbu, refusal, now);
                return false;
            }
            SetIpv4(entry, address);
            Counters.Ipv4Extensions++;
            changed = true;
            if (routesHere) _actions.Add(new LmaAction.Ipv4RouteAdd(address, source));
        }
        if (routesHere) foreach (var p in addedPrefixes) _actions.Add(new LmaAction.RouteAdd(p, source));
        if (!wantsIpv6 && entry.HomeNetworkPrefixes.Length > 0)
        {
            ReleasePrefixes(entry);
            Counters.FamiliesReleasedByOmission++;
            changed = true;
        }
        if (request is null && entry.Ipv4HomeAddress is not null)
        {
            ReleaseIpv4(entry);
            Counters.FamiliesReleasedByOmission++;
            changed = true;
        }
        if (changed)
        {
            change ??= BindingChange.AddressesChanged;
            OnBindingAddressesChanged(entry, now);
        }
        return true;
    }

    /// <summary>
    /// §3.1.2.5: a de-registration that names one family of an entry that has both — only the Request (IPv4), or
    /// only HNPs (IPv6) — removes that family's state and keeps the entry. True when it was one (answered).
    /// </summary>
    private bool TrySelectiveDeregistration(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, Instant now)
    {
        bool ipv4Only = pbu.Ipv4HomeAddressRequest is not null && !pbu.HomeNetworkPrefixes.Any();
        bool ipv6Only = pbu.Ipv4HomeAddressRequest is null && pbu.HomeNetworkPrefixes.Any();
        if (ipv4Only && entry.HomeNetworkPrefixes.Length > 0)
        {
            var released = entry.Ipv4HomeAddress;
            ReleaseIpv4(entry);
            OnBindingAddressesChanged(entry, now);
            Counters.Ipv4SelectiveDeregistrations++;
            AnswerSelective(source, pbu, entry, [], released, now);
            return true;
        }
        if (ipv6Only && entry.Ipv4HomeAddress is not null)
        {
            var prefixes = entry.HomeNetworkPrefixes;
            ReleasePrefixes(entry);
            OnBindingAddressesChanged(entry, now);
            Counters.Ipv6SelectiveDeregistrations++;
            AnswerSelective(source, pbu, entry, prefixes, null, now);
            return true;
        }
        return false;
    }

    /// <summary>A PBA for a selective de-registration: status 0, lifetime 0, naming what was released.</summary>
    private void AnswerSelective(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, Ipv6Prefix[] releasedPrefixes,
        Ipv4Address? releasedIpv4, Instant now)
    {
        RecordAccepted(source, pbu, entry);
        var network = _options.Ipv4HomeNetwork;
        var ipv4 = releasedIpv4 is { } a && network is not null ? new Ipv4Binding(a, network.Subnet.Length, network.DefaultRouter) : (Ipv4Binding?)null;
        // The entry lost an address family: a change for the store (issue 19), whose PBA may wait for the write.
        Persist(entry);
        Acknowledge(entry, source, ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, releasedPrefixes, TimeSpan.Zero, null,
            ipv4: ipv4, dhcpServerMode: DhcpServerMode), BindingAckStatus.Accepted);
        _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.AddressesChanged, entry.ProxyCareOfAddress,
            entry.HomeNetworkPrefixes, entry.Ipv4HomeAddress));
    }

    private bool DhcpServerMode => _options.Ipv4HomeNetwork?.DhcpServerMode ?? true;
}
