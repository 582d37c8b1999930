using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// The layout of Neighbor Discovery options (RFC 4861 §4.6, RFC 8106 §5.1): type(1) length(1, in
/// 8-octet units, counting type and length, never zero) data. Every offset here is from the option's
/// Type byte, as in the RFC diagrams. The readers take one whole option (as
/// <see cref="NdOptionReader.Current"/> yields it) and check its length themselves, so they are safe on
/// any input; the writers write one whole option and return its length.
/// </summary>
public static class NdOption
{
    public const int TypeOffset = 0;
    public const int LengthOffset = 1;
    public const int HeaderLength = 2;
    /// <summary>The Length field counts units of this many octets.</summary>
    public const int LengthUnit = 8;

    // Source/Target Link-layer Address (RFC 4861 §4.6.1; RFC 2464 §6 for Ethernet): type len address(6).
    public const int LinkLayerAddressOffset = 2;
    public const int LinkLayerAddressLength = 8;

    // Prefix Information (RFC 4861 §4.6.2): type len=4 prefix-length(1) flags(1) valid(4) preferred(4) reserved2(4) prefix(16).
    public const int PrefixLengthOffset = 2;
    public const int PrefixFlagsOffset = 3;
    public const int ValidLifetimeOffset = 4;
    public const int PreferredLifetimeOffset = 8;
    public const int PrefixReserved2Offset = 12;
    public const int PrefixOffset = 16;
    public const int PrefixInformationLength = 32;

    // Redirected Header (RFC 4861 §4.6.3): type len reserved(6) IP header + data.
    public const int RedirectedPacketOffset = 8;

    // MTU (RFC 4861 §4.6.4): type len=1 reserved(2) MTU(4).
    public const int MtuOffset = 4;
    public const int MtuLength = 8;

    // Recursive DNS Server (RFC 8106 §5.1): type len reserved(2) lifetime(4) address(16) × n, n ≥ 1.
    public const int RecursiveDnsServerLifetimeOffset = 4;
    public const int RecursiveDnsServerAddressesOffset = 8;
    /// <summary>The Length byte caps an option at 255 units, so at most (255 − 1) / 2 addresses.</summary>
    public const int MaxRecursiveDnsServers = 127;

    /// <summary>The length of an RDNSS option carrying <paramref name="count"/> addresses.</summary>
    public static int RecursiveDnsServerLength(int count) => RecursiveDnsServerAddressesOffset + count * Ipv6Address.Length;

    /// <summary>
    /// The MAC in a Source or Target Link-layer Address option. On Ethernet the option is exactly one
    /// unit (RFC 2464 §6); any other length is <see cref="WireError.BadOption"/>, as Linux also drops it.
    /// </summary>
    public static bool TryReadLinkLayerAddress(ReadOnlySpan<byte> option, out MacAddress address, out WireError error)
    {
        address = default;
        if (option.Length != LinkLayerAddressLength)
        {
            error = WireError.BadOption;
            return false;
        }
        address = MacAddress.ReadFrom(option.Slice(LinkLayerAddressOffset, MacAddress.Length));
        error = WireError.None;
        return true;
    }

    /// <summary>
    /// A Prefix Information option. A prefix length above 128 is <see cref="WireError.BadValue"/>. Bits
    /// of the Prefix field past the prefix length are cleared: RFC 4861 §4.6.2 says the receiver
    /// ignores them (unlike a Home Network Prefix option, where they make the option malformed).
    /// </summary>
    public static bool TryReadPrefixInformation(ReadOnlySpan<byte> option, out PrefixInformation information, out WireError error)
    {
        information = default;
        if (option.Length != PrefixInformationLength)
        {
            error = WireError.BadOption;
            return false;
        }
        byte length = option[PrefixLengthOffset];
        if (length > 128)
        {
            error = WireError.BadValue;
            return false;
        }
        information = new PrefixInformation(
            new Ipv6Prefix(Ipv6Address.ReadFrom(option.Slice(PrefixOffset, Ipv6Address.Length)), length),
            (PrefixInformationFlags)option[PrefixFlagsOffset],
            BinaryPrimitives.ReadUInt32BigEndian(option.Slice(ValidLifetimeOffset, 4)),
            BinaryPrimitives.ReadUInt32BigEndian(option.Slice(PreferredLifetimeOffset, 4)));
        error = WireError.None;
        return true;
    }

