namespace DataPlane.Protocol.Heartbeat;

/// <summary>RFC 5847 heartbeat settings, shared by the MAG and the LMA.</summary>
public sealed record HeartbeatOptions
{
    /// <summary>Send heartbeat requests at all. Responses to a peer's requests are sent regardless.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Time between requests to one peer. RFC 5847 §5 HEARTBEAT_INTERVAL default 60 s. For migration
    /// we recommend 5 s: the interval bounds how long every VM behind a restarted LMA stays without a
    /// binding, and one 100-byte message per peer every few seconds is nothing.
    /// </summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Requests left unanswered before the peer is declared unreachable: unreachable when the number of
    /// consecutive misses exceeds this (RFC 5847 §5 MISSING_HEARTBEATS_ALLOWED, default 3).
    /// </summary>
    public int MissingHeartbeatsAllowed { get; init; } = 3;

    public void Validate(string prefix)
    {
        Check.Positive(Interval, prefix + nameof(Interval));
        Check.AtLeast(MissingHeartbeatsAllowed, 0, prefix + nameof(MissingHeartbeatsAllowed));
    }
}
