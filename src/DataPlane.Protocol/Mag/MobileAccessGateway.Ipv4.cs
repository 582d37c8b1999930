using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// RFC 5844 §3.2 at the MAG: the IPv4 Home Address Request in PBUs, the Reply in PBAs, the refusals that narrow
// a registration, and what DHCP tells the MAG (a request for an address, a release).
public sealed partial class MobileAccessGateway
{
    /// <summary>
    /// The Request a registration carries (§3.2.3.1, §3.2.3.3): the address this MAG already holds for the VM;
    /// else the profile's static one (unless 171 refused it: then ALL_ZERO); else ALL_ZERO. Null when IPv4 is not
    /// wanted (no IPv4 service, refused, or released by the VM).
    /// </summary>
    private static Ipv4HomeAddressRequestOption? Ipv4RequestFor(AccessSession s, BindingUpdateListEntry entry)
    {
        if (!s.Ipv4Wanted || s.Ipv4Released) return null;
        if (entry.Ipv4 is { } held) return new Ipv4HomeAddressRequestOption(held.PrefixLength, held.HomeAddress);
        if (!s.Ipv4AskAllZero && s.Profile?.Ipv4HomeAddress is { } fixedAddress) return new Ipv4HomeAddressRequestOption(s.Profile.Ipv4PrefixLength, fixedAddress);
        return Ipv4HomeAddressRequestOption.AllZero;
    }

    /// <summary>§3.2.3.3: refreshes, re-announcements and restart recovery carry exactly the assigned address, or none.</summary>
    private static Ipv4HomeAddressRequestOption? RegisteredIpv4Request(BindingUpdateListEntry entry) =>
        entry.Ipv4 is { } held ? new Ipv4HomeAddressRequestOption(held.PrefixLength, held.HomeAddress) : null;

    /// <summary>
    /// §3.2.3.2: what an accepting PBA grants for IPv4. IPv4 is enabled only with a Reply of status 0–127, its
    /// address, the Default-Router Address option, and DHCP Support Mode S = 1 (this MAG is only a DHCP server;
    /// S = 0 or no option asks for a relay). Anything else: null, IPv4 off for this session, and said so.
    /// </summary>
    private Ipv4Assignment? Ipv4FromAcknowledgement(BindingUpdateListEntry entry, BindingAcknowledgement pba)
    {
        Ipv4UnavailableReason? why = null;
        var reply = pba.Ipv4HomeAddressReply;
        if (reply is null) why = Ipv4UnavailableReason.NoReply;
        else if (!reply.IsSuccess || !reply.Address.IsUnicast || reply.PrefixLength > 32) why = Ipv4UnavailableReason.Refused;
        else if (pba.Ipv4DefaultRouterAddress is not { IsUnicast: true }) why = Ipv4UnavailableReason.NoDefaultRouter;
        else if (pba.Ipv4DhcpSupportMode is not { ServerMode: true }) why = Ipv4UnavailableReason.RelayModeNotSupported;
        if (why is { } reason)
        {
            if (entry.Session is { } s)
            {
                s.Ipv4Refused = true;
                s.Ipv4Wanted = false;
                Ipv4NotAvailable(s, entry, reason, reply?.Status);
            }
            return null;
        }
        if (entry.Ipv4 is null) Counters.Ipv4HomeAddressesAssigned++;
        return new Ipv4Assignment(reply!.Address, reply.PrefixLength, pba.Ipv4DefaultRouterAddress!.Value);
    }

    private void Ipv4NotAvailable(AccessSession s, BindingUpdateListEntry entry, Ipv4UnavailableReason reason, Ipv4HomeAddressReplyStatus? status)
    {
        Counters.Ipv4Unavailable.Increment(reason);
        _actions.Add(new MagAction.Ipv4Unavailable(s.Port, s.Mac, entry.MobileNodeIdentifier, reason, status));
    }

