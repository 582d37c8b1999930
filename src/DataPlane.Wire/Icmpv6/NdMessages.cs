namespace DataPlane.Wire;

// Parsed forms of the Neighbor Discovery messages. TryParse shares the validation of the matching view
// (code 0, option lengths, unicast targets); WriteTo calls Icmpv6Writer, so each layout is written in one
// place. Options a form does not model are skipped on parsing, as RFC 4861 §4.6 tells a receiver to do,
// and a second copy of a single-valued option (SLLA, TLLA, MTU, RDNSS) is ignored as Linux ignores it.
// The checksum is not checked here (it needs the IPv6 addresses: see Icmpv6Packet.IsChecksumValid).

/// <summary>Router Solicitation (RFC 4861 §4.1).</summary>
public readonly record struct RouterSolicitation(MacAddress? SourceLinkLayerAddress)
{
    public static bool TryParse(ReadOnlySpan<byte> icmpv6, out RouterSolicitation repr, out WireError error)
    {
        repr = default;
        if (!RouterSolicitationView.TryValidate(icmpv6, out error)) return false;
        if (!NdOption.TryFindLinkLayerAddress(icmpv6[RouterSolicitationView.OptionsOffset..],
                NdOptionType.SourceLinkLayerAddress, out var slla, out error)) return false;
        repr = new RouterSolicitation(slla);
        return true;
    }

    public int GetLength() => Icmpv6Writer.RouterSolicitationLength(SourceLinkLayerAddress.HasValue);

    /// <summary>Write the message with its checksum; returns its length.</summary>
    public int WriteTo(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress) =>
        Icmpv6Writer.WriteRouterSolicitation(destination, source, destinationAddress, SourceLinkLayerAddress);
}

/// <summary>
/// The fixed fields of a Router Advertisement (RFC 4861 §4.2). Router lifetime in seconds, reachable
/// time and retrans timer in milliseconds; zero means "unspecified" for all but the router lifetime,
/// where it means "not a default router".
/// </summary>
public readonly record struct RouterAdvertisementFields(
    byte CurHopLimit,
    RouterAdvertisementFlags Flags,
    ushort RouterLifetime,
    uint ReachableTime,
    uint RetransTimer)
{
    /// <summary>M flag.</summary>
    public bool IsManagedAddressConfiguration => (Flags & RouterAdvertisementFlags.ManagedAddressConfiguration) != 0;

    /// <summary>O flag.</summary>
    public bool IsOtherConfiguration => (Flags & RouterAdvertisementFlags.OtherConfiguration) != 0;
}

/// <summary>
/// Router Advertisement (RFC 4861 §4.2) with the options a PMIPv6 MAG sends: source link-layer address,
/// MTU, the home network prefix(es) and DNS servers. Written in that order. An RDNSS option with no
/// addresses is not written (RFC 8106 requires at least one).
/// </summary>
public readonly record struct RouterAdvertisement(
    RouterAdvertisementFields Fields,
    MacAddress? SourceLinkLayerAddress,
    uint? Mtu,
    EquatableArray<PrefixInformation> Prefixes,
    RecursiveDnsServerOption? RecursiveDnsServer)
{
    public static bool TryParse(ReadOnlySpan<byte> icmpv6, out RouterAdvertisement repr, out WireError error)
    {
        repr = default;
        if (!RouterAdvertisementView.TryValidate(icmpv6, out error)) return false;
        MacAddress? slla = null;
        uint? mtu = null;
        RecursiveDnsServerOption? rdnss = null;
        var prefixes = new List<PrefixInformation>();
        var reader = new NdOptionReader(icmpv6[RouterAdvertisementView.OptionsOffset..]);
        while (reader.MoveNext())
        {
            switch (reader.CurrentType)
            {
                case NdOptionType.SourceLinkLayerAddress when slla is null:
                    if (!NdOption.TryReadLinkLayerAddress(reader.Current, out var mac, out error)) return false;
                    slla = mac;
                    break;
                case NdOptionType.Mtu when mtu is null:
                    if (!NdOption.TryReadMtu(reader.Current, out var m, out error)) return false;
                    mtu = m;
                    break;
                case NdOptionType.PrefixInformation:
                    if (!NdOption.TryReadPrefixInformation(reader.Current, out var prefix, out error)) return false;
                    prefixes.Add(prefix);
                    break;
                case NdOptionType.RecursiveDnsServer when rdnss is null:
                    if (!NdOption.TryReadRecursiveDnsServer(reader.Current, out var servers, out error)) return false;
                    rdnss = servers.ToRepr();
                    break;
            }
        }
        error = reader.Error;
        if (error != WireError.None) return false;
        repr = new RouterAdvertisement(RouterAdvertisementView.ReadFields(icmpv6), slla, mtu, [.. prefixes], rdnss);
        return true;
    }

    public int GetLength() => Icmpv6Writer.RouterAdvertisementLength(
        SourceLinkLayerAddress.HasValue, Mtu.HasValue, Prefixes.Count, RecursiveDnsServer?.Addresses.Count ?? 0);

    /// <summary>Write the message with its checksum; returns its length.</summary>
    public int WriteTo(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress)
    {
        var dns = RecursiveDnsServer is { } r ? r.Addresses.AsSpan() : default;
        return Icmpv6Writer.WriteRouterAdvertisement(destination, source, destinationAddress, Fields,
            SourceLinkLayerAddress, Mtu, Prefixes.AsSpan(), RecursiveDnsServer?.Lifetime ?? 0, dns);
    }
}

