using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>The MAG's side of RFC 6705, LRI by LRI on a hand-held clock.</summary>
public class MagLocalizedRoutingTests
{
    private static readonly Ipv6Address OtherMag = Ipv6Address.Parse("2001:db8:0:2::9");
    private static readonly Ipv6Address ThirdMag = Ipv6Address.Parse("2001:db8:0:2::10");
    private static readonly LocalizedRoutingParty Local = new(MagHarness.Nai, [MagHarness.Hnp]);
    private static readonly LocalizedRoutingParty Remote = new("vm9@test", [Ipv6Prefix.Parse("2001:db8:100:9::/64")]);

    private static LocalizedRoutingInitiation Lri(ushort sequence, ushort lifetime = 120, Ipv6Address? mag = null,
        LocalizedRoutingParty? local = null, LocalizedRoutingParty? remote = null) =>
        LocalizedRoutingMessages.Initiation(sequence, lifetime, local ?? Local, remote ?? Remote, mag ?? OtherMag);

    private static LocalizedRoutingAcknowledgement SingleLra(IEnumerable<MagAction> actions)
    {
        var send = Assert.Single(actions.OfType<MagAction.SendMobilityMessage>(), s => s.Message is LocalizedRoutingAcknowledgement);
        Assert.Equal((MagHarness.Coa, MagHarness.Lma), (send.Source, send.Destination));
        return (LocalizedRoutingAcknowledgement)send.Message;
    }

    private static MagHarness Established(Func<MagOptions, MagOptions>? configure = null)
    {
        var h = new MagHarness(configure);
        h.Establish();
        return h;
    }

