using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// The parsed form of a Mobility Header message: the type-specific fixed fields plus the options in
/// wire order. <see cref="TryParse"/> reads one; <see cref="WriteTo"/> writes it with the RFC's padding
/// and the checksum for the given IPv6 addresses.
/// </summary>
public abstract record MobilityMessage
{
    public MobilityOptionList Options { get; init; } = MobilityOptionList.Empty;

    public abstract MobilityHeaderType Type { get; }

    private protected abstract int BodyLength { get; }

    private protected abstract void WriteBody(Span<byte> body);

    // Typed look-ups for the options the PMIPv6 machines read.
    public MobileNodeIdentifierOption? MobileNodeIdentifier => Options.Find<MobileNodeIdentifierOption>();
    public IEnumerable<Ipv6Prefix> HomeNetworkPrefixes => Options.All<HomeNetworkPrefixOption>().Select(o => o.Prefix);
    public HandoffIndicator? HandoffIndicator => Options.Find<HandoffIndicatorOption>()?.Value;
    public AccessTechnologyType? AccessTechnologyType => Options.Find<AccessTechnologyTypeOption>()?.Value;
    public MobileNodeLinkLayerIdentifierOption? MobileNodeLinkLayerIdentifier => Options.Find<MobileNodeLinkLayerIdentifierOption>();
    public Ipv6Address? LinkLocalAddress => Options.Find<LinkLocalAddressOption>()?.Address;
    public PmipTimestamp? Timestamp => Options.Find<TimestampOption>()?.Value;
    public uint? RestartCounter => Options.Find<RestartCounterOption>()?.Value;
    /// <summary>RFC 5844: the first IPv4 Home Address Request (a PBU must carry at most one: §3.1.2.1, status 173).</summary>
    public Ipv4HomeAddressRequestOption? Ipv4HomeAddressRequest => Options.Find<Ipv4HomeAddressRequestOption>();
    public int Ipv4HomeAddressRequestCount => Options.All<Ipv4HomeAddressRequestOption>().Count();
    public Ipv4HomeAddressReplyOption? Ipv4HomeAddressReply => Options.Find<Ipv4HomeAddressReplyOption>();
    public Ipv4Address? Ipv4DefaultRouterAddress => Options.Find<Ipv4DefaultRouterAddressOption>()?.Address;
    public Ipv4DhcpSupportModeOption? Ipv4DhcpSupportMode => Options.Find<Ipv4DhcpSupportModeOption>();
    public TransientBindingOption? TransientBinding => Options.Find<TransientBindingOption>();
    public DeliveryMarker? DeliveryMarker => Options.Find<DeliveryMarkerOption>()?.Marker;

    /// <summary>
    /// Parse a Mobility Header. The checksum is not checked here (it needs the IPv6 addresses: see
    /// <see cref="MobilityHeader.IsChecksumValid"/>); everything else is.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out MobilityMessage? message, out WireError error)
    {
        message = null;
        if (!MobilityHeader.TryValidate(buffer, out int length, out error)) return false;
        var mh = buffer[..length];
        var type = (MobilityHeaderType)mh[MobilityHeader.TypeOffset];
        int bodyLength = MobilityHeader.FixedBodyLength(type);
        if (bodyLength < 0)
        {
            error = WireError.UnknownType;
            return false;
        }
        var body = mh.Slice(MobilityHeader.MessageDataOffset, bodyLength);
        if (!TryParseOptions(mh, MobilityHeader.MessageDataOffset + bodyLength, out var options, out error)) return false;
        message = type switch
        {
            MobilityHeaderType.BindingUpdate => BindingUpdate.ReadBody(body) with { Options = options },
            MobilityHeaderType.BindingAcknowledgement => BindingAcknowledgement.ReadBody(body) with { Options = options },
            MobilityHeaderType.LocalizedRoutingInitiation => LocalizedRoutingInitiation.ReadBody(body) with { Options = options },
            MobilityHeaderType.LocalizedRoutingAcknowledgement => LocalizedRoutingAcknowledgement.ReadBody(body) with { Options = options },
            MobilityHeaderType.HandoverInitiate => HandoverInitiate.ReadBody(body) with { Options = options },
            MobilityHeaderType.HandoverAcknowledge => HandoverAcknowledge.ReadBody(body) with { Options = options },
            _ => HeartbeatMessage.ReadBody(body) with { Options = options },
        };
        return true;
    }

    private static bool TryParseOptions(ReadOnlySpan<byte> mh, int offset, out MobilityOptionList options, out WireError error)
    {
        options = MobilityOptionList.Empty;
        var list = new List<MobilityOption>();
        var reader = new MobilityOptionReader(mh, offset);
        while (reader.MoveNext())
        {
            if (!MobilityOption.TryParse(reader.CurrentType, reader.CurrentData, out var option, out error)) return false;
            list.Add(option!);
        }
        error = reader.Error;
        if (error != WireError.None) return false;
        options = new MobilityOptionList(list);
        return true;
    }

    /// <summary>Write the message with padding and checksum; returns its length. Throws if the buffer is too small.</summary>
    public int WriteTo(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress)
    {
        var b = new MobilityHeaderBuilder(destination, Type, BodyLength);
        WriteBody(b.Body);
        foreach (var option in Options) b.Add(option);
        return b.Finish(source, destinationAddress);
    }

