using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// PBA processing (RFC 5213 §6.9.1.2): matching, then acceptance or rejection.
public sealed partial class MobileAccessGateway
{
    private void OnBindingAcknowledgement(Ipv6Address source, BindingAcknowledgement pba, Instant now)
    {
        if (pba.MobileNodeIdentifier?.Nai is not { } nai)
        {
            Counters.PbasDroppedMalformed++;
            return;
        }
        if (!_bindingUpdateList.TryGetValue(nai, out var entry) || entry.Transaction is not { } tx)
        {
            Counters.PbasDroppedUnknown++;
            return;
        }
        if (source != entry.LocalMobilityAnchor)
        {
            Counters.PbasDroppedMalformed++;
            return;
        }
        // 135 carries the LMA's last accepted sequence, not ours: match it by MN-ID alone, jump past it and
        // resend at once (RFC 6275 §11.7.1). Only once per transaction, so two confused ends cannot loop.
        if (pba.Status == BindingAckStatus.SequenceNumberOutOfWindow && !tx.SequenceResynchronised)
        {
            Counters.PbasByStatus.Increment(pba.Status);
            Counters.SequenceResynchronisations++;
            tx.SequenceResynchronised = true;
            entry.NextSequence = (ushort)(pba.Sequence + 1);
            Transmit(entry, tx, now);
            return;
        }
        if (!SequenceNumber.InWindow(pba.Sequence, tx.FirstSequence, tx.LastSequence)
            // A rejection of an earlier try is superseded by the later try still outstanding (a reordered
            // duplicate of an old PBU can be refused with 157 while the newest one is accepted).
            || (!pba.IsAccepted && pba.Sequence != tx.LastSequence))
        {
            Counters.PbasDroppedStaleSequence++;
            return;
        }
        // An accepting PBA echoes the PBU's timestamp (RFC 5213 §5.3.6): it must be one we sent in this
        // transaction. Rejections for 156 carry the LMA's clock instead, so only acceptances are checked.
        if (pba.IsAccepted && tx.FirstTimestamp is { } first
            && (pba.Timestamp is not { } echoed || echoed < first || echoed > tx.LastTimestamp!.Value))
        {
            Counters.PbasDroppedTimestampMismatch++;
            return;
        }
        Counters.PbasByStatus.Increment(pba.Status);
        if (tx.Kind is RegistrationKind.Deregistration or RegistrationKind.Ipv4Release && !pba.IsAccepted
            && BindingAckStatusInfo.IsRetryable(pba.Status) && tx.Transmissions < _options.MaxPbuTransmissions)
        {
            // E.g. 156 for a de-registration delayed past the window: the retransmission timer sends a fresh one.
            return;
        }
        entry.Transaction = null;
        if (tx.Kind == RegistrationKind.Deregistration)
        {
            Counters.DeregistrationsAcknowledged++;
            RemoveEntry(entry);
            return;
        }
        if (tx.Kind == RegistrationKind.Ipv4Release)
        {
            // The address was taken out of forwarding when the VM released it; the binding's lifetime is unchanged.
            Counters.Ipv4ReleasesAcknowledged++;
            RequestIpv4IfPending(entry, now);
            Reschedule(entry);
            return;
        }
        if (tx.Kind is RegistrationKind.PreRegistration or RegistrationKind.Activation)
        {
            if (pba.IsAccepted) OnMigrationRegistrationAccepted(entry, tx, pba, now);
            else OnMigrationRegistrationRejected(entry, tx, pba.Status, now);
        }
        else if (pba.IsAccepted) OnRegistrationAccepted(entry, tx, pba, now);
        else OnRegistrationRejected(entry, tx, pba.Status, now);
        if (_bindingUpdateList.ContainsKey(entry.MobileNodeIdentifier)) RequestIpv4IfPending(entry, now);
        if (_bindingUpdateList.ContainsKey(entry.MobileNodeIdentifier)) Reschedule(entry);
    }

