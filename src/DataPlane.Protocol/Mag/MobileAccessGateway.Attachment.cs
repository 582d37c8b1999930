using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// Attachment, policy and detachment.
public sealed partial class MobileAccessGateway
{
    private void OnAttachmentDetected(MagEvent.AttachmentDetected e, Instant now)
    {
        Counters.AttachTriggers.Increment(e.Trigger);
        if (!_sessions.TryGetValue(e.Port, out var s))
        {
            s = new AccessSession(e.Port, e.Mac, e.Trigger, now) { VmLinkLocal = UsableLinkLocal(e.VmLinkLocal) };
            _sessions.Add(e.Port, s);
            Counters.SessionsStartedBy.Increment(e.Trigger);
            StartPolicy(s, now);
            return;
        }
        if (s.Mac != e.Mac)
        {
            Counters.TriggersWithForeignMac++;
            return;
        }
        s.VmLinkLocal ??= UsableLinkLocal(e.VmLinkLocal);
        // Whatever the trigger, the VM just sent something: it is reachable.
        s.LastReachableAt = now;
        s.NudProbesSent = 0;
        if (s.MigrationPhase is MigrationPhase.PreRegistering or MigrationPhase.PreRegistered)
        {
            // A pre-registered VM's first frame at the destination: it resumed here.
            OnPreRegisteredVmArrived(s, e.Trigger, now);
            return;
        }
        switch (s.State)
        {
            case SessionState.Established when e.Trigger == AttachTrigger.Dhcp && s.Binding!.Ipv4 is null:
                // An established session without an IPv4 address: the guest's DHCP asks for one (§3.4.1).
                RequestIpv4(s, now);
                break;
            case SessionState.Established:
                OnTriggerWhileEstablished(s, e.Trigger, now);
                break;
            case SessionState.Failed when s.RetryAt is null && now >= s.HoldOffUntil:
                // A non-retryable failure has been held off long enough: the VM gets a fresh attempt.
                s.Trigger = e.Trigger;
                s.AttachSeenAt = now;
                StartPolicy(s, now);
                break;
            default:
                Counters.TriggersAbsorbed++;
                break;
        }
    }

    private void OnTriggerWhileEstablished(AccessSession s, AttachTrigger trigger, Instant now)
    {
        var entry = s.Binding!;
        if (trigger == AttachTrigger.RouterSolicitation && entry.HomeNetworkPrefixes.Length > 0)
        {
            if (s.LastSolicitedRouterAdvertisementAt is { } last && now - last < _options.RouterSolicitationMinInterval)
            {
                Counters.RouterSolicitationsSuppressed++;
                return;
            }
            SendRouterAdvertisement(s, RouterAdvertisementReason.Solicited, now);
            Reschedule(s);
            return;
        }
        // A migration announce on a session we think is established means the VM may have left and come
        // back without us noticing (no hotplug event, NUD never failed), while another MAG took the
        // binding. Re-registering with HI 3 costs one PBU and makes the LMA point back here if so.
        if (HandoffIndicatorRule.IsMigrationAnnounce(trigger) && entry.Transaction is null
            && now - entry.LastAcceptedAt >= _options.AnnounceReregistrationMinInterval)
        {
            Counters.Reannouncements++;
            StartTransaction(entry, RegistrationKind.Reannounce, HandoffIndicator.HandoffBetweenMagsForSameInterface,
                entry.HomeNetworkPrefixes, RegisteredIpv4Request(entry), _options.BindingLifetime, now);
            return;
        }
        Counters.TriggersAbsorbed++;
    }

    private void StartPolicy(AccessSession s, Instant now)
    {
        s.State = SessionState.AwaitingPolicy;
        s.PolicyRequestId = ++_lastPolicyRequestId;
        s.PolicyDeadline = now + _options.PolicyTimeout;
        _pendingPolicy.Add(s.PolicyRequestId, s);
        Counters.PolicyRequests++;
        _actions.Add(new MagAction.RequestPolicy(s.PolicyRequestId, s.Port, s.Mac));
        Reschedule(s);
    }

