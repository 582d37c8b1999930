using System.Buffers.Binary;

namespace DataPlane.Wire;

// Views over the five Neighbor Discovery messages (RFC 4861 §4). Each message's byte offsets are the
// constants of its view, counted from the ICMPv6 Type byte as in the RFC diagrams; the builders and
// parsed forms use these constants and no others.
//
// The checked constructors enforce the RFC 4861 validity checks that the message alone can answer:
// the fixed part is present (§6.1, §7.1, §8.1 "ICMP length is N or more"), the code is 0, every option
// has a non-zero length inside the message, and targets/destinations that must not be multicast are not.
// Checks that need the IPv6 header (hop limit 255, source address rules) and the checksum (which needs
// the addresses: Icmpv6Packet.IsChecksumValid) are the caller's.

/// <summary>Validation shared by the ND views and parsed forms.</summary>
internal static class NdMessage
{
    public static bool TryValidate(ReadOnlySpan<byte> buffer, Icmpv6Type type, int optionsOffset, out WireError error)
    {
        if (!Icmpv6Packet.TryValidate(buffer, type, out error)) return false;
        if (buffer[Icmpv6Packet.CodeOffset] != 0)
        {
            error = WireError.BadValue;
            return false;
        }
        return NdOption.TryValidateOptions(buffer[optionsOffset..], out error);
    }

    /// <summary>A target or destination field that must not hold a multicast address (RFC 4861 §7.1.1, §7.1.2, §8.1).</summary>
    public static bool TryCheckUnicast(ReadOnlySpan<byte> buffer, int offset, out WireError error)
    {
        error = Ipv6Address.ReadFrom(buffer.Slice(offset, Ipv6Address.Length)).IsMulticast ? WireError.BadValue : WireError.None;
        return error == WireError.None;
    }
}

/// <summary>A view over a Router Solicitation (RFC 4861 §4.1): header(4) reserved(4) options.</summary>
public readonly ref struct RouterSolicitationView
{
    public const int ReservedOffset = 4;
    public const int OptionsOffset = 8;

    private readonly Span<byte> _buffer;

    private RouterSolicitationView(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out RouterSolicitationView view, out WireError error)
    {
        view = default;
        if (!TryValidate(buffer, out error)) return false;
        view = new RouterSolicitationView(buffer);
        return true;
    }

    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error) =>
        NdMessage.TryValidate(buffer, Icmpv6Type.RouterSolicitation, OptionsOffset, out error);

    public Span<byte> Buffer => _buffer;
    public Icmpv6Packet Packet => new(_buffer);
    public NdOptionReader Options => new(_buffer[OptionsOffset..]);

    /// <summary>The Source Link-layer Address option, or null when absent (it must be absent when the IPv6 source is ::).</summary>
    public bool TryGetSourceLinkLayerAddress(out MacAddress? address, out WireError error) =>
        NdOption.TryFindLinkLayerAddress(_buffer[OptionsOffset..], NdOptionType.SourceLinkLayerAddress, out address, out error);
}

/// <summary>
/// A view over a Router Advertisement (RFC 4861 §4.2): header(4) cur-hop-limit(1) flags(1)
/// router-lifetime(2, seconds) reachable-time(4, ms) retrans-timer(4, ms) options.
/// </summary>
public readonly ref struct RouterAdvertisementView
{
    public const int CurHopLimitOffset = 4;
    public const int FlagsOffset = 5;
    public const int RouterLifetimeOffset = 6;
    public const int ReachableTimeOffset = 8;
    public const int RetransTimerOffset = 12;
    public const int OptionsOffset = 16;

    private readonly Span<byte> _buffer;

    private RouterAdvertisementView(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out RouterAdvertisementView view, out WireError error)
    {
        view = default;
        if (!TryValidate(buffer, out error)) return false;
        view = new RouterAdvertisementView(buffer);
        return true;
    }

    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error) =>
        NdMessage.TryValidate(buffer, Icmpv6Type.RouterAdvertisement, OptionsOffset, out error);

    public Span<byte> Buffer => _buffer;
    public Icmpv6Packet Packet => new(_buffer);

    /// <summary>The hop limit hosts should use; 0 means unspecified by this router.</summary>
    public byte CurHopLimit => _buffer[CurHopLimitOffset];
    public RouterAdvertisementFlags Flags => (RouterAdvertisementFlags)_buffer[FlagsOffset];
    public bool IsManagedAddressConfiguration => (Flags & RouterAdvertisementFlags.ManagedAddressConfiguration) != 0;
    public bool IsOtherConfiguration => (Flags & RouterAdvertisementFlags.OtherConfiguration) != 0;
    /// <summary>Seconds; 0 means "not a default router".</summary>
    public ushort RouterLifetime => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(RouterLifetimeOffset, 2));
    /// <summary>Milliseconds; 0 means unspecified.</summary>
    public uint ReachableTime => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(ReachableTimeOffset, 4));
    /// <summary>Milliseconds; 0 means unspecified.</summary>
    public uint RetransTimer => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(RetransTimerOffset, 4));
    public RouterAdvertisementFields Fields => ReadFields(_buffer);
    public NdOptionReader Options => new(_buffer[OptionsOffset..]);

    /// <summary>The fixed fields of a message already validated (by <see cref="TryValidate"/>) as an RA.</summary>
    public static RouterAdvertisementFields ReadFields(ReadOnlySpan<byte> message) => new(
        message[CurHopLimitOffset],
        (RouterAdvertisementFlags)message[FlagsOffset],
        BinaryPrimitives.ReadUInt16BigEndian(message.Slice(RouterLifetimeOffset, 2)),
        BinaryPrimitives.ReadUInt32BigEndian(message.Slice(ReachableTimeOffset, 4)),
        BinaryPrimitives.ReadUInt32BigEndian(message.Slice(RetransTimerOffset, 4)));

    /// <summary>Fixed fields, for callers building an RA with <see cref="Icmpv6Builder"/> directly (offsets from the Type byte).</summary>
    public static void WriteFields(Span<byte> message, in RouterAdvertisementFields fields)
    {
        message[CurHopLimitOffset] = fields.CurHopLimit;
        message[FlagsOffset] = (byte)fields.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(message[RouterLifetimeOffset..], fields.RouterLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(message[ReachableTimeOffset..], fields.ReachableTime);
        BinaryPrimitives.WriteUInt32BigEndian(message[RetransTimerOffset..], fields.RetransTimer);
    }
}

