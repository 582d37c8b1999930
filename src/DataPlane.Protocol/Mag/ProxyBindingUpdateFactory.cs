using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>Builds the PBU records the MAG sends (RFC 5213 §6.9.1.1, §8.1).</summary>
internal static class ProxyBindingUpdateFactory
{
    private const BindingUpdateFlags ProxyFlags =
        BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration;

    /// <param name="ipv4Request">RFC 5844 §3.2.3.1/§3.2.3.3: exactly one IPv4 Home Address Request, or null.</param>
    public static BindingUpdate Create(ushort sequence, TimeSpan lifetime, IReadOnlyList<Ipv6Prefix> prefixes,
        HandoffIndicator handoffIndicator, PmipTimestamp? timestamp, MacAddress mac, Ipv6Address magLinkLocal, string mobileNodeIdentifier,
        Ipv4HomeAddressRequestOption? ipv4Request = null, TransientBindingOption? transient = null)
    {
        var options = new List<MobilityOption>(prefixes.Count + 7);
        foreach (var p in prefixes) options.Add(new HomeNetworkPrefixOption(p));
        if (ipv4Request is not null) options.Add(ipv4Request);
        options.Add(new HandoffIndicatorOption(handoffIndicator));
        options.Add(new AccessTechnologyTypeOption(AccessTechnologyType.Virtual));
        if (timestamp is { } ts) options.Add(new TimestampOption(ts));
        options.Add(MobileNodeLinkLayerIdentifierOption.ForMac(mac));
        options.Add(new LinkLocalAddressOption(magLinkLocal));
        options.Add(MobileNodeIdentifierOption.ForNai(mobileNodeIdentifier));
        if (transient is not null) options.Add(transient);
        return new BindingUpdate(sequence, ProxyFlags, PmipDefaults.ToLifetimeUnits(lifetime))
        {
            Options = new MobilityOptionList(options),
        };
    }
}
