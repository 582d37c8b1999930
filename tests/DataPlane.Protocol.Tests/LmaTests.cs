using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>The LMA machine, PBU by PBU.</summary>
public class LmaTests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Address Stranger = Ipv6Address.Parse("2001:db8:0:9::9");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");
    private static readonly MacAddress Mac = MacAddress.Parse("52:54:00:00:00:01");

    private sealed class Lma
    {
        private ushort _seq = 100;
        public Lma(Func<LmaOptions, LmaOptions>? configure = null, InMemoryLmaPolicy? policy = null)
        {
            var o = new LmaOptions { LocalMobilityAnchorAddress = LmaAddr, AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 }, HomeNetworkPrefixPool = Pool, RestartCounter = 5 };
            Policy = policy ?? new InMemoryLmaPolicy();
            M = new LocalMobilityAnchor(configure?.Invoke(o) ?? o, Policy, new SplitMix64Random(1));
        }

        public LocalMobilityAnchor M { get; }
        public InMemoryLmaPolicy Policy { get; }
        public LmaCounters C => M.Counters;
        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        public BindingUpdate Pbu(Ipv6Prefix? prefix = null, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface, ushort lifetime = 900,
            string nai = "vm@t", bool timestamp = true, Func<List<MobilityOption>, List<MobilityOption>>? edit = null, ushort? seq = null, bool macOption = true)
        {
            var options = Pbus.Complete(nai, Now, prefix, hi, Mac);
            if (!timestamp) options.RemoveAll(o => o is TimestampOption);
            if (!macOption) options.RemoveAll(o => o is MobileNodeLinkLayerIdentifierOption);
            options = edit?.Invoke(options) ?? options;
            return new BindingUpdate(seq ?? _seq++, Pbus.ProxyFlags, lifetime) { Options = new MobilityOptionList(options) };
        }

        public List<LmaAction> Send(Ipv6Address from, MobilityMessage m) => [.. M.Handle(new LmaEvent.MobilityMessageReceived(from, m), Now)];

        public static BindingAcknowledgement Pba(List<LmaAction> actions) =>
            (BindingAcknowledgement)Assert.Single(actions.OfType<LmaAction.SendMobilityMessage>(), s => s.Message is BindingAcknowledgement).Message;

        public BindingAckStatus Status(Ipv6Address from, BindingUpdate pbu) => Pba(Send(from, pbu)).Status;

        public List<LmaAction> Advance(TimeSpan by) => LmaClock.Advance(M, ref Now, by);
    }

    [Fact]
    public void Initial_registration_assigns_from_the_pool_brings_up_the_tunnel_and_echoes_the_options()
    {
        var l = new Lma(o => o with { MaxBindingLifetime = TimeSpan.FromMinutes(30) });
        var pbu = l.Pbu();
        var actions = l.Send(Mag1, pbu);
        Assert.Equal(Mag1, Assert.Single(actions.OfType<LmaAction.TunnelUp>()).Mag);
        var route = Assert.Single(actions.OfType<LmaAction.RouteAdd>());
        Assert.Equal(Mag1, route.Mag);
        Assert.True(Pool.Contains(route.Prefix.Address));
        Assert.Equal(64, route.Prefix.Length);
        var pba = Lma.Pba(actions);
        var send = actions.OfType<LmaAction.SendMobilityMessage>().Single();
        Assert.Equal((LmaAddr, Mag1), (send.Source, send.Destination));
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        Assert.True(pba.IsProxy);
        Assert.Equal(pbu.Sequence, pba.Sequence);
        Assert.Equal(450, pba.Lifetime); // capped at 30 min
        Assert.Equal([route.Prefix], pba.HomeNetworkPrefixes);
        Assert.Equal(pbu.HandoffIndicator, pba.HandoffIndicator);
        Assert.Equal(AccessTechnologyType.Virtual, pba.AccessTechnologyType);
        Assert.Equal(pbu.Timestamp, pba.Timestamp);
        Assert.Equal(pbu.MobileNodeLinkLayerIdentifier, pba.MobileNodeLinkLayerIdentifier);
        Assert.Equal(pbu.LinkLocalAddress, pba.LinkLocalAddress);
        Assert.Equal("vm@t", pba.MobileNodeIdentifier!.Nai);
        Assert.Equal(BindingChange.Created, Assert.Single(actions.OfType<LmaAction.BindingChanged>()).Change);
        Assert.Equal((1, 1, 1), (l.M.BindingCacheCount, l.M.TunnelCount, (int)l.C.InitialRegistrations));
        Assert.Equal(l.Now + TimeSpan.FromMinutes(30), l.M.NextDeadline is { } _ ? l.M.Bindings.Single().ExpiresAt : default);
    }

    public static TheoryData<string, BindingAckStatus> Refusals => new()
    {
        { "mn-id", BindingAckStatus.MissingMobileNodeIdentifierOption },
        { "hnp", BindingAckStatus.MissingHomeNetworkPrefixOption },
        { "hi", BindingAckStatus.MissingHandoffIndicatorOption },
        { "att", BindingAckStatus.MissingAccessTechnologyTypeOption },
        { "mag", BindingAckStatus.MagNotAuthorizedForProxyRegistration },
        { "mn", BindingAckStatus.ProxyRegistrationNotEnabled },
        { "prefix", BindingAckStatus.NotAuthorizedForHomeNetworkPrefix },
        { "not proxy", BindingAckStatus.HomeRegistrationNotSupported },
        { "clock", BindingAckStatus.TimestampMismatch },
        { "no timestamp", BindingAckStatus.TimestampMismatch },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Pbu_validation_answers_each_problem_with_its_own_status(string problem, BindingAckStatus expected)
    {
        var l = new Lma(problem == "no timestamp" ? o => o with { AllowSequenceNumberOrdering = false } : null);
        l.Policy.Deny("denied@t");
        var from = problem == "mag" ? Stranger : Mag1;
        BindingUpdate pbu = problem switch
        {
            "mn-id" => l.Pbu(edit: o => [.. o.Where(x => x is not MobileNodeIdentifierOption)]),
            "hnp" => l.Pbu(edit: o => [.. o.Where(x => x is not HomeNetworkPrefixOption)]),
            "hi" => l.Pbu(edit: o => [.. o.Where(x => x is not HandoffIndicatorOption)]),
            "att" => l.Pbu(edit: o => [.. o.Where(x => x is not AccessTechnologyTypeOption)]),
            "mn" => l.Pbu(nai: "denied@t"),
            "prefix" => l.Pbu(Ipv6Prefix.Parse("2001:db8:999::/64")),
            "not proxy" => l.Pbu() with { Flags = BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration },
            "clock" => l.Pbu(edit: o => [.. o.Select(x => x is TimestampOption ? new TimestampOption((l.Now + TimeSpan.FromMilliseconds(301)).ToPmipTimestamp()) : x)]),
            "no timestamp" => l.Pbu(timestamp: false),
            _ => l.Pbu(),
        };
        var pba = Lma.Pba(l.Send(from, pbu));
        Assert.Equal(expected, pba.Status);
        Assert.Equal(0, pba.Lifetime);
        Assert.Equal(pbu.Sequence, pba.Sequence);
        Assert.Equal(0, l.M.BindingCacheCount);
        Assert.Equal(1, l.C.PbasSentByStatus[expected]);
        if (problem == "clock") Assert.Equal(l.Now.ToPmipTimestamp(), pba.Timestamp); // the LMA's clock, not the echo
    }

    [Fact]
    public void Older_timestamp_than_the_last_accepted_gets_157_and_an_exact_duplicate_the_same_answer()
    {
        var l = new Lma();
        var first = l.Pbu();
        var hnp = Lma.Pba(l.Send(Mag1, first)).HomeNetworkPrefixes.Single();
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(l.Send(Mag1, first)).Status);
        Assert.Equal(1, l.C.DuplicatePbus);
        l.Now -= TimeSpan.FromMilliseconds(100);
        Assert.Equal(BindingAckStatus.TimestampLowerThanPreviousAccepted, l.Status(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged)));
        Assert.Equal(1, l.C.InitialRegistrations);
        Assert.Equal(0, l.C.ReRegistrations);
    }

    [Fact]
    public void Without_timestamps_pbus_are_ordered_by_sequence_per_mag()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu(timestamp: false, seq: 1000))).HomeNetworkPrefixes.Single();
        var old = Lma.Pba(l.Send(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged, timestamp: false, seq: 999)));
        Assert.Equal(BindingAckStatus.SequenceNumberOutOfWindow, old.Status);
        Assert.Equal(1000, old.Sequence); // the last accepted, so the MAG can jump past it
        Assert.Equal(BindingAckStatus.Accepted, l.Status(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged, timestamp: false, seq: 1001)));
        // Another MAG's sequence space is its own.
        Assert.Equal(BindingAckStatus.Accepted, l.Status(Mag2, l.Pbu(hnp, HandoffIndicator.HandoffBetweenMagsForSameInterface, timestamp: false, seq: 5)));
    }

    [Fact]
    public void Handoff_repoints_the_entry_new_tunnel_first_and_old_tunnel_last()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu())).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        var actions = l.Send(Mag2, l.Pbu(hnp, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        var kinds = actions.Select(a => a.GetType().Name).ToList();
        Assert.Equal(["TunnelUp", "RouteAdd", "TunnelDown", "SendMobilityMessage", "BindingChanged"], kinds);
        Assert.Equal(Mag2, actions.OfType<LmaAction.TunnelUp>().Single().Mag);
        Assert.Equal(new LmaAction.RouteAdd(hnp, Mag2), actions.OfType<LmaAction.RouteAdd>().Single());
        Assert.Equal(Mag1, actions.OfType<LmaAction.TunnelDown>().Single().Mag);
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(actions).Status);
        Assert.Equal(1, l.C.Handoffs);
    }

    [Theory]
    [InlineData(HandoffIndicator.AttachmentOverNewInterface)]  // deviation: the same MAC cannot attach twice
    [InlineData(HandoffIndicator.HandoffStateUnknown)]
    [InlineData(HandoffIndicator.HandoffBetweenMagsForSameInterface)]
    public void Unspecified_prefix_from_another_mag_with_the_same_mn_ll_id_continues_the_session(HandoffIndicator hi)
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu())).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        var pba = Lma.Pba(l.Send(Mag2, l.Pbu(hi: hi)));
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        Assert.Equal([hnp], pba.HomeNetworkPrefixes);
        Assert.Equal(Mag2, l.M.Bindings.Single().ProxyCareOfAddress);
        Assert.Equal(0, l.C.RegistrationsParked);
    }

    [Fact]
    public void Refresh_from_a_mag_that_does_not_serve_the_entry_is_refused_with_129()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu())).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        l.Send(Mag2, l.Pbu(hnp, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        l.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(BindingAckStatus.AdministrativelyProhibited, l.Status(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged)));
        Assert.Equal(Mag2, l.M.Bindings.Single().ProxyCareOfAddress);
        Assert.Equal(1, l.C.RefreshesFromNonServingMag);
    }

    [Fact]
    public void Deregistration_holds_the_entry_for_min_delay_and_a_registration_in_that_window_resumes_it()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu())).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        var actions = l.Send(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal([new LmaAction.RouteRemove(hnp)], actions.OfType<LmaAction.RouteRemove>());
        Assert.Single(actions.OfType<LmaAction.TunnelDown>());
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(actions).Status);
        Assert.Equal(BindingCacheState.AwaitingDeletion, l.M.Bindings.Single().State);
        l.Advance(TimeSpan.FromSeconds(9));
        var resumed = l.Send(Mag2, l.Pbu(hi: HandoffIndicator.AttachmentOverNewInterface));
        Assert.Equal([hnp], Lma.Pba(resumed).HomeNetworkPrefixes);
        Assert.Equal(BindingChange.Resumed, resumed.OfType<LmaAction.BindingChanged>().Single().Change);
        Assert.Equal(1, l.C.Resumptions);
    }

    [Fact]
    public void Entry_is_deleted_after_min_delay_and_its_prefix_comes_back_to_the_same_node()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu())).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        l.Send(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        var deleted = l.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(BindingChange.Deleted, deleted.OfType<LmaAction.BindingChanged>().Single().Change);
        Assert.Equal(0, l.M.BindingCacheCount);
        Assert.Equal(0, l.M.PendingTimers);
        // A new entry: the pool prefers the node's hash slot, so it gets the same prefix.
        Assert.Equal([hnp], Lma.Pba(l.Send(Mag2, l.Pbu())).HomeNetworkPrefixes);
    }

    [Fact]
    public void Late_deregistration_from_the_old_mag_is_answered_but_changes_nothing()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu())).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        l.Send(Mag2, l.Pbu(hnp, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        var late = l.Send(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(late).Status);
        Assert.Single(late); // only the PBA
        Assert.Equal(Mag2, l.M.Bindings.Single().ProxyCareOfAddress);
        Assert.Equal(1, l.C.LateDeregistrationsIgnored);
        // De-registration of something unknown is answered too.
        Assert.Equal(BindingAckStatus.Accepted, l.Status(Mag1, l.Pbu(nai: "ghost@t", lifetime: 0)));
        Assert.Equal(1, l.C.DeregistrationsForUnknownEntry);
    }

    [Fact]
    public void Ambiguous_handoff_waits_for_the_old_mags_deregistration()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu(macOption: false))).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        Assert.Empty(l.Send(Mag2, l.Pbu(hi: HandoffIndicator.HandoffStateUnknown, macOption: false)));
        Assert.Equal(1, l.M.ParkedRegistrations);
        l.Now += TimeSpan.FromMilliseconds(500);
        var dereg = l.Send(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged, lifetime: 0, macOption: false));
        var pbas = dereg.OfType<LmaAction.SendMobilityMessage>().ToDictionary(s => s.Destination, s => (BindingAcknowledgement)s.Message);
        Assert.Equal([hnp], pbas[Mag2].HomeNetworkPrefixes);
        Assert.Equal(Mag2, l.M.Bindings.Single().ProxyCareOfAddress);
        Assert.Equal((1, 0), (l.C.ParkedResolvedByDeregistration, l.M.ParkedRegistrations));
    }

    [Fact]
    public void Ambiguous_handoff_without_deregistration_becomes_a_new_session_after_max_delay()
    {
        var l = new Lma();
        var hnp = Lma.Pba(l.Send(Mag1, l.Pbu(macOption: false))).HomeNetworkPrefixes.Single();
        l.Now += TimeSpan.FromSeconds(1);
        l.Send(Mag2, l.Pbu(hi: HandoffIndicator.HandoffStateUnknown, macOption: false));
        var start = l.Now;
        var actions = l.Advance(TimeSpan.FromSeconds(2));
        var pba = Lma.Pba(actions);
        Assert.NotEqual([hnp], pba.HomeNetworkPrefixes);
        Assert.Equal(2, l.M.BindingCacheCount);
        Assert.Equal(1, l.C.ParkedTimedOut);
        Assert.Equal(TimeSpan.FromSeconds(1.5), l.Now - start - TimeSpan.FromSeconds(0.5));
    }

    [Fact]
    public void Binding_expires_when_not_refreshed()
    {
        var l = new Lma();
        l.Send(Mag1, l.Pbu(lifetime: 10)); // 40 s
        Assert.Empty(l.Advance(TimeSpan.FromSeconds(39)).OfType<LmaAction.RouteRemove>());
        var expired = l.Advance(TimeSpan.FromSeconds(2));
        Assert.Single(expired.OfType<LmaAction.RouteRemove>());
        Assert.Single(expired.OfType<LmaAction.TunnelDown>());
        Assert.Equal(BindingChange.Expired, expired.OfType<LmaAction.BindingChanged>().Single().Change);
        Assert.Equal((0, 1L), (l.M.BindingCacheCount, l.C.BindingsExpired));
    }

    [Fact]
    public void One_tunnel_per_mag_is_shared_and_reference_counted()
    {
        var l = new Lma();
        var prefixes = Enumerable.Range(0, 3).Select(i => Lma.Pba(l.Send(Mag1, l.Pbu(nai: $"vm{i}@t"))).HomeNetworkPrefixes.Single()).ToList();
        Assert.Equal(1, l.C.TunnelsCreated);
        Assert.Equal(3, l.M.TunnelReferences(Mag1));
        l.Now += TimeSpan.FromSeconds(1);
        for (int i = 0; i < 3; i++)
        {
            var actions = l.Send(Mag1, l.Pbu(prefixes[i], HandoffIndicator.HandoffStateNotChanged, lifetime: 0, nai: $"vm{i}@t"));
            Assert.Equal(i == 2 ? 1 : 0, actions.OfType<LmaAction.TunnelDown>().Count());
        }
        Assert.Equal(0, l.M.TunnelCount);
    }

    [Fact]
    public void Profile_prefixes_are_used_and_a_different_set_is_refused_with_159()
    {
        var policy = new InMemoryLmaPolicy();
        var p1 = Ipv6Prefix.Parse("2001:db8:200:1::/64");
        var p2 = Ipv6Prefix.Parse("2001:db8:200:2::/64");
        policy.SetProfile("vm@t", new LmaMobileNodeProfile([p1, p2]));
        var l = new Lma(policy: policy);
        Assert.Equal([p1, p2], Lma.Pba(l.Send(Mag1, l.Pbu())).HomeNetworkPrefixes);
        l.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(BindingAckStatus.BcePbuPrefixSetDoNotMatch, l.Status(Mag2, l.Pbu(p1, HandoffIndicator.HandoffBetweenMagsForSameInterface)));
    }

    [Fact]
    public void After_a_restart_a_requested_pool_prefix_is_given_back_but_not_one_held_by_another_node()
    {
        var l = new Lma();
        var hnp = Ipv6Prefix.Parse("2001:db8:100:abcd::/64");
        Assert.Equal([hnp], Lma.Pba(l.Send(Mag1, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged))).HomeNetworkPrefixes);
        Assert.Equal(BindingAckStatus.NotAuthorizedForHomeNetworkPrefix, l.Status(Mag2, l.Pbu(hnp, HandoffIndicator.HandoffStateNotChanged, nai: "thief@t")));
    }

    [Fact]
    public void Lma_answers_heartbeats_from_authorised_mags_only_and_tracks_mags_with_tunnels()
    {
        var l = new Lma();
        var response = (HeartbeatMessage)Assert.Single(l.Send(Mag1, new HeartbeatMessage(false, false, 4)).OfType<LmaAction.SendMobilityMessage>()).Message;
        Assert.Equal((true, 4u, (uint?)5), (response.IsResponse, response.Sequence, response.RestartCounter));
        Assert.Empty(l.Send(Stranger, new HeartbeatMessage(false, false, 4)));
        Assert.Equal(1, l.C.HeartbeatsFromUnauthorizedPeers);
        Assert.Equal(0, l.M.HeartbeatPeers);
        l.Send(Mag1, l.Pbu());
        Assert.Equal(1, l.M.HeartbeatPeers);
        var request = l.Advance(TimeSpan.Zero).OfType<LmaAction.SendMobilityMessage>().Single();
        Assert.Equal(Mag1, request.Destination);
        Assert.False(((HeartbeatMessage)request.Message).IsResponse);
    }

    [Fact]
    public void Options_validation_names_the_bad_key()
    {
        var ok = new LmaOptions { LocalMobilityAnchorAddress = LmaAddr, HomeNetworkPrefixPool = Pool };
        ok.Validate();
        Assert.Equal("Lma.LocalMobilityAnchorAddress", Assert.Throws<ProtocolOptionsException>(() => new LmaOptions().Validate()).Key);
        Assert.Equal("Lma.HomeNetworkPrefixPool", Assert.Throws<ProtocolOptionsException>(() => (ok with { HomeNetworkPrefixPool = Ipv6Prefix.Parse("2001:db8::/32") }).Validate()).Key);
        Assert.Equal("Lma.TimestampValidityWindow", Assert.Throws<ProtocolOptionsException>(() => (ok with { TimestampValidityWindow = TimeSpan.Zero }).Validate()).Key);
    }
}
