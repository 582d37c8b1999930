using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace DataPlane.Wire;

/// <summary>
/// An IPv4 network such as a VM's IPv4 home subnet (10.200.0.0/24): the shared subnet of RFC 5844 §1.1,
/// out of which home addresses are assigned. Host bits are always zero.
/// </summary>
public readonly record struct Ipv4Prefix
{
    public Ipv4Prefix(Ipv4Address address, int length)
    {
        if ((uint)length > 32) throw new ArgumentOutOfRangeException(nameof(length), length, "an IPv4 prefix length is 0..32");
        Length = (byte)length;
        Address = new Ipv4Address(address.Value & MaskValue(length));
    }

    /// <summary>The network address, host bits cleared.</summary>
    public Ipv4Address Address { get; }

    public byte Length { get; }

    /// <summary>The subnet mask as an address (255.255.255.0 for a /24), as DHCP's option 1 carries it.</summary>
    public Ipv4Address Mask => new(MaskValue(Length));

    /// <summary>The directed broadcast address (all host bits set).</summary>
    public Ipv4Address Broadcast => new(Address.Value | ~MaskValue(Length));

    /// <summary>Addresses in the subnet, network and broadcast included.</summary>
    public long Size => 1L << (32 - Length);

    public bool Contains(Ipv4Address address) => (address.Value & MaskValue(Length)) == Address.Value;

    /// <summary>
    /// An address a host in this subnet can have: inside it, and not its network or broadcast address
    /// (for /31 and /32 every address is a host, RFC 3021).
    /// </summary>
    public bool IsHostAddress(Ipv4Address address) =>
        Contains(address) && (Length >= 31 || (address != Address && address != Broadcast));

    public static uint MaskValue(int length) => length == 0 ? 0 : uint.MaxValue << (32 - length);

    public static Ipv4Prefix Parse(string text) =>
        TryParse(text, out var p) ? p : throw new FormatException($"'{text}' is not an IPv4 prefix (expected address/length)");

    /// <summary>"10.200.0.0/24". Host bits set past the length are refused, not silently cleared.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Ipv4Prefix prefix)
    {
        prefix = default;
        if (text is null) return false;
        int slash = text.IndexOf('/');
        if (slash < 0) return false;
        if (!Ipv4Address.TryParse(text[..slash], out var address)) return false;
        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > 32) return false;
        if ((address.Value & ~MaskValue(length)) != 0) return false;
        prefix = new Ipv4Prefix(address, length);
        return true;
    }

    public override string ToString() => $"{Address}/{Length}";
}
