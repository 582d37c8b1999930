namespace DataPlane.Wire;

/// <summary>
/// Where each mobility option must start and how long its data is: the one place that holds the
/// RFCs' alignment rules (xn+y: the option's Type byte sits at an offset ≡ y mod x from the start of
/// the Mobility Header) and fixed data lengths.
/// </summary>
public static class MobilityOptionLayout
{
    /// <summary>Option Type and Length bytes.</summary>
    public const int OptionHeaderLength = 2;

    public const int HomeNetworkPrefixDataLength = 18;
    public const int HandoffIndicatorDataLength = 2;
    public const int AccessTechnologyTypeDataLength = 2;
    public const int LinkLocalAddressDataLength = 16;
    public const int TimestampDataLength = 8;
    public const int RestartCounterDataLength = 4;
    public const int Ipv4AddressOptionDataLength = 6;
    public const int Ipv4DhcpSupportModeDataLength = 2;
    /// <summary>MAG IPv6 Address (RFC 6705 §11.1): reserved(1) address-length(1) address(16).</summary>
    public const int MagIpv6AddressDataLength = 18;
    public const int TransientBindingDataLength = 2;
    /// <summary>Our content of an Experimental Mobility Option (<see cref="DeliveryMarkerOption"/>); the option itself is variable.</summary>
    public const int DeliveryMarkerDataLength = 16;

    /// <summary>(modulus, remainder) of the alignment rule; (1, 0) for none.</summary>
    public static (int Modulus, int Remainder) Alignment(MobilityOptionType type) => type switch
    {
        MobilityOptionType.HomeNetworkPrefix => (8, 4),
        MobilityOptionType.MobileNodeLinkLayerIdentifier => (8, 2),
        MobilityOptionType.LinkLocalAddress => (8, 6),
        MobilityOptionType.Timestamp => (8, 2),
        MobilityOptionType.RestartCounter => (4, 2),
        MobilityOptionType.Ipv4HomeAddressRequest => (4, 0),
        MobilityOptionType.Ipv4HomeAddressReply => (4, 0),
        MobilityOptionType.Ipv4DefaultRouterAddress => (4, 0),
        // RFC 5844 §3.3.4: "The IPv4 DHCP Support Mode option has no alignment requirement."
        MobilityOptionType.MagIpv6Address => (8, 4),
        _ => (1, 0),
    };

    /// <summary>The exact data length of a fixed-size option, or -1 for a variable-length one.</summary>
    public static int FixedDataLength(MobilityOptionType type) => type switch
    {
        MobilityOptionType.HomeNetworkPrefix => HomeNetworkPrefixDataLength,
        MobilityOptionType.HandoffIndicator => HandoffIndicatorDataLength,
        MobilityOptionType.AccessTechnologyType => AccessTechnologyTypeDataLength,
        MobilityOptionType.LinkLocalAddress => LinkLocalAddressDataLength,
        MobilityOptionType.Timestamp => TimestampDataLength,
        MobilityOptionType.RestartCounter => RestartCounterDataLength,
        MobilityOptionType.Ipv4HomeAddressRequest => Ipv4AddressOptionDataLength,
        MobilityOptionType.Ipv4HomeAddressReply => Ipv4AddressOptionDataLength,
        MobilityOptionType.Ipv4DefaultRouterAddress => Ipv4AddressOptionDataLength,
        MobilityOptionType.Ipv4DhcpSupportMode => Ipv4DhcpSupportModeDataLength,
        MobilityOptionType.MagIpv6Address => MagIpv6AddressDataLength,
        MobilityOptionType.TransientBinding => TransientBindingDataLength,
        _ => -1,
    };

    /// <summary>Padding needed at <paramref name="offset"/> so the next option meets its rule.</summary>
    public static int PaddingBefore(MobilityOptionType type, int offset)
    {
        var (n, r) = Alignment(type);
        return PaddingTo(offset, n, r);
    }

    public static int PaddingTo(int offset, int modulus, int remainder) => ((remainder - offset) % modulus + modulus) % modulus;

    public static bool IsAligned(MobilityOptionType type, int offset) => PaddingBefore(type, offset) == 0;
}
