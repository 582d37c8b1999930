namespace DataPlane.Wire;

/// <summary>
/// Why a buffer was not accepted as a packet of some format. Every checked constructor
/// (<c>TryCreate</c>/<c>TryParse</c>) reports one of these instead of throwing, so the data path can
/// count the drop by reason.
/// </summary>
public enum WireError : byte
{
    None = 0,
    /// <summary>The buffer ends before the header (or a field it declares) does.</summary>
    Truncated,
    /// <summary>A length field contradicts the buffer or the format's own rules.</summary>
    BadLength,
    /// <summary>An IP version nibble that is not the one expected.</summary>
    BadVersion,
    /// <summary>A hardware/protocol type combination we do not handle (e.g. non-Ethernet ARP).</summary>
    Unsupported,
    /// <summary>An option or TLV whose length runs past its container or is zero where forbidden.</summary>
    BadOption,
    /// <summary>An option placed against its alignment rule (padding contents are ignored, as RFC 6275 §6.2.3 lets receivers do).</summary>
    BadAlignment,
    /// <summary>A checksum that does not verify.</summary>
    BadChecksum,
    /// <summary>A message type this parser does not know.</summary>
    UnknownType,
    /// <summary>A field value the format forbids (e.g. a prefix length above 128).</summary>
    BadValue,
    /// <summary>An IPv6 extension header chain that is too long or loops.</summary>
    TooManyHeaders,
}
