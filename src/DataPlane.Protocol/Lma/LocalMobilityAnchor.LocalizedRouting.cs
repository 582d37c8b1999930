using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// RFC 6705 §6.1, LMA-initiated localized routing between MAGs. The data path reports VM-to-VM traffic it carries
// between two MAGs (TrafficObserved); the LMA then tells each MAG, in an LRI, to send that pair's traffic straight to
// the other MAG, and keeps the pair true to its binding cache: every change of either binding re-points or ends the
// pair in the same step that makes the change (new MAG told first, the MAG the VM left told to stop), before any PBA
// for it leaves. LRIs are retransmitted until answered; a pair nobody answers for, or refuses, ends, and its traffic
// goes through the LMA again.
public sealed partial class LocalMobilityAnchor
{
    private readonly Dictionary<BindingCacheEntry, List<LocalizedRoutingSession>> _lrByEntry = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<(Ipv6Address Mag, ushort Sequence), LocalizedRoutingLeg> _lriOutstanding = [];
    private readonly Dictionary<(string, string), Instant> _lrHeldOff = [];
    private int _lrSessions;
    private ushort _nextLriSequence;

    /// <summary>Localized routing pairs held now (set up, established or being re-pointed).</summary>
    public int LocalizedRoutingSessionCount => _lrSessions;

    /// <summary>LRIs in flight (waiting for their LRA), including lifetime-0 ones to MAGs a VM left.</summary>
    public int LocalizedRoutingLegsInFlight => _lriOutstanding.Count;

    /// <summary>Pairs held off after a refusal or no answer (bounded by MaxSessions, at least 1024).</summary>
    public int LocalizedRoutingPairsHeldOff => _lrHeldOff.Count;

    public IEnumerable<LocalizedRoutingView> LocalizedRoutingSessions => _lrByEntry
        .SelectMany(kv => kv.Value.Where(s => ReferenceEquals(s.A, kv.Key)))
        .Select(s => new LocalizedRoutingView(s.A.MobileNodeIdentifier, s.A.HomeNetworkPrefixes, s.LegA.Mag, s.LegA.State.ToString(),
            s.B.MobileNodeIdentifier, s.B.HomeNetworkPrefixes, s.LegB.Mag, s.LegB.State.ToString(), s.Established,
            s.Established ? s.ExpiresAt : null, s.A.Ipv4HomeAddress, s.B.Ipv4HomeAddress));

    /// <summary>Pairs the binding's VM is part of (for invariants and tests).</summary>
    public IEnumerable<(string Local, Ipv6Address LocalMag, string Remote, Ipv6Address RemoteMag, bool Established)> LocalizedRoutingLegs =>
        _lrByEntry.SelectMany(kv => kv.Value.Select(s =>
        {
            var leg = s.LegOf(kv.Key);
            var other = s.LegOf(s.Other(kv.Key));
            return (kv.Key.MobileNodeIdentifier, leg.Mag, s.Other(kv.Key).MobileNodeIdentifier, other.Mag, leg.State == LegState.Established);
        }));

    private void OnTrafficObserved(LmaEvent.TrafficObserved t, Instant now)
    {
        if (!_options.LocalizedRouting.Enabled) return;
        Counters.TrafficObservations++;
        OnPairTalking(_cache.FindByPrefix(t.SourcePrefix), _cache.FindByPrefix(t.DestinationPrefix), now);
    }

    /// <summary>RFC 6705 §7: IPv4 traffic between two VMs sets up the same pair (an LRI names every address either has).</summary>
    private void OnIpv4TrafficObserved(LmaEvent.Ipv4TrafficObserved t, Instant now)
    {
        if (!_options.LocalizedRouting.Enabled) return;
        Counters.TrafficObservations++;
        OnPairTalking(_cache.FindByIpv4HomeAddress(t.Source), _cache.FindByIpv4HomeAddress(t.Destination), now);
    }

