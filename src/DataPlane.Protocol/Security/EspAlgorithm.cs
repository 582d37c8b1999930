namespace DataPlane.Protocol.Security;

/// <summary>
/// The ESP transforms a security association may use (RFC 8221 lists all three as MUST for ESP). Transport mode
/// only: the Mobility Header is the payload.
/// </summary>
public enum EspAlgorithm : byte
{
    /// <summary>ENCR_NULL (RFC 2410) with AUTH_HMAC_SHA2_256_128 (RFC 4868): integrity and origin authentication,
    /// the Mobility Header stays readable. What RFC 5213 §4 asks for ("Confidentiality protection of these
    /// messages is not required"), and what RFC 8221 §5 recommends with ENCR_NULL.</summary>
    NullHmacSha256_128 = 0,
    /// <summary>ENCR_AES_GCM_16 with a 128-bit key (RFC 4106): confidentiality as well.</summary>
    Aes128Gcm16 = 1,
    /// <summary>ENCR_AES_GCM_16 with a 256-bit key (RFC 4106).</summary>
    Aes256Gcm16 = 2,
}

/// <summary>Sizes and names of each <see cref="EspAlgorithm"/>, in one place.</summary>
public static class EspAlgorithms
{
    /// <summary>RFC 4868 §2.1.1: the HMAC-SHA-256-128 key is 256 bits.</summary>
    public const int HmacSha256KeyLength = 32;
    /// <summary>RFC 4868 §2.3: the HMAC-SHA-256 output truncated to its first 128 bits.</summary>
    public const int HmacSha256IcvLength = 16;
    /// <summary>RFC 4106 §4: the key material is the AES key followed by a 4-octet salt.</summary>
    public const int GcmSaltLength = 4;
    /// <summary>RFC 4106 §3.1: the explicit IV carried in the payload is 8 octets.</summary>
    public const int GcmIvLength = 8;
    public const int GcmIcvLength = 16;

    /// <summary>Octets of key material the SA needs (for AES-GCM including the salt).</summary>
    public static int KeyMaterialLength(EspAlgorithm a) => a switch
    {
        EspAlgorithm.NullHmacSha256_128 => HmacSha256KeyLength,
        EspAlgorithm.Aes128Gcm16 => 16 + GcmSaltLength,
        EspAlgorithm.Aes256Gcm16 => 32 + GcmSaltLength,
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, null),
    };

    public static int IcvLength(EspAlgorithm a) => a == EspAlgorithm.NullHmacSha256_128 ? HmacSha256IcvLength : GcmIcvLength;

    /// <summary>Octets between the ESP header and the Payload Data (the explicit IV).</summary>
    public static int IvLength(EspAlgorithm a) => a == EspAlgorithm.NullHmacSha256_128 ? 0 : GcmIvLength;

    /// <summary>The name in configuration files (strongSwan's proposal keywords where they exist).</summary>
    public static string Name(EspAlgorithm a) => a switch
    {
        EspAlgorithm.NullHmacSha256_128 => "null-hmac-sha256-128",
        EspAlgorithm.Aes128Gcm16 => "aes128gcm16",
        EspAlgorithm.Aes256Gcm16 => "aes256gcm16",
        _ => a.ToString(),
    };

    public static bool TryParse(string name, out EspAlgorithm algorithm)
    {
        foreach (var a in Enum.GetValues<EspAlgorithm>())
        {
            if (string.Equals(Name(a), name, StringComparison.OrdinalIgnoreCase))
            {
                algorithm = a;
                return true;
            }
        }
        algorithm = default;
        return false;
    }

    public static IEnumerable<string> Names => Enum.GetValues<EspAlgorithm>().Select(Name);
}