    public static bool TryReadMtu(ReadOnlySpan<byte> option, out uint mtu, out WireError error)
    {
        mtu = 0;
        if (option.Length != MtuLength)
        {
            error = WireError.BadOption;
            return false;
        }
        mtu = BinaryPrimitives.ReadUInt32BigEndian(option.Slice(MtuOffset, 4));
        error = WireError.None;
        return true;
    }

    /// <summary>An RDNSS option: the length must be 3 + 2n units, n ≥ 1 (RFC 8106 §5.1).</summary>
    public static bool TryReadRecursiveDnsServer(ReadOnlySpan<byte> option, out RecursiveDnsServerView view, out WireError error)
    {
        view = default;
        int addresses = option.Length - RecursiveDnsServerAddressesOffset;
        if (addresses < Ipv6Address.Length || addresses % Ipv6Address.Length != 0)
        {
            error = WireError.BadOption;
            return false;
        }
        view = new RecursiveDnsServerView(option);
        error = WireError.None;
        return true;
    }

    /// <summary>The (truncated) packet a Redirected Header option carries.</summary>
    public static bool TryReadRedirectedHeader(ReadOnlySpan<byte> option, out ReadOnlySpan<byte> packet, out WireError error)
    {
        packet = default;
        if (option.Length < RedirectedPacketOffset)
        {
            error = WireError.BadOption;
            return false;
        }
        packet = option[RedirectedPacketOffset..];
        error = WireError.None;
        return true;
    }

    /// <summary>Walk an option list to its end; the first structural fault is the error.</summary>
    public static bool TryValidateOptions(ReadOnlySpan<byte> options, out WireError error)
    {
        var reader = new NdOptionReader(options);
        while (reader.MoveNext()) { }
        error = reader.Error;
        return error == WireError.None;
    }

    /// <summary>
    /// The first link-layer address option of <paramref name="type"/> (SLLA or TLLA) in an option list,
    /// or null when there is none. Later duplicates are ignored, as Linux does. The whole list is walked,
    /// so a structural fault anywhere is reported.
    /// </summary>
    public static bool TryFindLinkLayerAddress(ReadOnlySpan<byte> options, NdOptionType type, out MacAddress? address, out WireError error)
    {
        address = null;
        var reader = new NdOptionReader(options);
        while (reader.MoveNext())
        {
            if (reader.CurrentType != type || address is not null) continue;
            if (!TryReadLinkLayerAddress(reader.Current, out var mac, out error)) return false;
            address = mac;
        }
        error = reader.Error;
        if (error == WireError.None) return true;
        address = null;
        return false;
    }

    /// <summary>Source (type 1) or Target (type 2) Link-layer Address option for Ethernet; returns 8.</summary>
    public static int WriteLinkLayerAddress(Span<byte> destination, NdOptionType type, MacAddress address)
    {
        var o = destination[..LinkLayerAddressLength];
        o[TypeOffset] = (byte)type;
        o[LengthOffset] = LinkLayerAddressLength / LengthUnit;
        address.WriteTo(o.Slice(LinkLayerAddressOffset, MacAddress.Length));
        return LinkLayerAddressLength;
    }