    private void OnRegistrationAccepted(BindingUpdateListEntry entry, PbuTransaction tx, BindingAcknowledgement pba, Instant now)
    {
        var s = entry.Session;
        var prefixes = tx.Prefixes.Length > 0 ? pba.HomeNetworkPrefixes.Where(p => !p.IsUnspecified).ToArray() : [];
        var lifetime = pba.LifetimeSpan;
        var ipv4 = tx.Ipv4Request is null ? null : Ipv4FromAcknowledgement(entry, pba);
        if (lifetime <= TimeSpan.Zero || (prefixes.Length == 0 && (tx.Prefixes.Length > 0 || ipv4 is null)))
        {
            // Nothing usable: no lifetime, IPv6 asked for and no prefix granted, or an IPv4-only session without its address.
            if (s is not null)
            {
                bool ipv4Only = tx.Prefixes.Length == 0;
                if (ipv4Only && s.Ipv4Refused)
                    FailSession(s, SessionFailureReason.Ipv4Unavailable, pba.Status, retry: false, now);
                else
                    FailSession(s, SessionFailureReason.MalformedAcknowledgement, pba.Status, retry: true, now);
            }
            return;
        }
        // The LMA's lifetime runs from when it accepted the PBU; counting from when we sent the answered
        // PBU (its echoed timestamp is our own clock) can only end earlier, never later.
        var sentAt = pba.Timestamp is { } ts && tx.FirstTimestamp is not null
            ? Instant.Min(Instant.FromPmipTimestamp(ts), now)
            : tx.FirstSentAt;
        bool prefixesChanged = !entry.HomeNetworkPrefixes.AsSpan().SequenceEqual(prefixes);
        if (prefixesChanged) entry.HomeNetworkPrefixes = prefixes;
        // RFC 5844 §3.2.3.2: the entry holds what the Reply granted; a refresh whose Reply fails removes it (§3.2.3.3).
        bool ipv4Changed = entry.Ipv4 != ipv4 && (tx.Ipv4Request is not null || ipv4 is not null);
        if (ipv4Changed) entry.Ipv4 = ipv4;
        entry.Registered = true;
        entry.GrantedLifetime = lifetime;
        entry.BindingExpiresAt = sentAt + lifetime;
        entry.RefreshAt = sentAt + lifetime * (_options.RefreshFraction * (1 - 0.05 * _random.NextDouble()));
        entry.LastAcceptedAt = now;
        if (s is null) return;
        if (tx.Kind == RegistrationKind.Initial)
        {
            s.State = SessionState.Established;
            s.ConsecutiveFailures = 0;
            s.LastReachableAt = now;
            s.NudProbesSent = 0;
            Counters.SessionsEstablished++;
            Install(s, entry);
            // An IPv4-only VM gets no RA: IPv6 is not enabled on its link (RFC 5844 §3). Its handover is done
            // when forwarding is installed (the data path then answers its DHCP and ARP).
            var firstRa = entry.HomeNetworkPrefixes.Length > 0 ? SendRouterAdvertisement(s, RouterAdvertisementReason.SessionEstablished, now) : now;
            _actions.Add(new MagAction.HandoverCompleted(s.Port, s.Mac, entry.MobileNodeIdentifier, s.Trigger, tx.HandoffIndicator,
                entry.HomeNetworkPrefixes,
                new HandoverTimings(s.AttachSeenAt, s.PolicyAnsweredAt, s.FirstPbuSentAt, now, firstRa, tx.Transmissions), entry.Ipv4));
        }
        else
        {
            if (tx.Kind == RegistrationKind.RestartRecovery) Counters.ReregistrationsAfterLmaRestart++;
            if (tx.Kind == RegistrationKind.Ipv4Request && entry.Ipv4 is not null) Counters.Ipv4Extensions++;
            Counters.RefreshesAccepted++;
            if (prefixesChanged || ipv4Changed) Install(s, entry);
            if (prefixesChanged && entry.HomeNetworkPrefixes.Length > 0) SendRouterAdvertisement(s, RouterAdvertisementReason.SessionEstablished, now);
        }
        Reschedule(s);
    }

    private void Install(AccessSession s, BindingUpdateListEntry entry)
    {
        s.Installed = true;
        _actions.Add(new MagAction.InstallSession(s.Port, s.Mac, entry.HomeNetworkPrefixes, entry.LocalMobilityAnchor, entry.Ipv4));
    }

    private void OnRegistrationRejected(BindingUpdateListEntry entry, PbuTransaction tx, BindingAckStatus status, Instant now)
    {
        if (entry.Session is not { } s) return;
        bool retryable = BindingAckStatusInfo.IsRetryable(status);
        if (tx.Kind == RegistrationKind.Initial)
        {
            // RFC 5844 §3.2.3.2: 170, 171 and 172 narrow the request and send it again at once.
            if (TryNarrowAfterRefusal(s, entry, tx, status, now)) return;
            FailSession(s, SessionFailureReason.Rejected, status, retryable, now);
            return;
        }
        if (tx.Kind == RegistrationKind.Ipv4Request)
        {
            // Only the IPv4 extension was refused: the binding stands as it was; IPv4 stays off for this session.
            s.Ipv4Refused = true;
            s.Ipv4Wanted = false;
            Ipv4NotAvailable(s, entry, Ipv4UnavailableReason.Refused, null);
            return;
        }
        if (retryable && now < entry.BindingExpiresAt)
        {
            // The binding still stands; try the refresh again later.
            entry.RefreshAt = now + _options.MaxBindackTimeout;
            return;
        }
        // The LMA refused to extend a binding we thought we held: another MAG serves this VM now (the VM
        // left without a hotplug event and NUD has not noticed yet). Stop forwarding and forget the
        // session; if the VM really is here, its next frame starts a new session, which re-registers with HI 3.
        _actions.Add(new MagAction.SessionFailed(s.Port, s.Mac, entry.MobileNodeIdentifier, SessionFailureReason.Rejected, status,
            BindingAckStatusInfo.Describe(status), false));
        Counters.SessionFailures.Increment(SessionFailureReason.Rejected);
        entry.Registered = false;
        entry.MayBeRegistered = false;
        Detach(s, DetachReason.BindingLost, now);
    }
}
