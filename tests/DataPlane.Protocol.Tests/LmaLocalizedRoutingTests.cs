using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>The LMA's side of RFC 6705, event by event: what it sends each MAG, and when.</summary>
public class LmaLocalizedRoutingTests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Address Mag3 = Ipv6Address.Parse("2001:db8:0:2::3");
    private static readonly Ipv6Prefix HnpA = Ipv6Prefix.Parse("2001:db8:100:a::/64");
    private static readonly Ipv6Prefix HnpB = Ipv6Prefix.Parse("2001:db8:100:b::/64");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");

    private sealed class Domain
    {
        private ushort _seq = 1;

        public Domain(Func<LmaOptions, LmaOptions>? configure = null)
        {
            var o = new LmaOptions
            {
                LocalMobilityAnchorAddress = LmaAddr,
                AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2, Mag3 },
                HomeNetworkPrefixPool = Pool,
            };
            M = new LocalMobilityAnchor(configure?.Invoke(o) ?? o, new InMemoryLmaPolicy { AllowUnknownMobileNodes = true }, new SplitMix64Random(3));
        }

        public LocalMobilityAnchor M { get; }
        public LmaCounters C => M.Counters;
        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        public List<LmaAction> Register(Ipv6Address mag, string nai, Ipv6Prefix hnp, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface,
            ushort lifetime = 900, TransientBindingOption? transient = null)
        {
            var options = Pbus.Complete(nai, Now, hnp, hi, MacAddress.FromUInt64((ulong)nai.GetHashCode() & 0xFFFF_FFFF));
            if (transient is not null) options.Add(transient);
            var pbu = new BindingUpdate(_seq++, Pbus.ProxyFlags, lifetime) { Options = new MobilityOptionList(options) };
            Now += TimeSpan.FromMilliseconds(1);
            return Handle(new LmaEvent.MobilityMessageReceived(mag, pbu));
        }

        public List<LmaAction> Handle(LmaEvent e) => [.. M.Handle(e, Now)];

        public List<LmaAction> Traffic(Ipv6Prefix from, Ipv6Prefix to) => Handle(new LmaEvent.TrafficObserved(from, to));

        public List<LmaAction> Answer(Ipv6Address mag, LocalizedRoutingInitiation lri, LocalizedRoutingStatus status = LocalizedRoutingStatus.Success,
            ushort? lifetime = null)
        {
            LocalizedRoutingMessages.TryRead(lri.Options, out var local, out var remote, out _);
            var lra = LocalizedRoutingMessages.Acknowledgement(lri.Sequence, false, status, lifetime ?? lri.Lifetime, local!, remote);
            return Handle(new LmaEvent.MobilityMessageReceived(mag, lra));
        }

        public List<LmaAction> Advance(TimeSpan by) => LmaClock.Advance(M, ref Now, by);
    }

    private static List<(Ipv6Address Mag, LocalizedRoutingInitiation Lri)> Lris(IEnumerable<LmaAction> actions) =>
        [.. actions.OfType<LmaAction.SendMobilityMessage>().Where(s => s.Message is LocalizedRoutingInitiation)
            .Select(s => (s.Destination, (LocalizedRoutingInitiation)s.Message))];

    private static LocalizedRoutingInitiation To(IEnumerable<(Ipv6Address Mag, LocalizedRoutingInitiation Lri)> lris, Ipv6Address mag) =>
        Assert.Single(lris, l => l.Mag == mag).Lri;

    private static (LocalizedRoutingParty Local, LocalizedRoutingParty Remote, Ipv6Address Mag) Read(LocalizedRoutingInitiation lri)
    {
        Assert.True(LocalizedRoutingMessages.TryRead(lri.Options, out var local, out var remote, out var mag));
        return (local!, remote!, mag!.Value);
    }

    /// <summary>A on MAG1, B on MAG2, their pair set up and confirmed.</summary>
    private static Domain Established(Func<LmaOptions, LmaOptions>? configure = null)
    {
        var d = new Domain(configure);
        d.Register(Mag1, "a@t", HnpA);
        d.Register(Mag2, "b@t", HnpB);
        var setup = Lris(d.Traffic(HnpA, HnpB));
        var confirms = Lris(d.Answer(Mag1, To(setup, Mag1)));
        Assert.Empty(confirms);
        confirms = Lris(d.Answer(Mag2, To(setup, Mag2)));
        Assert.Equal(2, confirms.Count);
        d.Answer(Mag1, To(confirms, Mag1));
        d.Answer(Mag2, To(confirms, Mag2));
        Assert.Equal(1, d.C.LocalizedRoutingSessionsEstablished);
        return d;
    }

    [Fact]
    public void Traffic_between_two_mags_sets_up_the_pair_with_each_mag_and_confirms_it_once_both_accept()
    {
        var d = new Domain();
        d.Register(Mag1, "a@t", HnpA);
        d.Register(Mag2, "b@t", HnpB);
        var actions = d.Traffic(HnpA, HnpB);
        var setup = Lris(actions);
        Assert.Equal(2, setup.Count);
        var (local1, remote1, mag1) = Read(To(setup, Mag1));
        Assert.Equal(("a@t", "b@t", Mag2), (local1.MobileNodeIdentifier, remote1.MobileNodeIdentifier, mag1));
        Assert.Equal([HnpA], local1.HomeNetworkPrefixes);
        Assert.Equal([HnpB], remote1.HomeNetworkPrefixes);
        var (local2, _, mag2) = Read(To(setup, Mag2));
        Assert.Equal(("b@t", Mag1), (local2.MobileNodeIdentifier, mag2));
        Assert.Equal((ushort)120, To(setup, Mag1).Lifetime);
        Assert.NotEqual(To(setup, Mag1).Sequence, To(setup, Mag2).Sequence);
        Assert.Equal(LocalizedRoutingChange.Initiated, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Change);

        // More traffic while it is being set up starts nothing else.
        Assert.Empty(Lris(d.Traffic(HnpB, HnpA)));
        // One MAG answering is not enough to send directly: it would send to a MAG that may not take it yet.
        Assert.Empty(Lris(d.Answer(Mag2, To(setup, Mag2))));
        var confirms = Lris(d.Answer(Mag1, To(setup, Mag1)));
        Assert.Equal(2, confirms.Count);
        Assert.All(confirms, c => Assert.DoesNotContain(c.Lri.Sequence, setup.Select(s => s.Lri.Sequence)));
        d.Answer(Mag1, To(confirms, Mag1));
        var done = d.Answer(Mag2, To(confirms, Mag2));
        Assert.Equal(LocalizedRoutingChange.Established, Assert.Single(done.OfType<LmaAction.LocalizedRoutingChanged>()).Change);
        var view = Assert.Single(d.M.LocalizedRoutingSessions);
        Assert.True(view.Established);
        Assert.Equal(d.Now + TimeSpan.FromSeconds(120), view.ExpiresAt);
        Assert.Equal(0, d.M.LocalizedRoutingLegsInFlight);
    }

    [Theory]
    [InlineData("same mag")]
    [InlineData("unbound destination")]
    [InlineData("disabled")]
    [InlineData("no room")]
    public void Traffic_that_needs_no_pair_or_may_not_have_one_starts_none(string why)
    {
        var d = new Domain(o => why switch
        {
            "disabled" => o with { LocalizedRouting = o.LocalizedRouting with { Enabled = false } },
            "no room" => o with { LocalizedRouting = o.LocalizedRouting with { MaxSessions = 0 } },
            _ => o,
        });
        d.Register(Mag1, "a@t", HnpA);
        if (why != "unbound destination") d.Register(why == "same mag" ? Mag1 : Mag2, "b@t", HnpB);
        Assert.Empty(Lris(d.Traffic(HnpA, HnpB)));
        Assert.Equal(0, d.M.LocalizedRoutingSessionCount);
        Assert.Equal(why == "no room" ? 1 : 0, d.C.LocalizedRoutingSessionsRefusedFull);
    }

    [Fact]
    public void An_unanswered_lri_is_retransmitted_with_backoff_and_then_the_pair_is_given_up_and_held_off()
    {
        var d = new Domain();
        d.Register(Mag1, "a@t", HnpA);
        d.Register(Mag2, "b@t", HnpB);
        var setup = Lris(d.Traffic(HnpA, HnpB));
        d.Answer(Mag2, To(setup, Mag2));
        // MAG1 never answers: 1 s, 2 s, 4 s, 4 s, then given up (5 transmissions).
        var resent = new List<Instant>();
        var start = d.Now;
        for (int i = 0; i < 60 && d.M.LocalizedRoutingSessionCount > 0; i++)
        {
            var actions = d.Advance(TimeSpan.FromMilliseconds(500));
            foreach (var (mag, lri) in Lris(actions).Where(l => l.Mag == Mag1 && l.Lri.Lifetime != 0)) resent.Add(d.Now);
        }
        Assert.Equal(4, d.C.LriRetransmissions);
        Assert.Equal([1.0, 3.0, 7.0, 11.0], resent.Select(t => Math.Round((t - start).TotalSeconds)).ToArray());
        Assert.Equal(1, d.C.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.NoAnswer]);
        Assert.Equal(1, d.M.LocalizedRoutingPairsHeldOff);
        Assert.Empty(Lris(d.Traffic(HnpA, HnpB)));
        d.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(2, Lris(d.Traffic(HnpA, HnpB)).Count);
    }

    [Fact]
    public void A_refusal_ends_the_pair_and_the_other_mag_is_told_to_stop()
    {
        var d = new Domain();
        d.Register(Mag1, "a@t", HnpA);
        d.Register(Mag2, "b@t", HnpB);
        var setup = Lris(d.Traffic(HnpA, HnpB));
        d.Answer(Mag1, To(setup, Mag1));
        var actions = d.Answer(Mag2, To(setup, Mag2), LocalizedRoutingStatus.LocalizedRoutingNotAllowed);
        var stop = To(Lris(actions), Mag1);
        Assert.True(stop.IsTermination);
        Assert.DoesNotContain(Lris(actions), l => l.Mag == Mag2);
        Assert.Equal(LocalizedRoutingSessionEnd.Refused, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Reason);
        Assert.Equal(0, d.M.LocalizedRoutingSessionCount);
        d.Answer(Mag1, stop, lifetime: 0);
        Assert.Equal(0, d.M.LocalizedRoutingLegsInFlight);
    }

    [Fact]
    public void A_129_from_the_mag_that_just_registered_the_vm_is_asked_again_at_once()
    {
        // Our LRI overtook the PBA it followed: the MAG did not know the VM yet.
        var d = Established();
        var moved = d.Register(Mag3, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface);
        var lris = Lris(moved);
        var toNew = To(lris, Mag3);
        var again = Lris(d.Answer(Mag3, toNew, LocalizedRoutingStatus.MobileNodeNotAttached));
        Assert.Equal(toNew, Assert.Single(again).Lri);
        Assert.Equal(1, d.M.LocalizedRoutingSessionCount);
    }

    [Fact]
    public void A_handover_re_points_the_staying_side_sets_up_the_new_mag_and_stops_the_old_one_in_the_same_step_after_the_pba()
    {
        var d = Established();
        var actions = d.Register(Mag3, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface);
        int pba = actions.FindIndex(a => a is LmaAction.SendMobilityMessage { Message: BindingAcknowledgement });
        var lris = Lris(actions);
        Assert.Equal(3, lris.Count);
        Assert.True(actions.FindIndex(a => a is LmaAction.SendMobilityMessage { Message: LocalizedRoutingInitiation }) > pba);
        var (_, _, repointedTo) = Read(To(lris, Mag1));
        Assert.Equal(Mag3, repointedTo);
        Assert.False(To(lris, Mag1).IsTermination);
        var (newLocal, _, newPeer) = Read(To(lris, Mag3));
        Assert.Equal(("b@t", Mag1), (newLocal.MobileNodeIdentifier, newPeer));
        var stop = To(lris, Mag2);
        Assert.True(stop.IsTermination);
        Assert.Equal("a@t", Read(stop).Remote.MobileNodeIdentifier);
        Assert.Equal(LocalizedRoutingChange.Repointed, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Change);
        var legs = d.M.LocalizedRoutingLegs.ToList();
        Assert.Contains(("b@t", Mag3, "a@t", Mag1, false), legs);
        // Both answer: confirmed again.
        d.Answer(Mag2, stop, lifetime: 0);
        d.Answer(Mag1, To(lris, Mag1));
        var confirms = Lris(d.Answer(Mag3, To(lris, Mag3)));
        Assert.Equal([Mag1, Mag3], confirms.Select(c => c.Mag).OrderBy(m => m.ToString()).ToArray());
    }

    [Fact]
    public void A_vm_moving_to_the_other_vms_mag_ends_the_pair()
    {
        var d = Established();
        var actions = d.Register(Mag1, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface);
        var lris = Lris(actions);
        Assert.All(lris, l => Assert.True(l.Lri.IsTermination));
        Assert.Equal([Mag1, Mag2], lris.Select(l => l.Mag).OrderBy(m => m.ToString()).ToArray());
        Assert.Equal(LocalizedRoutingSessionEnd.SameMag, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Reason);
        Assert.Equal(0, d.M.LocalizedRoutingSessionCount);
    }

    [Fact]
    public void A_vm_migrating_to_the_other_vms_mag_with_pre_registration_ends_the_pair_when_its_source_lets_go()
    {
        // Issue 16: B pre-registers at MAG1 (transient binding), then MAG2 de-registers it before MAG1's activation: the
        // LMA promotes MAG1 and the pair must end there, since the activation finds the binding at MAG1 already.
        var d = Established();
        var options = Pbus.Complete("b@t", d.Now, HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface, MacAddress.FromUInt64((ulong)"b@t".GetHashCode() & 0xFFFF_FFFF));
        var pre = new BindingUpdate(100, Pbus.ProxyFlags, 900)
        {
            Options = new MobilityOptionList([.. options, TransientBindingOption.For(true, TimeSpan.FromSeconds(20))]),
        };
        d.Now += TimeSpan.FromMilliseconds(1);
        Assert.Empty(Lris(d.Handle(new LmaEvent.MobilityMessageReceived(Mag1, pre))));
        Assert.Equal(1, d.M.LocalizedRoutingSessionCount);
        var actions = d.Register(Mag2, "b@t", HnpB, HandoffIndicator.HandoffStateNotChanged, lifetime: 0);
        var lris = Lris(actions);
        Assert.All(lris, l => Assert.True(l.Lri.IsTermination));
        Assert.Equal([Mag1, Mag2], lris.Select(l => l.Mag).OrderBy(m => m.ToString()).ToArray());
        Assert.Equal(LocalizedRoutingSessionEnd.SameMag, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Reason);
        Assert.Equal(0, d.M.LocalizedRoutingSessionCount);
        Assert.Equal(1, d.C.Handover.TransientsPromoted);
    }

    [Fact]
    public void A_deregistration_ends_the_pair_at_both_mags()
    {
        var d = Established();
        var actions = d.Register(Mag2, "b@t", HnpB, HandoffIndicator.HandoffStateNotChanged, lifetime: 0);
        var lris = Lris(actions);
        Assert.Equal(2, lris.Count);
        Assert.All(lris, l => Assert.True(l.Lri.IsTermination));
        Assert.Equal(LocalizedRoutingSessionEnd.BindingGone, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Reason);
    }

    [Fact]
    public void An_established_pair_is_refreshed_and_ends_when_a_mag_declines()
    {
        var d = Established();
        var refresh = Lris(d.Advance(TimeSpan.FromSeconds(90.5)));
        Assert.True(refresh.Count == 2, string.Join("; ", refresh.Select(r => $"{r.Mag} {r.Lri}")));
        Assert.Equal(2, d.C.LrisSent[LriKind.Refresh]);
        d.Answer(Mag1, To(refresh, Mag1));
        d.Answer(Mag2, To(refresh, Mag2));
        Assert.True(Assert.Single(d.M.LocalizedRoutingSessions).Established);
        refresh = Lris(d.Advance(TimeSpan.FromSeconds(90.5)));
        var actions = d.Answer(Mag1, To(refresh, Mag1), lifetime: 0);
        Assert.True(To(Lris(actions), Mag2).IsTermination);
        Assert.Equal(LocalizedRoutingSessionEnd.Idle, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Reason);
        // MAG2's answer to the refresh that was replaced by the stop is matched by nothing.
        d.Answer(Mag2, To(refresh, Mag2));
        Assert.Equal(1, d.C.LrasUnmatched);
    }

    [Fact]
    public void Unanswered_refreshes_let_the_pair_expire()
    {
        var d = Established(o => o with { LocalizedRouting = o.LocalizedRouting with { MaxTransmissions = 50 } });
        var actions = d.Advance(TimeSpan.FromSeconds(121));
        Assert.Equal(LocalizedRoutingSessionEnd.Expired, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Reason);
    }

    [Fact]
    public void Traffic_of_an_established_pair_still_seen_here_is_repaired_not_too_often()
    {
        var d = Established();
        d.Advance(TimeSpan.FromSeconds(3));
        var repair = Lris(d.Traffic(HnpA, HnpB));
        Assert.Equal(Mag1, Assert.Single(repair).Mag);
        Assert.Equal(1, d.C.LocalizedRoutingRepairs);
        d.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(Lris(d.Traffic(HnpA, HnpB)));
        // Answered: confirmed, since MAG2 takes A's packets.
        var confirm = Lris(d.Answer(Mag1, repair[0].Lri));
        Assert.Equal(Mag1, Assert.Single(confirm).Mag);
    }

    [Fact]
    public void Lras_from_strangers_or_for_nothing_in_flight_are_counted_and_ignored()
    {
        var d = Established();
        var lra = LocalizedRoutingMessages.Acknowledgement(999, false, LocalizedRoutingStatus.Success, 10,
            new LocalizedRoutingParty("a@t", [HnpA]), null);
        Assert.Empty(d.Handle(new LmaEvent.MobilityMessageReceived(Ipv6Address.Parse("2001:db8:9::9"), lra)));
        Assert.Empty(d.Handle(new LmaEvent.MobilityMessageReceived(Mag1, lra)));
        Assert.Equal(2, d.C.LrasUnmatched);
        Assert.Equal(1, d.M.LocalizedRoutingSessionCount);
    }

    [Fact]
    public void An_unsolicited_lra_with_lifetime_zero_ends_the_pair()
    {
        var d = Established();
        var lra = LocalizedRoutingMessages.Acknowledgement(7, true, LocalizedRoutingStatus.Success, 0,
            new LocalizedRoutingParty("a@t", [HnpA]), new LocalizedRoutingParty("b@t", [HnpB]));
        var actions = d.Handle(new LmaEvent.MobilityMessageReceived(Mag1, lra));
        Assert.Equal(LocalizedRoutingSessionEnd.MagRequested, Assert.Single(actions.OfType<LmaAction.LocalizedRoutingChanged>()).Reason);
        Assert.Equal(2, Lris(actions).Count(l => l.Lri.IsTermination));
    }

    // A live migration with pre-registration (RFC 6058) whose source lets go before the VM resumes at the destination
    // (the testbed's order: the source port goes, then the VM's link moves): the LMA promotes the destination, which
    // still holds the VM as pre-registered until the VM arrives and it sends its activation. RFC 6705: a pair is set
    // up only with the MAG the VM is attached to, so the promoted MAG gets no LRI before its activation — one would be
    // refused (129) and hold the pair off for RefusalHoldOff (the end-to-end optimized-routing test's failure).

    private static readonly TransientBindingOption PreRegistration = TransientBindingOption.For(true, TimeSpan.FromSeconds(20));

    /// <summary>The VM <paramref name="nai"/> moves from <paramref name="from"/> to <paramref name="to"/> pre-registered, the source letting go first.</summary>
    private static List<LmaAction> MigrateSourceFirst(Domain d, string nai, Ipv6Prefix hnp, Ipv6Address from, Ipv6Address to)
    {
        Assert.Empty(Lris(d.Register(to, nai, hnp, HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: PreRegistration)));
        return d.Register(from, nai, hnp, HandoffIndicator.HandoffStateNotChanged, lifetime: 0);
    }

    [Fact]
    public void A_pair_with_a_vm_whose_binding_was_promoted_waits_for_the_destinations_activation_instead_of_being_refused()
    {
        var d = new Domain();
        d.Register(Mag1, "a@t", HnpA);
        d.Register(Mag1, "b@t", HnpB);
        var promoted = MigrateSourceFirst(d, "b@t", HnpB, Mag1, Mag2);
        Assert.Equal(1, d.C.Handover.TransientsPromoted);
        Assert.Empty(Lris(promoted));
        Assert.Equal(Mag2, Assert.Single(d.M.Bindings, b => b.MobileNodeIdentifier == "b@t").ProxyCareOfAddress);

        // A's traffic for B now crosses the LMA towards MAG2, where B has not resumed yet: no pair, nothing held off.
        Assert.Empty(Lris(d.Traffic(HnpA, HnpB)));
        Assert.Empty(Lris(d.Traffic(HnpB, HnpA)));
        Assert.Equal(2, d.C.LocalizedRoutingSetupsDeferred);
        Assert.Equal(0, d.M.LocalizedRoutingSessionCount);
        Assert.Equal(0, d.M.LocalizedRoutingPairsHeldOff);

        // MAG2's pre-registration refresh says nothing of the VM: still nothing.
        d.Now += TimeSpan.FromSeconds(10);
        Assert.Empty(Lris(d.Register(Mag2, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: PreRegistration)));
        Assert.Empty(Lris(d.Traffic(HnpA, HnpB)));
        Assert.Equal(3, d.C.LocalizedRoutingSetupsDeferred);

        // B resumed on MAG2, which activates the binding: the next traffic sets the pair up with both MAGs at once.
        Assert.Empty(Lris(d.Register(Mag2, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        var setup = Lris(d.Traffic(HnpA, HnpB));
        Assert.Equal(2, setup.Count);
        Assert.Equal(("b@t", Mag1), (Read(To(setup, Mag2)).Local.MobileNodeIdentifier, Read(To(setup, Mag2)).Mag));
        var confirms = Lris(d.Answer(Mag1, To(setup, Mag1)).Concat(d.Answer(Mag2, To(setup, Mag2))));
        Assert.Equal(2, confirms.Count);
        d.Answer(Mag1, To(confirms, Mag1));
        d.Answer(Mag2, To(confirms, Mag2));
        Assert.True(Assert.Single(d.M.LocalizedRoutingSessions).Established);
        Assert.Equal(0, d.C.LocalizedRoutingSessionsEnded.Total);
        Assert.Equal(0, d.C.LrasReceivedByStatus[LocalizedRoutingStatus.MobileNodeNotAttached]);
    }

    [Fact]
    public void A_pre_registration_that_arrives_after_the_source_let_go_waits_for_its_activation_before_any_pair()
    {
        // The other order: MAG1 de-registers B before MAG2's pre-registration reaches the LMA. The pre-registration finds
        // nobody serving B and takes the binding, but B has not resumed at MAG2: held for its activation as a promoted one.
        var d = new Domain();
        d.Register(Mag1, "a@t", HnpA);
        d.Register(Mag1, "b@t", HnpB);
        Assert.Empty(Lris(d.Register(Mag1, "b@t", HnpB, HandoffIndicator.HandoffStateNotChanged, lifetime: 0)));
        Assert.Empty(Lris(d.Register(Mag2, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: PreRegistration)));
        Assert.Equal(1, d.C.Handover.LatePreRegistrations);
        Assert.Empty(Lris(d.Traffic(HnpA, HnpB)));
        Assert.Equal(1, d.C.LocalizedRoutingSetupsDeferred);
        Assert.Equal(0, d.M.LocalizedRoutingPairsHeldOff);
        // B resumed at MAG2, which activates the binding: the next traffic sets the pair up.
        Assert.Empty(Lris(d.Register(Mag2, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        Assert.Equal(2, Lris(d.Traffic(HnpA, HnpB)).Count);
    }

    [Fact]
    public void An_established_pair_whose_vm_is_promoted_to_a_third_mag_is_re_pointed_and_set_up_there_on_its_activation()
    {
        var d = Established();
        var promoted = MigrateSourceFirst(d, "b@t", HnpB, Mag2, Mag3);
        var lris = Lris(promoted);
        // The MAG B left stops; A's MAG learns B's new MAG and goes back to sending through the LMA until MAG3 takes the
        // pair's packets; MAG3, which holds B as pre-registered still, is told nothing yet.
        Assert.Equal(0, To(lris, Mag2).Lifetime);
        var repoint = To(lris, Mag1);
        Assert.Equal(Mag3, Read(repoint).Mag);
        Assert.DoesNotContain(lris, l => l.Mag == Mag3);
        Assert.Equal(1, d.C.LocalizedRoutingSetupsDeferred);
        Assert.Empty(Lris(d.Answer(Mag1, repoint)));
        d.Answer(Mag2, To(lris, Mag2));
        // Nothing goes to MAG3 while it waits, however long, and the pair is neither ended nor held off.
        Assert.DoesNotContain(Lris(d.Advance(TimeSpan.FromSeconds(10))), l => l.Mag == Mag3);
        Assert.Empty(Lris(d.Traffic(HnpA, HnpB)));
        Assert.Equal(1, d.M.LocalizedRoutingSessionCount);
        Assert.Equal(0, d.C.LocalizedRoutingSessionsEnded.Total);

        // MAG3's activation: the set-up goes out with the PBA, naming A at MAG1; once it is answered both are confirmed.
        var activation = d.Register(Mag3, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface);
        var setup = To(Lris(activation), Mag3);
        Assert.Equal(("b@t", "a@t", Mag1), (Read(setup).Local.MobileNodeIdentifier, Read(setup).Remote.MobileNodeIdentifier, Read(setup).Mag));
        var confirms = Lris(d.Answer(Mag3, setup));
        Assert.Equal(2, confirms.Count);
        d.Answer(Mag1, To(confirms, Mag1));
        d.Answer(Mag3, To(confirms, Mag3));
        var view = Assert.Single(d.M.LocalizedRoutingSessions);
        Assert.True(view.Established);
        Assert.Equal((Mag1, Mag3), (view.MagA, view.MagB));
        Assert.Equal(0, d.C.LrasReceivedByStatus[LocalizedRoutingStatus.MobileNodeNotAttached]);
    }

    [Fact]
    public void A_pair_waiting_for_a_promoted_mag_ends_without_an_lri_to_it_when_the_vm_goes_on_elsewhere()
    {
        var d = Established();
        MigrateSourceFirst(d, "b@t", HnpB, Mag2, Mag3);
        // B goes on to MAG1 (A's MAG) before MAG3 ever activated: the pair ends as on any move to the other's MAG, and
        // MAG3, never told of it, is not told to stop either.
        var moved = d.Register(Mag1, "b@t", HnpB, HandoffIndicator.HandoffBetweenMagsForSameInterface);
        Assert.Equal(0, d.M.LocalizedRoutingSessionCount);
        Assert.Equal(1, d.C.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.SameMag]);
        Assert.DoesNotContain(Lris(moved), l => l.Mag == Mag3);
    }
}