    private void OnPolicyDecided(MagEvent.PolicyDecided e, Instant now)
    {
        if (!_pendingPolicy.Remove(e.RequestId, out var s))
        {
            Counters.PolicyAnswersIgnored++;
            return;
        }
        s.PolicyDeadline = null;
        s.PolicyAnsweredAt = now;
        if (e.Profile is not { } profile)
        {
            Counters.PolicyDenials++;
            FailSession(s, SessionFailureReason.PolicyDenied, null, retry: false, now);
            return;
        }
        if (string.IsNullOrEmpty(profile.MobileNodeIdentifier) || !profile.LocalMobilityAnchor.IsUnicast
            || profile.LocalMobilityAnchor.IsLinkLocal || profile.HomeNetworkPrefixes.Any(p => p.IsUnspecified)
            || (!profile.Ipv6Service && !profile.Ipv4Service)
            || (profile.Ipv4HomeAddress is { } fixedAddress && (!fixedAddress.IsUnicast || profile.Ipv4PrefixLength > 32)))
        {
            FailSession(s, SessionFailureReason.InvalidProfile, null, retry: false, now);
            return;
        }
        if (s.MigrationPhase == MigrationPhase.PreRegistering)
        {
            StartPreRegistration(s, profile, now);
            return;
        }
        var entry = BindEntry(s, profile, now);
        s.Profile = profile;
        s.State = SessionState.Registering;
        // RFC 5844 §3.2.3.1: the profile says which IP versions are enabled; the LMA's refusals narrow it.
        s.Ipv6Wanted = profile.Ipv6Service && !s.Ipv6Refused;
        s.Ipv4Wanted = profile.Ipv4Service && !s.Ipv4Refused;
        if (!s.Ipv6Wanted && !s.Ipv4Wanted)
        {
            FailSession(s, SessionFailureReason.Rejected, null, retry: false, now);
            return;
        }
        var (indicator, prefixes) = HandoffIndicatorRule.ForNewSession(s.Trigger, entry.HomeNetworkPrefixes, profile.HomeNetworkPrefixes,
            recordedIpv4: entry.Ipv4 is not null, profileIpv4: s.Ipv4Wanted && profile.Ipv4HomeAddress is not null);
        s.HandoffIndicator = indicator;
        s.FirstPbuSentAt = now;
        StartTransaction(entry, RegistrationKind.Initial, indicator, s.Ipv6Wanted ? prefixes : [], Ipv4RequestFor(s, entry),
            _options.BindingLifetime, now);
        Reschedule(s);
    }

    /// <summary>
    /// Find or create the BUL entry for the profile's MN-ID and link it to the session. An entry still
    /// de-registering (the VM left this MAG and came back) is taken over, keeping its sequence numbers and
    /// known prefixes. So is one held by a session on another port: a VM interface cannot be on two ports,
    /// so that session is stale (the VM came back on a new vif before NUD noticed) and is removed without
    /// de-registering, since this session re-registers the same binding at once.
    /// </summary>
    private BindingUpdateListEntry BindEntry(AccessSession s, VmProfile profile, Instant now)
    {
        if (s.Binding is { } current)
        {
            if (current.MobileNodeIdentifier == profile.MobileNodeIdentifier && current.LocalMobilityAnchor == profile.LocalMobilityAnchor)
                return current;
            ReleaseEntry(s, now); // the profile changed between attempts
        }
        if (_bindingUpdateList.TryGetValue(profile.MobileNodeIdentifier, out var entry))
        {
            if (entry.Session is { } stale && stale != s)
            {
                stale.Binding = null;
                entry.Session = null;
                entry.Transaction = null;
                Detach(stale, DetachReason.Superseded, now);
            }
            if (entry.LocalMobilityAnchor != profile.LocalMobilityAnchor)
            {
                // Re-homed to another LMA: the old one will expire its binding by itself.
                Counters.DeregistrationsSuperseded++;
                RemoveEntry(entry);
                entry = null;
            }
            else if (entry.Transaction is { Kind: RegistrationKind.Deregistration })
            {
                Counters.DeregistrationsSuperseded++;
                entry.Transaction = null;
            }
        }
        if (entry is null)
        {
            entry = new BindingUpdateListEntry(profile.MobileNodeIdentifier, profile.LocalMobilityAnchor, s.Mac, (ushort)_random.NextUInt64());
            _bindingUpdateList.Add(entry.MobileNodeIdentifier, entry);
            if (CollectionsMarshalExtensions.IncrementAndGet(_entriesPerLma, entry.LocalMobilityAnchor) == 1)
                _heartbeat.AddPeer(entry.LocalMobilityAnchor, now);
        }
        entry.Mac = s.Mac;
        entry.Session = s;
        s.Binding = entry;
        return entry;
    }

    private void OnPortDetached(PortId port, DetachReason reason, Instant now)
    {
        if (!_sessions.TryGetValue(port, out var s))
        {
            Counters.DetachesForUnknownPort++;
            return;
        }
        Detach(s, reason, now);
    }

    /// <summary>End the session: stop forwarding at once, de-register if the LMA may hold a binding.</summary>
    private void Detach(AccessSession s, DetachReason reason, Instant now)
    {
        _sessions.Remove(s.Port);
        _pendingPolicy.Remove(s.PolicyRequestId);
        _timers.Cancel(s);
        Counters.Detaches.Increment(reason);
        EndLocalizedRoutes(s, LocalizedRouteEnd.SessionEnded);
        if (s.Installed)
        {
            s.Installed = false;
            _actions.Add(new MagAction.RemoveSession(s.Port, s.Mac, reason));
        }
        ReleaseEntry(s, now);
    }

