namespace DataPlane.Host.Policy.Radius;

/// <summary>RADIUS packet codes (RFC 2865 §3, RFC 2866, RFC 5997).</summary>
public enum RadiusCode : byte
{
    AccessRequest = 1,
    AccessAccept = 2,
    AccessReject = 3,
    AccountingRequest = 4,
    AccountingResponse = 5,
    AccessChallenge = 11,
    StatusServer = 12,
}

/// <summary>The attribute types this client writes or reads, named as in the RFCs (and FreeRADIUS's dictionaries).</summary>
public enum RadiusAttributeType : byte
{
    UserName = 1,
    UserPassword = 2,
    NasIpAddress = 4,
    ServiceType = 6,
    FramedIpAddress = 8,
    FramedIpNetmask = 9,
    ReplyMessage = 18,
    CallingStationId = 31,
    NasIdentifier = 32,
    NasPortType = 61,
    /// <summary>RFC 3579 §3.2: HMAC-MD5 over the whole packet, keyed with the shared secret.</summary>
    MessageAuthenticator = 80,
    /// <summary>RFC 2869 §5.17: the port's name (here the access port, e.g. vif3.0).</summary>
    NasPortId = 87,
    /// <summary>RFC 3162 §2.1.</summary>
    NasIpv6Address = 95,
    /// <summary>RFC 3162 §2.3.</summary>
    FramedIpv6Prefix = 97,
    /// <summary>RFC 4818.</summary>
    DelegatedIpv6Prefix = 123,
    /// <summary>RFC 6572 §3.4: the LMA serving the mobile node.</summary>
    Pmip6HomeLmaIpv6Address = 147,
    /// <summary>RFC 6572 §3.7: the home network prefix.</summary>
    Pmip6HomeHnPrefix = 151,
}

/// <summary>Service-Type values (RFC 2865 §5.6) this client sends.</summary>
public enum RadiusServiceType : uint
{
    /// <summary>
    /// "The RADIUS server should send back an Access-Accept to answer the call, or an Access-Reject to not
    /// accept it, typically based on the Calling-Station-Id": authorisation by MAC, no password.
    /// </summary>
    CallCheck = 10,
}

/// <summary>NAS-Port-Type values (RFC 2865 §5.41).</summary>
public enum RadiusNasPortType : uint
{
    Virtual = 5,
}
