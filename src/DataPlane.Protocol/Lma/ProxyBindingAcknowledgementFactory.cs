using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// Builds PBAs as RFC 5213 §5.3.6 says (the PBU's identifying options copied, P flag set) with RFC 5844
/// §3.1.2.6's additions: the IPv4 Home Address Reply whenever the PBU asked for IPv4, the IPv4 Default-Router
/// Address and DHCP Support Mode options only when accepting, and no HNP option when the PBU carried none.
/// </summary>
internal static class ProxyBindingAcknowledgementFactory
{
    /// <param name="assignedPrefixes">Accepted: the prefixes of the entry. Null: those the PBU asked for (rejections).</param>
    /// <param name="ipv4">Accepted: what the entry holds for IPv4 (null: none). Ignored when the PBU carried no Request.</param>
    /// <param name="ipv4ReplyStatus">Rejections: the Reply's own status; null maps the PBA status (<see cref="ReplyStatusFor"/>).</param>
    public static BindingAcknowledgement Create(BindingUpdate pbu, BindingAckStatus status, IReadOnlyList<Ipv6Prefix>? assignedPrefixes,
        TimeSpan lifetime, PmipTimestamp? lmaTime, ushort? sequence = null, Ipv4Binding? ipv4 = null,
        Ipv4HomeAddressReplyStatus? ipv4ReplyStatus = null, bool dhcpServerMode = true)
    {
        var options = new List<MobilityOption>(11);
        // §3.1.2.6: a PBU with only the IPv4 Request is answered without any HNP option.
        if (pbu.HomeNetworkPrefixes.Any())
        {
            // Accepted: the prefixes actually assigned. Otherwise: what was asked for.
            if (assignedPrefixes is not null) foreach (var p in assignedPrefixes) options.Add(new HomeNetworkPrefixOption(p));
            else foreach (var p in pbu.HomeNetworkPrefixes) options.Add(new HomeNetworkPrefixOption(p));
        }
        if (pbu.HandoffIndicator is { } hi) options.Add(new HandoffIndicatorOption(hi));
        if (pbu.AccessTechnologyType is { } att) options.Add(new AccessTechnologyTypeOption(att));
        // The timestamp is echoed, except with 156 where the LMA's own clock tells the MAG how far off it is.
        if (status == BindingAckStatus.TimestampMismatch && lmaTime is { } now) options.Add(new TimestampOption(now));
        else if (pbu.Timestamp is { } ts) options.Add(new TimestampOption(ts));
        if (pbu.MobileNodeLinkLayerIdentifier is { } ll) options.Add(ll);
        if (pbu.LinkLocalAddress is { } lla) options.Add(new LinkLocalAddressOption(lla));
        if (pbu.MobileNodeIdentifier is { } id) options.Add(id);
        if (pbu.Ipv4HomeAddressRequest is { } request)
        {
            bool accepted = (byte)status < 128;
            if (!accepted)
            {
                // §3.1.2.6 (1): the request's address and prefix length, with the specific error.
                options.Add(new Ipv4HomeAddressReplyOption(ipv4ReplyStatus ?? ReplyStatusFor(status), request.PrefixLength, request.Address));
            }
            else if (ipv4 is { } v4)
            {
                // §3.1.2.6 (2): the assigned address and the home network's prefix length, status 0; the DRA iff status 0.
                options.Add(new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, v4.PrefixLength, v4.HomeAddress));
                options.Add(new Ipv4DefaultRouterAddressOption(v4.DefaultRouter));
                options.Add(new Ipv4DhcpSupportModeOption(dhcpServerMode));
            }
            else
            {
                // Accepted without an address: a de-registration of a session that had none. The Reply must
                // still be there (§3.1.2.6); echoing the request with success is all there is to say.
                options.Add(new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, request.PrefixLength, request.Address));
            }
        }
        return new BindingAcknowledgement(status, BindingAckFlags.ProxyRegistration, sequence ?? pbu.Sequence,
            PmipDefaults.ToLifetimeUnits(lifetime))
        {
            Options = new MobilityOptionList(options),
        };
    }

    /// <summary>
    /// The Reply status for a refused PBU when the refusal has no IPv4 reason of its own: §3.1.2.2 pairs 171 with
    /// 129 (administratively prohibited) and 130 (insufficient resources) with 128; 170 is a prohibition too; any
    /// other refusal is "failure, reason unspecified".
    /// </summary>
    public static Ipv4HomeAddressReplyStatus ReplyStatusFor(BindingAckStatus status) => status switch
    {
        BindingAckStatus.NotAuthorizedForIpv4HomeAddress or BindingAckStatus.NotAuthorizedForIpv4MobilityService
            => Ipv4HomeAddressReplyStatus.AdministrativelyProhibited,
        _ => Ipv4HomeAddressReplyStatus.FailureReasonUnspecified,
    };
}

/// <summary>An entry's IPv4 state as a PBA reports it.</summary>
internal readonly record struct Ipv4Binding(Ipv4Address HomeAddress, byte PrefixLength, Ipv4Address DefaultRouter)
{
    public static Ipv4Binding? Of(BindingCacheEntry e) =>
        e.Ipv4HomeAddress is { } a ? new Ipv4Binding(a, e.Ipv4PrefixLength, e.Ipv4DefaultRouter) : null;
}
