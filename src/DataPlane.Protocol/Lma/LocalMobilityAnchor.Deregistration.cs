using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// De-registration, the hold-down, ambiguous handoffs, lifetime expiry.
public sealed partial class LocalMobilityAnchor
{
    private void OnDeregistration(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry? entry, Instant now)
    {
        // The pre-registered destination gave up (its incoming QEMU went: the migration failed or was cancelled).
        if (entry is not null && entry.TransientMag == source)
        {
            CancelTransient(entry, pbu, now);
            return;
        }
        if (entry is null)
        {
            // Nothing to remove; answering 0 lets the MAG clean up.
            Counters.DeregistrationsForUnknownEntry++;
            Reply(source, pbu, BindingAckStatus.Accepted, now);
            return;
        }
        if (entry.State != BindingCacheState.Active || entry.ProxyCareOfAddress != source)
        {
            // Another MAG serves the entry (the new MAG registered first), or it is already de-registered:
            // answer 0 so the old MAG can clean up, but leave the entry alone.
            if (entry.State == BindingCacheState.AwaitingDeletion && entry.DeregisteredBy == source
                && entry.LastAcceptedFrom == source && pbu.Sequence == entry.LastAcceptedSequence)
            {
                // A retransmitted de-registration: answered once its write is (AcknowledgeAfterCommit).
                Counters.DuplicatePbus++;
                Acknowledge(entry, source, ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, null, TimeSpan.Zero, null),
                    BindingAckStatus.Accepted);
                return;
            }
            Counters.LateDeregistrationsIgnored++;
            Reply(source, pbu, BindingAckStatus.Accepted, now);
            return;
        }
        if (!CheckOrdering(source, pbu, entry, now)) return;
        if (TrySelectiveDeregistration(source, pbu, entry, now)) return;
        // The serving MAG lets go while another MAG is pre-registered (the source's port went before the VM
        // resumed at the destination): the destination serves the entry from now on, and gets its downlink.
        if (entry.TransientMag is not null)
        {
            PromoteTransient(entry, source, pbu, now);
            return;
        }
        Deactivate(entry, now);
        entry.DeregisteredBy = source;
        entry.DeleteAt = now + _options.MinDelayBeforeBceDelete;
        RecordAccepted(source, pbu, entry);
        _timers.Set(entry, entry.NextDue);
        Counters.Deregistrations++;
        Persist(entry);
        Acknowledge(entry, source, ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, null, TimeSpan.Zero, now.ToPmipTimestamp(),
            dhcpServerMode: DhcpServerMode), BindingAckStatus.Accepted);
        _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, BindingChange.Deregistered, null, entry.HomeNetworkPrefixes, entry.Ipv4HomeAddress));
        ResolveParked(entry, now);
    }

    private void Park(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, LmaMobileNodeProfile profile, Instant now)
    {
        if (_parked >= _options.MaxParkedRegistrations)
        {
            Reply(source, pbu, BindingAckStatus.InsufficientResources, now);
            return;
        }
        var parked = new ParkedRegistration(source, pbu, entry, profile, now + _options.MaxDelayBeforeNewBceAssign);
        (entry.Parked ??= []).Add(parked);
        _parked++;
        Counters.RegistrationsParked++;
        _timers.Set(parked, parked.Deadline);
    }

    /// <summary>The old MAG de-registered: the waiting registrations continue the same entry.</summary>
    private void ResolveParked(BindingCacheEntry entry, Instant now)
    {
        if (entry.Parked is not { Count: > 0 } list) return;
        entry.Parked = null;
        foreach (var p in list)
        {
            _timers.Cancel(p);
            _parked--;
            Counters.ParkedResolvedByDeregistration++;
            BindingChange? change;
            if (entry.State == BindingCacheState.AwaitingDeletion)
            {
                Counters.Resumptions++;
                change = BindingChange.Resumed;
            }
            else
            {
                Counters.Handoffs++;
                change = BindingChange.HandedOff;
            }
            if (AlignAddressFamilies(p.Source, p.Pbu, entry, p.Profile, ref change, now)) Accept(p.Source, p.Pbu, entry, change, now);
        }
    }

    /// <summary>No de-registration came: per RFC 5213 this is a new mobility session, with new prefixes.</summary>
    private void OnParkedTimeout(ParkedRegistration parked, Instant now)
    {
        var entry = parked.Entry;
        if (entry.Parked is null || !entry.Parked.Remove(parked)) return;
        _parked--;
        Counters.ParkedTimedOut++;
        var pbu = parked.Pbu;
        CreateEntry(parked.Source, pbu, entry.MobileNodeIdentifier, entry.AccessTechnologyType, pbu.MobileNodeLinkLayerIdentifier?.Identifier,
            parked.Profile, [], now);
    }

    private void OnEntryTimer(BindingCacheEntry entry, Instant now)
    {
        if (entry.TransientMag is not null && now >= entry.TransientExpiresAt) ExpireTransient(entry);
        if (now < entry.NextDue)
        {
            _timers.Set(entry, entry.NextDue);
            return;
        }
        var change = entry.State == BindingCacheState.Active ? BindingChange.Expired : BindingChange.Deleted;
        if (entry.State == BindingCacheState.Active) Counters.BindingsExpired++;
        else Counters.BindingsDeletedAfterHoldDown++;
        Deactivate(entry, now);
        _awaitingDeletion--;
        _cache.Remove(entry);
        if (entry.PrefixesFromPool) foreach (var p in entry.HomeNetworkPrefixes) _pool!.Release(p);
        if (entry.Ipv4HomeAddress is { } v4) _ipv4Pool?.Release(v4);
        entry.Removed = true;
        Persist(entry);
        _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, change, null, entry.HomeNetworkPrefixes, entry.Ipv4HomeAddress));
        // Registrations waiting on a vanished entry are decided now: new sessions.
        if (entry.Parked is { Count: > 0 } waiting)
        {
            foreach (var p in waiting.ToArray()) { _timers.Cancel(p); OnParkedTimeout(p, now); }
        }
    }
}
