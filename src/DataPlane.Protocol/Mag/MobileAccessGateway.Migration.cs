using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// Live migration (docs/protocol.md, "Live migration: pre-registration and the switchover").
// Destination: the port is plugged in as incoming → policy → a PBU with the Transient Binding option (RFC 6058): the
// LMA keeps the binding at the source, accepts our uplink and copies the downlink to us, which the data path buffers.
// The VM's first frame (QEMU's RARP, before its vCPUs restart) activates the session at once: forwarding runs, the RA
// goes out, the buffer is released once the source's delivery marker is here (or after EndMarkerWait, without what
// arrived before the VM), and an ordinary PBU (HI 3) takes the binding over, off the critical path.
// Source: when the VM stops for the last copy (QEMU's STOP, passed on by the hypervisor's listener) the data path stops
// delivering to it and gives us its delivery marker; we send it to the LMA in a stop notice (Handover Initiate, code 2,
// RFC 5949), which moves the downlink to the destination and relays the marker there.
public sealed partial class MobileAccessGateway
{
    private ushort _stopNoticeSequence;

    private void OnIncomingMigration(MagEvent.IncomingMigration e, Instant now)
    {
        var h = Counters.Handover;
        if (!_options.PreRegistration)
        {
            h.PreRegistrationsDisabled++;
            return;
        }
        if (_sessions.ContainsKey(e.Port))
        {
            // The port already has a session (a VM runs on it, or one is arriving): nothing to pre-register.
            h.PreRegistrationsSkipped++;
            return;
        }
        var s = new AccessSession(e.Port, e.Mac, AttachTrigger.HotplugIncomingMigration, now)
        {
            MigrationPhase = MigrationPhase.PreRegistering,
            PreRegistrationStartedAt = now,
            PreRegistrationDeadline = now + _options.PreRegistrationTimeout,
        };
        _sessions.Add(e.Port, s);
        Counters.SessionsStartedBy.Increment(AttachTrigger.HotplugIncomingMigration);
        h.PreRegistrationsStarted++;
        StartPolicy(s, now);
    }

    /// <summary>The policy answered for a pre-registration: send the PBU with the Transient Binding option.</summary>
    private void StartPreRegistration(AccessSession s, VmProfile profile, Instant now)
    {
        // A VM this MAG serves on another port (a migration between two ports of one host): pre-registering would take
        // its entry from the running session. Its first frame here re-registers it, as without pre-registration. A
        // session whose VM stopped for a migration away is not running here: the pre-registration supersedes it (the
        // VM comes back before its old port went).
        if (_bindingUpdateList.TryGetValue(profile.MobileNodeIdentifier, out var existing) && existing.Session is { } other && other != s
            && other.State == SessionState.Established && other.MigrationPhase != MigrationPhase.VmStopped)
        {
            Counters.Handover.PreRegistrationsSkipped++;
            AbandonPreRegistration(s, now);
            return;
        }
        var entry = BindEntry(s, profile, now);
        s.Profile = profile;
        s.State = SessionState.Registering;
        s.HandoffIndicator = HandoffIndicator.HandoffBetweenMagsForSameInterface;
        s.FirstPbuSentAt = now;
        // RFC 5844: the families the profile enables; the one binding carries both, so the pre-registration asks for both.
        s.Ipv6Wanted = profile.Ipv6Service && !s.Ipv6Refused;
        s.Ipv4Wanted = profile.Ipv4Service && !s.Ipv4Refused;
        var prefixes = entry.HomeNetworkPrefixes.Length > 0 ? entry.HomeNetworkPrefixes
            : profile.HomeNetworkPrefixes.Count > 0 ? [.. profile.HomeNetworkPrefixes] : [Ipv6Prefix.Unspecified];
        StartTransaction(entry, RegistrationKind.PreRegistration, HandoffIndicator.HandoffBetweenMagsForSameInterface, s.Ipv6Wanted ? prefixes : [],
            Ipv4RequestFor(s, entry), _options.BindingLifetime, now);
        Reschedule(s);
    }

    /// <summary>The pre-registration is given up before it was accepted: the session goes, the port keeps waiting for the VM.</summary>
    private void AbandonPreRegistration(AccessSession s, Instant now, DetachReason reason = DetachReason.PreRegistrationAbandoned)
    {
        s.MigrationPhase = MigrationPhase.None;
        _sessions.Remove(s.Port);
        _pendingPolicy.Remove(s.PolicyRequestId);
        _timers.Cancel(s);
        Counters.Detaches.Increment(reason);
        if (s.Installed)
        {
            s.Installed = false;
            _actions.Add(new MagAction.RemoveSession(s.Port, s.Mac, reason));
        }
        ReleaseEntry(s, now);
    }