    /// <summary>Prefix Information option; returns 32.</summary>
    public static int WritePrefixInformation(Span<byte> destination, in PrefixInformation information)
    {
        var o = destination[..PrefixInformationLength];
        o[TypeOffset] = (byte)NdOptionType.PrefixInformation;
        o[LengthOffset] = PrefixInformationLength / LengthUnit;
        o[PrefixLengthOffset] = information.Prefix.Length;
        o[PrefixFlagsOffset] = (byte)information.Flags;
        BinaryPrimitives.WriteUInt32BigEndian(o[ValidLifetimeOffset..], information.ValidLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(o[PreferredLifetimeOffset..], information.PreferredLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(o[PrefixReserved2Offset..], 0);
        information.Prefix.Address.WriteTo(o[PrefixOffset..]);
        return PrefixInformationLength;
    }

    /// <summary>MTU option; returns 8.</summary>
    public static int WriteMtu(Span<byte> destination, uint mtu)
    {
        var o = destination[..MtuLength];
        o[TypeOffset] = (byte)NdOptionType.Mtu;
        o[LengthOffset] = MtuLength / LengthUnit;
        BinaryPrimitives.WriteUInt16BigEndian(o[HeaderLength..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(o[MtuOffset..], mtu);
        return MtuLength;
    }

    /// <summary>Recursive DNS Server option with one or more addresses; returns 8 + 16n.</summary>
    public static int WriteRecursiveDnsServer(Span<byte> destination, uint lifetime, ReadOnlySpan<Ipv6Address> servers)
    {
        if (servers.Length is 0 or > MaxRecursiveDnsServers)
            throw new ArgumentOutOfRangeException(nameof(servers), servers.Length, "an RDNSS option carries 1..127 addresses");
        int length = RecursiveDnsServerLength(servers.Length);
        var o = destination[..length];
        o[TypeOffset] = (byte)NdOptionType.RecursiveDnsServer;
        o[LengthOffset] = (byte)(length / LengthUnit);
        BinaryPrimitives.WriteUInt16BigEndian(o[HeaderLength..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(o[RecursiveDnsServerLifetimeOffset..], lifetime);
        for (int i = 0; i < servers.Length; i++)
            servers[i].WriteTo(o.Slice(RecursiveDnsServerAddressesOffset + i * Ipv6Address.Length, Ipv6Address.Length));
        return length;
    }
}

/// <summary>
/// A view over a checked Recursive DNS Server option (RFC 8106 §5.1): the lifetime and the server
/// addresses, read in place. Made by <see cref="NdOption.TryReadRecursiveDnsServer"/>.
/// </summary>
public readonly ref struct RecursiveDnsServerView
{
    private readonly ReadOnlySpan<byte> _option;

    internal RecursiveDnsServerView(ReadOnlySpan<byte> option) => _option = option;

    /// <summary>Seconds the servers may be used; 0xFFFFFFFF is infinity, 0 withdraws them.</summary>
    public uint Lifetime => BinaryPrimitives.ReadUInt32BigEndian(_option.Slice(NdOption.RecursiveDnsServerLifetimeOffset, 4));

    public int Count => (_option.Length - NdOption.RecursiveDnsServerAddressesOffset) / Ipv6Address.Length;

    /// <summary>The <paramref name="index"/>th address; an index outside 0..Count−1 throws, as a span's does.</summary>
    public Ipv6Address this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return Ipv6Address.ReadFrom(_option.Slice(NdOption.RecursiveDnsServerAddressesOffset + index * Ipv6Address.Length, Ipv6Address.Length));
        }
    }

    /// <summary>The parsed, allocated form.</summary>
    public RecursiveDnsServerOption ToRepr()
    {
        var addresses = new Ipv6Address[Count];
        for (int i = 0; i < addresses.Length; i++) addresses[i] = this[i];
        return new RecursiveDnsServerOption(Lifetime, new EquatableArray<Ipv6Address>(addresses));
    }

    public Enumerator GetEnumerator() => new(this);

    public ref struct Enumerator
    {
        private readonly RecursiveDnsServerView _view;
        private int _index;

        internal Enumerator(RecursiveDnsServerView view)
        {
            _view = view;
            _index = -1;
        }

        public bool MoveNext() => ++_index < _view.Count;
        public readonly Ipv6Address Current => _view[_index];
    }
}

/// <summary>The parsed form of a Prefix Information option (RFC 4861 §4.6.2). Lifetimes are in seconds.</summary>
public readonly record struct PrefixInformation(Ipv6Prefix Prefix, PrefixInformationFlags Flags, uint ValidLifetime, uint PreferredLifetime)
{
    /// <summary>A lifetime of all ones means infinity (RFC 4861 §4.6.2).</summary>
    public const uint InfiniteLifetime = 0xFFFF_FFFF;

    /// <summary>L: on-link determination.</summary>
    public bool IsOnLink => (Flags & PrefixInformationFlags.OnLink) != 0;

    /// <summary>A: autonomous address configuration (SLAAC).</summary>
    public bool IsAutonomous => (Flags & PrefixInformationFlags.Autonomous) != 0;
}

/// <summary>The parsed form of a Recursive DNS Server option (RFC 8106 §5.1). Lifetime in seconds.</summary>
public readonly record struct RecursiveDnsServerOption(uint Lifetime, EquatableArray<Ipv6Address> Addresses)
{
    public const uint InfiniteLifetime = 0xFFFF_FFFF;
}
