using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// Live migration: a destination MAG's pre-registration (RFC 6058 transient binding), the serving MAG's stop notice
// and its relay to the destination, and the transient binding's end (activation, cancellation, expiry, promotion).
public sealed partial class LocalMobilityAnchor
{
    private int _transientCount;
    private ushort _handoverSequence;

    /// <summary>
    /// A PBU with the Transient Binding option from a MAG that does not serve the entry: the destination of a live
    /// migration, ahead of the VM. The serving MAG keeps the binding (late path switch); the new MAG gets a tunnel,
    /// its uplink is accepted, and (<see cref="LmaOptions.Bicast"/>) it receives a copy of the downlink to buffer.
    /// Answered with the option echoed and the transient lifetime granted. False when the option does not apply
    /// (the entry is not active, or the sender serves it): the PBU is then an ordinary registration.
    /// </summary>
    private bool TryRegisterTransient(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, TransientBindingOption option, Instant now)
    {
        if (entry.State != BindingCacheState.Active) return false;
        var h = Counters.Handover;
        if (entry.ProxyCareOfAddress == source && entry.AwaitingActivation && !pbu.IsDeregistration && option.Lifetime != 0)
        {
            RefreshPromotedPreRegistration(source, pbu, entry, option, now);
            return true;
        }
        if (entry.ProxyCareOfAddress == source)
        {
            // The serving MAG pre-registers the VM it saw stop for a migration to the pre-registered destination: a
            // second migration, back here, before that destination's activation got here. The VM runs there now, so
            // that destination serves the entry from here on, and this MAG becomes the transient one.
            if (!entry.ServingMagStopped || entry.TransientMag is not { } runningAt || pbu.IsDeregistration || option.Lifetime == 0) return false;
            h.TransientsActivatedByReturn++;
            bool moved = Activate(entry, runningAt, now);
            Persist(entry); // the binding moved: a standby must find it where the VM runs
            _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.HandedOff, runningAt, entry.HomeNetworkPrefixes));
            // Its localized routing pairs follow it, as for any handover (the destination's activation finds it moved already).
            if (moved) OnBindingMoved(entry, runningAt, now);
        }
        if (pbu.IsDeregistration || option.Lifetime == 0)
        {
            if (entry.TransientMag == source) CancelTransient(entry, pbu, now);
            else Reply(source, pbu, BindingAckStatus.Accepted, now);
            return true;
        }
        // Ordering among this MAG's own pre-registration PBUs only: the serving MAG's clock orders the entry's own PBUs.
        if (entry.TransientMag == source && pbu.Timestamp is { } ts && entry.TransientLastTimestamp is { } last && ts <= last)
        {
            Reply(source, pbu, BindingAckStatus.TimestampLowerThanPreviousAccepted, now);
            return true;
        }
        var granted = option.LifetimeSpan < _options.MaxTransientLifetime ? option.LifetimeSpan : _options.MaxTransientLifetime;
        if (entry.TransientMag == source)
        {
            h.TransientRefreshes++;
        }
        else
        {
            if (entry.TransientMag is not null)
            {
                // Another MAG had pre-registered (a migration that went elsewhere, or a second one before the first
                // finished): the newest destination wins; the old one's forwarding goes.
                h.TransientsReplaced++;
                EndTransient(entry);
            }
            h.TransientRegistrations++;
            entry.TransientMag = source;
            _transientCount++;
            if (_tunnels.Acquire(source))
            {
                Counters.TunnelsCreated++;
                _actions.Add(new LmaAction.TunnelUp(source));
                _heartbeat.AddPeer(source, now);
            }
            EmitSecondary(entry);
            _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.PreRegistered, source, entry.HomeNetworkPrefixes));
        }
        entry.TransientExpiresAt = now + granted;
        entry.TransientLastTimestamp = pbu.Timestamp;
        entry.TransientLastSequence = pbu.Sequence;
        _timers.Set(entry, entry.NextDue);
        // The PBA's lifetime is what is left of the binding the destination will take over; the option's is the
        // transient binding's own.
        var left = entry.ExpiresAt - now;
        // RFC 5844: the entry's IPv4 home address, if the PBU asked for IPv4, so the destination installs both families.
        var pba = ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, entry.HomeNetworkPrefixes, left > TimeSpan.Zero ? left : TimeSpan.Zero, null,
            ipv4: Ipv4Binding.Of(entry));
        Send(source, pba with { Options = new MobilityOptionList([.. pba.Options, TransientBindingOption.For(option.LatePathSwitch, granted)]) });
        Counters.PbasSentByStatus.Increment(BindingAckStatus.Accepted);
        return true;
    }

    /// <summary>
    /// The promoted destination refreshes its pre-registration: the source let go first, and the VM has not resumed
    /// there yet. Answered as the transient refresh it asks for (the option echoed), so that the MAG still sends its
    /// activation when the VM arrives, which is what tells us the VM runs there (<see cref="BindingCacheEntry.AwaitingActivation"/>);
    /// answered as an ordinary registration it would take itself for the serving MAG and never say so. The binding
    /// lives on for the transient lifetime granted, as it did since its promotion.
    /// </summary>
    private void RefreshPromotedPreRegistration(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, TransientBindingOption option, Instant now)
    {
        // Ordered among this MAG's own pre-registration PBUs, as before its promotion (PromoteTransient keeps the last).
        if (pbu.Timestamp is { } ts && entry.TransientLastTimestamp is { } last && ts <= last)
        {
            Reply(source, pbu, BindingAckStatus.TimestampLowerThanPreviousAccepted, now);
            return;
        }
        Counters.Handover.TransientRefreshes++;
        var granted = option.LifetimeSpan < _options.MaxTransientLifetime ? option.LifetimeSpan : _options.MaxTransientLifetime;
        if (entry.ExpiresAt < now + granted) entry.ExpiresAt = now + granted;
        entry.TransientLastTimestamp = pbu.Timestamp;
        _timers.Set(entry, entry.NextDue);
        var left = entry.ExpiresAt - now;
        var pba = ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, entry.HomeNetworkPrefixes, left, null, ipv4: Ipv4Binding.Of(entry));
        Send(source, pba with { Options = new MobilityOptionList([.. pba.Options, TransientBindingOption.For(option.LatePathSwitch, granted)]) });
        Counters.PbasSentByStatus.Increment(BindingAckStatus.Accepted);
    }

    /// <summary>The destination gave up (a de-registration, or lifetime 0 in the option): the serving MAG keeps everything.</summary>
    private void CancelTransient(BindingCacheEntry entry, BindingUpdate pbu, Instant now)
    {
        Counters.Handover.TransientsCancelled++;
        var mag = entry.TransientMag!.Value;
        EndTransient(entry);
        _timers.Set(entry, entry.NextDue);
        Reply(mag, pbu, BindingAckStatus.Accepted, now);
        _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.PreRegistrationEnded, entry.ProxyCareOfAddress, entry.HomeNetworkPrefixes));
    }

    /// <summary>The destination stopped refreshing (its host went, or the VM never came): as if it had cancelled.</summary>
    private void ExpireTransient(BindingCacheEntry entry)
    {
        Counters.Handover.TransientsExpired++;
        EndTransient(entry);
        _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.PreRegistrationEnded, entry.ProxyCareOfAddress, entry.HomeNetworkPrefixes));
    }

    /// <summary>
    /// The serving MAG de-registered while another MAG is pre-registered: the VM left the source before it resumed
    /// at the destination. The destination serves the entry from now on, for what is left of its transient
    /// lifetime; its next refresh (or the VM's arrival) renews it as an ordinary registration.
    /// </summary>
    private void PromoteTransient(BindingCacheEntry entry, Ipv6Address source, BindingUpdate pbu, Instant now)
    {
        Counters.Handover.TransientsPromoted++;
        Counters.Deregistrations++;
        var next = entry.TransientMag!.Value;
        var expires = entry.TransientExpiresAt;
        var lastTransientTimestamp = entry.TransientLastTimestamp;
        bool moved = Activate(entry, next, now); // new route first, the old MAG's tunnel reference and the transient binding go
        // That MAG serves the entry now, but its VM may not have resumed there yet: it learns of the move only from its
        // own activation, and until then it takes the session for pre-registered (RFC 6705: no pair with it before).
        entry.AwaitingActivation = true;
        entry.TransientLastTimestamp = lastTransientTimestamp; // its pre-registration refreshes stay ordered
        entry.ExpiresAt = expires;
        RecordAccepted(source, pbu, entry);
        _timers.Set(entry, entry.NextDue);
        // The binding moved: written to the store as any handoff, since the destination's activation that follows is a
        // refresh of a binding already there and is not written (found by the end-to-end LMA failover test: the standby
        // found the VM still at its source).
        Persist(entry);
        Reply(source, pbu, BindingAckStatus.Accepted, now);
        _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.HandedOff, next, entry.HomeNetworkPrefixes));
        // Its localized routing pairs follow it, as for any handover: the destination's activation PBU, which would
        // otherwise move them, finds the binding there already (found by the end-to-end optimized-routing test: the
        // pair of two VMs did not end when one migrated to the other's MAG). The new MAG's side of each pair waits for
        // that activation (OnBindingActivated).
        if (moved) OnBindingMoved(entry, next, now);
    }

    /// <summary>Forget the entry's transient binding: its forwarding, its tunnel reference, the stop flag.</summary>
    private void EndTransient(BindingCacheEntry entry)
    {
        if (entry.TransientMag is not { } mag) return;
        entry.TransientMag = null;
        entry.TransientLastTimestamp = null;
        entry.ServingMagStopped = false;
        _transientCount--;
        if (entry.State == BindingCacheState.Active) EmitSecondary(entry);
        ReleaseTunnel(mag);
    }

    /// <summary>
    /// The entry's downlink beside its route: to the pre-registered destination as well (bicast), or only to it once
    /// the serving MAG's VM stopped (switch). With bicast the serving MAG keeps its copy after the stop: it holds it for
    /// its stopped VM, which gets it if the migration fails and it runs there again.
    /// </summary>
    private void EmitSecondary(BindingCacheEntry entry)
    {
        var mag = entry.TransientMag;
        bool copy = mag is not null && (_options.Bicast || entry.ServingMagStopped);
        bool serving = !(mag is not null && entry.ServingMagStopped && !_options.Bicast);
        foreach (var p in entry.HomeNetworkPrefixes) _actions.Add(new LmaAction.RouteSecondary(p, mag, copy, serving));
        if (entry.Ipv4HomeAddress is { } home) _actions.Add(new LmaAction.Ipv4RouteSecondary(home, mag, copy, serving));
    }

    /// <summary>
    /// A Handover Initiate with code 2 from the serving MAG: its VM stopped for the migration's last copy (QEMU's
    /// STOP). The pre-registered destination gets all of the downlink (switch), or keeps its copy while the serving
    /// MAG holds its own for the stopped VM (bicast); the notice, with the serving MAG's delivery marker, is relayed to
    /// the destination, which delivers exactly what comes after the marker. Acknowledged at once; 131 when no
    /// destination is known.
    /// </summary>
    private void OnHandoverInitiate(Ipv6Address source, HandoverInitiate hi, Instant now)
    {
        var h = Counters.Handover;
        h.StopNoticesReceived++;
        if (!IsMagAuthorized(source) || (hi.Flags & HandoverInitiateFlags.Proxy) == 0 || hi.Code != HandoverInitiateCode.CompletionOfForwarding
            || hi.HomeNetworkPrefixes.FirstOrDefault(p => !p.IsUnspecified) is not { Length: > 0 } prefix)
        {
            h.StopNoticesRefused++;
            Acknowledge(source, hi, HandoverAcknowledgeCode.HandoverNotAccepted);
            return;
        }
        var entry = _cache.FindByPrefix(prefix);
        Ipv6Address? destination = null;
        if (entry is { State: BindingCacheState.Active } && entry.ProxyCareOfAddress == source && entry.TransientMag is { } transient)
        {
            destination = transient;
            if (!entry.ServingMagStopped)
            {
                entry.ServingMagStopped = true;
                EmitSecondary(entry);
                _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.ServingVmStopped, source, entry.HomeNetworkPrefixes));
            }
        }
        else if (entry is { State: BindingCacheState.Active, ProxyCareOfAddress: { } serving } && serving != source && entry.PreviousMag == source)
        {
            // The destination already took the binding (the VM resumed before the notice got here): it may still be
            // waiting for the marker.
            destination = serving;
        }
        if (destination is not { } to)
        {
            h.StopNoticesWithoutDestination++;
            Acknowledge(source, hi, HandoverAcknowledgeCode.RequestedContextNotAvailable);
            return;
        }
        h.StopNoticesRelayed++;
        _actions.Add(new LmaAction.SendMobilityMessage(_options.LocalMobilityAnchorAddress, to, hi with { Sequence = ++_handoverSequence }));
        Acknowledge(source, hi, HandoverAcknowledgeCode.HandoverAccepted);
    }

    private void OnHandoverAcknowledge(Ipv6Address source, HandoverAcknowledge ack)
    {
        if (ack.IsAccepted) Counters.Handover.StopNoticesAcknowledged++;
        else Counters.Handover.StopNoticesRefusedByDestination++;
        _ = source;
    }

    private void Acknowledge(Ipv6Address destination, HandoverInitiate hi, HandoverAcknowledgeCode code)
    {
        var options = new List<MobilityOption>(2);
        if (hi.MobileNodeIdentifier is { } id) options.Add(id);
        _actions.Add(new LmaAction.SendMobilityMessage(_options.LocalMobilityAnchorAddress, destination,
            new HandoverAcknowledge(hi.Sequence, HandoverAcknowledgeFlags.Proxy, code) { Options = new MobilityOptionList(options) }));
    }
}