    private void OnMigrationRegistrationAccepted(BindingUpdateListEntry entry, PbuTransaction tx, BindingAcknowledgement pba, Instant now)
    {
        var s = entry.Session;
        var prefixes = tx.Prefixes.Length > 0 ? pba.HomeNetworkPrefixes.Where(p => !p.IsUnspecified).ToArray() : [];
        // RFC 5844: the IPv4 home address the LMA holds for the VM comes back in the pre-registration's PBA too.
        var ipv4 = tx.Ipv4Request is null ? null : Ipv4FromAcknowledgement(entry, pba);
        if (prefixes.Length == 0 && (tx.Prefixes.Length > 0 || ipv4 is null))
        {
            if (s is not null) FailSession(s, SessionFailureReason.MalformedAcknowledgement, pba.Status, retry: true, now);
            return;
        }
        entry.HomeNetworkPrefixes = prefixes;
        if (tx.Ipv4Request is not null || ipv4 is not null) entry.Ipv4 = ipv4;
        entry.LastAcceptedAt = now;
        var sentAt = pba.Timestamp is { } ts && tx.FirstTimestamp is not null ? Instant.Min(Instant.FromPmipTimestamp(ts), now) : tx.FirstSentAt;
        var lifetime = pba.LifetimeSpan;
        if (tx.Kind == RegistrationKind.Activation || pba.TransientBinding is null)
        {
            // An ordinary binding: the activation took it over, or the LMA made us the serving MAG at once (nobody else
            // served the VM, or the source let go first). Refreshes and expiry run as for any registration.
            entry.Registered = true;
            entry.GrantedLifetime = lifetime;
            entry.BindingExpiresAt = sentAt + lifetime;
            entry.RefreshAt = sentAt + lifetime * (_options.RefreshFraction * (1 - 0.05 * _random.NextDouble()));
            if (tx.Kind == RegistrationKind.Activation) Counters.Handover.ActivationsAccepted++;
        }
        else
        {
            // Transient: the binding stays the source's until the VM arrives. Its remaining lifetime (the PBA's) bounds
            // the RA we send on arrival; the option's lifetime is how long the LMA keeps the transient state.
            entry.GrantedLifetime = lifetime;
            entry.BindingExpiresAt = sentAt + lifetime;
        }
        if (s is null) return;
        if (tx.Kind == RegistrationKind.Activation)
        {
            s.Transient = false;
            Reschedule(s);
            return;
        }
        // A pre-registration, or its refresh.
        var transient = pba.TransientBinding;
        bool first = s.MigrationPhase == MigrationPhase.PreRegistering;
        s.Transient = transient is not null;
        s.TransientRefreshAt = transient is { } t ? now + t.LifetimeSpan / 2 : null;
        if (!s.Transient) entry.Registered = true;
        if (first)
        {
            Counters.Handover.PreRegistrationsAccepted++;
            s.State = SessionState.PreRegistered;
            s.MigrationPhase = MigrationPhase.PreRegistered;
            s.PreRegisteredAt = now;
            s.PreRegistrationRoundTrip = now - tx.FirstSentAt;
            s.PreRegistrationTransmissions = tx.Transmissions;
            s.Installed = true;
            _actions.Add(new MagAction.InstallPreRegistration(s.Port, s.Mac, entry.HomeNetworkPrefixes, entry.LocalMobilityAnchor, entry.Ipv4));
            if (s.ArrivedWhilePreRegistering) Activate(s, now);
        }
        else
        {
            Counters.Handover.TransientRefreshes++;
        }
        Reschedule(s);
    }

    private void OnMigrationRegistrationRejected(BindingUpdateListEntry entry, PbuTransaction tx, BindingAckStatus status, Instant now)
    {
        if (entry.Session is not { } s) return;
        if (tx.Kind == RegistrationKind.Activation || s.MigrationPhase is MigrationPhase.None or MigrationPhase.AwaitingMarker)
        {
            // The VM is here and the LMA refuses it: the session fails as any registration would.
            FailSession(s, SessionFailureReason.Rejected, status, BindingAckStatusInfo.IsRetryable(status), now);
            return;
        }
        // The LMA does not take the pre-registration (or no longer keeps it): the VM's first frame registers it.
        Counters.Handover.PreRegistrationsRejected++;
        entry.MayBeRegistered = s.MigrationPhase == MigrationPhase.PreRegistered;
        AbandonPreRegistration(s, now);
    }

