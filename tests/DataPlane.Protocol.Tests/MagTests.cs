using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>The MAG machine, event by event.</summary>
public class MagTests
{
    [Fact]
    public void First_trigger_starts_the_session_and_later_ones_are_absorbed_and_counted_by_kind()
    {
        var h = new MagHarness();
        var request = Assert.IsType<MagAction.RequestPolicy>(Assert.Single(h.Attach(AttachTrigger.HotplugOnline)));
        Assert.Equal(MagHarness.Port, request.Port);
        Assert.Equal(MagHarness.VmMac, request.Mac);
        Assert.Empty(h.Attach(AttachTrigger.RouterSolicitation));
        Assert.Empty(h.Attach(AttachTrigger.DadNeighborSolicitation));
        Assert.Equal(2, h.C.TriggersAbsorbed);
        Assert.Equal(1, h.C.AttachTriggers[AttachTrigger.HotplugOnline]);
        Assert.Equal(1, h.C.AttachTriggers[AttachTrigger.RouterSolicitation]);
        Assert.Equal(1, h.C.SessionsStartedBy[AttachTrigger.HotplugOnline]);
        Assert.True(h.Mag.TryGetSession(MagHarness.Port, out var s));
        Assert.Equal(AttachTrigger.HotplugOnline, s.Trigger);
        Assert.Equal(MagHarness.VmLinkLocal, s.VmLinkLocal); // learned from the absorbed RS
        // A trigger with another MAC on the port is ignored.
        Assert.Empty(h.Handle(new MagEvent.AttachmentDetected(MagHarness.Port, AttachTrigger.FirstFrame, MacAddress.Parse("52:54:00:00:00:99"))));
        Assert.Equal(1, h.C.TriggersWithForeignMac);
    }

    [Fact]
    public void Returned_action_list_is_owned_by_the_machine_and_cleared_by_the_next_call()
    {
        var h = new MagHarness();
        var first = h.Mag.Handle(new MagEvent.AttachmentDetected(MagHarness.Port, AttachTrigger.RouterSolicitation, MagHarness.VmMac), h.Now);
        Assert.Single(first);
        var second = h.Mag.Handle(new MagEvent.ReachabilityConfirmed(MagHarness.Port), h.Now);
        Assert.Same(first, second);
        Assert.Empty(first);
    }

