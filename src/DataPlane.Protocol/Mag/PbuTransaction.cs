using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// One PBU exchange: the first transmission and its retransmissions. Every transmission takes a new
/// sequence number and a fresh timestamp (RFC 6275 §11.8; a stale timestamp would be refused once the
/// TimestampValidityWindow passed), so an accepting PBA may answer any of them: the window of sequences
/// and timestamps sent is what a PBA is matched against.
/// </summary>
internal sealed class PbuTransaction(RegistrationKind kind, HandoffIndicator handoffIndicator, Ipv6Prefix[] prefixes, TimeSpan lifetime)
{
    public RegistrationKind Kind { get; } = kind;
    public HandoffIndicator HandoffIndicator { get; } = handoffIndicator;
    public Ipv6Prefix[] Prefixes { get; } = prefixes;
    public TimeSpan Lifetime { get; } = lifetime;

    public int Transmissions;
    public ushort FirstSequence;
    public ushort LastSequence;
    public PmipTimestamp? FirstTimestamp;
    public PmipTimestamp? LastTimestamp;
    public Instant FirstSentAt;
    public Instant RetransmitAt;
    /// <summary>Status 135 was already answered by jumping the sequence once; a second 135 is a failure.</summary>
    public bool SequenceResynchronised;

    public void OnTransmit(ushort sequence, PmipTimestamp? timestamp, Instant now, TimeSpan timeout)
    {
        if (Transmissions == 0)
        {
            FirstSequence = sequence;
            FirstTimestamp = timestamp;
            FirstSentAt = now;
        }
        Transmissions++;
        LastSequence = sequence;
        LastTimestamp = timestamp;
        RetransmitAt = now + timeout;
    }
}