/// <summary>A view over a Neighbor Solicitation (RFC 4861 §4.3): header(4) reserved(4) target(16) options.</summary>
public readonly ref struct NeighborSolicitationView
{
    public const int ReservedOffset = 4;
    public const int TargetOffset = 8;
    public const int OptionsOffset = 24;

    private readonly Span<byte> _buffer;

    private NeighborSolicitationView(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out NeighborSolicitationView view, out WireError error)
    {
        view = default;
        if (!TryValidate(buffer, out error)) return false;
        view = new NeighborSolicitationView(buffer);
        return true;
    }

    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error) =>
        NdMessage.TryValidate(buffer, Icmpv6Type.NeighborSolicitation, OptionsOffset, out error)
        && NdMessage.TryCheckUnicast(buffer, TargetOffset, out error);

    public Span<byte> Buffer => _buffer;
    public Icmpv6Packet Packet => new(_buffer);
    public Ipv6Address Target => Ipv6Address.ReadFrom(_buffer.Slice(TargetOffset, Ipv6Address.Length));
    public NdOptionReader Options => new(_buffer[OptionsOffset..]);

    /// <summary>The Source Link-layer Address option, or null when absent (always absent in a DAD probe from ::).</summary>
    public bool TryGetSourceLinkLayerAddress(out MacAddress? address, out WireError error) =>
        NdOption.TryFindLinkLayerAddress(_buffer[OptionsOffset..], NdOptionType.SourceLinkLayerAddress, out address, out error);
}

/// <summary>
/// A view over a Neighbor Advertisement (RFC 4861 §4.4): header(4) R|S|O|reserved(4) target(16) options.
/// </summary>
public readonly ref struct NeighborAdvertisementView
{
    public const int FlagsOffset = 4;
    public const int TargetOffset = 8;
    public const int OptionsOffset = 24;

    /// <summary>R, S and O are the top three bits of the flags word; the other 29 are reserved and ignored.</summary>
    internal const byte FlagsMask = 0xE0;

    private readonly Span<byte> _buffer;

    private NeighborAdvertisementView(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out NeighborAdvertisementView view, out WireError error)
    {
        view = default;
        if (!TryValidate(buffer, out error)) return false;
        view = new NeighborAdvertisementView(buffer);
        return true;
    }

    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error) =>
        NdMessage.TryValidate(buffer, Icmpv6Type.NeighborAdvertisement, OptionsOffset, out error)
        && NdMessage.TryCheckUnicast(buffer, TargetOffset, out error);

    public Span<byte> Buffer => _buffer;
    public Icmpv6Packet Packet => new(_buffer);
    public NeighborAdvertisementFlags Flags => (NeighborAdvertisementFlags)(_buffer[FlagsOffset] & FlagsMask);
    public bool IsRouter => (Flags & NeighborAdvertisementFlags.Router) != 0;
    public bool IsSolicited => (Flags & NeighborAdvertisementFlags.Solicited) != 0;
    public bool IsOverride => (Flags & NeighborAdvertisementFlags.Override) != 0;
    public Ipv6Address Target => Ipv6Address.ReadFrom(_buffer.Slice(TargetOffset, Ipv6Address.Length));
    public NdOptionReader Options => new(_buffer[OptionsOffset..]);

    /// <summary>The Target Link-layer Address option, or null when absent.</summary>
    public bool TryGetTargetLinkLayerAddress(out MacAddress? address, out WireError error) =>
        NdOption.TryFindLinkLayerAddress(_buffer[OptionsOffset..], NdOptionType.TargetLinkLayerAddress, out address, out error);
}

/// <summary>A view over a Redirect (RFC 4861 §4.5): header(4) reserved(4) target(16) destination(16) options.</summary>
public readonly ref struct RedirectView
{
    public const int ReservedOffset = 4;
    public const int TargetOffset = 8;
    public const int DestinationOffset = 24;
    public const int OptionsOffset = 40;

    private readonly Span<byte> _buffer;

    private RedirectView(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out RedirectView view, out WireError error)
    {
        view = default;
        if (!TryValidate(buffer, out error)) return false;
        view = new RedirectView(buffer);
        return true;
    }

    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error) =>
        NdMessage.TryValidate(buffer, Icmpv6Type.Redirect, OptionsOffset, out error)
        && NdMessage.TryCheckUnicast(buffer, DestinationOffset, out error);

    public Span<byte> Buffer => _buffer;
    public Icmpv6Packet Packet => new(_buffer);
    /// <summary>The better first hop (or the destination itself when it is on-link).</summary>
    public Ipv6Address Target => Ipv6Address.ReadFrom(_buffer.Slice(TargetOffset, Ipv6Address.Length));
    /// <summary>The destination being redirected.</summary>
    public Ipv6Address Destination => Ipv6Address.ReadFrom(_buffer.Slice(DestinationOffset, Ipv6Address.Length));
    public NdOptionReader Options => new(_buffer[OptionsOffset..]);
}
