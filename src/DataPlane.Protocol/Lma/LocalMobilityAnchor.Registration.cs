using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// PBU processing (RFC 5213 §5.3): validation, binding cache look-up, registration.
public sealed partial class LocalMobilityAnchor
{
    private void OnProxyBindingUpdate(Ipv6Address source, BindingUpdate pbu, Instant now)
    {
        Counters.PbusReceived++;
        // §5.3.1 checks, each with its own status so a misconfigured MAG is easy to diagnose.
        if (!pbu.IsProxy) { Reply(source, pbu, BindingAckStatus.HomeRegistrationNotSupported, now); return; }
        if (!IsMagAuthorized(source)) { Reply(source, pbu, BindingAckStatus.MagNotAuthorizedForProxyRegistration, now); return; }
        if (pbu.MobileNodeIdentifier?.Nai is not { Length: > 0 } mnId) { Reply(source, pbu, BindingAckStatus.MissingMobileNodeIdentifierOption, now); return; }
        // RFC 5844 §3.1.2.1: an IPv4 Home Address Request stands in for the HNP option; at least one of them.
        if (!pbu.HomeNetworkPrefixes.Any() && pbu.Ipv4HomeAddressRequest is null) { Reply(source, pbu, BindingAckStatus.MissingHomeNetworkPrefixOption, now); return; }
        if (pbu.HandoffIndicator is null) { Reply(source, pbu, BindingAckStatus.MissingHandoffIndicatorOption, now); return; }
        if (pbu.AccessTechnologyType is null) { Reply(source, pbu, BindingAckStatus.MissingAccessTechnologyTypeOption, now); return; }

        // A PBU for a node whose profile is being looked up waits behind the look-up, even if the answer is
        // already in the host's memory: PBUs for one node are processed in the order they arrived.
        if (_profileLookupsByNode.ContainsKey(mnId) || !_policy.TryGetProfile(mnId, out var profile))
        {
            // Judged on arrival (§5.5), not after the look-up.
            if (!IsTimestampAcceptable(source, pbu, now)) return;
            AwaitProfile(source, pbu, mnId, now);
            return;
        }
        if (profile is null) { Reply(source, pbu, BindingAckStatus.ProxyRegistrationNotEnabled, now); return; }
        if (!IsTimestampAcceptable(source, pbu, now)) return;
        Register(source, pbu, mnId, profile, now);
    }

    /// <summary>§5.5: a timestamp far from our clock is refused before anything else looks at the PBU. False when a reply was sent.</summary>
    private bool IsTimestampAcceptable(Ipv6Address source, BindingUpdate pbu, Instant now)
    {
        if (pbu.Timestamp is { } ts)
        {
            if ((Instant.FromPmipTimestamp(ts) - now).Duration() > _options.TimestampValidityWindow)
            {
                Reply(source, pbu, BindingAckStatus.TimestampMismatch, now);
                return false;
            }
        }
        else if (!_options.AllowSequenceNumberOrdering)
        {
            Reply(source, pbu, BindingAckStatus.TimestampMismatch, now);
            return false;
        }
        return true;
    }