    private void OnPreRegistrationUnanswered(BindingUpdateListEntry entry, Instant now)
    {
        Counters.Handover.PreRegistrationsUnanswered++;
        if (entry.Session is { } s) AbandonPreRegistration(s, now);
    }

    /// <summary>The pre-registered VM's first frame: it runs here now.</summary>
    private void OnPreRegisteredVmArrived(AccessSession s, AttachTrigger trigger, Instant now)
    {
        s.Trigger = trigger;
        if (s.MigrationPhase == MigrationPhase.PreRegistering)
        {
            if (s.State == SessionState.Registering)
            {
                // The pre-registration is on its way: it completes the handover as soon as it is accepted.
                s.ArrivedWhilePreRegistering = true;
                s.AttachSeenAt = now;
                Counters.Handover.ArrivedWhilePreRegistering++;
                return;
            }
            // Still asking the policy (or failed): carry on as an ordinary arriving VM.
            s.MigrationPhase = MigrationPhase.None;
            s.AttachSeenAt = now;
            Counters.Handover.ArrivedBeforePreRegistration++;
            if (s.State == SessionState.Failed)
            {
                s.RetryAt = null;
                StartPolicy(s, now);
            }
            return;
        }
        Activate(s, now);
    }

    /// <summary>
    /// The VM resumed here: forwarding runs from now (the LMA already accepts our uplink), the RA goes out, the buffer is
    /// released (now, or once the source's marker is here), and the activation PBU takes the binding over.
    /// </summary>
    private void Activate(AccessSession s, Instant now)
    {
        var entry = s.Binding!;
        var h = Counters.Handover;
        h.Activations++;
        s.ActivatedAt = now;
        if (!s.ArrivedWhilePreRegistering) s.AttachSeenAt = now;
        s.State = SessionState.Established;
        s.LastReachableAt = now;
        s.NudProbesSent = 0;
        s.ConsecutiveFailures = 0;
        s.TransientRefreshAt = null;
        Counters.SessionsEstablished++;
        if (s.Transient)
        {
            if (entry.Transaction is { Kind: RegistrationKind.PreRegistration }) entry.Transaction = null;
            StartTransaction(entry, RegistrationKind.Activation, HandoffIndicator.HandoffBetweenMagsForSameInterface, entry.HomeNetworkPrefixes, RegisteredIpv4Request(entry),
                _options.BindingLifetime, now);
        }
        SendRouterAdvertisement(s, RouterAdvertisementReason.SessionEstablished, now);
        if (s.EndMarker is not null || !s.Transient)
        {
            // The marker is here (it usually beats the VM: it left the source when the VM stopped), or nobody else served
            // the VM when it pre-registered (a restore: nothing can have been delivered twice).
            Release(s, discardBeforeActivation: false, now);
            return;
        }
        s.MigrationPhase = MigrationPhase.AwaitingMarker;
        s.EndMarkerDeadline = now + (_options.EndMarkerWait ?? s.PreRegistrationRoundTrip + TimeSpan.FromMilliseconds(10));
        h.ActivationsAwaitingMarker++;
        Reschedule(s);
    }

    private void Release(AccessSession s, bool discardBeforeActivation, Instant now)
    {
        var entry = s.Binding!;
        s.MigrationPhase = MigrationPhase.None;
        s.EndMarkerDeadline = null;
        _actions.Add(new MagAction.ReleaseBuffer(s.Port, discardBeforeActivation));
        if (discardBeforeActivation) Counters.Handover.EndMarkerTimeouts++;
        _actions.Add(new MagAction.HandoverCompleted(s.Port, s.Mac, entry.MobileNodeIdentifier, s.Trigger, HandoffIndicator.HandoffBetweenMagsForSameInterface,
            entry.HomeNetworkPrefixes,
            new HandoverTimings(s.AttachSeenAt, s.AttachSeenAt, s.FirstPbuSentAt, s.PreRegisteredAt, s.ActivatedAt, s.PreRegistrationTransmissions,
                PreRegistered: s.PreRegisteredAt, EndMarkerReceived: s.EndMarker is null ? null : s.EndMarkerReceivedAt, Released: now,
                EndMarkerTimedOut: discardBeforeActivation)));
        Reschedule(s);
    }

