using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>Handover Initiate flags (RFC 5568 §6.2.1: S, U; RFC 5949 §6.1.1: P, F; IANA "Handover Initiate Flags").</summary>
[Flags]
public enum HandoverInitiateFlags : byte
{
    None = 0,
    /// <summary>Assigned address configuration (FMIPv6).</summary>
    AssignedAddressConfiguration = 0x80,
    /// <summary>Buffer: the receiver should buffer packets for the mobile node.</summary>
    Buffer = 0x40,
    /// <summary>Proxy: the message is about a PMIPv6 mobile node (RFC 5949).</summary>
    Proxy = 0x20,
    /// <summary>Forwarding: packets for the mobile node are (or are to be) forwarded (RFC 5949).</summary>
    Forwarding = 0x10,
}

/// <summary>Handover Acknowledge flags (RFC 5949 §6.1.2; IANA "Handover Acknowledge Flags").</summary>
[Flags]
public enum HandoverAcknowledgeFlags : byte
{
    None = 0,
    Buffer = 0x80,
    Proxy = 0x40,
    Forwarding = 0x20,
}

/// <summary>Handover Initiate codes (RFC 5568 §6.2.1, RFC 5949 §6.1.1).</summary>
public enum HandoverInitiateCode : byte
{
    FbuWithPreviousCareOfAddress = 0,
    FbuWithoutPreviousCareOfAddress = 1,
    /// <summary>"Indicate the completion of forwarding" (RFC 5949): used here as the end marker of a live migration's source.</summary>
    CompletionOfForwarding = 2,
    AllAvailableContextTransferred = 3,
}

/// <summary>Handover Acknowledge codes (RFC 5568 §6.2.2, RFC 5949 §6.1.2).</summary>
public enum HandoverAcknowledgeCode : byte
{
    HandoverAccepted = 0,
    ContextTransferAccepted = 5,
    AllAvailableContextTransferred = 6,
    HandoverNotAccepted = 128,
    AdministrativelyProhibited = 130,
    RequestedContextNotAvailable = 131,
    ForwardingNotAvailable = 132,
}

/// <summary>
/// Handover Initiate (MH type 14; RFC 5568 §6.2.1 with RFC 5949's P and F flags): sequence(2) flags(1) code(1),
/// then options. RFC 5949 sends it between the previous and the new MAG; here the source MAG of a live migration
/// sends it to the LMA when the VM stopped (code 2, with the delivery marker), and the LMA relays it to the
/// destination MAG, so that it travels only on MAG–LMA paths and their security associations (docs/protocol.md).
/// </summary>
public sealed record HandoverInitiate(ushort Sequence, HandoverInitiateFlags Flags, HandoverInitiateCode Code) : MobilityMessage
{
    public override MobilityHeaderType Type => MobilityHeaderType.HandoverInitiate;

    private protected override int BodyLength => MobilityHeader.HandoverBodyLength;

    private protected override void WriteBody(Span<byte> body)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body, Sequence);
        body[2] = (byte)Flags;
        body[3] = (byte)Code;
    }

    internal static HandoverInitiate ReadBody(ReadOnlySpan<byte> body) =>
        new(BinaryPrimitives.ReadUInt16BigEndian(body), (HandoverInitiateFlags)body[2], (HandoverInitiateCode)body[3]);
}

/// <summary>Handover Acknowledge (MH type 15; RFC 5568 §6.2.2 with RFC 5949's flags): sequence(2) flags(1) code(1), options.</summary>
public sealed record HandoverAcknowledge(ushort Sequence, HandoverAcknowledgeFlags Flags, HandoverAcknowledgeCode Code) : MobilityMessage
{
    public override MobilityHeaderType Type => MobilityHeaderType.HandoverAcknowledge;

    public bool IsAccepted => (byte)Code < 128;

    private protected override int BodyLength => MobilityHeader.HandoverBodyLength;

    private protected override void WriteBody(Span<byte> body)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body, Sequence);
        body[2] = (byte)Flags;
        body[3] = (byte)Code;
    }

    internal static HandoverAcknowledge ReadBody(ReadOnlySpan<byte> body) =>
        new(BinaryPrimitives.ReadUInt16BigEndian(body), (HandoverAcknowledgeFlags)body[2], (HandoverAcknowledgeCode)body[3]);
}
