using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace DataPlane.Wire;

/// <summary>An IPv6 prefix such as a home network prefix (2001:db8:1::/64). Host bits are always zero.</summary>
public readonly record struct Ipv6Prefix
{
    public Ipv6Prefix(Ipv6Address address, int length)
    {
        if ((uint)length > 128) throw new ArgumentOutOfRangeException(nameof(length), length, "an IPv6 prefix length is 0..128");
        Length = (byte)length;
        Address = Mask(address, length);
    }

    /// <summary>The network address, host bits cleared.</summary>
    public Ipv6Address Address { get; }

    public byte Length { get; }

    /// <summary>::/0, which a MAG sends in a PBU to ask the LMA to assign a prefix (RFC 5213 §6.9.1.1).</summary>
    public static Ipv6Prefix Unspecified => default;

    public bool IsUnspecified => Length == 0 && Address.IsUnspecified;

    public bool Contains(Ipv6Address address) => Mask(address, Length) == Address;

    /// <summary>The address with the given 64-bit interface identifier in this (/64 or shorter) prefix.</summary>
    public Ipv6Address WithInterfaceIdentifier(ulong iid) => new(Address.High, iid);

    public static Ipv6Address Mask(Ipv6Address a, int length) => length switch
    {
        0 => default,
        < 64 => new(a.High & ~(ulong.MaxValue >> length), 0),
        64 => new(a.High, 0),
        < 128 => new(a.High, a.Low & ~(ulong.MaxValue >> (length - 64))),
        _ => a,
    };

    public static Ipv6Prefix Parse(string text) =>
        TryParse(text, out var p) ? p : throw new FormatException($"'{text}' is not an IPv6 prefix (expected address/length)");

    public static bool TryParse([NotNullWhen(true)] string? text, out Ipv6Prefix prefix)
    {
        prefix = default;
        if (text is null) return false;
        int slash = text.IndexOf('/');
        if (slash < 0) return false;
        if (!Ipv6Address.TryParse(text[..slash], out var addr)) return false;
        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int len) || len > 128) return false;
        prefix = new Ipv6Prefix(addr, len);
        return true;
    }

    public override string ToString() => $"{Address}/{Length}";
}