/// <summary>Neighbor Solicitation (RFC 4861 §4.3).</summary>
public readonly record struct NeighborSolicitation(Ipv6Address Target, MacAddress? SourceLinkLayerAddress)
{
    public static bool TryParse(ReadOnlySpan<byte> icmpv6, out NeighborSolicitation repr, out WireError error)
    {
        repr = default;
        if (!NeighborSolicitationView.TryValidate(icmpv6, out error)) return false;
        if (!NdOption.TryFindLinkLayerAddress(icmpv6[NeighborSolicitationView.OptionsOffset..],
                NdOptionType.SourceLinkLayerAddress, out var slla, out error)) return false;
        repr = new NeighborSolicitation(
            Ipv6Address.ReadFrom(icmpv6.Slice(NeighborSolicitationView.TargetOffset, Ipv6Address.Length)), slla);
        return true;
    }

    public int GetLength() => Icmpv6Writer.NeighborSolicitationLength(SourceLinkLayerAddress.HasValue);

    /// <summary>Write the message with its checksum; returns its length.</summary>
    public int WriteTo(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress) =>
        Icmpv6Writer.WriteNeighborSolicitation(destination, source, destinationAddress, Target, SourceLinkLayerAddress);
}

/// <summary>Neighbor Advertisement (RFC 4861 §4.4). Only R, S and O are kept of the flags word.</summary>
public readonly record struct NeighborAdvertisement(NeighborAdvertisementFlags Flags, Ipv6Address Target, MacAddress? TargetLinkLayerAddress)
{
    public bool IsRouter => (Flags & NeighborAdvertisementFlags.Router) != 0;
    public bool IsSolicited => (Flags & NeighborAdvertisementFlags.Solicited) != 0;
    public bool IsOverride => (Flags & NeighborAdvertisementFlags.Override) != 0;

    public static bool TryParse(ReadOnlySpan<byte> icmpv6, out NeighborAdvertisement repr, out WireError error)
    {
        repr = default;
        if (!NeighborAdvertisementView.TryValidate(icmpv6, out error)) return false;
        if (!NdOption.TryFindLinkLayerAddress(icmpv6[NeighborAdvertisementView.OptionsOffset..],
                NdOptionType.TargetLinkLayerAddress, out var tlla, out error)) return false;
        repr = new NeighborAdvertisement(
            (NeighborAdvertisementFlags)(icmpv6[NeighborAdvertisementView.FlagsOffset] & NeighborAdvertisementView.FlagsMask),
            Ipv6Address.ReadFrom(icmpv6.Slice(NeighborAdvertisementView.TargetOffset, Ipv6Address.Length)),
            tlla);
        return true;
    }

    public int GetLength() => Icmpv6Writer.NeighborAdvertisementLength(TargetLinkLayerAddress.HasValue);

    /// <summary>Write the message with its checksum; returns its length.</summary>
    public int WriteTo(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress) =>
        Icmpv6Writer.WriteNeighborAdvertisement(destination, source, destinationAddress, Flags, Target, TargetLinkLayerAddress);
}
