using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// Zero-allocation writers for the ICMPv6 messages the switch sends per VM (unicast RAs, NUD probes,
/// Neighbor Advertisements, Packet Too Big and other error replies). Each writes one whole message with
/// its checksum into the caller's buffer and returns its length; the caller writes the IPv6 header
/// (hop limit 255 for ND, RFC 4861 §6.1) with <see cref="Ipv6Packet.WriteHeader"/>. The parsed forms'
/// <c>WriteTo</c> methods call these, so each layout is written in one place. A buffer that is too
/// small throws.
/// </summary>
public static class Icmpv6Writer
{
    public static int RouterSolicitationLength(bool hasSourceLinkLayerAddress) =>
        RouterSolicitationView.OptionsOffset + (hasSourceLinkLayerAddress ? NdOption.LinkLayerAddressLength : 0);

    public static int RouterAdvertisementLength(bool hasSourceLinkLayerAddress, bool hasMtu, int prefixCount, int dnsServerCount) =>
        RouterAdvertisementView.OptionsOffset
        + (hasSourceLinkLayerAddress ? NdOption.LinkLayerAddressLength : 0)
        + (hasMtu ? NdOption.MtuLength : 0)
        + prefixCount * NdOption.PrefixInformationLength
        + (dnsServerCount > 0 ? NdOption.RecursiveDnsServerLength(dnsServerCount) : 0);

    public static int NeighborSolicitationLength(bool hasSourceLinkLayerAddress) =>
        NeighborSolicitationView.OptionsOffset + (hasSourceLinkLayerAddress ? NdOption.LinkLayerAddressLength : 0);

    public static int NeighborAdvertisementLength(bool hasTargetLinkLayerAddress) =>
        NeighborAdvertisementView.OptionsOffset + (hasTargetLinkLayerAddress ? NdOption.LinkLayerAddressLength : 0);

    /// <summary>The length of an error message quoting an invoking packet of <paramref name="invokingPacketLength"/> bytes (after truncation).</summary>
    public static int ErrorMessageLength(int invokingPacketLength) =>
        Icmpv6ErrorView.InvokingPacketOffset + Icmpv6ErrorView.TruncatedInvokingPacketLength(invokingPacketLength);

    /// <summary>Router Solicitation (RFC 4861 §4.1). Leave the SLLA out when the source is :: (§4.1).</summary>
    public static int WriteRouterSolicitation(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        MacAddress? sourceLinkLayerAddress)
    {
        var b = new Icmpv6Builder(destination, Icmpv6Type.RouterSolicitation, 0, Icmpv6Packet.RouterSolicitationBodyLength);
        if (sourceLinkLayerAddress is { } mac) b.AddSourceLinkLayerAddress(mac);
        return b.Finish(source, destinationAddress);
    }

    /// <summary>
    /// Router Advertisement (RFC 4861 §4.2) with options in this order: SLLA, MTU, one Prefix
    /// Information per prefix, and an RDNSS option (RFC 8106) when <paramref name="dnsServers"/> is not empty.
    /// </summary>
    public static int WriteRouterAdvertisement(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        in RouterAdvertisementFields fields, MacAddress? sourceLinkLayerAddress, uint? mtu,
        ReadOnlySpan<PrefixInformation> prefixes, uint dnsLifetime = 0, ReadOnlySpan<Ipv6Address> dnsServers = default)
    {
        var b = new Icmpv6Builder(destination, Icmpv6Type.RouterAdvertisement, 0, Icmpv6Packet.RouterAdvertisementBodyLength);
        RouterAdvertisementView.WriteFields(b.FixedPart, fields);
        if (sourceLinkLayerAddress is { } mac) b.AddSourceLinkLayerAddress(mac);
        if (mtu is { } m) b.AddMtu(m);
        foreach (ref readonly var prefix in prefixes) b.AddPrefixInformation(prefix);
        if (!dnsServers.IsEmpty) b.AddRecursiveDnsServer(dnsLifetime, dnsServers);
        return b.Finish(source, destinationAddress);
    }

    /// <summary>
    /// Neighbor Solicitation (RFC 4861 §4.3): a NUD probe is unicast to the neighbour, address resolution
    /// goes to the target's solicited-node group, and DAD comes from :: without an SLLA.
    /// </summary>
    public static int WriteNeighborSolicitation(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        Ipv6Address target, MacAddress? sourceLinkLayerAddress)
    {
        var b = new Icmpv6Builder(destination, Icmpv6Type.NeighborSolicitation, 0, Icmpv6Packet.NeighborSolicitationBodyLength);
        target.WriteTo(b.FixedPart[NeighborSolicitationView.TargetOffset..]);
        if (sourceLinkLayerAddress is { } mac) b.AddSourceLinkLayerAddress(mac);
        return b.Finish(source, destinationAddress);
    }

