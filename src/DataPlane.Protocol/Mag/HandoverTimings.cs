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
    int PbuTransmissions,
    Instant? PreRegistered = null,
    Instant? EndMarkerReceived = null,
    Instant? Released = null,
    bool EndMarkerTimedOut = false)
{
    /// <summary>
    /// Attachment seen → first RA sent: what the VM perceives as the MAG's part of the handover. For a pre-registered
    /// VM (<see cref="PreRegistered"/> set) it runs to the release of its buffer, which may wait for the source's marker;
    /// the registration (<see cref="FirstPbuSent"/> → <see cref="PbaReceived"/>) then happened before the VM arrived.
    /// </summary>
    public TimeSpan Total => (Released ?? FirstRouterAdvertisementSent) - AttachSeen;

    /// <summary>How long before the VM's arrival the pre-registration was accepted; null for an ordinary handover.</summary>
    public TimeSpan? PreRegisteredAhead => PreRegistered is { } p ? AttachSeen - p : null;

    public TimeSpan Policy => PolicyAnswered - AttachSeen;

    /// <summary>First PBU → PBA: one MAG–LMA round trip plus retransmissions.</summary>
    public TimeSpan Registration => PbaReceived - FirstPbuSent;
}
