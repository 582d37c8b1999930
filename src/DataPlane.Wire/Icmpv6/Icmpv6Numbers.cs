namespace DataPlane.Wire;

/// <summary>ICMPv6 message types (IANA "ICMPv6 'type' Numbers"). Types below 128 are error messages (RFC 4443 §2.1).</summary>
public enum Icmpv6Type : byte
{
    DestinationUnreachable = 1,
    PacketTooBig = 2,
    TimeExceeded = 3,
    ParameterProblem = 4,
    EchoRequest = 128,
    EchoReply = 129,
    /// <summary>Multicast Listener Query (RFC 2710 §3; MLDv2 queries share the type, RFC 3810 §5.1).</summary>
    MulticastListenerQuery = 130,
    /// <summary>MLDv1 Multicast Listener Report (RFC 2710 §3).</summary>
    MulticastListenerReport = 131,
    /// <summary>MLDv1 Multicast Listener Done (RFC 2710 §3).</summary>
    MulticastListenerDone = 132,
    RouterSolicitation = 133,
    RouterAdvertisement = 134,
    NeighborSolicitation = 135,
    NeighborAdvertisement = 136,
    Redirect = 137,
    /// <summary>Version 2 Multicast Listener Report (RFC 3810 §5.2): what a Linux guest sends when it joins a group.</summary>
    Version2MulticastListenerReport = 143,
}

/// <summary>Destination Unreachable codes (RFC 4443 §3.1).</summary>
public enum DestinationUnreachableCode : byte
{
    NoRouteToDestination = 0,
    AdministrativelyProhibited = 1,
    BeyondScopeOfSourceAddress = 2,
    AddressUnreachable = 3,
    PortUnreachable = 4,
    SourceAddressFailedIngressEgressPolicy = 5,
    RejectRouteToDestination = 6,
}

/// <summary>Time Exceeded codes (RFC 4443 §3.3).</summary>
public enum TimeExceededCode : byte
{
    HopLimitExceededInTransit = 0,
    FragmentReassemblyTimeExceeded = 1,
}

/// <summary>Parameter Problem codes (RFC 4443 §3.4).</summary>
public enum ParameterProblemCode : byte
{
    ErroneousHeaderField = 0,
    UnrecognizedNextHeaderType = 1,
    UnrecognizedIpv6Option = 2,
}

/// <summary>Neighbor Discovery option types (RFC 4861 §4.6, IANA "IPv6 Neighbor Discovery Option Formats").</summary>
public enum NdOptionType : byte
{
    SourceLinkLayerAddress = 1,
    TargetLinkLayerAddress = 2,
    PrefixInformation = 3,
    RedirectedHeader = 4,
    Mtu = 5,
    /// <summary>Nonce (RFC 3971 §5.3.2); Linux puts one in DAD probes (RFC 7527). Recognised, not interpreted.</summary>
    Nonce = 14,
    /// <summary>Route Information (RFC 4191 §2.3). Recognised, not interpreted.</summary>
    RouteInformation = 24,
    /// <summary>Recursive DNS Server (RFC 8106 §5.1).</summary>
    RecursiveDnsServer = 25,
    /// <summary>DNS Search List (RFC 8106 §5.2). Recognised, not interpreted.</summary>
    DnsSearchList = 31,
}

/// <summary>The flag byte of a Router Advertisement (RFC 4861 §4.2 and the RFCs that extended it).</summary>
/// <remarks>
/// The Default Router Preference (RFC 4191 §2.2, bits 0x18) is a two-bit value, not a flag; it is kept
/// in the raw byte but has no member here.
/// </remarks>
[Flags]
public enum RouterAdvertisementFlags : byte
{
    None = 0,
    /// <summary>M: addresses are available via DHCPv6.</summary>
    ManagedAddressConfiguration = 0x80,
    /// <summary>O: other configuration is available via DHCPv6.</summary>
    OtherConfiguration = 0x40,
    /// <summary>H: the router is a Mobile IPv6 home agent (RFC 6275 §7.1).</summary>
    HomeAgent = 0x20,
    /// <summary>P: ND proxy (RFC 4389 §4.1.3.3).</summary>
    Proxy = 0x04,
}

/// <summary>The R/S/O flags of a Neighbor Advertisement (RFC 4861 §4.4); the other 29 bits are reserved.</summary>
[Flags]
public enum NeighborAdvertisementFlags : byte
{
    None = 0,
    /// <summary>R: the sender is a router.</summary>
    Router = 0x80,
    /// <summary>S: sent in response to a Neighbor Solicitation.</summary>
    Solicited = 0x40,
    /// <summary>O: override an existing cache entry's link-layer address.</summary>
    Override = 0x20,
}

/// <summary>The flag byte of a Prefix Information option (RFC 4861 §4.6.2).</summary>
[Flags]
public enum PrefixInformationFlags : byte
{
    None = 0,
    /// <summary>L: the prefix can be used for on-link determination.</summary>
    OnLink = 0x80,
    /// <summary>A: the prefix can be used for stateless address autoconfiguration (RFC 4862).</summary>
    Autonomous = 0x40,
    /// <summary>R: the Prefix field holds the router's full address (RFC 6275 §7.2).</summary>
    RouterAddress = 0x20,
}
