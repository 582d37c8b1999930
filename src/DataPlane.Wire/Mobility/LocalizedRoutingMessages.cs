using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// Localized Routing Initiation (RFC 6705 §10.1): sequence(2) reserved(2) lifetime(2, in seconds — not the 4-second
/// units of the binding messages), then options. Lifetime 0 asks to stop localized routing; 0xFFFF is infinite.
/// Which options an LRI carries, and in what order, is the protocol's business (<c>LocalizedRoutingParties</c> in
/// DataPlane.Protocol).
/// </summary>
public sealed record LocalizedRoutingInitiation(ushort Sequence, ushort Lifetime) : MobilityMessage
{
    /// <summary>The all-ones lifetime: localized routing until told otherwise.</summary>
    public const ushort InfiniteLifetime = 0xFFFF;

    public override MobilityHeaderType Type => MobilityHeaderType.LocalizedRoutingInitiation;

    /// <summary>Lifetime 0: a request to stop localized routing for the pair.</summary>
    public bool IsTermination => Lifetime == 0;

    /// <summary>The lifetime as a span; <see cref="TimeSpan.MaxValue"/> for <see cref="InfiniteLifetime"/>.</summary>
    public TimeSpan LifetimeSpan => LocalizedRoutingLifetime.ToSpan(Lifetime);

    private protected override int BodyLength => MobilityHeader.LocalizedRoutingInitiationBodyLength;

    private protected override void WriteBody(Span<byte> body)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body, Sequence);
        BinaryPrimitives.WriteUInt16BigEndian(body[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(body[4..], Lifetime);
    }

    internal static LocalizedRoutingInitiation ReadBody(ReadOnlySpan<byte> body) => new(
        BinaryPrimitives.ReadUInt16BigEndian(body),
        BinaryPrimitives.ReadUInt16BigEndian(body[4..]));
}

/// <summary>
/// Localized Routing Acknowledgment (RFC 6705 §10.2): sequence(2, copied from the LRI answered) U(1 bit) reserved(7
/// bits) status(1) lifetime(2, seconds the local forwarding is supported), then options. U marks an unsolicited LRA:
/// the MAG asks for a new lifetime (0: to stop), which the LMA confirms with an LRI.
/// </summary>
public sealed record LocalizedRoutingAcknowledgement(ushort Sequence, bool IsUnsolicited, LocalizedRoutingStatus Status, ushort Lifetime)
    : MobilityMessage
{
    private const byte UnsolicitedFlag = 0x80;

    public override MobilityHeaderType Type => MobilityHeaderType.LocalizedRoutingAcknowledgement;

    /// <summary>Status values below 128 mean the initiation was accepted.</summary>
    public bool IsAccepted => (byte)Status < 128;

    public TimeSpan LifetimeSpan => LocalizedRoutingLifetime.ToSpan(Lifetime);

    private protected override int BodyLength => MobilityHeader.LocalizedRoutingAcknowledgementBodyLength;

    private protected override void WriteBody(Span<byte> body)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body, Sequence);
        body[2] = IsUnsolicited ? UnsolicitedFlag : (byte)0;
        body[3] = (byte)Status;
        BinaryPrimitives.WriteUInt16BigEndian(body[4..], Lifetime);
    }

    internal static LocalizedRoutingAcknowledgement ReadBody(ReadOnlySpan<byte> body) => new(
        BinaryPrimitives.ReadUInt16BigEndian(body),
        (body[2] & UnsolicitedFlag) != 0,
        (LocalizedRoutingStatus)body[3],
        BinaryPrimitives.ReadUInt16BigEndian(body[4..]));
}

/// <summary>The LRI/LRA lifetime field: whole seconds, 0xFFFF meaning infinite (RFC 6705 §10.1).</summary>
public static class LocalizedRoutingLifetime
{
    public static TimeSpan ToSpan(ushort lifetime) =>
        lifetime == LocalizedRoutingInitiation.InfiniteLifetime ? TimeSpan.MaxValue : TimeSpan.FromSeconds(lifetime);

    /// <summary>A span in whole seconds (rounded down), saturating below the infinite value; negative is 0.</summary>
    public static ushort FromSpan(TimeSpan span)
    {
        if (span <= TimeSpan.Zero) return 0;
        double seconds = Math.Floor(span.TotalSeconds);
        return seconds >= LocalizedRoutingInitiation.InfiniteLifetime - 1 ? (ushort)(LocalizedRoutingInitiation.InfiniteLifetime - 1) : (ushort)seconds;
    }
}