    [Fact]
    public void An_lri_for_an_attached_vm_installs_an_accepting_route_and_a_new_one_confirms_it()
    {
        var h = Established();
        var actions = h.Receive(Lri(100));
        var install = Assert.Single(actions.OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal((MagHarness.Port, MagHarness.VmMac, OtherMag, false), (install.Port, install.Mac, install.RemoteMag, install.Egress));
        Assert.Equal(Remote.HomeNetworkPrefixes, install.RemotePrefixes);
        var lra = SingleLra(actions);
        Assert.Equal(((ushort)100, LocalizedRoutingStatus.Success, (ushort)120, false), (lra.Sequence, lra.Status, lra.Lifetime, lra.IsUnsolicited));
        Assert.True(LocalizedRoutingMessages.TryRead(lra.Options, out var local, out var remote, out var mag));
        Assert.Equal((Local, Remote, (Ipv6Address?)null), (local, remote, mag));

        // The same LRI again (its LRA was lost): answered again, nothing confirmed.
        actions = h.Receive(Lri(100));
        Assert.Empty(actions.OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal(LocalizedRoutingStatus.Success, SingleLra(actions).Status);
        // A new LRI for the same pair and MAG: the LMA confirms, our packets go directly now.
        actions = h.Receive(Lri(101));
        var confirmed = Assert.Single(actions.OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal((install.RouteId, true), (confirmed.RouteId, confirmed.Egress));
        Assert.Equal(1, h.C.LocalizedRoutesConfirmed);
        var view = Assert.Single(h.Mag.LocalizedRoutes);
        Assert.Equal((Remote.MobileNodeIdentifier, OtherMag, true, h.Now + TimeSpan.FromSeconds(120)), (view.RemoteMobileNodeIdentifier, view.RemoteMag, view.Egress, view.ExpiresAt));
    }

    [Fact]
    public void The_granted_lifetime_is_capped_and_an_infinite_request_gets_the_cap()
    {
        var h = Established(o => o with { MaxLocalizedRoutingLifetime = TimeSpan.FromSeconds(600) });
        Assert.Equal((ushort)600, SingleLra(h.Receive(Lri(1, LocalizedRoutingInitiation.InfiniteLifetime))).Lifetime);
        Assert.Equal((ushort)30, SingleLra(h.Receive(Lri(2, 30))).Lifetime);
    }

    [Fact]
    public void A_vm_that_is_not_attached_here_is_answered_129()
    {
        var h = new MagHarness();
        var lra = SingleLra(h.Receive(Lri(5)));
        Assert.Equal(LocalizedRoutingStatus.MobileNodeNotAttached, lra.Status);
        // Still registering: not attached either (the LMA asks again after its PBA).
        var pbu = h.Register();
        Assert.Equal(LocalizedRoutingStatus.MobileNodeNotAttached, SingleLra(h.Receive(Lri(6))).Status);
        // Established, but the LRI names a prefix the VM does not hold.
        h.Now += TimeSpan.FromMilliseconds(5);
        h.Receive(MagHarness.Pba(pbu));
        var other = new LocalizedRoutingParty(MagHarness.Nai, [Ipv6Prefix.Parse("2001:db8:100:77::/64")]);
        Assert.Equal(0, h.Mag.LocalizedRouteCount);
        Assert.Equal(LocalizedRoutingStatus.MobileNodeNotAttached, SingleLra(h.Receive(Lri(7, local: other))).Status);
        Assert.Equal(3, h.C.LrasSent[LocalizedRoutingStatus.MobileNodeNotAttached]);
    }

    [Fact]
    public void Only_the_vms_own_lma_may_steer_it()
    {
        var h = Established();
        var stranger = Ipv6Address.Parse("2001:db8:0:1::99");
        var actions = h.Handle(new MagEvent.MobilityMessageReceived(stranger, Lri(5)));
        Assert.Empty(actions.OfType<MagAction.InstallLocalizedRoute>());
        var send = Assert.Single(actions.OfType<MagAction.SendMobilityMessage>());
        Assert.Equal(stranger, send.Destination);
        Assert.Equal(LocalizedRoutingStatus.MobileNodeNotAttached, ((LocalizedRoutingAcknowledgement)send.Message).Status);
        Assert.Equal(1, h.C.LrisFromOtherLma);
    }

    [Theory]
    [InlineData("disabled")]
    [InlineData("own address")]
    [InlineData("overlapping prefix")]
    [InlineData("same mobile node")]
    [InlineData("no room")]
    public void Lris_the_mag_cannot_act_on_are_answered_128(string why)
    {
        var h = Established(o => why switch
        {
            "disabled" => o with { LocalizedRouting = false },
            "no room" => o with { MaxLocalizedRoutes = 0 },
            _ => o,
        });
        var lri = why switch
        {
            "own address" => Lri(1, mag: MagHarness.Coa),
            "overlapping prefix" => Lri(1, remote: new LocalizedRoutingParty("vm9@test", [MagHarness.Hnp])),
            "same mobile node" => Lri(1, remote: new LocalizedRoutingParty(MagHarness.Nai, [Ipv6Prefix.Parse("2001:db8:100:9::/64")])),
            _ => Lri(1),
        };
        var actions = h.Receive(lri);
        Assert.Empty(actions.OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal(LocalizedRoutingStatus.LocalizedRoutingNotAllowed, SingleLra(actions).Status);
        Assert.Equal(0, h.Mag.LocalizedRouteCount);
    }

    [Fact]
    public void An_lri_without_a_usable_party_is_dropped_unanswered()
    {
        var h = Established();
        var noParty = new LocalizedRoutingInitiation(1, 120) { Options = new MobilityOptionList([new MagIpv6AddressOption(OtherMag)]) };
        var prefixFirst = new LocalizedRoutingInitiation(2, 120)
        {
            Options = new MobilityOptionList([new HomeNetworkPrefixOption(MagHarness.Hnp), MobileNodeIdentifierOption.ForNai(MagHarness.Nai)]),
        };
        Assert.Empty(h.Receive(noParty));
        Assert.Empty(h.Receive(prefixFirst));
        Assert.Equal(2, h.C.LrisMalformed);
    }

    [Fact]
    public void A_new_remote_mag_re_points_the_route_and_it_accepts_only_until_confirmed_again()
    {
        var h = Established();
        h.Receive(Lri(1));
        h.Receive(Lri(2));
        var actions = h.Receive(Lri(3, mag: ThirdMag));
        var repointed = Assert.Single(actions.OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal((ThirdMag, false), (repointed.RemoteMag, repointed.Egress));
        Assert.Equal(1, h.C.LocalizedRoutesRepointed);
        var confirmed = Assert.Single(h.Receive(Lri(4, mag: ThirdMag)).OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal((ThirdMag, true), (confirmed.RemoteMag, confirmed.Egress));
    }

    [Fact]
    public void Lifetime_zero_ends_the_route_and_is_answered_even_when_there_is_none()
    {
        var h = Established();
        var install = Assert.Single(h.Receive(Lri(1)).OfType<MagAction.InstallLocalizedRoute>());
        var actions = h.Receive(Lri(2, lifetime: 0));
        var removed = Assert.Single(actions.OfType<MagAction.RemoveLocalizedRoute>());
        Assert.Equal((install.RouteId, LocalizedRouteEnd.Terminated), (removed.RouteId, removed.Reason));
        Assert.Equal(((ushort)2, LocalizedRoutingStatus.Success, (ushort)0), (SingleLra(actions).Sequence, SingleLra(actions).Status, SingleLra(actions).Lifetime));
        actions = h.Receive(Lri(3, lifetime: 0));
        Assert.Empty(actions.OfType<MagAction.RemoveLocalizedRoute>());
        Assert.Equal(LocalizedRoutingStatus.Success, SingleLra(actions).Status);
        // Even for a VM that left.
        Assert.Equal(LocalizedRoutingStatus.Success, SingleLra(new MagHarness().Receive(Lri(4, lifetime: 0))).Status);
    }

    [Fact]
    public void A_refresh_of_a_route_used_lately_is_granted_and_of_an_idle_one_declined()
    {
        var h = Established();
        var route = Assert.Single(h.Receive(Lri(1)).OfType<MagAction.InstallLocalizedRoute>()).RouteId;
        h.Receive(Lri(2));
        // Used 80 s in: the refresh at 90 s finds it busy.
        h.Advance(TimeSpan.FromSeconds(80));
        h.Handle(new MagEvent.LocalizedRouteUsed(route));
        h.Advance(TimeSpan.FromSeconds(10));
        var lra = SingleLra(h.Receive(Lri(3)));
        Assert.Equal((LocalizedRoutingStatus.Success, (ushort)120), (lra.Status, lra.Lifetime));
        Assert.Equal(1, h.C.LocalizedRoutesRefreshed);
        // Not used since: the next refresh, 90 s later, finds it idle for more than half its lifetime.
        h.Advance(TimeSpan.FromSeconds(90));
        var actions = h.Receive(Lri(4));
        Assert.Equal((LocalizedRoutingStatus.Success, (ushort)0), (SingleLra(actions).Status, SingleLra(actions).Lifetime));
        Assert.Equal(LocalizedRouteEnd.Idle, Assert.Single(actions.OfType<MagAction.RemoveLocalizedRoute>()).Reason);
        Assert.Equal(0, h.Mag.LocalizedRouteCount);
    }

    [Fact]
    public void A_route_just_set_up_is_never_idle()
    {
        var h = Established();
        h.Receive(Lri(1));
        h.Advance(TimeSpan.FromSeconds(1));
        var actions = h.Receive(Lri(2));
        Assert.Equal((ushort)120, SingleLra(actions).Lifetime);
        Assert.Empty(actions.OfType<MagAction.RemoveLocalizedRoute>());
    }

    [Fact]
    public void A_route_not_refreshed_expires()
    {
        var h = Established();
        var route = Assert.Single(h.Receive(Lri(1, lifetime: 30)).OfType<MagAction.InstallLocalizedRoute>()).RouteId;
        var early = h.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(early.OfType<MagAction.RemoveLocalizedRoute>());
        var removed = Assert.Single(h.Advance(TimeSpan.FromSeconds(2)).OfType<MagAction.RemoveLocalizedRoute>());
        Assert.Equal((route, LocalizedRouteEnd.Expired), (removed.RouteId, removed.Reason));
        Assert.Equal(0, h.Mag.PendingTimers - h.Mag.SessionCount - h.Mag.BindingUpdateListCount - h.Mag.HeartbeatPeers);
    }

    [Fact]
    public void The_routes_of_a_vm_that_leaves_go_before_its_session()
    {
        var h = Established();
        h.Receive(Lri(1));
        h.Receive(Lri(2, remote: new LocalizedRoutingParty("vm10@test", [Ipv6Prefix.Parse("2001:db8:100:10::/64")])));
        Assert.Equal(2, h.Mag.LocalizedRouteCount);
        var actions = h.Handle(new MagEvent.PortDetached(MagHarness.Port, DetachReason.HotplugOffline));
        int firstRemoveSession = actions.FindIndex(a => a is MagAction.RemoveSession);
        var routeRemovals = actions.Select((a, i) => (a, i)).Where(x => x.a is MagAction.RemoveLocalizedRoute).ToArray();
        Assert.Equal(2, routeRemovals.Length);
        Assert.All(routeRemovals, x => Assert.True(x.i < firstRemoveSession));
        Assert.All(routeRemovals, x => Assert.Equal(LocalizedRouteEnd.SessionEnded, ((MagAction.RemoveLocalizedRoute)x.a).Reason));
        Assert.Equal(0, h.Mag.LocalizedRouteCount);
    }

    [Fact]
    public void Routes_go_when_the_lma_restarts()
    {
        var h = Established();
        var beat = h.Advance(TimeSpan.Zero);
        var hb = (HeartbeatMessage)Assert.Single(beat.OfType<MagAction.SendMobilityMessage>(), m => m.Message is HeartbeatMessage).Message;
        h.Receive(new HeartbeatMessage(true, false, hb.Sequence) { Options = new MobilityOptionList([new RestartCounterOption(7)]) });
        h.Receive(Lri(1));
        var next = h.Advance(TimeSpan.FromSeconds(60));
        var hb2 = (HeartbeatMessage)next.OfType<MagAction.SendMobilityMessage>().Single(m => m.Message is HeartbeatMessage).Message;
        var actions = h.Receive(new HeartbeatMessage(true, false, hb2.Sequence) { Options = new MobilityOptionList([new RestartCounterOption(8)]) });
        Assert.Equal(LocalizedRouteEnd.LmaRestarted, Assert.Single(actions.OfType<MagAction.RemoveLocalizedRoute>()).Reason);
        Assert.Equal(0, h.Mag.LocalizedRouteCount);
    }

    [Fact]
    public void Routes_go_when_the_lma_stops_answering_heartbeats()
    {
        var h = Established(o => o with { Heartbeat = o.Heartbeat with { Interval = TimeSpan.FromSeconds(5), MissingHeartbeatsAllowed = 2 } });
        h.Receive(Lri(1));
        // Heartbeats unanswered: after more than two misses the LMA is unreachable, and in doubt the pair goes its way again.
        var actions = h.Advance(TimeSpan.FromSeconds(20));
        Assert.Single(actions.OfType<MagAction.PeerUnreachable>());
        Assert.Equal(LocalizedRouteEnd.LmaUnreachable, Assert.Single(actions.OfType<MagAction.RemoveLocalizedRoute>()).Reason);
    }
}
