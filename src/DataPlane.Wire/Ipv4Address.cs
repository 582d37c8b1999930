using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Wire;

/// <summary>An IPv4 address as a host-order <see cref="uint"/> (so comparisons and masks read naturally).</summary>
public readonly record struct Ipv4Address : ISpanFormattable
{
    public const int Length = 4;

    public Ipv4Address(uint value) => Value = value;

    public Ipv4Address(byte a, byte b, byte c, byte d) => Value = ((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d;

    public uint Value { get; }

    public static Ipv4Address Any => default;
    public static Ipv4Address Broadcast { get; } = new(0xFFFF_FFFFu);

    public bool IsUnspecified => Value == 0;
    public bool IsBroadcast => Value == 0xFFFF_FFFFu;
    public bool IsMulticast => (Value >> 28) == 0xE;
    public bool IsLoopback => (Value >> 24) == 127;
    /// <summary>0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3): never a destination, only a source while configuring.</summary>
    public bool IsThisNetwork => (Value >> 24) == 0;
    /// <summary>240.0.0.0/4, reserved (class E), the limited broadcast address included.</summary>
    public bool IsReserved => (Value >> 28) == 0xF;

    /// <summary>
    /// Identifies one host: not "this network", loopback, multicast or reserved/broadcast. Only such a
    /// source may be answered with an ICMP error (RFC 1812 §4.3.2.7) or be a home address.
    /// </summary>
    public bool IsUnicast => !IsThisNetwork && !IsLoopback && !IsMulticast && !IsReserved;

    public static Ipv4Address ReadFrom(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));

    public void WriteTo(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    public static Ipv4Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv4 address");

    public static bool TryParse([NotNullWhen(true)] string? text, out Ipv4Address address)
    {
        address = default;
        if (text is null || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork) return false;
        Span<byte> b = stackalloc byte[4];
        ip.TryWriteBytes(b, out _);
        address = ReadFrom(b);
        return true;
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[4];
        WriteTo(b);
        return new IPAddress(b);
    }

    public static Ipv4Address FromIPAddress(IPAddress ip)
    {
        if (ip.AddressFamily != AddressFamily.InterNetwork) throw new ArgumentException($"{ip} is not an IPv4 address", nameof(ip));
        Span<byte> b = stackalloc byte[4];
        ip.TryWriteBytes(b, out _);
        return ReadFrom(b);
    }

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        destination.TryWrite($"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}", out charsWritten);
}
