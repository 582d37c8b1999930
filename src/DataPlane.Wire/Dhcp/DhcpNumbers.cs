namespace DataPlane.Wire;

/// <summary>The BOOTP op field (RFC 951, RFC 2131 §2): which direction the message travels.</summary>
public enum BootpOperation : byte
{
    /// <summary>BOOTREQUEST: client to server (DISCOVER, REQUEST, DECLINE, RELEASE, INFORM).</summary>
    Request = 1,
    /// <summary>BOOTREPLY: server to client (OFFER, ACK, NAK).</summary>
    Reply = 2,
}

/// <summary>The BOOTP flags field (RFC 2131 §2, figure 2): only the leftmost bit is defined.</summary>
[Flags]
public enum DhcpFlags : ushort
{
    None = 0,
    /// <summary>
    /// The client cannot receive unicast IP before it has an address, so the server must broadcast its
    /// reply (RFC 2131 §4.1).
    /// </summary>
    Broadcast = 0x8000,
}

/// <summary>DHCP message types, the value of option 53 (RFC 2132 §9.6).</summary>
public enum DhcpMessageType : byte
{
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

/// <summary>DHCP/BOOTP option codes (RFC 2132, IANA "BOOTP Vendor Extensions and DHCP Options") this layer uses.</summary>
public enum DhcpOptionCode : byte
{
    /// <summary>One byte of padding, no length byte (RFC 2132 §3.1).</summary>
    Pad = 0,
    SubnetMask = 1,
    Router = 3,
    DomainNameServer = 6,
    HostName = 12,
    DomainName = 15,
    InterfaceMtu = 26,
    RequestedIpAddress = 50,
    IpAddressLeaseTime = 51,
    /// <summary>Option overload (RFC 2132 §9.3): more options in sname/file. Not followed by this layer.</summary>
    OptionOverload = 52,
    MessageType = 53,
    ServerIdentifier = 54,
    ParameterRequestList = 55,
    /// <summary>A text message, e.g. why a server sends a NAK (RFC 2132 §9.9).</summary>
    Message = 56,
    MaximumMessageSize = 57,
    /// <summary>Renewal (T1) time value, seconds.</summary>
    RenewalTime = 58,
    /// <summary>Rebinding (T2) time value, seconds.</summary>
    RebindingTime = 59,
    ClientIdentifier = 61,
    /// <summary>Ends the options, no length byte (RFC 2132 §3.2).</summary>
    End = 255,
}
