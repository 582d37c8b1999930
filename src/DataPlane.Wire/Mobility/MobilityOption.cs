using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A parsed mobility option (RFC 6275 §6.2). Pad1/PadN are not represented: they are layout, which
/// <see cref="MobilityHeaderBuilder"/> recomputes from the alignment rules when a message is written.
/// </summary>
public abstract record MobilityOption
{
    /// <summary>The option's Type byte.</summary>
    public abstract byte RawType { get; }

    /// <summary>Length of the option data (what the Length byte says).</summary>
    public abstract int DataLength { get; }

    /// <summary>Write the option data (not Type/Length) into exactly <see cref="DataLength"/> bytes.</summary>
    public abstract void WriteData(Span<byte> data);

    /// <summary>
    /// Parse the data of one option of the given type. Fixed-size options whose length is not the
    /// RFC's get <see cref="WireError.BadOption"/>; unknown types become <see cref="UnknownMobilityOption"/>
    /// (RFC 6275 §6.2.1: unrecognised options are skipped, so they are kept but never acted on).
    /// </summary>
    public static bool TryParse(byte type, ReadOnlySpan<byte> data, out MobilityOption? option, out WireError error)
    {
        option = null;
        var t = (MobilityOptionType)type;
        int fixedLength = MobilityOptionLayout.FixedDataLength(t);
        if (fixedLength >= 0 && data.Length != fixedLength)
        {
            error = WireError.BadOption;
            return false;
        }
        error = WireError.None;
        switch (t)
        {
            case MobilityOptionType.MobileNodeIdentifier:
                if (data.Length < 2) // subtype plus at least one identifier byte (RFC 4283 §3)
                {
                    error = WireError.BadOption;
                    return false;
                }
                option = new MobileNodeIdentifierOption((MobileNodeIdentifierSubtype)data[0], new OctetString(data[1..]));
                return true;
            case MobilityOptionType.HomeNetworkPrefix:
            {
                byte length = data[1];
                if (length > 128)
                {
                    error = WireError.BadValue;
                    return false;
                }
                var address = Ipv6Address.ReadFrom(data.Slice(2, 16));
                // Host bits set past the prefix length are a malformed prefix, not something to silently mask.
                if (Ipv6Prefix.Mask(address, length) != address)
                {
                    error = WireError.BadValue;
                    return false;
                }
                option = new HomeNetworkPrefixOption(new Ipv6Prefix(address, length));
                return true;
            }
            case MobilityOptionType.HandoffIndicator:
                option = new HandoffIndicatorOption((HandoffIndicator)data[1]);
                return true;
            case MobilityOptionType.AccessTechnologyType:
                option = new AccessTechnologyTypeOption((AccessTechnologyType)data[1]);
                return true;
            case MobilityOptionType.MobileNodeLinkLayerIdentifier:
                if (data.Length < 3) // 2 reserved bytes plus at least one identifier byte
                {
                    error = WireError.BadOption;
                    return false;
                }
                option = new MobileNodeLinkLayerIdentifierOption(new OctetString(data[2..]));
                return true;
            case MobilityOptionType.LinkLocalAddress:
                option = new LinkLocalAddressOption(Ipv6Address.ReadFrom(data));
                return true;
            case MobilityOptionType.Timestamp:
                option = new TimestampOption(new PmipTimestamp(BinaryPrimitives.ReadUInt64BigEndian(data)));
                return true;
            case MobilityOptionType.RestartCounter:
                option = new RestartCounterOption(BinaryPrimitives.ReadUInt32BigEndian(data));
                return true;
            case MobilityOptionType.Ipv4HomeAddressRequest:
            {
                byte prefixLength = (byte)(data[0] >> 2);
                if (prefixLength > 32)
                {
                    error = WireError.BadValue;
                    return false;
                }
                option = new Ipv4HomeAddressRequestOption(prefixLength, Ipv4Address.ReadFrom(data.Slice(2, 4)));
                return true;
            }
            case MobilityOptionType.Ipv4HomeAddressReply:
            {
                byte prefixLength = (byte)(data[1] >> 2);
                if (prefixLength > 32)
                {
                    error = WireError.BadValue;
                    return false;
                }
                option = new Ipv4HomeAddressReplyOption((Ipv4HomeAddressReplyStatus)data[0], prefixLength, Ipv4Address.ReadFrom(data.Slice(2, 4)));
                return true;
            }
            case MobilityOptionType.Ipv4DefaultRouterAddress:
                option = new Ipv4DefaultRouterAddressOption(Ipv4Address.ReadFrom(data.Slice(2, 4)));
                return true;
            case MobilityOptionType.TransientBinding:
                option = TransientBindingOption.Read(data);
                return true;
            case MobilityOptionType.ExperimentalMobilityOption:
                option = DeliveryMarkerOption.TryRead(data, out var marker) ? marker : new UnknownMobilityOption(type, new OctetString(data));
                return true;
            case MobilityOptionType.Ipv4DhcpSupportMode:
                option = new Ipv4DhcpSupportModeOption((data[1] & 0x01) != 0);
                return true;
            case MobilityOptionType.MagIpv6Address:
                // RFC 6705 §11.1: the Address Length "MUST be set to 128".
                if (data[1] != 128)
                {
                    error = WireError.BadValue;
                    return false;
                }
                option = new MagIpv6AddressOption(Ipv6Address.ReadFrom(data.Slice(2, 16)));
                return true;
            default:
                option = new UnknownMobilityOption(type, new OctetString(data));
                return true;
        }
    }
}

