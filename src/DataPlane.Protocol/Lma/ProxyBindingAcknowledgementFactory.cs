using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>Builds PBAs as RFC 5213 §5.3.6 says: the PBU's identifying options copied, P flag set.</summary>
internal static class ProxyBindingAcknowledgementFactory
{
    public static BindingAcknowledgement Create(BindingUpdate pbu, BindingAckStatus status, IReadOnlyList<Ipv6Prefix>? assignedPrefixes,
        TimeSpan lifetime, PmipTimestamp? lmaTime, ushort? sequence = null)
    {
        var options = new List<MobilityOption>(8);
        // Accepted: the prefixes actually assigned. Otherwise: what was asked for.
        if (assignedPrefixes is not null) foreach (var p in assignedPrefixes) options.Add(new HomeNetworkPrefixOption(p));
        else foreach (var p in pbu.HomeNetworkPrefixes) options.Add(new HomeNetworkPrefixOption(p));
        if (pbu.HandoffIndicator is { } hi) options.Add(new HandoffIndicatorOption(hi));
        if (pbu.AccessTechnologyType is { } att) options.Add(new AccessTechnologyTypeOption(att));
        // The timestamp is echoed, except with 156 where the LMA's own clock tells the MAG how far off it is.
        if (status == BindingAckStatus.TimestampMismatch && lmaTime is { } now) options.Add(new TimestampOption(now));
        else if (pbu.Timestamp is { } ts) options.Add(new TimestampOption(ts));
        if (pbu.MobileNodeLinkLayerIdentifier is { } ll) options.Add(ll);
        if (pbu.LinkLocalAddress is { } lla) options.Add(new LinkLocalAddressOption(lla));
        if (pbu.MobileNodeIdentifier is { } id) options.Add(id);
        return new BindingAcknowledgement(status, BindingAckFlags.ProxyRegistration, sequence ?? pbu.Sequence,
            PmipDefaults.ToLifetimeUnits(lifetime))
        {
            Options = new MobilityOptionList(options),
        };
    }
}