    private void OnPairTalking(BindingCacheEntry? a, BindingCacheEntry? b, Instant now)
    {
        var lr = _options.LocalizedRouting;
        if (a is not { State: BindingCacheState.Active, ProxyCareOfAddress: { } magA } || b is not { State: BindingCacheState.Active, ProxyCareOfAddress: { } magB }
            || ReferenceEquals(a, b) || magA == magB)
            return;
        if (FindSession(a, b) is { } existing)
        {
            // The pair is set up, yet its traffic came this way from a's MAG: that MAG lost the route (it restarted,
            // or a first packet overtook the LRI). Tell it again, not too often.
            var leg = existing.LegOf(a);
            if (leg.State == LegState.Established && leg.Mag == magA && now - leg.EstablishedAt >= lr.RepairInterval
                && now - leg.LastRepairAt >= lr.RepairInterval)
            {
                leg.LastRepairAt = now;
                leg.IngressReady = false;
                Counters.LocalizedRoutingRepairs++;
                SendLri(leg, LriKind.Repair, now);
            }
            return;
        }
        if (a.AwaitingActivation || b.AwaitingActivation)
        {
            // A live migration's destination has the binding by promotion but not the VM yet: it would refuse the pair
            // (and the refusal hold it off). Its traffic keeps coming this way, and sets the pair up once it activated.
            Counters.LocalizedRoutingSetupsDeferred++;
            return;
        }
        var key = PairKey(a, b);
        if (_lrHeldOff.TryGetValue(key, out var until))
        {
            if (now < until) return;
            _lrHeldOff.Remove(key);
        }
        if (_lrSessions >= lr.MaxSessions)
        {
            Counters.LocalizedRoutingSessionsRefusedFull++;
            return;
        }
        var session = new LocalizedRoutingSession(a, b);
        session.LegA = new LocalizedRoutingLeg(session, a, magA);
        session.LegB = new LocalizedRoutingLeg(session, b, magB);
        session.ExpiresAt = now + lr.Lifetime; // until the MAGs answer; replaced by what they grant
        Index(session);
        Counters.LocalizedRoutingSessionsStarted++;
        _timers.Set(session, session.NextDue);
        SendLri(session.LegA, LriKind.Setup, now);
        SendLri(session.LegB, LriKind.Setup, now);
        NotifyLocalizedRouting(session, LocalizedRoutingChange.Initiated, null);
    }

    private void OnLocalizedRoutingAcknowledgement(Ipv6Address source, LocalizedRoutingAcknowledgement lra, Instant now)
    {
        if (!IsMagAuthorized(source))
        {
            Counters.LrasUnmatched++;
            return;
        }
        Counters.LrasReceivedByStatus.Increment(lra.Status);
        if (lra.IsUnsolicited)
        {
            OnUnsolicitedLra(source, lra, now);
            return;
        }
        if (!_lriOutstanding.TryGetValue((source, lra.Sequence), out var leg))
        {
            // A duplicate, an answer to an LRI given up on, or to one of an earlier incarnation of this LMA.
            Counters.LrasUnmatched++;
            return;
        }
        if (lra.Status == LocalizedRoutingStatus.MobileNodeNotAttached && leg.State != LegState.Terminating && !leg.NotAttachedRetried
            && leg.Local.State == BindingCacheState.Active && leg.Local.ProxyCareOfAddress == source
            && leg.Transmissions < _options.LocalizedRouting.MaxTransmissions)
        {
            // We just accepted this MAG's PBU for the VM, and our LRI overtook the PBA: ask again at once.
            leg.NotAttachedRetried = true;
            Counters.LriRetransmissions++;
            Transmit(leg, now);
            return;
        }
        _lriOutstanding.Remove((source, lra.Sequence));
        _timers.Cancel(leg);
        leg.Outstanding = null;
        if (leg.State == LegState.Terminating) return; // told to stop, and it has
        var session = leg.Session!;
        if (!lra.IsAccepted)
        {
            leg.State = LegState.Terminating; // nothing to stop at that MAG
            HoldOff(session, now);
            EndSession(session, LocalizedRoutingSessionEnd.Refused, now);
            return;
        }
        if (lra.Lifetime == 0)
        {
            // The MAG declined a refresh of a pair nobody used (or took the LRI as an end): the other side stops too.
            leg.State = LegState.Terminating;
            EndSession(session, LocalizedRoutingSessionEnd.Idle, now);
            return;
        }
        leg.IngressReady = true;
        leg.Granted = lra.LifetimeSpan < _options.LocalizedRouting.Lifetime ? lra.LifetimeSpan : _options.LocalizedRouting.Lifetime;
        if (leg.Kind is LriKind.Confirm or LriKind.Refresh)
        {
            if (leg.State != LegState.Established) leg.EstablishedAt = now;
            leg.State = LegState.Established;
        }
        else
        {
            leg.State = LegState.Ready;
        }
        Advance(session, now);
    }