    /// <summary>
    /// §5.4.1 look-up (RFC 5844 §3.1.2.1: by prefix, by IPv4 home address, or by MN-ID + ATT + MN-LL-ID) and the
    /// registration or de-registration, for a validated PBU whose profile is known.
    /// </summary>
    private void Register(Ipv6Address source, BindingUpdate pbu, string mnId, LmaMobileNodeProfile profile, Instant now)
    {
        if (!CheckAddressFamilies(source, pbu, profile, now)) return;
        var requested = pbu.HomeNetworkPrefixes.ToArray();
        var hi = pbu.HandoffIndicator!.Value;
        var att = pbu.AccessTechnologyType!.Value;
        var nonZero = requested.Where(p => !p.IsUnspecified).ToArray();
        var linkLayerId = pbu.MobileNodeLinkLayerIdentifier?.Identifier;
        var ipv4Request = pbu.Ipv4HomeAddressRequest;
        if (ipv4Request is { IsAllZero: false } specific && !IsAuthorizedIpv4(mnId, profile, specific.Address, out var why))
        {
            // §3.1.2.2: not anchored here, or not this node's.
            Counters.Ipv4Refusals++;
            Reply(source, pbu, BindingAckStatus.NotAuthorizedForIpv4HomeAddress, now, ipv4ReplyStatus: why);
            return;
        }
        BindingCacheEntry? entry;
        if (nonZero.Length > 0)
        {
            // §5.4.1.1: look up by prefix; the MN must be authorised for every prefix it names.
            foreach (var p in nonZero)
            {
                if (!IsAuthorizedPrefix(mnId, profile, p)) { Reply(source, pbu, BindingAckStatus.NotAuthorizedForHomeNetworkPrefix, now); return; }
            }
            entry = _cache.FindByPrefix(nonZero[0]);
            if (entry is not null && !SamePrefixSet(entry.HomeNetworkPrefixes, nonZero))
            {
                Reply(source, pbu, BindingAckStatus.BcePbuPrefixSetDoNotMatch, now);
                return;
            }
            if (entry is null && _cache.FindByMobileNode(mnId, att, linkLayerId) is { } other && !pbu.IsDeregistration)
            {
                // The same interface already holds other prefixes; or it holds none (an IPv4-only session), and
                // these extend it to IPv6.
                if (other.HomeNetworkPrefixes.Length > 0)
                {
                    Reply(source, pbu, BindingAckStatus.BcePbuPrefixSetDoNotMatch, now);
                    return;
                }
                entry = other;
            }
        }
        else if (ipv4Request is { IsAllZero: false } v4)
        {
            // RFC 5844 §3.1.2.7: no NON_ZERO prefix but a NON_ZERO IPv4 address: it is the key.
            entry = _cache.FindByIpv4HomeAddress(v4.Address);
            if (entry is null && _cache.FindByMobileNode(mnId, att, linkLayerId) is { } other && !pbu.IsDeregistration)
            {
                // The interface holds another IPv4 address (one per session, §3.1.2.7); or none (an IPv6-only
                // session), and this extends it to IPv4.
                if (other.Ipv4HomeAddress is not null)
                {
                    Counters.Ipv4Refusals++;
                    Reply(source, pbu, BindingAckStatus.NotAuthorizedForIpv4HomeAddress, now);
                    return;
                }
                entry = other;
            }
        }
        else
        {
            // §5.4.1.2 (and RFC 5844 §3.1.2.1 for an ALL_ZERO Request): find (or assign) by MN-ID + ATT + MN-LL-ID.
            entry = _cache.FindByMobileNode(mnId, att, linkLayerId);
        }
        if (entry is { Ipv4HomeAddress: { } held } && ipv4Request is { IsAllZero: false } asked && asked.Address != held)
        {
            // One IPv4 home address per session: found by prefix, the entry holds another one.
            Counters.Ipv4Refusals++;
            Reply(source, pbu, BindingAckStatus.NotAuthorizedForIpv4HomeAddress, now);
            return;
        }

        if (pbu.IsDeregistration) OnDeregistration(source, pbu, entry, now);
        else if (entry is null) CreateEntry(source, pbu, mnId, att, linkLayerId, profile, nonZero, now);
        else UpdateEntry(source, pbu, entry, hi, profile, now);
    }

    private bool IsAuthorizedPrefix(string mnId, LmaMobileNodeProfile profile, Ipv6Prefix prefix)
    {
        if (profile.HomeNetworkPrefixes.Count > 0) return profile.HomeNetworkPrefixes.Contains(prefix);
        if (_pool is null || !_pool.Contains(prefix)) return false;
        // A pool prefix is this MN's if its entry holds it, or if it is free: after an LMA restart the MAGs
        // ask for the prefixes they had, and giving them back is what keeps the VMs' addresses.
        var owner = _cache.FindByPrefix(prefix);
        return owner is null ? _pool.IsFree(prefix) : owner.MobileNodeIdentifier == mnId;
    }

    private static bool SamePrefixSet(Ipv6Prefix[] entryPrefixes, Ipv6Prefix[] requested) =>
        entryPrefixes.Length == requested.Length && requested.All(entryPrefixes.Contains);

    private void CreateEntry(Ipv6Address source, BindingUpdate pbu, string mnId, AccessTechnologyType att, OctetString? linkLayerId,
        LmaMobileNodeProfile profile, Ipv6Prefix[] requested, Instant now)
    {
        // RFC 5844 §3.1.2.2: one entry for the session's IPv4 and IPv6 addresses; prefixes only if the PBU asked
        // for IPv6 (an IPv4-only node's PBU carries no HNP option), an IPv4 address only if it asked for one.
        Ipv6Prefix[] prefixes = [];
        bool fromPool = false;
        if (_cache.Count >= _options.MaxBindingCacheEntries
            || (pbu.HomeNetworkPrefixes.Any() && !TryAssignPrefixes(mnId, profile, requested, out prefixes, out fromPool)))
        {
            Reply(source, pbu, BindingAckStatus.InsufficientResources, now);
            return;
        }
        Ipv4Address ipv4 = default;
        if (pbu.Ipv4HomeAddressRequest is { } request && !TryAllocateIpv4(mnId, profile, request, out ipv4, out var refusal))
        {
            if (fromPool) foreach (var p in prefixes) _pool!.Release(p);
            Counters.Ipv4Refusals++;
            Reply(source, pbu, refusal, now);
            return;
        }
        var entry = new BindingCacheEntry(mnId, linkLayerId, att, prefixes, fromPool);
        _cache.Add(entry);
        if (pbu.Ipv4HomeAddressRequest is not null) SetIpv4(entry, ipv4);
        _awaitingDeletion++; // a new entry starts inactive; Activate moves it
        Counters.BindingsCreated++;
        Counters.InitialRegistrations++;
        Accept(source, pbu, entry, BindingChange.Created, now);
    }

