namespace DataPlane.Protocol.Mag;

/// <summary>
/// When each step of a session's registration happened at this MAG (MAG clock). Carried by
/// <see cref="MagAction.HandoverCompleted"/> for metrics and the handover-latency table.
/// </summary>
public readonly record struct HandoverTimings(
    Instant AttachSeen,
    Instant PolicyAnswered,
    Instant FirstPbuSent,
    Instant PbaReceived,
    Instant FirstRouterAdvertisementSent,
    int PbuTransmissions)
{
    /// <summary>Attachment seen → first RA sent: what the VM perceives as the MAG's part of the handover.</summary>
    public TimeSpan Total => FirstRouterAdvertisementSent - AttachSeen;

    public TimeSpan Policy => PolicyAnswered - AttachSeen;

    /// <summary>First PBU → PBA: one MAG–LMA round trip plus retransmissions.</summary>
    public TimeSpan Registration => PbaReceived - FirstPbuSent;
}