/// <summary>The LMA's counters for pre-registrations and live-migration switchovers.</summary>
public sealed class LmaHandoverCounters
{
    /// <summary>Transient bindings created (a destination pre-registered), refreshed, and how they ended.</summary>
    public long TransientRegistrations;
    public long TransientRefreshes;
    /// <summary>The destination registered for real (the VM arrived): it became the serving MAG.</summary>
    public long TransientActivations;
    public long TransientsCancelled;
    public long TransientsExpired;
    /// <summary>Another destination pre-registered while one was: the newest won.</summary>
    public long TransientsReplaced;
    /// <summary>The serving MAG de-registered while a destination was pre-registered: the destination took over.</summary>
    public long TransientsPromoted;
    /// <summary>A stopped serving MAG pre-registered the VM (it migrates back before the destination's activation came):
    /// the destination took over, the old serving MAG became the transient one.</summary>
    public long TransientsActivatedByReturn;
    /// <summary>A pre-registration that found nobody serving the VM (the source let go before it got here): the binding
    /// went to that MAG at once, held for its activation.</summary>
    public long LatePreRegistrations;

    /// <summary>Stop notices (Handover Initiate, code 2) from serving MAGs, and what became of them.</summary>
    public long StopNoticesReceived;
    public long StopNoticesRelayed;
    public long StopNoticesWithoutDestination;
    public long StopNoticesRefused;
    /// <summary>The destinations' answers to relayed notices.</summary>
    public long StopNoticesAcknowledged;
    public long StopNoticesRefusedByDestination;
}
