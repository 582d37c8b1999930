using System.Buffers.Binary;

namespace DataPlane.Wire;

// Parsed forms of the RFC 4443 error messages. WriteTo quotes at most
// Icmpv6ErrorView.MaxInvokingPacketLength bytes of the invoking packet (RFC 4443 §2.4(c)), so a form
// holding a longer one does not survive a write and re-parse unchanged.

/// <summary>Packet Too Big (RFC 4443 §3.2): the next-hop MTU and the start of the packet that did not fit.</summary>
public readonly record struct PacketTooBig(uint Mtu, OctetString InvokingPacket)
{
    public static bool TryParse(ReadOnlySpan<byte> icmpv6, out PacketTooBig repr, out WireError error)
    {
        repr = default;
        if (!Icmpv6Packet.TryValidate(icmpv6, Icmpv6Type.PacketTooBig, out error)) return false;
        repr = new PacketTooBig(
            BinaryPrimitives.ReadUInt32BigEndian(icmpv6.Slice(Icmpv6ErrorView.ParameterOffset, 4)),
            new OctetString(icmpv6[Icmpv6ErrorView.InvokingPacketOffset..]));
        return true;
    }

    public int GetLength() => Icmpv6Writer.ErrorMessageLength(InvokingPacket.Length);

    /// <summary>Write the message (invoking packet truncated to fit 1280) with its checksum; returns its length.</summary>
    public int WriteTo(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress) =>
        Icmpv6Writer.WritePacketTooBig(destination, source, destinationAddress, Mtu, InvokingPacket.Span);
}

/// <summary>
/// Any of the four RFC 4443 error messages with its raw code and parameter word (unused for Destination
/// Unreachable and Time Exceeded, the pointer for Parameter Problem, the MTU for Packet Too Big).
/// </summary>
public readonly record struct Icmpv6ErrorMessage(Icmpv6Type Type, byte Code, uint Parameter, OctetString InvokingPacket)
{
    public static Icmpv6ErrorMessage DestinationUnreachable(DestinationUnreachableCode code, ReadOnlySpan<byte> invokingPacket) =>
        new(Icmpv6Type.DestinationUnreachable, (byte)code, 0, new OctetString(invokingPacket));

    public static Icmpv6ErrorMessage TimeExceeded(TimeExceededCode code, ReadOnlySpan<byte> invokingPacket) =>
        new(Icmpv6Type.TimeExceeded, (byte)code, 0, new OctetString(invokingPacket));

    public static Icmpv6ErrorMessage ParameterProblem(ParameterProblemCode code, uint pointer, ReadOnlySpan<byte> invokingPacket) =>
        new(Icmpv6Type.ParameterProblem, (byte)code, pointer, new OctetString(invokingPacket));

    public static bool TryParse(ReadOnlySpan<byte> icmpv6, out Icmpv6ErrorMessage repr, out WireError error)
    {
        repr = default;
        if (!Icmpv6ErrorView.TryValidate(icmpv6, out error)) return false;
        repr = new Icmpv6ErrorMessage(
            (Icmpv6Type)icmpv6[Icmpv6Packet.TypeOffset],
            icmpv6[Icmpv6Packet.CodeOffset],
            BinaryPrimitives.ReadUInt32BigEndian(icmpv6.Slice(Icmpv6ErrorView.ParameterOffset, 4)),
            new OctetString(icmpv6[Icmpv6ErrorView.InvokingPacketOffset..]));
        return true;
    }

    public int GetLength() => Icmpv6Writer.ErrorMessageLength(InvokingPacket.Length);

    /// <summary>Write the message (invoking packet truncated to fit 1280) with its checksum; returns its length. Throws unless the type is below 128.</summary>
    public int WriteTo(Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress) =>
        Icmpv6Writer.WriteErrorMessage(destination, source, destinationAddress, Type, Code, Parameter, InvokingPacket.Span);
}
