namespace DataPlane.Wire;

/// <summary>Mobility Header message types (IANA "Mobility Header Types - for the MH Type field").</summary>
public enum MobilityHeaderType : byte
{
    BindingRefreshRequest = 0,
    HomeTestInit = 1,
    CareOfTestInit = 2,
    HomeTest = 3,
    CareOfTest = 4,
    /// <summary>Binding Update; a Proxy Binding Update when the P flag is set (RFC 5213 §6.9.1.1).</summary>
    BindingUpdate = 5,
    /// <summary>Binding Acknowledgement; a Proxy Binding Acknowledgement when the P flag is set.</summary>
    BindingAcknowledgement = 6,
    BindingError = 7,
    /// <summary>Heartbeat (RFC 5847 §3.1).</summary>
    Heartbeat = 13,
    /// <summary>Localized Routing Initiation (RFC 6705 §10.1).</summary>
    LocalizedRoutingInitiation = 17,
    /// <summary>Localized Routing Acknowledgment (RFC 6705 §10.2).</summary>
    LocalizedRoutingAcknowledgement = 18,
    /// <summary>Handover Initiate (RFC 5568 §6.2.1; with the P flag, RFC 5949 §6.1.1).</summary>
    HandoverInitiate = 14,
    /// <summary>Handover Acknowledge (RFC 5568 §6.2.2; RFC 5949 §6.1.2).</summary>
    HandoverAcknowledge = 15,
}

/// <summary>Binding Update flags (RFC 6275 §6.1.7, RFC 5213 §8.1, RFC 3963).</summary>
[Flags]
public enum BindingUpdateFlags : ushort
{
    None = 0,
    /// <summary>Acknowledge requested.</summary>
    Acknowledge = 0x8000,
    /// <summary>Home registration.</summary>
    HomeRegistration = 0x4000,
    /// <summary>Link-local address compatibility.</summary>
    LinkLocalCompatibility = 0x2000,
    /// <summary>Key management mobility capability.</summary>
    KeyManagement = 0x1000,
    /// <summary>MAP registration (HMIPv6).</summary>
    MapRegistration = 0x0800,
    /// <summary>Mobile router (NEMO, RFC 3963).</summary>
    MobileRouter = 0x0400,
    /// <summary>Proxy registration (RFC 5213).</summary>
    ProxyRegistration = 0x0200,
}

/// <summary>Binding Acknowledgement flags (RFC 6275 §6.1.8, RFC 3963, RFC 5213 §8.2).</summary>
[Flags]
public enum BindingAckFlags : byte
{
    None = 0,
    KeyManagement = 0x80,
    MobileRouter = 0x40,
    ProxyRegistration = 0x20,
}

/// <summary>Binding Acknowledgement status values (RFC 6275 §6.1.8, RFC 5213 §8.9).</summary>
public enum BindingAckStatus : byte
{
    Accepted = 0,
    AcceptedPrefixDiscoveryNecessary = 1,
    ReasonUnspecified = 128,
    AdministrativelyProhibited = 129,
    InsufficientResources = 130,
    HomeRegistrationNotSupported = 131,
    NotHomeSubnet = 132,
    NotHomeAgentForThisMobileNode = 133,
    DuplicateAddressDetectionFailed = 134,
    SequenceNumberOutOfWindow = 135,
    ExpiredHomeNonceIndex = 136,
    ExpiredCareOfNonceIndex = 137,
    ExpiredNonces = 138,
    RegistrationTypeChangeDisallowed = 139,
    ProxyRegistrationNotEnabled = 152,
    NotLmaForThisMobileNode = 153,
    MagNotAuthorizedForProxyRegistration = 154,
    NotAuthorizedForHomeNetworkPrefix = 155,
    TimestampMismatch = 156,
    TimestampLowerThanPreviousAccepted = 157,
    MissingHomeNetworkPrefixOption = 158,
    BcePbuPrefixSetDoNotMatch = 159,
    MissingMobileNodeIdentifierOption = 160,
    MissingHandoffIndicatorOption = 161,
    MissingAccessTechnologyTypeOption = 162,
    /// <summary>RFC 5844 §3.3.5: the mobile node is not authorised for IPv4 mobility service.</summary>
    NotAuthorizedForIpv4MobilityService = 170,
    /// <summary>RFC 5844 §3.3.5: the mobile node is not authorised for the requested IPv4 home address.</summary>
    NotAuthorizedForIpv4HomeAddress = 171,
    /// <summary>RFC 5844 §3.3.5: the mobile node is not authorised for IPv6 mobility service.</summary>
    NotAuthorizedForIpv6MobilityService = 172,
    /// <summary>RFC 5844 §3.3.5: more than one IPv4 Home Address Request option.</summary>
    MultipleIpv4HomeAddressAssignmentNotSupported = 173,
}

