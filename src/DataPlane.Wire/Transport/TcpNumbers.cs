namespace DataPlane.Wire;

/// <summary>
/// The TCP control bits in octet 13 of the header (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
/// The reserved bits of octet 12 are not part of this enum and are left untouched by the setters.
/// </summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    /// <summary>No more data from sender.</summary>
    Fin = 0x01,
    /// <summary>Synchronize sequence numbers.</summary>
    Syn = 0x02,
    /// <summary>Reset the connection.</summary>
    Rst = 0x04,
    /// <summary>Push function.</summary>
    Psh = 0x08,
    /// <summary>Acknowledgment field is significant.</summary>
    Ack = 0x10,
    /// <summary>Urgent pointer field is significant.</summary>
    Urg = 0x20,
    /// <summary>ECN-Echo (RFC 3168).</summary>
    Ece = 0x40,
    /// <summary>Congestion Window Reduced (RFC 3168).</summary>
    Cwr = 0x80,
}

/// <summary>TCP option kinds (IANA "TCP Option Kind Numbers") that this layer reads or writes.</summary>
public enum TcpOptionKind : byte
{
    /// <summary>End of option list (RFC 9293): everything after it is padding.</summary>
    EndOfOptionList = 0,
    /// <summary>No-operation (RFC 9293): a single byte used to align the next option.</summary>
    NoOperation = 1,
    /// <summary>Maximum segment size (RFC 9293 §3.7.1), only in SYN segments.</summary>
    MaximumSegmentSize = 2,
    /// <summary>Window scale (RFC 7323 §2).</summary>
    WindowScale = 3,
    /// <summary>SACK permitted (RFC 2018 §2).</summary>
    SackPermitted = 4,
    /// <summary>SACK blocks (RFC 2018 §3).</summary>
    Sack = 5,
    /// <summary>Timestamps (RFC 7323 §3).</summary>
    Timestamps = 8,
}