/// <summary>Mobile Node Identifier (RFC 4283): subtype 1 carries an NAI such as "vm1@example.com".</summary>
public sealed record MobileNodeIdentifierOption(MobileNodeIdentifierSubtype Subtype, OctetString Identifier) : MobilityOption
{
    public static MobileNodeIdentifierOption ForNai(string nai) => new(MobileNodeIdentifierSubtype.Nai, OctetString.FromUtf8(nai));

    /// <summary>The NAI text when the subtype is NAI and the bytes are UTF-8; otherwise null.</summary>
    public string? Nai => Subtype == MobileNodeIdentifierSubtype.Nai ? Identifier.TryGetUtf8() : null;

    public override byte RawType => (byte)MobilityOptionType.MobileNodeIdentifier;
    public override int DataLength => 1 + Identifier.Length;

    public override void WriteData(Span<byte> data)
    {
        data[0] = (byte)Subtype;
        Identifier.Span.CopyTo(data[1..]);
    }
}

/// <summary>Home Network Prefix (RFC 5213 §8.3): reserved(1) prefix-length(1) prefix(16).</summary>
public sealed record HomeNetworkPrefixOption(Ipv6Prefix Prefix) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.HomeNetworkPrefix;
    public override int DataLength => MobilityOptionLayout.HomeNetworkPrefixDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = 0;
        data[1] = Prefix.Length;
        Prefix.Address.WriteTo(data[2..]);
    }
}

/// <summary>Handoff Indicator (RFC 5213 §8.4): reserved(1) HI(1).</summary>
public sealed record HandoffIndicatorOption(HandoffIndicator Value) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.HandoffIndicator;
    public override int DataLength => MobilityOptionLayout.HandoffIndicatorDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = 0;
        data[1] = (byte)Value;
    }
}

/// <summary>Access Technology Type (RFC 5213 §8.5): reserved(1) ATT(1).</summary>
public sealed record AccessTechnologyTypeOption(AccessTechnologyType Value) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.AccessTechnologyType;
    public override int DataLength => MobilityOptionLayout.AccessTechnologyTypeDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = 0;
        data[1] = (byte)Value;
    }
}

/// <summary>Mobile Node Link-layer Identifier (RFC 5213 §8.6): reserved(2) identifier (the VM's MAC).</summary>
public sealed record MobileNodeLinkLayerIdentifierOption(OctetString Identifier) : MobilityOption
{
    public static MobileNodeLinkLayerIdentifierOption ForMac(MacAddress mac)
    {
        Span<byte> b = stackalloc byte[MacAddress.Length];
        mac.WriteTo(b);
        return new(new OctetString(b));
    }

    /// <summary>The identifier as a MAC address when it is six bytes long.</summary>
    public bool TryGetMac(out MacAddress mac)
    {
        mac = default;
        if (Identifier.Length != MacAddress.Length) return false;
        mac = MacAddress.ReadFrom(Identifier.Span);
        return true;
    }

    public override byte RawType => (byte)MobilityOptionType.MobileNodeLinkLayerIdentifier;
    public override int DataLength => 2 + Identifier.Length;

    public override void WriteData(Span<byte> data)
    {
        data[0] = 0;
        data[1] = 0;
        Identifier.Span.CopyTo(data[2..]);
    }
}

/// <summary>Link-local Address (RFC 5213 §8.7): the MAG's link-local address on the access link.</summary>
public sealed record LinkLocalAddressOption(Ipv6Address Address) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.LinkLocalAddress;
    public override int DataLength => MobilityOptionLayout.LinkLocalAddressDataLength;
    public override void WriteData(Span<byte> data) => Address.WriteTo(data);
}