    /// <summary>
    /// Once both MAGs take the pair's packets, each that does not send its own directly yet is confirmed; once both
    /// do, the pair is established and its refresh scheduled.
    /// </summary>
    private void Advance(LocalizedRoutingSession session, Instant now)
    {
        var (a, b) = (session.LegA, session.LegB);
        if (!a.IngressReady || !b.IngressReady) return;
        if (a.State == LegState.Ready) SendLri(a, LriKind.Confirm, now);
        if (b.State == LegState.Ready) SendLri(b, LriKind.Confirm, now);
        if (a.State != LegState.Established || b.State != LegState.Established) return;
        var granted = a.Granted < b.Granted ? a.Granted : b.Granted;
        bool first = !session.Established;
        session.Established = true;
        session.ExpiresAt = now + granted;
        session.RefreshAt = now + granted * _options.LocalizedRouting.RefreshFraction;
        _timers.Set(session, session.NextDue);
        if (first)
        {
            Counters.LocalizedRoutingSessionsEstablished++;
            NotifyLocalizedRouting(session, LocalizedRoutingChange.Established, null);
        }
    }

    /// <summary>RFC 6705 §10.2: an unsolicited LRA asks for a new lifetime, which an LRI confirms; lifetime 0 asks to stop.</summary>
    private void OnUnsolicitedLra(Ipv6Address source, LocalizedRoutingAcknowledgement lra, Instant now)
    {
        if (!LocalizedRoutingMessages.TryRead(lra.Options, out var local, out var remote, out _) || remote is null
            || _cache.FindFirstByMobileNode(local!.MobileNodeIdentifier) is not { } a
            || _cache.FindFirstByMobileNode(remote.MobileNodeIdentifier) is not { } b
            || FindSession(a, b) is not { } session || session.LegOf(a).Mag != source)
        {
            Counters.LrasUnmatched++;
            return;
        }
        if (lra.Lifetime == 0)
        {
            EndSession(session, LocalizedRoutingSessionEnd.MagRequested, now);
            return;
        }
        SendLri(session.LegOf(a), LriKind.Refresh, now);
    }

    private void OnLegTimer(LocalizedRoutingLeg leg, Instant now)
    {
        if (leg.Outstanding is null || now < leg.RetransmitAt) return;
        var lr = _options.LocalizedRouting;
        if (leg.Transmissions < lr.MaxTransmissions)
        {
            Counters.LriRetransmissions++;
            Transmit(leg, now);
            return;
        }
        // Given up: a set-up, refresh or re-point nobody answered ends the pair (its traffic goes through here
        // again); a lifetime-0 LRI nobody answered leaves the MAG's route to its own lifetime.
        Counters.LrisUnanswered++;
        _lriOutstanding.Remove((leg.Mag, leg.Outstanding.Sequence));
        leg.Outstanding = null;
        if (leg.State == LegState.Terminating || leg.Session is not { } session) return;
        leg.State = LegState.Terminating;
        HoldOff(session, now);
        EndSession(session, LocalizedRoutingSessionEnd.NoAnswer, now);
    }