    private void ReleaseEntry(AccessSession s, Instant now)
    {
        if (s.Binding is not { } entry) return;
        s.Binding = null;
        entry.Session = null;
        if (!entry.MayBeRegistered)
        {
            RemoveEntry(entry);
            return;
        }
        entry.Registered = false;
        // RFC 5844 §3.2.3.3: with an IPv4 home address, exactly one Request carrying it; the HNPs only if registered.
        var prefixes = entry.HomeNetworkPrefixes.Length > 0 ? entry.HomeNetworkPrefixes : entry.RequestedPrefixes;
        var ipv4 = entry.Ipv4 is { } a ? new Ipv4HomeAddressRequestOption(a.PrefixLength, a.HomeAddress) : entry.RequestedIpv4;
        if (prefixes.Length == 0 && ipv4 is null)
        {
            RemoveEntry(entry); // nothing was ever asked for: nothing to de-register
            return;
        }
        StartTransaction(entry, RegistrationKind.Deregistration, HandoffIndicator.HandoffStateNotChanged, prefixes, ipv4, TimeSpan.Zero, now);
    }

    private void RemoveEntry(BindingUpdateListEntry entry)
    {
        if (!_bindingUpdateList.Remove(entry.MobileNodeIdentifier)) return;
        _timers.Cancel(entry);
        if (entry.Session is { } s)
        {
            s.Binding = null;
            entry.Session = null;
        }
        if (CollectionsMarshalExtensions.DecrementAndGet(_entriesPerLma, entry.LocalMobilityAnchor) == 0)
        {
            _entriesPerLma.Remove(entry.LocalMobilityAnchor);
            _heartbeat.RemovePeer(entry.LocalMobilityAnchor);
        }
    }

    /// <summary>
    /// A registration attempt failed. Forwarding is removed; a retryable failure starts over after a
    /// doubling delay, a non-retryable one ignores the VM's triggers for RejectedSessionHoldOff.
    /// </summary>
    private void FailSession(AccessSession s, SessionFailureReason reason, BindingAckStatus? status, bool retry, Instant now)
    {
        if (s.MigrationPhase == MigrationPhase.PreRegistered)
        {
            // A pre-registered VM that is not here yet: registering it now would pull its traffic here. Give the
            // pre-registration up; its first frame registers it.
            Counters.SessionFailures.Increment(reason);
            AbandonPreRegistration(s, now);
            return;
        }
        // An arrived VM's or a source's migration state ends with the session's forwarding.
        if (s.MigrationPhase is MigrationPhase.AwaitingMarker or MigrationPhase.VmStopped) s.MigrationPhase = MigrationPhase.None;
        Counters.SessionFailures.Increment(reason);
        EndLocalizedRoutes(s, LocalizedRouteEnd.SessionEnded);
        if (s.Installed)
        {
            s.Installed = false;
            _actions.Add(new MagAction.RemoveSession(s.Port, s.Mac, DetachReason.BindingLost));
        }
        s.State = SessionState.Failed;
        s.ConsecutiveFailures++;
        if (retry)
        {
            var delay = _options.FailedSessionRetryInitial * Math.Pow(2, Math.Min(s.ConsecutiveFailures - 1, 20));
            s.RetryAt = now + (delay < _options.FailedSessionRetryMax ? delay : _options.FailedSessionRetryMax);
        }
        else
        {
            s.RetryAt = null;
            s.HoldOffUntil = now + _options.RejectedSessionHoldOff;
        }
        if (s.Binding is { } entry)
        {
            entry.Transaction = null;
            entry.Registered = false;
            Reschedule(entry);
        }
        _actions.Add(new MagAction.SessionFailed(s.Port, s.Mac, s.Profile?.MobileNodeIdentifier, reason, status,
            status is { } st ? BindingAckStatusInfo.Describe(st) : null, retry));
        Reschedule(s);
    }

    private void OnSessionTimer(AccessSession s, Instant now)
    {
        switch (s.State)
        {
            case SessionState.AwaitingPolicy when now >= s.PolicyDeadline:
                _pendingPolicy.Remove(s.PolicyRequestId);
                Counters.PolicyTimeouts++;
                FailSession(s, SessionFailureReason.PolicyTimeout, null, retry: true, now);
                break;
            case SessionState.Failed when s.RetryAt <= now:
                s.RetryAt = null;
                Counters.SessionRetries++;
                s.AttachSeenAt = now;
                StartPolicy(s, now);
                break;
            case SessionState.Established when now >= s.NextRouterAdvertisementAt && s.Binding!.HomeNetworkPrefixes.Length > 0:
                SendRouterAdvertisement(s, RouterAdvertisementReason.Periodic, now);
                break;
        }
        if (!OnMigrationTimers(s, now)) return;
        // NUD runs in every state: a VM that left while its session was still registering or failed must
        // not keep being retried (and possibly steal its binding back from the MAG it moved to). Not while the VM
        // is not here yet (pre-registered) or stopped for a migration's last copy.
        if (!s.NudSuspended && now >= s.NudDeadline(_options) && !RunNeighborUnreachabilityDetection(s, now)) return;
        Reschedule(s);
    }

    private static Ipv6Address? UsableLinkLocal(Ipv6Address? a) => a is { IsLinkLocal: true } ? a : null;
}