    [Fact]
    public void Pbu_carries_the_rfc_5213_flags_and_options()
    {
        var h = new MagHarness();
        var pbu = h.Register(profile: MagHarness.Profile(MagHarness.Hnp));
        Assert.Equal(BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, pbu.Flags);
        Assert.Equal(900, pbu.Lifetime);
        Assert.Equal([MagHarness.Hnp], pbu.HomeNetworkPrefixes);
        Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, pbu.HandoffIndicator);
        Assert.Equal(AccessTechnologyType.Virtual, pbu.AccessTechnologyType);
        Assert.Equal(h.Now.ToPmipTimestamp(), pbu.Timestamp);
        Assert.True(pbu.MobileNodeLinkLayerIdentifier!.TryGetMac(out var mac));
        Assert.Equal(MagHarness.VmMac, mac);
        Assert.Equal(PmipDefaults.SharedMagLinkLocalAddress, pbu.LinkLocalAddress);
        Assert.Equal(MagHarness.Nai, pbu.MobileNodeIdentifier!.Nai);
        Assert.Equal(1, h.C.PbusSent[RegistrationKind.Initial]);
        Assert.Equal(1, h.Mag.BindingUpdateListCount);
        Assert.Equal(1, h.Mag.HeartbeatPeers);
    }

    public static TheoryData<AttachTrigger, bool, bool, HandoffIndicator, bool> HandoffIndicatorCases => new()
    {
        // trigger, recorded prefix at this MAG, profile prefix → HI, sends a specific prefix
        { AttachTrigger.RouterSolicitation, false, false, HandoffIndicator.AttachmentOverNewInterface, false },
        { AttachTrigger.HotplugOnline, false, true, HandoffIndicator.AttachmentOverNewInterface, true },
        { AttachTrigger.FirstFrame, true, false, HandoffIndicator.HandoffBetweenMagsForSameInterface, true },
        { AttachTrigger.Rarp, false, true, HandoffIndicator.HandoffBetweenMagsForSameInterface, true },
        { AttachTrigger.UnsolicitedNeighborAdvertisement, true, false, HandoffIndicator.HandoffBetweenMagsForSameInterface, true },
        { AttachTrigger.GratuitousArp, false, false, HandoffIndicator.HandoffStateUnknown, false },
        { AttachTrigger.DadNeighborSolicitation, false, false, HandoffIndicator.AttachmentOverNewInterface, false },
    };

    [Theory]
    [MemberData(nameof(HandoffIndicatorCases))]
    public void Handoff_indicator_rule(AttachTrigger trigger, bool recorded, bool inProfile, HandoffIndicator expected, bool specificPrefix)
    {
        var p = MagHarness.Hnp;
        var (hi, prefixes) = HandoffIndicatorRule.ForNewSession(trigger, recorded ? [p] : [], inProfile ? [p] : []);
        Assert.Equal(expected, hi);
        Assert.Equal(specificPrefix ? [p] : [Ipv6Prefix.Unspecified], prefixes);
    }

    [Fact]
    public void Accepted_pba_installs_forwarding_sends_the_first_ra_and_reports_the_timings()
    {
        var h = new MagHarness();
        var attachAt = h.Now;
        var request = (MagAction.RequestPolicy)h.Attach(AttachTrigger.RouterSolicitation)[0];
        h.Now += TimeSpan.FromMilliseconds(3);
        var pbu = MagHarness.SinglePbu(h.Handle(new MagEvent.PolicyDecided(request.RequestId, MagHarness.Profile())));
        Assert.Equal([Ipv6Prefix.Unspecified], pbu.HomeNetworkPrefixes);
        h.Now += TimeSpan.FromMilliseconds(20);
        var actions = h.Receive(MagHarness.Pba(pbu));

        var install = Assert.Single(actions.OfType<MagAction.InstallSession>());
        Assert.Equal([MagHarness.Hnp], install.HomeNetworkPrefixes);
        Assert.Equal(MagHarness.Lma, install.LocalMobilityAnchor);
        var ra = Assert.Single(actions.OfType<MagAction.SendRouterAdvertisement>());
        Assert.Equal(MagHarness.VmLinkLocal, ra.Destination);
        Assert.Equal(MagHarness.VmMac, ra.VmMac);
        Assert.Equal(PmipDefaults.SharedMagMacAddress, ra.SourceMac);
        Assert.Equal([MagHarness.Hnp], ra.Prefixes);
        // Lifetimes never exceed what is left of the binding (counted from when the PBU was sent).
        Assert.Equal(TimeSpan.FromSeconds(3599), ra.ValidLifetime);
        Assert.Equal(ra.ValidLifetime, ra.PreferredLifetime);
        Assert.Equal(TimeSpan.FromSeconds(1800), ra.RouterLifetime);
        Assert.Equal(1460u, ra.Mtu);
        Assert.Equal(RouterAdvertisementReason.SessionEstablished, ra.Reason);
        var done = Assert.Single(actions.OfType<MagAction.HandoverCompleted>());
        Assert.Equal(attachAt, done.Timings.AttachSeen);
        Assert.Equal(TimeSpan.FromMilliseconds(3), done.Timings.Policy);
        Assert.Equal(TimeSpan.FromMilliseconds(20), done.Timings.Registration);
        Assert.Equal(TimeSpan.FromMilliseconds(23), done.Timings.Total);
        Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, done.HandoffIndicator);
        Assert.True(actions.IndexOf(install) < actions.IndexOf(ra), "forwarding before the RA");
        Assert.Equal(1, h.C.SessionsEstablished);
    }

    [Fact]
    public void Ra_goes_to_all_nodes_when_the_vm_link_local_address_is_unknown()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.Rarp);
        var ra = Assert.Single(h.Receive(MagHarness.Pba(pbu)).OfType<MagAction.SendRouterAdvertisement>());
        Assert.Equal(Ipv6Address.AllNodes, ra.Destination);
        Assert.Equal(MagHarness.VmMac, ra.VmMac);
    }

    [Fact]
    public void Pbas_for_unknown_nodes_stale_sequences_or_foreign_timestamps_are_dropped_and_counted()
    {
        var h = new MagHarness();
        var pbu = h.Register();
        Assert.Empty(h.Receive(MagHarness.Pba(pbu, nai: "other@test")));
        Assert.Equal(1, h.C.PbasDroppedUnknown);
        Assert.Empty(h.Receive(MagHarness.Pba(pbu, sequence: (ushort)(pbu.Sequence - 1))));
        Assert.Equal(1, h.C.PbasDroppedStaleSequence);
        Assert.Empty(h.Receive(MagHarness.Pba(pbu, timestamp: new PmipTimestamp(pbu.Timestamp!.Value.Raw - 1))));
        Assert.Equal(1, h.C.PbasDroppedTimestampMismatch);
        Assert.Empty(h.Handle(new MagEvent.MobilityMessageReceived(Ipv6Address.Parse("2001:db8::66"), MagHarness.Pba(pbu))));
        Assert.Equal(1, h.C.PbasDroppedMalformed);
        Assert.NotEmpty(h.Receive(MagHarness.Pba(pbu)));
        Assert.Empty(h.Receive(MagHarness.Pba(pbu)));  // the transaction is closed
        Assert.Equal(2, h.C.PbasDroppedUnknown);
    }

    [Fact]
    public void Unanswered_pbu_is_retransmitted_with_doubling_timeouts_then_fails_and_retries_later()
    {
        var h = new MagHarness(o => o with { MaxPbuTransmissions = 4 });
        var start = h.Now;
        var first = h.Register();
        var sent = new List<(TimeSpan At, BindingUpdate Pbu)> { (TimeSpan.Zero, first) };
        var failures = new List<MagAction.SessionFailed>();
        var end = h.Now + TimeSpan.FromSeconds(60);
        while (h.Mag.NextDeadline is { } due && due <= end && failures.Count == 0)
        {
            h.Now = due;
            var actions = h.Mag.Tick(h.Now).ToList();
            sent.AddRange(MagHarness.Pbus(actions).Select(p => (h.Now - start, p)));
            failures.AddRange(actions.OfType<MagAction.SessionFailed>());
        }
        // RFC 5213 defaults: 1.5 s, then doubling (3, 6): sent at 0, 1.5, 4.5, 10.5; given up at 22.5.
        Assert.Equal([0, 1.5, 4.5, 10.5], sent.Select(s => s.At.TotalSeconds));
        Assert.Equal(4, sent.Select(s => s.Pbu.Sequence).Distinct().Count());
        Assert.All(sent, s => Assert.Equal((start + s.At).ToPmipTimestamp(), s.Pbu.Timestamp));
        var f = Assert.Single(failures);
        Assert.Equal(SessionFailureReason.NoResponse, f.Reason);
        Assert.True(f.WillRetry);
        Assert.Equal(TimeSpan.FromSeconds(22.5), h.Now - start);
        Assert.Equal(3, h.C.PbusRetransmitted);
        // The retry (after FailedSessionRetryInitial = 1 s) asks the policy store again.
        var retry = h.Advance(TimeSpan.FromSeconds(1));
        Assert.Single(retry.OfType<MagAction.RequestPolicy>());
        Assert.Equal(1, h.C.SessionRetries);
    }

    [Fact]
    public void A_pba_answering_an_earlier_try_completes_the_transaction()
    {
        var h = new MagHarness();
        var first = h.Register();
        h.Advance(TimeSpan.FromSeconds(1.6)); // one retransmission
        Assert.Equal(1, h.C.PbusRetransmitted);
        var actions = h.Receive(MagHarness.Pba(first));
        Assert.Single(actions.OfType<MagAction.InstallSession>());
        // Lifetime counted from when the answered PBU was sent.
        Assert.Equal(TimeSpan.FromSeconds(3598), actions.OfType<MagAction.SendRouterAdvertisement>().Single().ValidLifetime);
    }

    [Theory]
    [InlineData(BindingAckStatus.MagNotAuthorizedForProxyRegistration, false)]
    [InlineData(BindingAckStatus.NotAuthorizedForHomeNetworkPrefix, false)]
    [InlineData(BindingAckStatus.MissingHandoffIndicatorOption, false)]
    [InlineData(BindingAckStatus.ReasonUnspecified, true)]
    [InlineData(BindingAckStatus.InsufficientResources, true)]
    public void Rejection_fails_the_session_naming_the_status_and_retries_only_where_it_can_help(BindingAckStatus status, bool retry)
    {
        var h = new MagHarness();
        var pbu = h.Register();
        var f = Assert.Single(h.Receive(MagHarness.Pba(pbu, status)).OfType<MagAction.SessionFailed>());
        Assert.Equal(status, f.Status);
        Assert.Equal(BindingAckStatusInfo.Describe(status), f.StatusName);
        Assert.Contains(((byte)status).ToString(), f.StatusName);
        Assert.Equal(retry, f.WillRetry);
        Assert.Equal(1, h.C.PbasByStatus[status]);
        var later = h.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(retry ? 1 : 0, later.OfType<MagAction.RequestPolicy>().Count());
        if (!retry)
        {
            // Triggers are held off (30 s), then start a fresh attempt.
            Assert.Empty(h.Attach());
            h.Advance(TimeSpan.FromSeconds(29));
            Assert.Single(h.Attach().OfType<MagAction.RequestPolicy>());
        }
    }

    [Fact]
    public void Status_135_jumps_the_sequence_past_the_lma_and_resends_at_once()
    {
        var h = new MagHarness(o => o with { SendTimestamp = false });
        var pbu = h.Register();
        Assert.Null(pbu.Timestamp);
        var resent = MagHarness.SinglePbu(h.Receive(MagHarness.Pba(pbu, BindingAckStatus.SequenceNumberOutOfWindow, sequence: 5000)));
        Assert.Equal(5001, resent.Sequence);
        Assert.Equal(1, h.C.SequenceResynchronisations);
        Assert.Single(h.Receive(MagHarness.Pba(resent)).OfType<MagAction.InstallSession>());
    }

    [Fact]
    public void Policy_denial_and_policy_timeout()
    {
        var h = new MagHarness();
        var request = (MagAction.RequestPolicy)h.Attach()[0];
        var f = Assert.Single(h.Handle(new MagEvent.PolicyDecided(request.RequestId, null, "no")).OfType<MagAction.SessionFailed>());
        Assert.Equal(SessionFailureReason.PolicyDenied, f.Reason);
        Assert.False(f.WillRetry);
        Assert.Equal(1, h.C.PolicyDenials);
        Assert.Empty(h.Handle(new MagEvent.PolicyDecided(request.RequestId, MagHarness.Profile())));
        Assert.Equal(1, h.C.PolicyAnswersIgnored);

        var t = new MagHarness();
        t.Attach();
        var timeout = t.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(SessionFailureReason.PolicyTimeout, Assert.Single(timeout.OfType<MagAction.SessionFailed>()).Reason);
        Assert.Equal(1, t.C.PolicyTimeouts);
    }

    [Fact]
    public void Binding_is_refreshed_with_hi_5_before_it_expires_and_a_refused_refresh_ends_the_session()
    {
        var h = new MagHarness(o => o with { BindingLifetime = TimeSpan.FromSeconds(400), MaxRtrAdvInterval = TimeSpan.FromSeconds(90), MinRtrAdvInterval = TimeSpan.FromSeconds(30) });
        var start = h.Now;
        h.Establish();
        BindingUpdate? refresh = null;
        while (refresh is null)
        {
            h.Now = h.Mag.NextDeadline!.Value;
            h.Handle(new MagEvent.ReachabilityConfirmed(MagHarness.Port));
            refresh = MagHarness.Pbus(h.Mag.Tick(h.Now)).SingleOrDefault();
        }
        // At 71.25–75% of the lifetime.
        Assert.InRange((h.Now - start).TotalSeconds, 400 * 0.75 * 0.95, 400 * 0.75 + 0.1);
        Assert.Equal(HandoffIndicator.HandoffStateNotChanged, refresh.HandoffIndicator);
        Assert.Equal([MagHarness.Hnp], refresh.HomeNetworkPrefixes);
        Assert.Equal(1, h.C.PbusSent[RegistrationKind.Refresh]);

        // The LMA says another MAG serves this VM now.
        var actions = h.Receive(MagHarness.Pba(refresh, BindingAckStatus.AdministrativelyProhibited));
        Assert.Single(actions.OfType<MagAction.RemoveSession>(), r => r.Reason == DetachReason.BindingLost);
        Assert.Single(actions.OfType<MagAction.SessionFailed>());
        Assert.Empty(MagHarness.Pbus(actions)); // nothing to de-register
        Assert.Equal(0, h.Mag.SessionCount);
        Assert.Equal(0, h.Mag.BindingUpdateListCount);
        Assert.Equal(0, h.Mag.PendingTimers);
    }

    [Fact]
    public void Rs_on_an_established_session_is_answered_at_most_once_per_interval()
    {
        var h = new MagHarness();
        h.Establish();
        Assert.Single(h.Attach(AttachTrigger.RouterSolicitation).OfType<MagAction.SendRouterAdvertisement>(),
            r => r.Reason == RouterAdvertisementReason.Solicited);
        for (int i = 0; i < 50; i++) Assert.Empty(h.Attach(AttachTrigger.RouterSolicitation));
        Assert.Equal(50, h.C.RouterSolicitationsSuppressed);
        h.Now += TimeSpan.FromSeconds(1);
        Assert.Single(h.Attach(AttachTrigger.RouterSolicitation).OfType<MagAction.SendRouterAdvertisement>());
    }

    [Fact]
    public void Periodic_ras_are_jittered_between_min_and_max_interval()
    {
        var h = new MagHarness();
        h.Establish();
        var times = new List<Instant>();
        var end = h.Now + TimeSpan.FromMinutes(50);
        while (h.Mag.NextDeadline is { } due && due <= end)
        {
            h.Now = due;
            foreach (var a in h.Mag.Tick(h.Now))
                if (a is MagAction.SendRouterAdvertisement { Reason: RouterAdvertisementReason.Periodic }) times.Add(h.Now);
            h.Handle(new MagEvent.ReachabilityConfirmed(MagHarness.Port));
        }
        Assert.True(times.Count >= 5);
        var gaps = times.Zip(times.Skip(1), (a, b) => (b - a).TotalSeconds).ToList();
        Assert.All(gaps, g => Assert.InRange(g, 200, 600));
        Assert.True(gaps.Distinct().Count() > 1, "jittered");
    }

    [Fact]
    public void Migration_announce_on_an_established_session_reregisters_with_hi_3()
    {
        var h = new MagHarness();
        h.Establish();
        Assert.Empty(h.Attach(AttachTrigger.GratuitousArp)); // within AnnounceReregistrationMinInterval
        h.Now += TimeSpan.FromSeconds(3);
        var pbu = MagHarness.SinglePbu(h.Attach(AttachTrigger.Rarp));
        Assert.Equal(HandoffIndicator.HandoffBetweenMagsForSameInterface, pbu.HandoffIndicator);
        Assert.Equal([MagHarness.Hnp], pbu.HomeNetworkPrefixes);
        Assert.Empty(h.Attach(AttachTrigger.Rarp)); // one in flight
        Assert.Equal(1, h.C.Reannouncements);
    }

    [Fact]
    public void Nud_probes_a_silent_vm_and_detaches_it_after_the_last_unanswered_probe()
    {
        var h = new MagHarness();
        var start = h.Now;
        h.Establish();
        var probes = new List<Instant>();
        MagAction.RemoveSession? removed = null;
        BindingUpdate? dereg = null;
        while (removed is null)
        {
            h.Now = h.Mag.NextDeadline!.Value;
            foreach (var a in h.Mag.Tick(h.Now))
            {
                if (a is MagAction.SendNeighborSolicitation ns)
                {
                    Assert.Equal(MagHarness.VmLinkLocal, ns.Target);
                    probes.Add(h.Now);
                }
                if (a is MagAction.RemoveSession r) removed = r;
                if (a is MagAction.SendMobilityMessage { Message: BindingUpdate b }) dereg = b;
            }
        }
        // Reachable 30 s after the PBA (20 ms), then 3 probes 1 s apart, detach 1 s after the last.
        var established = start + TimeSpan.FromMilliseconds(20);
        Assert.Equal([30, 31, 32], probes.Select(p => (p - established).TotalSeconds));
        Assert.Equal(33, (h.Now - established).TotalSeconds);
        Assert.Equal(DetachReason.NeighborUnreachable, removed.Reason);
        Assert.NotNull(dereg);
        Assert.Equal(0, dereg!.Lifetime);
        Assert.Equal(1, h.C.Detaches[DetachReason.NeighborUnreachable]);
    }

    [Fact]
    public void Reachability_confirmation_stops_probing()
    {
        var h = new MagHarness();
        h.Establish();
        var actions = h.Advance(TimeSpan.FromSeconds(31.5), vmAlive: false);
        Assert.Equal(2, actions.OfType<MagAction.SendNeighborSolicitation>().Count());
        h.Handle(new MagEvent.ReachabilityConfirmed(MagHarness.Port));
        Assert.Empty(h.Advance(TimeSpan.FromSeconds(20)).OfType<MagAction.SendNeighborSolicitation>());
        Assert.Equal(1, h.Mag.SessionCount);
    }

    [Fact]
    public void Detach_removes_forwarding_at_once_and_deregisters_then_forgets_on_the_pba()
    {
        var h = new MagHarness();
        h.Establish();
        var actions = h.Handle(new MagEvent.PortDetached(MagHarness.Port, DetachReason.HotplugOffline));
        Assert.Equal(DetachReason.HotplugOffline, Assert.Single(actions.OfType<MagAction.RemoveSession>()).Reason);
        var dereg = MagHarness.SinglePbu(actions);
        Assert.Equal(0, dereg.Lifetime);
        Assert.Equal([MagHarness.Hnp], dereg.HomeNetworkPrefixes);
        Assert.Equal(0, h.Mag.SessionCount);
        Assert.Equal(1, h.Mag.BindingUpdateListCount);
        h.Receive(MagHarness.Pba(dereg, lifetimeUnits: 0));
        Assert.Equal(0, h.Mag.BindingUpdateListCount);
        Assert.Equal(1, h.C.DeregistrationsAcknowledged);
        Assert.Equal(0, h.Mag.PendingTimers);
        Assert.Null(h.Mag.NextDeadline);
        Assert.Empty(h.Handle(new MagEvent.PortDetached(MagHarness.Port, DetachReason.PortRemoved)));
        Assert.Equal(1, h.C.DetachesForUnknownPort);
    }

    [Fact]
    public void Unanswered_deregistration_is_given_up_after_the_retransmissions()
    {
        var h = new MagHarness(o => o with { MaxPbuTransmissions = 3 });
        h.Establish();
        h.Handle(new MagEvent.PortDetached(MagHarness.Port, DetachReason.PortRemoved));
        var retransmitted = h.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(2, MagHarness.Pbus(retransmitted).Count());
        Assert.Equal(0, h.Mag.BindingUpdateListCount);
        Assert.Equal(1, h.C.DeregistrationsTimedOut);
        Assert.Equal(0, h.Mag.PendingTimers);
    }

    [Fact]
    public void Detach_before_the_policy_answer_sends_nothing_to_the_lma()
    {
        var h = new MagHarness();
        var request = (MagAction.RequestPolicy)h.Attach()[0];
        Assert.Empty(h.Handle(new MagEvent.PortDetached(MagHarness.Port, DetachReason.HotplugOffline)));
        Assert.Empty(h.Handle(new MagEvent.PolicyDecided(request.RequestId, MagHarness.Profile())));
        Assert.Equal(0, h.Mag.BindingUpdateListCount);
        Assert.Equal(0, h.Mag.PendingTimers);
    }

    [Fact]
    public void Lma_restart_seen_in_a_heartbeat_response_reregisters_every_established_session()
    {
        var h = new MagHarness();
        h.Establish();
        // The first request went out when the BUL entry was created; answer it with counter 7.
        var beat = h.Advance(TimeSpan.Zero);
        var hb = (HeartbeatMessage)Assert.Single(beat.OfType<MagAction.SendMobilityMessage>(), m => m.Message is HeartbeatMessage).Message;
        Assert.False(hb.IsResponse);
        h.Receive(new HeartbeatMessage(true, false, hb.Sequence) { Options = new MobilityOptionList([new RestartCounterOption(7)]) });
        var next = h.Advance(TimeSpan.FromSeconds(60));
        var hb2 = (HeartbeatMessage)next.OfType<MagAction.SendMobilityMessage>().Single(m => m.Message is HeartbeatMessage).Message;
        var actions = h.Receive(new HeartbeatMessage(true, false, hb2.Sequence) { Options = new MobilityOptionList([new RestartCounterOption(8)]) });
        var restarted = Assert.Single(actions.OfType<MagAction.PeerRestarted>());
        Assert.Equal((7u, 8u, 1), (restarted.PreviousRestartCounter, restarted.RestartCounter, restarted.SessionsReregistered));
        var pbu = MagHarness.SinglePbu(actions);
        Assert.Equal(HandoffIndicator.HandoffStateNotChanged, pbu.HandoffIndicator);
        Assert.Equal([MagHarness.Hnp], pbu.HomeNetworkPrefixes);
        h.Receive(MagHarness.Pba(pbu));
        Assert.Equal(1, h.C.ReregistrationsAfterLmaRestart);
    }

    [Fact]
    public void Mag_answers_heartbeat_requests_with_its_restart_counter()
    {
        var h = new MagHarness();
        var actions = h.Receive(new HeartbeatMessage(false, false, 99));
        var response = (HeartbeatMessage)Assert.Single(actions.OfType<MagAction.SendMobilityMessage>()).Message;
        Assert.True(response.IsResponse);
        Assert.Equal(99u, response.Sequence);
        Assert.Equal(1u, response.RestartCounter);
    }

    [Fact]
    public void Same_vm_on_a_new_port_supersedes_the_stale_session()
    {
        var h = new MagHarness();
        h.Establish();
        var newPort = new PortId(9);
        var request = (MagAction.RequestPolicy)h.Handle(new MagEvent.AttachmentDetected(newPort, AttachTrigger.Rarp, MagHarness.VmMac))[0];
        var actions = h.Handle(new MagEvent.PolicyDecided(request.RequestId, MagHarness.Profile()));
        Assert.Equal(MagHarness.Port, Assert.Single(actions.OfType<MagAction.RemoveSession>(), r => r.Reason == DetachReason.Superseded).Port);
        var pbu = MagHarness.SinglePbu(actions);
        Assert.Equal(HandoffIndicator.HandoffBetweenMagsForSameInterface, pbu.HandoffIndicator);
        Assert.Equal([MagHarness.Hnp], pbu.HomeNetworkPrefixes);
        Assert.NotEqual(0, pbu.Lifetime);
        Assert.Equal(1, h.Mag.SessionCount);
    }

    [Fact]
    public void Timers_stay_one_per_object_and_vanish_with_their_objects()
    {
        var h = new MagHarness();
        for (int i = 0; i < 200; i++)
        {
            var port = new PortId(100 + i);
            var mac = MacAddress.FromUInt64(0x5254_0000_1000UL + (uint)i);
            var req = (MagAction.RequestPolicy)h.Handle(new MagEvent.AttachmentDetected(port, AttachTrigger.RouterSolicitation, mac))[0];
            var pbu = MagHarness.SinglePbu(h.Handle(new MagEvent.PolicyDecided(req.RequestId, new VmProfile($"vm{i}@t", [], MagHarness.Lma))));
            h.Receive(MagHarness.Pba(pbu, hnp: new Ipv6Prefix(new Ipv6Address(0x2001_0db8_0100_0000UL + (ulong)i, 0), 64), nai: $"vm{i}@t"));
            for (int k = 0; k < 20; k++) h.Handle(new MagEvent.ReachabilityConfirmed(port));
        }
        h.Advance(TimeSpan.FromMinutes(5));
        Assert.True(h.Mag.PendingTimers <= h.Mag.SessionCount + h.Mag.BindingUpdateListCount + h.Mag.HeartbeatPeers);
        Assert.True(h.Mag.TimerHeapEntries <= 2 * h.Mag.PendingTimers + 1);
        for (int i = 0; i < 200; i++) h.Handle(new MagEvent.PortDetached(new PortId(100 + i), DetachReason.PortRemoved));
        h.Advance(TimeSpan.FromMinutes(5)); // de-registrations time out
        Assert.Equal(0, h.Mag.PendingTimers);
        Assert.Equal(0, h.Mag.HeartbeatPeers);
    }

    [Fact]
    public void Options_validation_names_the_bad_key()
    {
        var ok = new MagOptions { ProxyCareOfAddress = MagHarness.Coa };
        ok.Validate();
        Assert.Equal("Mag.ProxyCareOfAddress", Assert.Throws<ProtocolOptionsException>(() => new MagOptions().Validate()).Key);
        Assert.Equal("Mag.NudMaxProbes", Assert.Throws<ProtocolOptionsException>(() => (ok with { NudMaxProbes = 0 }).Validate()).Key);
        Assert.Equal("Mag.MaxBindackTimeout", Assert.Throws<ProtocolOptionsException>(() => (ok with { MaxBindackTimeout = TimeSpan.FromSeconds(1) }).Validate()).Key);
        Assert.Equal("Mag.MaxRtrAdvInterval", Assert.Throws<ProtocolOptionsException>(() => (ok with { BindingLifetime = TimeSpan.FromSeconds(600) }).Validate()).Key);
        Assert.Equal("Mag.Heartbeat.Interval", Assert.Throws<ProtocolOptionsException>(() => (ok with { Heartbeat = new() { Interval = TimeSpan.Zero } }).Validate()).Key);
        Assert.Throws<ProtocolOptionsException>(() => new MobileAccessGateway(ok with { SharedLinkLocalAddress = MagHarness.Coa }, new SplitMix64Random(1)));
        MagOptions.RecommendedForMigration(MagHarness.Coa, TimeSpan.FromMilliseconds(160)).Validate();
    }
}
