using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace DataPlane.Wire;

/// <summary>A 48-bit IEEE 802 MAC address held in the low 48 bits of a <see cref="ulong"/>.</summary>
public readonly record struct MacAddress : ISpanFormattable
{
    public const int Length = 6;

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value & 0xFFFF_FFFF_FFFFUL;

    public static MacAddress Broadcast { get; } = new(0xFFFF_FFFF_FFFFUL);
    public static MacAddress Zero { get; } = default;

    /// <summary>The address as an integer, most significant byte first on the wire.</summary>
    public ulong Value => _value;

    public static MacAddress FromUInt64(ulong value) => new(value);

    public static MacAddress ReadFrom(ReadOnlySpan<byte> source)
    {
        ulong hi = BinaryPrimitives.ReadUInt16BigEndian(source);
        ulong lo = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(2, 4));
        return new((hi << 32) | lo);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(_value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(2, 4), (uint)_value);
    }

    public bool IsBroadcast => _value == 0xFFFF_FFFF_FFFFUL;

    /// <summary>Group bit (I/G) of the first octet: multicast and broadcast.</summary>
    public bool IsMulticast => (_value & 0x0100_0000_0000UL) != 0;

    public bool IsUnicast => !IsMulticast;

    public bool IsZero => _value == 0;

    /// <summary>The Ethernet multicast address an IPv6 multicast group maps to (RFC 2464 §7).</summary>
    public static MacAddress ForIpv6Multicast(Ipv6Address group) =>
        new(0x3333_0000_0000UL | (group.Low & 0xFFFF_FFFFUL));

    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac) ? mac : throw new FormatException($"'{text}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");

    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null) return false;
        var parts = text.Split(':', '-');
        if (parts.Length != 6) return false;
        ulong v = 0;
        foreach (var p in parts)
        {
            if (p.Length is < 1 or > 2 || !byte.TryParse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b)) return false;
            v = (v << 8) | b;
        }
        mac = new(v);
        return true;
    }

    public override string ToString() => ToString(null, null);

    public string ToString(string? format, IFormatProvider? formatProvider)
    {
        Span<char> buf = stackalloc char[17];
        TryFormat(buf, out _, default, null);
        return new string(buf);
    }

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (destination.Length < 17) return false;
        const string hex = "0123456789abcdef";
        for (int i = 0; i < 6; i++)
        {
            byte b = (byte)(_value >> (40 - 8 * i));
            int at = i * 3;
            destination[at] = hex[b >> 4];
            destination[at + 1] = hex[b & 0xF];
            if (i < 5) destination[at + 2] = ':';
        }
        charsWritten = 17;
        return true;
    }
}
