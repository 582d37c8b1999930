using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>Builds the PBU records the MAG sends (RFC 5213 §6.9.1.1, §8.1).</summary>
internal static class ProxyBindingUpdateFactory
{
    private const BindingUpdateFlags ProxyFlags =
        BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration;

    public static BindingUpdate Create(ushort sequence, TimeSpan lifetime, IReadOnlyList<Ipv6Prefix> prefixes,
        HandoffIndicator handoffIndicator, PmipTimestamp? timestamp, MacAddress mac, Ipv6Address magLinkLocal, string mobileNodeIdentifier)
    {
        var options = new List<MobilityOption>(prefixes.Count + 6);
        foreach (var p in prefixes) options.Add(new HomeNetworkPrefixOption(p));
        options.Add(new HandoffIndicatorOption(handoffIndicator));
        options.Add(new AccessTechnologyTypeOption(AccessTechnologyType.Virtual));
        if (timestamp is { } ts) options.Add(new TimestampOption(ts));
        options.Add(MobileNodeLinkLayerIdentifierOption.ForMac(mac));
        options.Add(new LinkLocalAddressOption(magLinkLocal));
        options.Add(MobileNodeIdentifierOption.ForNai(mobileNodeIdentifier));
        return new BindingUpdate(sequence, ProxyFlags, PmipDefaults.ToLifetimeUnits(lifetime))
        {
            Options = new MobilityOptionList(options),
        };
    }
}