    private bool TryAssignPrefixes(string mnId, LmaMobileNodeProfile profile, Ipv6Prefix[] requested, out Ipv6Prefix[] prefixes, out bool fromPool)
    {
        fromPool = false;
        prefixes = [];
        if (requested.Length > 0)
        {
            // Authorised already; pool prefixes are claimed so nobody else is given them.
            if (profile.HomeNetworkPrefixes.Count == 0)
            {
                foreach (var p in requested)
                {
                    if (_pool!.TryClaim(p)) continue;
                    foreach (var q in requested.TakeWhile(q => q != p)) _pool.Release(q);
                    return false;
                }
                fromPool = true;
            }
            prefixes = requested;
            return true;
        }
        if (profile.HomeNetworkPrefixes.Count > 0)
        {
            if (profile.HomeNetworkPrefixes.Any(_cache.IsPrefixInUse)) return false;
            prefixes = [.. profile.HomeNetworkPrefixes];
            return true;
        }
        if (_pool is null || !_pool.TryAllocate(mnId, out var assigned)) return false;
        prefixes = [assigned];
        fromPool = true;
        return true;
    }

    private void UpdateEntry(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, HandoffIndicator hi,
        LmaMobileNodeProfile profile, Instant now)
    {
        // A pre-registration (RFC 6058 transient binding) for an entry another MAG serves; anything else with the
        // option (the entry is free, or the sender serves it already) is an ordinary registration, answered without it.
        if (pbu.TransientBinding is { } transient && TryRegisterTransient(source, pbu, entry, transient, now)) return;
        if (!CheckOrdering(source, pbu, entry, now)) return;
        BindingChange? change = null;
        // "Nothing changed" from a MAG that neither serves the entry nor just de-registered it is a source
        // host that missed the VM's departure refreshing what it no longer has. Moving the binding back
        // would black-hole the VM; a VM that really came back announces itself and its MAG re-registers
        // with HI 3.
        if (hi == HandoffIndicator.HandoffStateNotChanged && entry.ProxyCareOfAddress != source
            && !(entry.State == BindingCacheState.AwaitingDeletion && entry.DeregisteredBy == source))
        {
            Counters.RefreshesFromNonServingMag++;
            Reply(source, pbu, BindingAckStatus.AdministrativelyProhibited, now);
            return;
        }
        if (entry.State == BindingCacheState.AwaitingDeletion)
        {
            // Within MinDelayBeforeBceDelete of a de-registration: whoever registers continues the session.
            Counters.Resumptions++;
            change = BindingChange.Resumed;
        }
        else if (entry.ProxyCareOfAddress == source)
        {
            Counters.ReRegistrations++;
            if (entry.ServingMagStopped)
            {
                // The serving MAG registers again after its stop notice: its VM runs there after all (the migration
                // failed after the stop), so it gets its downlink back.
                entry.ServingMagStopped = false;
                EmitSecondary(entry);
            }
        }
        else if (hi == HandoffIndicator.HandoffStateUnknown && pbu.MobileNodeLinkLayerIdentifier is null
                 && pbu.HomeNetworkPrefixes.All(p => p.IsUnspecified))
        {
            // §5.4.1.2, HI 4: nothing proves it is the same interface; wait for the old MAG's de-registration.
            Park(source, pbu, entry, profile, now);
            return;
        }
        else
        {
            Counters.Handoffs++;
            if (entry.TransientMag == source) Counters.Handover.TransientActivations++;
            change = BindingChange.HandedOff;
        }
        if (!AlignAddressFamilies(source, pbu, entry, profile, ref change, now)) return;
        Accept(source, pbu, entry, change, now);
    }