    private void OnSessionTimer(LocalizedRoutingSession session, Instant now)
    {
        if (FindSession(session.A, session.B) != session) return;
        if (now >= session.ExpiresAt)
        {
            EndSession(session, LocalizedRoutingSessionEnd.Expired, now);
            return;
        }
        if (session.Established && now >= session.RefreshAt)
        {
            session.RefreshAt = session.ExpiresAt; // once per lifetime; the answers set the next
            foreach (var leg in (ReadOnlySpan<LocalizedRoutingLeg>)[session.LegA, session.LegB])
            {
                if (leg.State != LegState.Established) continue;
                SendLri(leg, LriKind.Refresh, now);
                leg.State = LegState.Established; // still routing directly while the refresh is out
            }
        }
        _timers.Set(session, session.NextDue);
    }

    /// <summary>
    /// The entry's binding moved to <paramref name="to"/> (a handover). Each of its pairs
    /// is re-pointed: the other side's MAG learns the new address, the new MAG gets the pair, the MAG it left is told
    /// to stop; or ended, when both VMs are now on one MAG or the other side is not active.
    /// </summary>
    private void OnBindingMoved(BindingCacheEntry entry, Ipv6Address to, Instant now)
    {
        if (!_lrByEntry.TryGetValue(entry, out var sessions)) return;
        foreach (var session in sessions.ToArray())
        {
            var other = session.Other(entry);
            var oldLeg = session.LegOf(entry);
            if (other.ProxyCareOfAddress is not { } otherMag || other.State != BindingCacheState.Active || otherMag == to)
            {
                EndSession(session, other.ProxyCareOfAddress == to ? LocalizedRoutingSessionEnd.SameMag : LocalizedRoutingSessionEnd.BindingGone, now);
                continue;
            }
            // The MAG the VM left stops first: its leg becomes an orphan carrying the lifetime-0 LRI.
            Terminate(oldLeg, now);
            var newLeg = new LocalizedRoutingLeg(session, entry, to);
            session.SetLeg(entry, newLeg);
            session.Established = false;
            session.ExpiresAt = now + _options.LocalizedRouting.Lifetime;
            _timers.Set(session, session.NextDue);
            var staying = session.LegOf(other);
            staying.IngressReady = false; // it must accept from the new MAG before anyone sends there
            // A side still waiting for its own MAG's activation is told everything with its set-up.
            if (staying.State != LegState.AwaitingActivation) SendLri(staying, LriKind.Repoint, now);
            if (entry.AwaitingActivation)
            {
                // Moved by promotion: the new MAG does not hold the VM as attached until it activates the binding.
                // The other MAG, re-pointed, sends through the LMA meanwhile (never to the MAG the VM left).
                newLeg.State = LegState.AwaitingActivation;
                Counters.LocalizedRoutingSetupsDeferred++;
            }
            else
            {
                SendLri(newLeg, LriKind.Setup, now);
            }
            NotifyLocalizedRouting(session, LocalizedRoutingChange.Repointed, null);
        }
    }

    /// <summary>
    /// The MAG the entry moved to by promotion activated it (its VM resumed there): the sides of its pairs that waited
    /// for that are set up now, in the step that answers the activation.
    /// </summary>
    private void OnBindingActivated(BindingCacheEntry entry, Instant now)
    {
        if (!_lrByEntry.TryGetValue(entry, out var sessions)) return;
        foreach (var session in sessions.ToArray())
        {
            var leg = session.LegOf(entry);
            if (leg.State == LegState.AwaitingActivation && leg.Mag == entry.ProxyCareOfAddress) SendLri(leg, LriKind.Setup, now);
        }
    }