    /// <summary>The LMA relays the source's stop notice, with its delivery marker.</summary>
    private void OnStopNoticeRelayed(Ipv6Address source, HandoverInitiate hi, Instant now)
    {
        var h = Counters.Handover;
        h.StopNoticesRelayedToUs++;
        var code = HandoverAcknowledgeCode.RequestedContextNotAvailable;
        if (hi.MobileNodeIdentifier?.Nai is { } nai && _bindingUpdateList.TryGetValue(nai, out var entry) && entry.LocalMobilityAnchor == source
            && hi.DeliveryMarker is { } marker && entry.Session is { } s)
        {
            code = HandoverAcknowledgeCode.HandoverAccepted;
            switch (s.MigrationPhase)
            {
                case MigrationPhase.PreRegistering:
                case MigrationPhase.PreRegistered:
                    if (s.EndMarker is null) RecordMarker(s, marker, now);
                    break;
                case MigrationPhase.AwaitingMarker:
                    RecordMarker(s, marker, now);
                    Release(s, discardBeforeActivation: false, now);
                    break;
                default:
                    h.EndMarkersLate++;
                    break;
            }
        }
        else
        {
            h.StopNoticesUnmatched++;
        }
        var options = new List<MobilityOption>(1);
        if (hi.MobileNodeIdentifier is { } id) options.Add(id);
        _actions.Add(new MagAction.SendMobilityMessage(_options.ProxyCareOfAddress, source,
            new HandoverAcknowledge(hi.Sequence, HandoverAcknowledgeFlags.Proxy, code) { Options = new MobilityOptionList(options) }));
    }

    private void RecordMarker(AccessSession s, DeliveryMarker marker, Instant now)
    {
        Counters.Handover.EndMarkersReceived++;
        s.EndMarker = marker;
        s.EndMarkerReceivedAt = now;
        _actions.Add(new MagAction.ApplyDeliveryMarker(s.Port, marker));
    }

    // ---- Source ---------------------------------------------------------------------------------------------------

    private void OnVmStopped(MagEvent.VmStopped e, Instant now)
    {
        var h = Counters.Handover;
        if (!_sessions.TryGetValue(e.Port, out var s) || s.State != SessionState.Established || s.Binding is not { Registered: true } entry
            || s.MigrationPhase != MigrationPhase.None)
        {
            h.StopsIgnored++;
            return;
        }
        h.VmStops++;
        s.MigrationPhase = MigrationPhase.VmStopped;
        var notice = new HandoverInitiate(++_stopNoticeSequence, HandoverInitiateFlags.Proxy, HandoverInitiateCode.CompletionOfForwarding)
        {
            Options = new MobilityOptionList([
                .. entry.HomeNetworkPrefixes.Select(p => (MobilityOption)new HomeNetworkPrefixOption(p)),
                MobileNodeLinkLayerIdentifierOption.ForMac(s.Mac),
                MobileNodeIdentifierOption.ForNai(entry.MobileNodeIdentifier),
                new DeliveryMarkerOption(e.Marker),
            ]),
        };
        s.PendingStopNotice = new StopNotice(notice.Sequence, notice);
        s.StopNoticeSent = true;
        SendStopNotice(s, entry, now);
        Reschedule(s);
    }

    private void SendStopNotice(AccessSession s, BindingUpdateListEntry entry, Instant now)
    {
        var n = s.PendingStopNotice!;
        n.Transmissions++;
        n.RetransmitAt = now + _options.InitialBindackTimeoutFirstReg * Math.Pow(2, n.Transmissions - 1);
        if (n.Transmissions > 1) Counters.Handover.StopNoticesRetransmitted++;
        else Counters.Handover.StopNoticesSent++;
        _actions.Add(new MagAction.SendMobilityMessage(_options.ProxyCareOfAddress, entry.LocalMobilityAnchor, n.Message));
    }

    private void OnStopNoticeAcknowledged(Ipv6Address source, HandoverAcknowledge ack)
    {
        var h = Counters.Handover;
        foreach (var s in _sessions.Values)
        {
            if (s.PendingStopNotice is not { } n || n.Sequence != ack.Sequence || s.Binding?.LocalMobilityAnchor != source) continue;
            s.PendingStopNotice = null;
            if (ack.IsAccepted) h.StopNoticesAccepted++;
            else h.StopNoticesWithoutDestination++;
            return;
        }
        h.StopNoticeAcksUnmatched++;
    }

