using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// One PBU exchange: the first transmission and its retransmissions. Every transmission takes a new
/// sequence number and a fresh timestamp (RFC 6275 §11.8; a stale timestamp would be refused once the
/// TimestampValidityWindow passed), so an accepting PBA may answer any of them: the window of sequences
/// and timestamps sent is what a PBA is matched against.
/// </summary>
internal sealed class PbuTransaction(RegistrationKind kind, HandoffIndicator handoffIndicator, Ipv6Prefix[] prefixes,
    Ipv4HomeAddressRequestOption? ipv4Request, TimeSpan lifetime)
{
    public RegistrationKind Kind { get; } = kind;
    public HandoffIndicator HandoffIndicator { get; } = handoffIndicator;
    /// <summary>The HNP options; empty for a PBU without IPv6 (RFC 5844 §3.2.3.1: an IPv4-only node's has none).</summary>
    public Ipv6Prefix[] Prefixes { get; } = prefixes;
    /// <summary>RFC 5844: the one IPv4 Home Address Request, or null for none.</summary>
    public Ipv4HomeAddressRequestOption? Ipv4Request { get; } = ipv4Request;
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