    /// <summary>
    /// The entry's addresses changed (a family added or released): its pairs end, both MAGs told, so that no MAG keeps
    /// routing an address the VM no longer holds; the next traffic the data path reports sets them up again with the
    /// addresses it has now.
    /// </summary>
    private void OnBindingAddressesChanged(BindingCacheEntry entry, Instant now)
    {
        if (!_lrByEntry.TryGetValue(entry, out var sessions)) return;
        foreach (var session in sessions.ToArray()) EndSession(session, LocalizedRoutingSessionEnd.AddressesChanged, now);
    }

    /// <summary>The entry is no longer served (de-registered, expired): its pairs end, both MAGs told.</summary>
    private void OnBindingDeactivated(BindingCacheEntry entry, Instant now)
    {
        if (!_lrByEntry.TryGetValue(entry, out var sessions)) return;
        foreach (var session in sessions.ToArray()) EndSession(session, LocalizedRoutingSessionEnd.BindingGone, now);
    }

    /// <summary>A MAG restarted (its heartbeat said so): it forgot its direct routes, so the established ones are sent again.</summary>
    private void OnMagRestarted(Ipv6Address mag, Instant now)
    {
        foreach (var session in _lrByEntry.Values.SelectMany(l => l).Distinct().ToArray())
        {
            foreach (var leg in (ReadOnlySpan<LocalizedRoutingLeg>)[session.LegA, session.LegB])
            {
                if (leg.Mag != mag || leg.State != LegState.Established) continue;
                Counters.LocalizedRoutingRepairs++;
                leg.LastRepairAt = now;
                leg.IngressReady = false;
                SendLri(leg, LriKind.Repair, now);
            }
        }
    }

    /// <summary>End a pair: every leg whose MAG may still route it is sent lifetime 0 and left to finish on its own.</summary>
    private void EndSession(LocalizedRoutingSession session, LocalizedRoutingSessionEnd reason, Instant now)
    {
        if (!Unindex(session)) return;
        _timers.Cancel(session);
        foreach (var leg in (ReadOnlySpan<LocalizedRoutingLeg>)[session.LegA, session.LegB])
        {
            leg.Session = null;
            if (leg.State != LegState.Terminating) Terminate(leg, now);
        }
        Counters.LocalizedRoutingSessionsEnded.Increment(reason);
        NotifyLocalizedRouting(session, LocalizedRoutingChange.Ended, reason);
    }

    private void Terminate(LocalizedRoutingLeg leg, Instant now)
    {
        leg.Session = null;
        if (leg.State == LegState.AwaitingActivation)
        {
            leg.State = LegState.Terminating; // its MAG was never told of the pair: nothing to stop there
            return;
        }
        SendLri(leg, LriKind.Termination, now);
    }

    /// <summary>Send (or resend with a new sequence) the leg's LRI of this kind and arm its retransmission.</summary>
    private void SendLri(LocalizedRoutingLeg leg, LriKind kind, Instant now)
    {
        if (leg.Outstanding is { } previous) _lriOutstanding.Remove((leg.Mag, previous.Sequence));
        var lr = _options.LocalizedRouting;
        var session = leg.Session;
        var remoteEntry = session?.Other(leg.Local);
        LocalizedRoutingInitiation lri;
        ushort sequence = _nextLriSequence++;
        if (kind == LriKind.Termination || session is null || remoteEntry!.ProxyCareOfAddress is not { } remoteMag)
        {
            leg.State = LegState.Terminating;
            kind = LriKind.Termination;
            // Names the pair as the MAG knows it: the remote party and MAG of the last LRI it was sent.
            lri = LocalizedRoutingMessages.Initiation(sequence, 0, Party(leg.Local), leg.Remote ?? Party(remoteEntry!), leg.RemoteMag ?? leg.Mag);
        }
        else
        {
            leg.State = LegState.Pending;
            leg.Remote = Party(remoteEntry);
            leg.RemoteMag = remoteMag;
            lri = LocalizedRoutingMessages.Initiation(sequence, LocalizedRoutingLifetime.FromSpan(lr.Lifetime), Party(leg.Local), leg.Remote, remoteMag);
        }
        leg.Kind = kind;
        leg.Outstanding = lri;
        leg.Transmissions = 0;
        leg.NotAttachedRetried = false;
        _lriOutstanding[(leg.Mag, sequence)] = leg;
        Counters.LrisSent.Increment(kind);
        Transmit(leg, now);
    }