    /// <summary>The length <see cref="WriteTo"/> will produce.</summary>
    public int GetLength()
    {
        int position = MobilityHeader.MessageDataOffset + BodyLength;
        foreach (var o in Options)
        {
            position += MobilityOptionLayout.PaddingBefore((MobilityOptionType)o.RawType, position);
            position += MobilityOptionLayout.OptionHeaderLength + o.DataLength;
        }
        return position + MobilityOptionLayout.PaddingTo(position, 8, 0);
    }
}

/// <summary>
/// Binding Update (RFC 6275 §6.1.7): sequence(2) flags(2) lifetime(2, 4-second units). With the P flag
/// it is a Proxy Binding Update (RFC 5213 §8.1).
/// </summary>
public sealed record BindingUpdate(ushort Sequence, BindingUpdateFlags Flags, ushort Lifetime) : MobilityMessage
{
    /// <summary>A lifetime unit is four seconds.</summary>
    public const int LifetimeUnitSeconds = 4;

    public override MobilityHeaderType Type => MobilityHeaderType.BindingUpdate;

    public bool IsProxy => (Flags & BindingUpdateFlags.ProxyRegistration) != 0;

    /// <summary>A (proxy) de-registration has lifetime zero.</summary>
    public bool IsDeregistration => Lifetime == 0;

    public TimeSpan LifetimeSpan => TimeSpan.FromSeconds(Lifetime * LifetimeUnitSeconds);

    private protected override int BodyLength => MobilityHeader.BindingUpdateBodyLength;

    private protected override void WriteBody(Span<byte> body) => WriteBody(body, Sequence, Flags, Lifetime);

    /// <summary>Fixed fields, for callers building a BU with <see cref="MobilityHeaderBuilder"/> directly.</summary>
    public static void WriteBody(Span<byte> body, ushort sequence, BindingUpdateFlags flags, ushort lifetime)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body, sequence);
        BinaryPrimitives.WriteUInt16BigEndian(body[2..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(body[4..], lifetime);
    }

    internal static BindingUpdate ReadBody(ReadOnlySpan<byte> body) => new(
        BinaryPrimitives.ReadUInt16BigEndian(body),
        (BindingUpdateFlags)BinaryPrimitives.ReadUInt16BigEndian(body[2..]),
        BinaryPrimitives.ReadUInt16BigEndian(body[4..]));
}

/// <summary>
/// Binding Acknowledgement (RFC 6275 §6.1.8): status(1) flags(1) sequence(2) lifetime(2, 4-second units).
/// With the P flag it is a Proxy Binding Acknowledgement (RFC 5213 §8.2).
/// </summary>
public sealed record BindingAcknowledgement(BindingAckStatus Status, BindingAckFlags Flags, ushort Sequence, ushort Lifetime) : MobilityMessage
{
    public override MobilityHeaderType Type => MobilityHeaderType.BindingAcknowledgement;

    public bool IsProxy => (Flags & BindingAckFlags.ProxyRegistration) != 0;

    /// <summary>Status values below 128 mean the binding was accepted.</summary>
    public bool IsAccepted => (byte)Status < 128;

    public TimeSpan LifetimeSpan => TimeSpan.FromSeconds(Lifetime * BindingUpdate.LifetimeUnitSeconds);

    private protected override int BodyLength => MobilityHeader.BindingAcknowledgementBodyLength;

    private protected override void WriteBody(Span<byte> body) => WriteBody(body, Status, Flags, Sequence, Lifetime);

    public static void WriteBody(Span<byte> body, BindingAckStatus status, BindingAckFlags flags, ushort sequence, ushort lifetime)
    {
        body[0] = (byte)status;
        body[1] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(body[2..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(body[4..], lifetime);
    }

    internal static BindingAcknowledgement ReadBody(ReadOnlySpan<byte> body) => new(
        (BindingAckStatus)body[0],
        (BindingAckFlags)body[1],
        BinaryPrimitives.ReadUInt16BigEndian(body[2..]),
        BinaryPrimitives.ReadUInt16BigEndian(body[4..]));
}

/// <summary>
/// Heartbeat (RFC 5847 §3.1): reserved(14 bits) U(1) R(1) sequence(4). R marks a response,
/// U an unsolicited heartbeat.
/// </summary>
public sealed record HeartbeatMessage(bool IsResponse, bool IsUnsolicited, uint Sequence) : MobilityMessage
{
    private const ushort ResponseFlag = 0x0001;
    private const ushort UnsolicitedFlag = 0x0002;

    public override MobilityHeaderType Type => MobilityHeaderType.Heartbeat;

    private protected override int BodyLength => MobilityHeader.HeartbeatBodyLength;

    private protected override void WriteBody(Span<byte> body)
    {
        ushort flags = (ushort)((IsResponse ? ResponseFlag : 0) | (IsUnsolicited ? UnsolicitedFlag : 0));
        BinaryPrimitives.WriteUInt16BigEndian(body, flags);
        BinaryPrimitives.WriteUInt32BigEndian(body[2..], Sequence);
    }

    internal static HeartbeatMessage ReadBody(ReadOnlySpan<byte> body)
    {
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(body);
        return new((flags & ResponseFlag) != 0, (flags & UnsolicitedFlag) != 0, BinaryPrimitives.ReadUInt32BigEndian(body[2..]));
    }
}
