using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// A session's part in a live migration (MobileAccessGateway.Migration.cs).
internal sealed partial class AccessSession
{
    public MigrationPhase MigrationPhase;

    // Destination.
    /// <summary>The LMA granted a transient binding (another MAG serves the VM); false when it made this MAG the serving one at once.</summary>
    public bool Transient;
    /// <summary>The VM's first frame arrived while the pre-registration was still on its way; activate when it is accepted.</summary>
    public bool ArrivedWhilePreRegistering;
    public Instant PreRegistrationStartedAt;
    public Instant PreRegisteredAt;
    public TimeSpan PreRegistrationRoundTrip;
    public int PreRegistrationTransmissions;
    public Instant PreRegistrationDeadline;
    public Instant? TransientRefreshAt;
    public Instant ActivatedAt;
    public Instant? EndMarkerDeadline;
    public DeliveryMarker? EndMarker;
    public Instant EndMarkerReceivedAt;

    // Source.
    /// <summary>The stop notice to the LMA in flight (retransmitted until acknowledged), or null.</summary>
    public StopNotice? PendingStopNotice;
    public bool StopNoticeSent;

    /// <summary>NUD would only fail while the VM is not on the port yet (pre-registered) or stopped for its last copy.</summary>
    public bool NudSuspended => MigrationPhase is MigrationPhase.PreRegistering or MigrationPhase.PreRegistered or MigrationPhase.VmStopped;

    /// <summary>The migration's own deadlines: transient refresh, the VM's arrival, the marker wait, the stop notice's retransmission.</summary>
    public Instant? MigrationDue => MigrationPhase switch
    {
        MigrationPhase.PreRegistering => State == SessionState.Registering ? PreRegistrationDeadline : null,
        MigrationPhase.PreRegistered => Instant.Earliest(TransientRefreshAt, PreRegistrationDeadline),
        MigrationPhase.AwaitingMarker => EndMarkerDeadline,
        MigrationPhase.VmStopped => PendingStopNotice?.RetransmitAt,
        _ => null,
    };
}

/// <summary>A stop notice (Handover Initiate, code 2) on its way to the LMA.</summary>
internal sealed class StopNotice(ushort sequence, HandoverInitiate message)
{
    public ushort Sequence { get; } = sequence;
    public HandoverInitiate Message { get; } = message;
    public int Transmissions;
    public Instant RetransmitAt;
}