    private void Transmit(LocalizedRoutingLeg leg, Instant now)
    {
        var lr = _options.LocalizedRouting;
        var timeout = lr.InitialRetransmissionTimeout * Math.Pow(2, Math.Min(leg.Transmissions, 20));
        leg.Transmissions++;
        leg.RetransmitAt = now + (timeout < lr.MaxRetransmissionTimeout ? timeout : lr.MaxRetransmissionTimeout);
        _timers.Set(leg, leg.RetransmitAt);
        _actions.Add(new LmaAction.SendMobilityMessage(_options.LocalMobilityAnchorAddress, leg.Mag, leg.Outstanding!));
    }

    private static LocalizedRoutingParty Party(BindingCacheEntry e) => new(e.MobileNodeIdentifier, e.HomeNetworkPrefixes, e.Ipv4HomeAddress);

    private LocalizedRoutingSession? FindSession(BindingCacheEntry a, BindingCacheEntry b)
    {
        if (!_lrByEntry.TryGetValue(a, out var list)) return null;
        foreach (var s in list)
            if (ReferenceEquals(s.Other(a), b)) return s;
        return null;
    }

    private void Index(LocalizedRoutingSession session)
    {
        foreach (var e in (ReadOnlySpan<BindingCacheEntry>)[session.A, session.B])
        {
            if (!_lrByEntry.TryGetValue(e, out var list)) _lrByEntry.Add(e, list = new List<LocalizedRoutingSession>(1));
            list.Add(session);
        }
        _lrSessions++;
    }

    private bool Unindex(LocalizedRoutingSession session)
    {
        bool removed = false;
        foreach (var e in (ReadOnlySpan<BindingCacheEntry>)[session.A, session.B])
        {
            if (!_lrByEntry.TryGetValue(e, out var list) || !list.Remove(session)) continue;
            removed = true;
            if (list.Count == 0) _lrByEntry.Remove(e);
        }
        if (removed) _lrSessions--;
        return removed;
    }

    private void HoldOff(LocalizedRoutingSession session, Instant now)
    {
        var holdOff = _options.LocalizedRouting.RefusalHoldOff;
        if (holdOff <= TimeSpan.Zero) return;
        // Bounded: entries whose time has passed are dropped when the table grows past the sessions' bound.
        if (_lrHeldOff.Count >= Math.Max(1024, _options.LocalizedRouting.MaxSessions))
            foreach (var k in _lrHeldOff.Where(kv => kv.Value <= now).Select(kv => kv.Key).ToArray()) _lrHeldOff.Remove(k);
        if (_lrHeldOff.Count < Math.Max(1024, _options.LocalizedRouting.MaxSessions)) _lrHeldOff[PairKey(session.A, session.B)] = now + holdOff;
    }

    private static (string, string) PairKey(BindingCacheEntry a, BindingCacheEntry b) =>
        string.CompareOrdinal(a.MobileNodeIdentifier, b.MobileNodeIdentifier) <= 0
            ? (a.MobileNodeIdentifier, b.MobileNodeIdentifier)
            : (b.MobileNodeIdentifier, a.MobileNodeIdentifier);

    private void NotifyLocalizedRouting(LocalizedRoutingSession s, LocalizedRoutingChange change, LocalizedRoutingSessionEnd? reason) =>
        _actions.Add(new LmaAction.LocalizedRoutingChanged(s.A.MobileNodeIdentifier, s.LegA.Mag, s.B.MobileNodeIdentifier, s.LegB.Mag, change, reason));
}