    private void OnVmResumed(PortId port, Instant now)
    {
        if (!_sessions.TryGetValue(port, out var s) || s.MigrationPhase != MigrationPhase.VmStopped) return;
        Counters.Handover.VmResumedAfterStop++;
        s.MigrationPhase = MigrationPhase.None;
        s.PendingStopNotice = null;
        s.LastReachableAt = now;
        s.NudProbesSent = 0;
        // The LMA moved our downlink to the destination when it got the notice: a registration takes it back.
        if (s.StopNoticeSent && s.Binding is { Registered: true, Transaction: null } entry)
        {
            StartTransaction(entry, RegistrationKind.Refresh, HandoffIndicator.HandoffStateNotChanged, entry.HomeNetworkPrefixes, RegisteredIpv4Request(entry),
                _options.BindingLifetime, now);
        }
        s.StopNoticeSent = false;
        Reschedule(s);
    }

    // ---- Timers ---------------------------------------------------------------------------------------------------

    /// <summary>The migration's deadlines for this session; false when the session went.</summary>
    private bool OnMigrationTimers(AccessSession s, Instant now)
    {
        switch (s.MigrationPhase)
        {
            case MigrationPhase.PreRegistering when now >= s.PreRegistrationDeadline:
            case MigrationPhase.PreRegistered when now >= s.PreRegistrationDeadline:
                Counters.Handover.PreRegistrationsExpired++;
                AbandonPreRegistration(s, now, DetachReason.PreRegistrationExpired);
                return false;
            case MigrationPhase.PreRegistered when s.TransientRefreshAt <= now && s.Binding is { } entry:
                s.TransientRefreshAt = null;
                if (entry.Transaction is null)
                    StartTransaction(entry, RegistrationKind.PreRegistration, HandoffIndicator.HandoffBetweenMagsForSameInterface, entry.HomeNetworkPrefixes, RegisteredIpv4Request(entry),
                        _options.BindingLifetime, now);
                break;
            case MigrationPhase.AwaitingMarker when s.EndMarkerDeadline <= now:
                Release(s, discardBeforeActivation: true, now);
                break;
            case MigrationPhase.VmStopped when s.PendingStopNotice is { } n && n.RetransmitAt <= now && s.Binding is { } b:
                if (n.Transmissions >= StopNoticeMaxTransmissions)
                {
                    Counters.Handover.StopNoticesUnanswered++;
                    s.PendingStopNotice = null;
                }
                else
                {
                    SendStopNotice(s, b, now);
                }
                break;
        }
        return true;
    }

    /// <summary>A stop notice is tried this often: it is only worth something during the migration's switchover.</summary>
    private const int StopNoticeMaxTransmissions = 3;
}

/// <summary>The MAG's counters for live migrations: as destination (pre-registration, activation, marker) and as source (stop notices).</summary>
public sealed class MagHandoverCounters
{
    public long PreRegistrationsStarted;
    public long PreRegistrationsAccepted;
    /// <summary>The LMA refused it, or it went unanswered: the VM's first frame registers it instead.</summary>
    public long PreRegistrationsRejected;
    public long PreRegistrationsUnanswered;
    /// <summary>The VM did not arrive within PreRegistrationTimeout.</summary>
    public long PreRegistrationsExpired;
    /// <summary>Not started: the port had a session, or the VM runs on another port of this MAG.</summary>
    public long PreRegistrationsSkipped;
    /// <summary>An incoming port with PreRegistration off.</summary>
    public long PreRegistrationsDisabled;
    public long TransientRefreshes;
    /// <summary>The VM's first frame came while the pre-registration was still being answered (activated on the answer), or before it was sent at all.</summary>
    public long ArrivedWhilePreRegistering;
    public long ArrivedBeforePreRegistration;
    public long Activations;
    public long ActivationsAccepted;
    /// <summary>Activations that had to wait for the source's marker, and waits that ran out (the buffer's early part dropped).</summary>
    public long ActivationsAwaitingMarker;
    public long EndMarkerTimeouts;
    public long EndMarkersReceived;
    /// <summary>A marker for a session that had released its buffer already.</summary>
    public long EndMarkersLate;
    public long StopNoticesRelayedToUs;
    public long StopNoticesUnmatched;

    public long VmStops;
    /// <summary>Stop events for a port without an established, registered session, or already stopped.</summary>
    public long StopsIgnored;
    public long StopNoticesSent;
    public long StopNoticesRetransmitted;
    public long StopNoticesAccepted;
    /// <summary>The LMA knew no destination (no pre-registration): nothing moved.</summary>
    public long StopNoticesWithoutDestination;
    public long StopNoticesUnanswered;
    public long StopNoticeAcksUnmatched;
    public long VmResumedAfterStop;
}