    /// <summary>
    /// §3.2.3.2 for a refused first registration: 170 → no IPv4 Request (until a new session), 171 → ALL_ZERO
    /// instead of the refused address, 172 → no HNP options. Sent again at once when something is left to ask
    /// for; false when not (the caller fails the session).
    /// </summary>
    private bool TryNarrowAfterRefusal(AccessSession s, BindingUpdateListEntry entry, PbuTransaction tx, BindingAckStatus status, Instant now)
    {
        switch (status)
        {
            case BindingAckStatus.NotAuthorizedForIpv4MobilityService when tx.Ipv4Request is not null:
                s.Ipv4Refused = true;
                s.Ipv4Wanted = false;
                Ipv4NotAvailable(s, entry, Ipv4UnavailableReason.NotAuthorized, null);
                if (!s.Ipv6Wanted) return false;
                break;
            case BindingAckStatus.NotAuthorizedForIpv4HomeAddress when tx.Ipv4Request is { IsAllZero: false }:
                s.Ipv4AskAllZero = true;
                break;
            case BindingAckStatus.NotAuthorizedForIpv6MobilityService when tx.Prefixes.Length > 0:
                s.Ipv6Refused = true;
                s.Ipv6Wanted = false;
                if (!s.Ipv4Wanted) return false;
                break;
            default:
                return false;
        }
        Counters.RegistrationsNarrowed++;
        StartTransaction(entry, RegistrationKind.Initial, tx.HandoffIndicator, s.Ipv6Wanted ? tx.Prefixes : [], Ipv4RequestFor(s, entry),
            tx.Lifetime, now);
        Reschedule(s);
        return true;
    }

    private void OnIpv4AddressRequested(MagEvent.Ipv4AddressRequested e, Instant now)
    {
        if (!_sessions.TryGetValue(e.Port, out var s) || s.State != SessionState.Established)
        {
            Counters.Ipv4RequestsIgnored++;
            return;
        }
        RequestIpv4(s, now);
    }

    /// <summary>
    /// An established session without an IPv4 address, and the VM asks DHCP for one: a re-registration with the
    /// current HNPs and a Request (§3.2.3.3, second bullet), if IPv4 is the VM's and not refused, and nothing is in flight.
    /// </summary>
    private void RequestIpv4(AccessSession s, Instant now)
    {
        var entry = s.Binding!;
        if (entry.Ipv4 is not null || s.Profile is not { Ipv4Service: true } || s.Ipv4Refused)
        {
            Counters.Ipv4RequestsIgnored++;
            return;
        }
        if (entry.Transaction is not null)
        {
            // A refresh or a release is in flight: one PBU at a time, this one follows its answer.
            s.Ipv4RequestPending = true;
            return;
        }
        s.Ipv4RequestPending = false;
        s.Ipv4Released = false;
        s.Ipv4Wanted = true;
        StartTransaction(entry, RegistrationKind.Ipv4Request, HandoffIndicator.HandoffStateNotChanged, entry.HomeNetworkPrefixes,
            Ipv4RequestFor(s, entry), _options.BindingLifetime, now);
    }

    /// <summary>An IPv4 request the VM made while another PBU was in flight goes now that it is answered.</summary>
    private void RequestIpv4IfPending(BindingUpdateListEntry entry, Instant now)
    {
        if (entry.Transaction is null && entry.Session is { Ipv4RequestPending: true, State: SessionState.Established } s)
            RequestIpv4(s, now);
    }

    /// <summary>
    /// DHCPRELEASE (§3.4.3): de-register the IPv4 home address only — a PBU with lifetime 0 and only the Request
    /// (§3.2.3.3) — and stop forwarding it now. An IPv4-only VM has nothing else: its session ends (de-registering).
    /// </summary>
    private void OnIpv4AddressReleased(MagEvent.Ipv4AddressReleased e, Instant now)
    {
        if (!_sessions.TryGetValue(e.Port, out var s) || s.State != SessionState.Established || s.Binding is not { Ipv4: { } held } entry)
        {
            Counters.Ipv4RequestsIgnored++;
            return;
        }
        Counters.Ipv4Releases++;
        if (entry.HomeNetworkPrefixes.Length == 0)
        {
            Detach(s, DetachReason.AddressReleased, now);
            return;
        }
        s.Ipv4Released = true;
        entry.Ipv4 = null;
        Install(s, entry);
        // A refresh in flight is replaced: its late PBA no longer matches, and the refresh is due again once this is answered.
        StartTransaction(entry, RegistrationKind.Ipv4Release, HandoffIndicator.HandoffStateNotChanged, [],
            new Ipv4HomeAddressRequestOption(held.PrefixLength, held.HomeAddress), TimeSpan.Zero, now);
    }
}
