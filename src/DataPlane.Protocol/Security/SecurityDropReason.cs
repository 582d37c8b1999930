namespace DataPlane.Protocol.Security;

/// <summary>Why a Mobility Header was not accepted or not sent under the RFC 5213 §4 policy (`policy.security` in `ctl stats` and metrics).</summary>
public enum SecurityDropReason : byte
{
    /// <summary>A Mobility Header in the clear, while keys are configured.</summary>
    Unprotected,
    /// <summary>Outbound: no SA with that peer. Inbound: an ESP packet to an address that is not ours.</summary>
    NoSecurityAssociation,
    /// <summary>An ESP packet whose SPI names no inbound SA (RFC 4303 §3.4.2, an auditable event).</summary>
    UnknownSpi,
    /// <summary>A valid SPI from an address that is not the SA's peer (a MAG using its own keys to speak for another).</summary>
    WrongPeer,
    /// <summary>Too short, misaligned, or SPI 0.</summary>
    Malformed,
    /// <summary>A sequence number left of the window or already received (RFC 4303 §3.4.3).</summary>
    Replay,
    /// <summary>The ICV did not verify (RFC 4303 §3.4.4): wrong key, or altered in transit.</summary>
    AuthenticationFailed,
    /// <summary>Authenticated, but the padding is not 1, 2, 3, … or the Pad Length runs past the payload.</summary>
    BadPadding,
    /// <summary>Authenticated, but the payload is not a Mobility Header (next header ≠ 135; 59 is a dummy packet).</summary>
    NotMobilityHeader,
    /// <summary>Outbound: the SA has used up its 32-bit sequence numbers (RFC 4303 §3.3.3: a new SA is needed).</summary>
    SequenceExhausted,
    /// <summary>Outbound: the host could not persist the sequence reservation, so the message was not sent.</summary>
    SequenceNotPersisted,
    /// <summary>
    /// Outbound, an LMA shard's active (issue 19): the sequence reservation is not yet in the shard's store, so a
    /// standby taking over could not be sure to continue past it; the message was not sent (the peer retransmits).
    /// </summary>
    SequenceNotReplicated,
}