    /// <summary>
    /// §5.5 ordering against the entry's last accepted PBU: timestamps when the PBU carries one (157 when
    /// older), else per-MAG sequence numbers (135 with the last accepted sequence). An exact repeat of the
    /// last accepted PBU is answered again without changing anything. False when a reply was sent.
    /// </summary>
    private bool CheckOrdering(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, Instant now)
    {
        if (!entry.HasAcceptedPbu) return true;
        bool sameSender = entry.LastAcceptedFrom == source;
        if (pbu.Timestamp is { } ts && entry.LastAcceptedTimestamp is { } last)
        {
            if (ts == last && sameSender && pbu.Sequence == entry.LastAcceptedSequence)
            {
                ReplyDuplicate(source, pbu, entry, now);
                return false;
            }
            if (ts <= last)
            {
                Reply(source, pbu, BindingAckStatus.TimestampLowerThanPreviousAccepted, now);
                return false;
            }
            return true;
        }
        if (pbu.Timestamp is null && sameSender)
        {
            if (pbu.Sequence == entry.LastAcceptedSequence)
            {
                ReplyDuplicate(source, pbu, entry, now);
                return false;
            }
            if (!SequenceNumber.IsNewer(pbu.Sequence, entry.LastAcceptedSequence))
            {
                Reply(source, pbu, BindingAckStatus.SequenceNumberOutOfWindow, now, sequence: entry.LastAcceptedSequence);
                return false;
            }
        }
        return true;
    }