/// <summary>Timestamp (RFC 5213 §8.8).</summary>
public sealed record TimestampOption(PmipTimestamp Value) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.Timestamp;
    public override int DataLength => MobilityOptionLayout.TimestampDataLength;
    public override void WriteData(Span<byte> data) => BinaryPrimitives.WriteUInt64BigEndian(data, Value.Raw);
}

/// <summary>Restart Counter (RFC 5847 §3.2): changes each time the sender restarts.</summary>
public sealed record RestartCounterOption(uint Value) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.RestartCounter;
    public override int DataLength => MobilityOptionLayout.RestartCounterDataLength;
    public override void WriteData(Span<byte> data) => BinaryPrimitives.WriteUInt32BigEndian(data, Value);
}

/// <summary>
/// IPv4 Home Address Request (RFC 5844 §3.3.1), in PBUs: prefix-len(6 bits) reserved(10 bits) address(4);
/// 0.0.0.0 (ALL_ZERO) asks the LMA to allocate. The reserved bits are sent as zero and ignored on receipt
/// (§3.2.3.1's "(P) flag … MUST be set to 0" refers to a field Figure 3 does not have; it lies in them).
/// </summary>
public sealed record Ipv4HomeAddressRequestOption(byte PrefixLength, Ipv4Address Address) : MobilityOption
{
    /// <summary>ALL_ZERO: "the LMA performs the address allocation".</summary>
    public static Ipv4HomeAddressRequestOption AllZero { get; } = new(0, Ipv4Address.Any);

    public bool IsAllZero => Address.IsUnspecified;

    public override byte RawType => (byte)MobilityOptionType.Ipv4HomeAddressRequest;
    public override int DataLength => MobilityOptionLayout.Ipv4AddressOptionDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = (byte)(PrefixLength << 2);
        data[1] = 0;
        Address.WriteTo(data[2..]);
    }
}

/// <summary>IPv4 Home Address Reply (RFC 5844 §3.3.2), in PBAs: status(1) prefix-len(6 bits) reserved(2 bits) address(4).</summary>
public sealed record Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus Status, byte PrefixLength, Ipv4Address Address) : MobilityOption
{
    /// <summary>Values 0 to 127 mean success (§3.3.2).</summary>
    public bool IsSuccess => (byte)Status < 128;

    public override byte RawType => (byte)MobilityOptionType.Ipv4HomeAddressReply;
    public override int DataLength => MobilityOptionLayout.Ipv4AddressOptionDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = (byte)Status;
        data[1] = (byte)(PrefixLength << 2);
        Address.WriteTo(data[2..]);
    }
}

/// <summary>IPv4 Default-Router Address (RFC 5844 §3.3.3), in accepting PBAs: reserved(2) address(4).</summary>
public sealed record Ipv4DefaultRouterAddressOption(Ipv4Address Address) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.Ipv4DefaultRouterAddress;
    public override int DataLength => MobilityOptionLayout.Ipv4AddressOptionDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = 0;
        data[1] = 0;
        Address.WriteTo(data[2..]);
    }
}

/// <summary>IPv4 DHCP Support Mode (RFC 5844 §3.3.4), in PBAs: reserved(15 bits) S(1); S = 1: the MAG is the DHCP server, 0: a relay.</summary>
public sealed record Ipv4DhcpSupportModeOption(bool ServerMode) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.Ipv4DhcpSupportMode;
    public override int DataLength => MobilityOptionLayout.Ipv4DhcpSupportModeDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = 0;
        data[1] = ServerMode ? (byte)1 : (byte)0;
    }
}

/// <summary>MAG IPv6 Address (RFC 6705 §11.1): reserved(1) address-length(1, always 128) address(16); the other MAG of a localized routing pair.</summary>
public sealed record MagIpv6AddressOption(Ipv6Address Address) : MobilityOption
{
    public override byte RawType => (byte)MobilityOptionType.MagIpv6Address;
    public override int DataLength => MobilityOptionLayout.MagIpv6AddressDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = 0;
        data[1] = 128;
        Address.WriteTo(data[2..]);
    }
}

/// <summary>An option this implementation does not interpret, kept verbatim.</summary>
public sealed record UnknownMobilityOption(byte Type, OctetString Data) : MobilityOption
{
    public override byte RawType => Type;
    public override int DataLength => Data.Length;
    public override void WriteData(Span<byte> data) => Data.Span.CopyTo(data);
}