    /// <summary>Neighbor Advertisement (RFC 4861 §4.4). Only the R, S and O bits of <paramref name="flags"/> are written.</summary>
    public static int WriteNeighborAdvertisement(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        NeighborAdvertisementFlags flags, Ipv6Address target, MacAddress? targetLinkLayerAddress)
    {
        var b = new Icmpv6Builder(destination, Icmpv6Type.NeighborAdvertisement, 0, Icmpv6Packet.NeighborAdvertisementBodyLength);
        var head = b.FixedPart;
        head[NeighborAdvertisementView.FlagsOffset] = (byte)((byte)flags & NeighborAdvertisementView.FlagsMask);
        target.WriteTo(head[NeighborAdvertisementView.TargetOffset..]);
        if (targetLinkLayerAddress is { } mac) b.AddTargetLinkLayerAddress(mac);
        return b.Finish(source, destinationAddress);
    }

    /// <summary>
    /// Packet Too Big (RFC 4443 §3.2), quoting as much of <paramref name="invokingPacket"/> as keeps the
    /// IPv6 packet within 1280 bytes. <paramref name="invokingPacket"/> must not overlap <paramref name="destination"/>.
    /// </summary>
    public static int WritePacketTooBig(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        uint mtu, ReadOnlySpan<byte> invokingPacket) =>
        WriteErrorMessage(destination, source, destinationAddress, Icmpv6Type.PacketTooBig, 0, mtu, invokingPacket);

    /// <summary>Destination Unreachable (RFC 4443 §3.1), truncated like <see cref="WritePacketTooBig"/>.</summary>
    public static int WriteDestinationUnreachable(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        DestinationUnreachableCode code, ReadOnlySpan<byte> invokingPacket) =>
        WriteErrorMessage(destination, source, destinationAddress, Icmpv6Type.DestinationUnreachable, (byte)code, 0, invokingPacket);

    /// <summary>Time Exceeded (RFC 4443 §3.3), truncated like <see cref="WritePacketTooBig"/>.</summary>
    public static int WriteTimeExceeded(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        TimeExceededCode code, ReadOnlySpan<byte> invokingPacket) =>
        WriteErrorMessage(destination, source, destinationAddress, Icmpv6Type.TimeExceeded, (byte)code, 0, invokingPacket);

    /// <summary>Parameter Problem (RFC 4443 §3.4), truncated like <see cref="WritePacketTooBig"/>.</summary>
    public static int WriteParameterProblem(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        ParameterProblemCode code, uint pointer, ReadOnlySpan<byte> invokingPacket) =>
        WriteErrorMessage(destination, source, destinationAddress, Icmpv6Type.ParameterProblem, (byte)code, pointer, invokingPacket);

    /// <summary>
    /// Any error message (type below 128): header, the 32-bit parameter word, then the invoking packet
    /// cut to <see cref="Icmpv6ErrorView.MaxInvokingPacketLength"/> (RFC 4443 §2.4(c)).
    /// </summary>
    public static int WriteErrorMessage(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        Icmpv6Type type, byte code, uint parameter, ReadOnlySpan<byte> invokingPacket)
    {
        if (!Icmpv6Packet.IsErrorType(type))
            throw new ArgumentOutOfRangeException(nameof(type), type, "ICMPv6 error messages have types below 128");
        var b = new Icmpv6Builder(destination, type, code, Icmpv6Packet.ErrorBodyLength);
        BinaryPrimitives.WriteUInt32BigEndian(b.FixedPart[Icmpv6ErrorView.ParameterOffset..], parameter);
        b.Append(invokingPacket[..Icmpv6ErrorView.TruncatedInvokingPacketLength(invokingPacket.Length)]);
        return b.Finish(source, destinationAddress);
    }

    public static int WriteEchoRequest(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        ushort identifier, ushort sequenceNumber, ReadOnlySpan<byte> data) =>
        WriteEcho(destination, source, destinationAddress, Icmpv6Type.EchoRequest, identifier, sequenceNumber, data);

    /// <summary>Echo Reply: echo the request's identifier, sequence number and data (RFC 4443 §4.2).</summary>
    public static int WriteEchoReply(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        ushort identifier, ushort sequenceNumber, ReadOnlySpan<byte> data) =>
        WriteEcho(destination, source, destinationAddress, Icmpv6Type.EchoReply, identifier, sequenceNumber, data);

    private static int WriteEcho(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress,
        Icmpv6Type type, ushort identifier, ushort sequenceNumber, ReadOnlySpan<byte> data)
    {
        var b = new Icmpv6Builder(destination, type, 0, Icmpv6Packet.EchoBodyLength);
        var head = b.FixedPart;
        BinaryPrimitives.WriteUInt16BigEndian(head[EchoView.IdentifierOffset..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(head[EchoView.SequenceNumberOffset..], sequenceNumber);
        b.Append(data);
        return b.Finish(source, destinationAddress);
    }
}