    private void ReplyDuplicate(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, Instant now)
    {
        Counters.DuplicatePbus++;
        // A repeat of a change whose write is still in flight is answered when that write is (AcknowledgeAfterCommit).
        if (pbu.IsDeregistration || entry.State != BindingCacheState.Active)
        {
            Acknowledge(entry, source, ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, null, TimeSpan.Zero, null),
                BindingAckStatus.Accepted);
            return;
        }
        var remaining = entry.ExpiresAt - now;
        Acknowledge(entry, source, ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, entry.HomeNetworkPrefixes,
            remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, null, ipv4: Ipv4Binding.Of(entry), dhcpServerMode: DhcpServerMode),
            BindingAckStatus.Accepted);
    }

    /// <summary>Point the entry at <paramref name="source"/>, extend its lifetime, answer 0.</summary>
    private void Accept(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, BindingChange? change, Instant now)
    {
        var requested = pbu.LifetimeSpan;
        var granted = requested < _options.MaxBindingLifetime ? requested : _options.MaxBindingLifetime;
        // A pre-registration that finds nobody serving the VM (the source let go before it got here, or we never knew
        // the VM): the binding is this MAG's at once, but its VM has not resumed there yet. Held for its activation as a
        // promoted one is, for the transient lifetime, and answered as a pre-registration (the option echoed), so that
        // the MAG still sends its activation when the VM arrives; answered as an ordinary registration, it would take
        // itself for the serving MAG, never say when the VM arrives, and refuse (129) a localized routing pair set up
        // before that (RFC 6705: only with an attached VM). A documented extension of RFC 6058, which has no such case.
        TimeSpan? transientGranted = change is BindingChange.Created or BindingChange.Resumed && !pbu.IsDeregistration
            && pbu.TransientBinding is { Lifetime: not 0 } tb
            ? (tb.LifetimeSpan < _options.MaxTransientLifetime ? tb.LifetimeSpan : _options.MaxTransientLifetime)
            : null;
        if (transientGranted is { } tg && tg < granted) granted = tg;
        var grantedOnWire = TimeSpan.FromSeconds(PmipDefaults.ToLifetimeUnits(granted) * BindingUpdate.LifetimeUnitSeconds);
        bool moved = Activate(entry, source, now);
        if (transientGranted is not null)
        {
            Counters.Handover.LatePreRegistrations++;
            entry.AwaitingActivation = true;
            entry.TransientLastTimestamp = pbu.Timestamp; // its pre-registration refreshes are ordered among themselves
        }
        // The promoted destination's own registration (its activation: the VM runs there now); a pre-registration
        // refresh still carries the Transient Binding option and says nothing of the VM.
        bool activated = !moved && entry.AwaitingActivation && pbu.TransientBinding is null;
        if (activated) entry.AwaitingActivation = false;
        entry.ExpiresAt = now + grantedOnWire;
        entry.GrantedLifetime = grantedOnWire;
        entry.MagLinkLocalAddress = pbu.LinkLocalAddress;
        RecordAccepted(source, pbu, entry);
        _timers.Set(entry, entry.NextDue);
        // A change is written to the store (a refresh is not); its PBA may wait for the write.
        if (change is not null) Persist(entry);
        var pba = ProxyBindingAcknowledgementFactory.Create(pbu, BindingAckStatus.Accepted, entry.HomeNetworkPrefixes, grantedOnWire, null,
            ipv4: Ipv4Binding.Of(entry), dhcpServerMode: DhcpServerMode);
        if (transientGranted is { } echoed)
            pba = pba with { Options = new MobilityOptionList([.. pba.Options, TransientBindingOption.For(pbu.TransientBinding!.LatePathSwitch, echoed)]) };
        Acknowledge(entry, source, pba, BindingAckStatus.Accepted);
        if (change is { } c) _actions.Add(new LmaAction.BindingChanged(entry.MobileNodeIdentifier, c, source, entry.HomeNetworkPrefixes, entry.Ipv4HomeAddress));
        // The VM's localized routing pairs follow it, in this same step; after the PBA, so that the new MAG, which
        // checks an LRI against the session the PBA establishes, normally has it first.
        if (moved) OnBindingMoved(entry, source, now);
        else if (activated) OnBindingActivated(entry, now);
    }

    private static void RecordAccepted(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry)
    {
        entry.HasAcceptedPbu = true;
        entry.LastAcceptedFrom = source;
        entry.LastAcceptedSequence = pbu.Sequence;
        entry.LastAcceptedTimestamp = pbu.Timestamp;
    }

    /// <summary>Route the entry's prefixes to <paramref name="mag"/>: new tunnel first, old one released last. True when it moved from another MAG.</summary>
    private bool Activate(BindingCacheEntry entry, Ipv6Address mag, Instant now)
    {
        var previous = entry.ProxyCareOfAddress;
        if (entry.State == BindingCacheState.AwaitingDeletion)
        {
            entry.State = BindingCacheState.Active;
            entry.DeregisteredBy = null;
            _awaitingDeletion--;
        }
        if (previous == mag) return false;
        entry.AwaitingActivation = false; // a new MAG: registered for real (a promotion sets it again)
        if (_tunnels.Acquire(mag))
        {
            Counters.TunnelsCreated++;
            _actions.Add(new LmaAction.TunnelUp(mag));
            _heartbeat.AddPeer(mag, now);
        }
        foreach (var p in entry.HomeNetworkPrefixes) _actions.Add(new LmaAction.RouteAdd(p, mag));
        // RFC 5844 §3.1.2.2/§3.1.2.4: the IPv4 host route moves with the prefixes.
        if (entry.Ipv4HomeAddress is { } v4) _actions.Add(new LmaAction.Ipv4RouteAdd(v4, mag));
        entry.ProxyCareOfAddress = mag;
        entry.PreviousMag = previous;
        // The pre-registered destination now serves the entry: its transient binding (and second tunnel reference) goes.
        if (entry.TransientMag == mag) EndTransient(entry);
        if (previous is not { } old) return false;
        ReleaseTunnel(old);
        return true;
    }

    /// <summary>Remove the entry's forwarding (de-registration, expiry).</summary>
    private void Deactivate(BindingCacheEntry entry, Instant now)
    {
        if (entry.State != BindingCacheState.Active) return;
        entry.AwaitingActivation = false;
        OnBindingDeactivated(entry, now);
        EndTransient(entry);
        foreach (var p in entry.HomeNetworkPrefixes) _actions.Add(new LmaAction.RouteRemove(p));
        if (entry.Ipv4HomeAddress is { } v4) _actions.Add(new LmaAction.Ipv4RouteRemove(v4));
        if (entry.ProxyCareOfAddress is { } mag) ReleaseTunnel(mag);
        entry.ProxyCareOfAddress = null;
        entry.State = BindingCacheState.AwaitingDeletion;
        _awaitingDeletion++;
    }

    private void ReleaseTunnel(Ipv6Address mag)
    {
        if (!_tunnels.Release(mag)) return;
        Counters.TunnelsRemoved++;
        _actions.Add(new LmaAction.TunnelDown(mag));
        _heartbeat.RemovePeer(mag);
    }

    private void Reply(Ipv6Address source, BindingUpdate pbu, BindingAckStatus status, Instant now, ushort? sequence = null,
        Ipv4HomeAddressReplyStatus? ipv4ReplyStatus = null)
    {
        Counters.PbasSentByStatus.Increment(status);
        Send(source, ProxyBindingAcknowledgementFactory.Create(pbu, status, null, TimeSpan.Zero, now.ToPmipTimestamp(), sequence,
            ipv4ReplyStatus: ipv4ReplyStatus, dhcpServerMode: DhcpServerMode));
    }

    private void Send(Ipv6Address destination, BindingAcknowledgement pba) =>
        _actions.Add(new LmaAction.SendMobilityMessage(_options.LocalMobilityAnchorAddress, destination, pba));
}
