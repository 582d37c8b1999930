using System.Buffers.Binary;

namespace DataPlane.Wire;

public enum ArpOperation : ushort
{
    Request = 1,
    Reply = 2,
    /// <summary>RARP "request reverse" (RFC 903): QEMU's self-announce uses this opcode.</summary>
    ReverseRequest = 3,
    ReverseReply = 4,
}

/// <summary>
/// A view over an ARP or RARP packet for Ethernet/IPv4 (the only combination a VM port carries):
/// htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 oper(2) sha(6) spa(4) tha(6) tpa(4).
/// </summary>
public readonly ref struct ArpPacket
{
    public const int Length = 28;

    private const int HardwareTypeOffset = 0;
    private const int ProtocolTypeOffset = 2;
    private const int HardwareLengthOffset = 4;
    private const int ProtocolLengthOffset = 5;
    private const int OperationOffset = 6;
    private const int SenderHardwareOffset = 8;
    private const int SenderProtocolOffset = 14;
    private const int TargetHardwareOffset = 18;
    private const int TargetProtocolOffset = 24;

    private const ushort HardwareTypeEthernet = 1;

    private readonly Span<byte> _buffer;

    private ArpPacket(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out ArpPacket packet, out WireError error)
    {
        packet = default;
        if (!TryValidate(buffer, out error)) return false;
        packet = new ArpPacket(buffer[..Length]);
        return true;
    }

    /// <summary>The validation <see cref="TryCreate"/> does, usable on read-only input.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error)
    {
        if (buffer.Length < Length)
        {
            error = WireError.Truncated;
            return false;
        }
        if (BinaryPrimitives.ReadUInt16BigEndian(buffer) != HardwareTypeEthernet
            || BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(ProtocolTypeOffset, 2)) != (ushort)EtherType.Ipv4
            || buffer[HardwareLengthOffset] != MacAddress.Length
            || buffer[ProtocolLengthOffset] != Ipv4Address.Length)
        {
            error = WireError.Unsupported;
            return false;
        }
        error = WireError.None;
        return true;
    }

    public ArpOperation Operation => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(OperationOffset, 2));
    public MacAddress SenderHardwareAddress => MacAddress.ReadFrom(_buffer.Slice(SenderHardwareOffset, 6));
    public Ipv4Address SenderProtocolAddress => Ipv4Address.ReadFrom(_buffer.Slice(SenderProtocolOffset, 4));
    public MacAddress TargetHardwareAddress => MacAddress.ReadFrom(_buffer.Slice(TargetHardwareOffset, 6));
    public Ipv4Address TargetProtocolAddress => Ipv4Address.ReadFrom(_buffer.Slice(TargetProtocolOffset, 4));

    /// <summary>A gratuitous ARP announces the sender's own address: sender and target protocol addresses are equal.</summary>
    public bool IsGratuitous => ToRepr().IsGratuitous;

    public ArpRepr ToRepr() => ReadRepr(_buffer);

    /// <summary>Read the fields of a validated packet (see <see cref="TryValidate"/>).</summary>
    internal static ArpRepr ReadRepr(ReadOnlySpan<byte> b) => new(
        (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(b.Slice(OperationOffset, 2)),
        MacAddress.ReadFrom(b.Slice(SenderHardwareOffset, 6)),
        Ipv4Address.ReadFrom(b.Slice(SenderProtocolOffset, 4)),
        MacAddress.ReadFrom(b.Slice(TargetHardwareOffset, 6)),
        Ipv4Address.ReadFrom(b.Slice(TargetProtocolOffset, 4)));

    /// <summary>Write the 28-byte packet; the layout lives here with the offsets.</summary>
    internal static int Write(Span<byte> destination, in ArpRepr r)
    {
        var d = destination[..Length];
        BinaryPrimitives.WriteUInt16BigEndian(d, HardwareTypeEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(d[ProtocolTypeOffset..], (ushort)EtherType.Ipv4);
        d[HardwareLengthOffset] = MacAddress.Length;
        d[ProtocolLengthOffset] = Ipv4Address.Length;
        BinaryPrimitives.WriteUInt16BigEndian(d[OperationOffset..], (ushort)r.Operation);
        r.SenderHardwareAddress.WriteTo(d[SenderHardwareOffset..]);
        r.SenderProtocolAddress.WriteTo(d[SenderProtocolOffset..]);
        r.TargetHardwareAddress.WriteTo(d[TargetHardwareOffset..]);
        r.TargetProtocolAddress.WriteTo(d[TargetProtocolOffset..]);
        return Length;
    }
}

/// <summary>The parsed form of an Ethernet/IPv4 ARP or RARP packet.</summary>
public readonly record struct ArpRepr(
    ArpOperation Operation,
    MacAddress SenderHardwareAddress,
    Ipv4Address SenderProtocolAddress,
    MacAddress TargetHardwareAddress,
    Ipv4Address TargetProtocolAddress)
{
    public static bool TryParse(ReadOnlySpan<byte> buffer, out ArpRepr repr, out WireError error)
    {
        repr = default;
        if (!ArpPacket.TryValidate(buffer, out error)) return false;
        repr = ArpPacket.ReadRepr(buffer);
        return true;
    }

    /// <summary>A gratuitous ARP announces the sender's own address: sender and target protocol addresses are equal.</summary>
    public bool IsGratuitous => Operation is ArpOperation.Request or ArpOperation.Reply && SenderProtocolAddress == TargetProtocolAddress;

    /// <summary>Writes the 28-byte packet; returns its length.</summary>
    public int WriteTo(Span<byte> destination) => ArpPacket.Write(destination, this);
}
