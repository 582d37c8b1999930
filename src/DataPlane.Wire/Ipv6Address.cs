using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Wire;

/// <summary>
/// An IPv6 address as two host-order 64-bit halves. A value type so that tables keyed by address,
/// prefix checks and header rewrites never allocate (unlike <see cref="IPAddress"/>).
/// </summary>
public readonly record struct Ipv6Address : ISpanFormattable, IComparable<Ipv6Address>
{
    public const int Length = 16;

    public Ipv6Address(ulong high, ulong low)
    {
        High = high;
        Low = low;
    }

    /// <summary>Bits 0–63 (network prefix half).</summary>
    public ulong High { get; }

    /// <summary>Bits 64–127 (interface identifier half).</summary>
    public ulong Low { get; }

    public static Ipv6Address Unspecified => default;
    public static Ipv6Address Loopback { get; } = new(0, 1);
    /// <summary>ff02::1</summary>
    public static Ipv6Address AllNodes { get; } = new(0xFF02_0000_0000_0000UL, 1);
    /// <summary>ff02::2</summary>
    public static Ipv6Address AllRouters { get; } = new(0xFF02_0000_0000_0000UL, 2);

    public bool IsUnspecified => High == 0 && Low == 0;
    public bool IsMulticast => (High >> 56) == 0xFF;
    /// <summary>fe80::/10</summary>
    public bool IsLinkLocal => (High >> 54) == (0xFE80UL >> 6);
    public bool IsUnicast => !IsMulticast && !IsUnspecified;

    /// <summary>The solicited-node multicast group (ff02::1:ffXX:XXXX) for this address (RFC 4291 §2.7.1).</summary>
    public Ipv6Address SolicitedNodeMulticast => new(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (Low & 0xFF_FFFFUL));

    /// <summary>Is this address one of the solicited-node groups (ff02::1:ff00:0/104)?</summary>
    public bool IsSolicitedNodeMulticast => High == 0xFF02_0000_0000_0000UL && (Low & 0xFFFF_FFFF_FF00_0000UL) == 0x0000_0001_FF00_0000UL;

    /// <summary>The modified EUI-64 link-local address derived from a MAC (RFC 4291 appendix A).</summary>
    public static Ipv6Address LinkLocalFromMac(MacAddress mac) => new(0xFE80_0000_0000_0000UL, InterfaceIdentifierFromMac(mac));

    /// <summary>The modified EUI-64 interface identifier of a MAC: ff:fe in the middle, U/L bit inverted.</summary>
    public static ulong InterfaceIdentifierFromMac(MacAddress mac)
    {
        ulong m = mac.Value;
        ulong oui = m >> 24, nic = m & 0xFF_FFFFUL;
        return ((oui << 40) | (0xFFFEUL << 24) | nic) ^ 0x0200_0000_0000_0000UL;
    }

    public static Ipv6Address ReadFrom(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source.Slice(8, 8)));

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(8, 8), Low);
    }

    public static Ipv6Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv6 address");

    public static bool TryParse([NotNullWhen(true)] string? text, out Ipv6Address address)
    {
        address = default;
        if (text is null || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6 || ip.ScopeId != 0) return false;
        address = FromIPAddress(ip);
        return true;
    }

    public static Ipv6Address FromIPAddress(IPAddress ip)
    {
        if (ip.AddressFamily != AddressFamily.InterNetworkV6) throw new ArgumentException($"{ip} is not an IPv6 address", nameof(ip));
        Span<byte> b = stackalloc byte[16];
        ip.TryWriteBytes(b, out _);
        return ReadFrom(b);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[16];
        WriteTo(b);
        return new IPAddress(b);
    }

    public int CompareTo(Ipv6Address other)
    {
        int c = High.CompareTo(other.High);
        return c != 0 ? c : Low.CompareTo(other.Low);
    }

    public override string ToString() => ToIPAddress().ToString();

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        ToIPAddress().TryFormat(destination, out charsWritten);
}
