using DataPlane.Protocol.Heartbeat;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>The LMA's counters (plain fields, exported by the host). Gauges are on the machine.</summary>
public sealed class LmaCounters
{
    public long PbusReceived;
    /// <summary>Mobility Header messages over a MAG's rate limit (<see cref="LmaOptions.MaxMessagesPerMagPerSecond"/>): dropped, not answered.</summary>
    public long MessagesRateLimited;
    /// <summary>Every PBU is answered exactly once (parked ones when they are resolved).</summary>
    public readonly LabeledCounter<BindingAckStatus> PbasSentByStatus = new();

    /// <summary>Accepted registrations by outcome.</summary>
    public long InitialRegistrations;
    public long ReRegistrations;
    public long Handoffs;
    public long Resumptions;
    public long Deregistrations;
    /// <summary>De-registrations from a MAG that no longer serves the entry: answered 0, entry untouched.</summary>
    public long LateDeregistrationsIgnored;
    public long DeregistrationsForUnknownEntry;
    /// <summary>Exact repeats of the last accepted PBU (network duplicates, retransmissions whose PBA was lost): answered again, no state change.</summary>
    public long DuplicatePbus;
    /// <summary>HI 5 from a MAG that does not serve the entry (a stale source host): refused with 129.</summary>
    public long RefreshesFromNonServingMag;

    /// <summary>Profiles asked of the host (<see cref="LmaAction.RequestProfile"/>) and how the asks ended.</summary>
    public long ProfileLookups;
    /// <summary>PBUs that waited for a profile look-up (several may wait behind one look-up).</summary>
    public long PbusAwaitingProfile;
    public long ProfileLookupsDenied;
    public long ProfileLookupsFailed;
    /// <summary>No answer within ProfileLookupTimeout: the waiting PBUs were refused with 128.</summary>
    public long ProfileLookupTimeouts;
    /// <summary>Answers for a look-up that had already timed out (or never existed).</summary>
    public long ProfileAnswersIgnored;

    public long RegistrationsParked;
    public long ParkedResolvedByDeregistration;
    public long ParkedTimedOut;

    /// <summary>RFC 5844: IPv4 home addresses given to entries (new sessions and extensions).</summary>
    public long Ipv4HomeAddressesAssigned;
    /// <summary>PBUs refused for an IPv4 reason (170, 171, 173, or 130 with no address to give).</summary>
    public long Ipv4Refusals;
    /// <summary>IPv4 added to an IPv6-only session, and the other way round (RFC 5844 §3.1.2.1's last bullet).</summary>
    public long Ipv4Extensions;
    public long Ipv6Extensions;
    /// <summary>Selective de-registrations (RFC 5844 §3.1.2.5): the IPv4 address, or all the prefixes, of a session that keeps the other.</summary>
    public long Ipv4SelectiveDeregistrations;
    public long Ipv6SelectiveDeregistrations;
    /// <summary>A family released because a re-registration did not ask for it (RFC 5844 §3.1.2.4).</summary>
    public long FamiliesReleasedByOmission;

    public long BindingsCreated;
    public long BindingsExpired;
    public long BindingsDeletedAfterHoldDown;
    public long TunnelsCreated;
    public long TunnelsRemoved;
    public long UnexpectedMessages;
    /// <summary>Heartbeat requests from addresses that are not authorised MAGs: not answered.</summary>
    public long HeartbeatsFromUnauthorizedPeers;

    /// <summary>RFC 6705: VM-to-VM traffic between two MAGs reported by the data path, LRIs by kind, answers, pairs.</summary>
    public long TrafficObservations;
    public readonly LabeledCounter<LriKind> LrisSent = new();
    public long LriRetransmissions;
    /// <summary>LRIs given up on after every retransmission.</summary>
    public long LrisUnanswered;
    public readonly LabeledCounter<LocalizedRoutingStatus> LrasReceivedByStatus = new();
    /// <summary>LRAs matching no LRI in flight (duplicates, late answers, strangers).</summary>
    public long LrasUnmatched;
    public long LocalizedRoutingSessionsStarted;
    public long LocalizedRoutingSessionsEstablished;
    public readonly LabeledCounter<LocalizedRoutingSessionEnd> LocalizedRoutingSessionsEnded = new();
    /// <summary>Established pairs told again (their traffic still came this way, or a MAG restarted).</summary>
    public long LocalizedRoutingRepairs;
    /// <summary>Pairs not started because MaxSessions were held.</summary>
    public long LocalizedRoutingSessionsRefusedFull;
    /// <summary>
    /// Set-ups put off because a VM's serving MAG got its binding by promotion and has not activated it yet (its VM has
    /// not resumed there): a pair not started on its traffic, or a new MAG's side of a pair waiting for the activation.
    /// </summary>
    public long LocalizedRoutingSetupsDeferred;

    /// <summary>Replication (LmaOptions.Persistence): writes issued, failed, answers for unknown writes.</summary>
    public long StoreWrites;
    public long StoreWriteFailures;
    public long StoreAnswersIgnored;
    /// <summary>PBAs that waited for a store commit (AcknowledgeAfterCommit), and those dropped because the write failed.</summary>
    public long PbasHeldForCommit;
    public long PbasWithheldOnStoreFailure;
    /// <summary>Takeovers of a shard's state and the store records refused while installing them (a corrupt or conflicting record).</summary>
    public long Takeovers;
    public long RecordsInstalled;
    public long RecordsRejected;
    public long Relinquished;

    public readonly HeartbeatCounters Heartbeat;

    /// <summary>Pre-registrations (transient bindings) and the live-migration switchover.</summary>
    public readonly LmaHandoverCounters Handover = new();

    internal LmaCounters(HeartbeatCounters heartbeat) => Heartbeat = heartbeat;
}
