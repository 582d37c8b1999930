using DataPlane.Protocol.Heartbeat;
using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// What the MAG has done, as plain fields so the data path increments them for the cost of a store
/// and the host exports them (Prometheus) without the machine knowing. Gauges are read from the
/// machine itself (<see cref="MobileAccessGateway.SessionCount"/> etc.).
/// </summary>
public sealed class MagCounters
{
    public readonly LabeledCounter<AttachTrigger> AttachTriggers = new();
    public readonly LabeledCounter<AttachTrigger> SessionsStartedBy = new();
    /// <summary>Triggers on a port that already has a session (the session keeps its first trigger).</summary>
    public long TriggersAbsorbed;
    /// <summary>Triggers whose MAC differs from the port's session (spoofing or a reused port): ignored.</summary>
    public long TriggersWithForeignMac;

    public long PolicyRequests;
    public long PolicyDenials;
    public long PolicyTimeouts;
    /// <summary>Answers for a request the MAG no longer waits for (session gone, or timed out).</summary>
    public long PolicyAnswersIgnored;

    /// <summary>PBUs sent, first transmissions only, by why they were sent.</summary>
    public readonly LabeledCounter<RegistrationKind> PbusSent = new();
    public long PbusRetransmitted;
    public readonly LabeledCounter<HandoffIndicator> PbusByHandoffIndicator = new();
    public readonly LabeledCounter<BindingAckStatus> PbasByStatus = new();
    /// <summary>PBAs for no BUL entry or no open transaction.</summary>
    public long PbasDroppedUnknown;
    /// <summary>PBAs whose sequence is outside the open transaction, or a rejection superseded by a later try.</summary>
    public long PbasDroppedStaleSequence;
    /// <summary>Accepting PBAs whose Timestamp option does not echo one of the transaction's PBUs.</summary>
    public long PbasDroppedTimestampMismatch;
    /// <summary>PBAs from an address that is not the entry's LMA, or missing the MN-ID.</summary>
    public long PbasDroppedMalformed;
    /// <summary>Status 135: the MAG jumped its sequence to the LMA's and retried.</summary>
    public long SequenceResynchronisations;

    /// <summary>RFC 5844: PBUs (first transmissions) carrying an IPv4 Home Address Request.</summary>
    public long PbusWithIpv4Request;
    /// <summary>Sessions given an IPv4 home address (initial registrations and later extensions).</summary>
    public long Ipv4HomeAddressesAssigned;
    public long Ipv4Extensions;
    public readonly LabeledCounter<Ipv4UnavailableReason> Ipv4Unavailable = new();
    /// <summary>Initial registrations sent again narrowed after 170, 171 or 172 (RFC 5844 §3.2.3.2).</summary>
    public long RegistrationsNarrowed;
    /// <summary>DHCPRELEASE: selective IPv4 de-registrations sent, and acknowledged.</summary>
    public long Ipv4Releases;
    public long Ipv4ReleasesAcknowledged;
    /// <summary>DHCP asking for an address that cannot be requested now (no session, no IPv4 service, refused, a PBU in flight).</summary>
    public long Ipv4RequestsIgnored;

    public long SessionsEstablished;
    public long RefreshesAccepted;
    public long Reannouncements;
    public long ReregistrationsAfterLmaRestart;
    public readonly LabeledCounter<SessionFailureReason> SessionFailures = new();
    public long SessionRetries;

    public readonly LabeledCounter<RouterAdvertisementReason> RouterAdvertisementsSent = new();
    public long RouterSolicitationsSuppressed;

    public long NudProbesSent;
    public readonly LabeledCounter<DetachReason> Detaches = new();
    /// <summary>Detach events for a port without a session.</summary>
    public long DetachesForUnknownPort;

    public long DeregistrationsAcknowledged;
    public long DeregistrationsTimedOut;
    /// <summary>A de-registration in progress was abandoned because the VM re-attached here first.</summary>
    public long DeregistrationsSuperseded;

    /// <summary>RFC 6705: LRIs taken, those that named no usable pair (dropped), LRAs sent by status.</summary>
    public long LrisReceived;
    public long LrisMalformed;
    /// <summary>LRIs from an address that is not the LMA of the mobile node they name (answered 129).</summary>
    public long LrisFromOtherLma;
    public readonly LabeledCounter<LocalizedRoutingStatus> LrasSent = new();
    /// <summary>Direct routes installed, re-pointed at another MAG, refreshed, and ended by reason.</summary>
    public long LocalizedRoutesInstalled;
    public long LocalizedRoutesRepointed;
    /// <summary>Routes the LMA confirmed: from accepting only to sending directly too.</summary>
    public long LocalizedRoutesConfirmed;
    public long LocalizedRoutesRefreshed;
    public readonly LabeledCounter<LocalizedRouteEnd> LocalizedRoutesEnded = new();

    /// <summary>Mobility messages of a type the MAG does not take (e.g. a PBU).</summary>
    public long UnexpectedMessages;

    public readonly HeartbeatCounters Heartbeat;

    /// <summary>Pre-registrations, activations and stop notices (live migration).</summary>
    public readonly MagHandoverCounters Handover = new();

    internal MagCounters(HeartbeatCounters heartbeat) => Heartbeat = heartbeat;
}