/// <summary>Mobility option types (IANA "Mobility Options").</summary>
public enum MobilityOptionType : byte
{
    Pad1 = 0,
    PadN = 1,
    BindingRefreshAdvice = 2,
    AlternateCareOfAddress = 3,
    NonceIndices = 4,
    BindingAuthorizationData = 5,
    MobileNetworkPrefix = 6,
    /// <summary>Mobile Node Identifier (RFC 4283).</summary>
    MobileNodeIdentifier = 8,
    /// <summary>Experimental Mobility Option (RFC 5096 §4): carries our delivery marker (<see cref="DeliveryMarkerOption"/>).</summary>
    ExperimentalMobilityOption = 18,
    /// <summary>Home Network Prefix (RFC 5213 §8.3); alignment 8n+4.</summary>
    HomeNetworkPrefix = 22,
    HandoffIndicator = 23,
    AccessTechnologyType = 24,
    /// <summary>Mobile Node Link-layer Identifier (RFC 5213 §8.6); alignment 8n+2.</summary>
    MobileNodeLinkLayerIdentifier = 25,
    /// <summary>Link-local Address (RFC 5213 §8.7); alignment 8n+6.</summary>
    LinkLocalAddress = 26,
    /// <summary>Timestamp (RFC 5213 §8.8); alignment 8n+2.</summary>
    Timestamp = 27,
    /// <summary>Restart Counter (RFC 5847 §3.2); alignment 4n+2.</summary>
    RestartCounter = 28,
    /// <summary>IPv4 Home Address Request (RFC 5844 §3.3.1); alignment 4n.</summary>
    Ipv4HomeAddressRequest = 36,
    /// <summary>IPv4 Home Address Reply (RFC 5844 §3.3.2); alignment 4n.</summary>
    Ipv4HomeAddressReply = 37,
    /// <summary>IPv4 Default-Router Address (RFC 5844 §3.3.3); alignment 4n.</summary>
    Ipv4DefaultRouterAddress = 38,
    /// <summary>IPv4 DHCP Support Mode (RFC 5844 §3.3.4); no alignment requirement.</summary>
    Ipv4DhcpSupportMode = 39,
    /// <summary>MAG IPv6 Address (RFC 6705 §11.1): the other MAG of a localized routing pair; alignment 8n+4.</summary>
    MagIpv6Address = 51,
    /// <summary>Transient Binding (RFC 6058 §5.1): a pre-registration that leaves downlink at the previous MAG.</summary>
    TransientBinding = 43,
}

/// <summary>Handoff Indicator values (RFC 5213 §8.4).</summary>
public enum HandoffIndicator : byte
{
    Reserved = 0,
    AttachmentOverNewInterface = 1,
    HandoffBetweenInterfaces = 2,
    HandoffBetweenMagsForSameInterface = 3,
    HandoffStateUnknown = 4,
    HandoffStateNotChanged = 5,
}

/// <summary>Access Technology Type values (RFC 5213 §8.5).</summary>
public enum AccessTechnologyType : byte
{
    Reserved = 0,
    /// <summary>Logical network interface: what a VM's vif is.</summary>
    Virtual = 1,
    Ppp = 2,
    Ethernet = 3,
    Wlan = 4,
    Wimax = 5,
}

/// <summary>Mobile Node Identifier subtypes (RFC 4283, RFC 7254).</summary>
public enum MobileNodeIdentifierSubtype : byte
{
    /// <summary>Network Access Identifier (RFC 4282).</summary>
    Nai = 1,
}

/// <summary>
/// The Status field of the IPv4 Home Address Reply option (RFC 5844 §3.3.2): 0–127 success, 128–255
/// failure. tshark 4.0 labels 128–132 with Access Technology Type names (129 "PPP"): its numeric field
/// `mip6.ipv4aa.sts` is right, the labels are not.
/// </summary>
public enum Ipv4HomeAddressReplyStatus : byte
{
    Success = 0,
    FailureReasonUnspecified = 128,
    AdministrativelyProhibited = 129,
    IncorrectIpv4HomeAddress = 130,
    InvalidIpv4Address = 131,
    DynamicIpv4HomeAddressAssignmentNotAvailable = 132,
}

/// <summary>
/// Localized Routing Acknowledgment status values (RFC 6705 §10.2; defined in the RFC itself, not in IANA's Binding
/// Acknowledgement status registry, whose 128 and 129 mean something else).
/// </summary>
public enum LocalizedRoutingStatus : byte
{
    Success = 0,
    /// <summary>The MAG does not do localized routing (its configuration, or for this pair).</summary>
    LocalizedRoutingNotAllowed = 128,
    /// <summary>The mobile node the LRI names is not attached to this MAG.</summary>
    MobileNodeNotAttached = 129,
}
