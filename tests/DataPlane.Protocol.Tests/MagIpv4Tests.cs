using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>The MAG's RFC 5844 §3.2 signalling, event by event.</summary>
public class MagIpv4Tests
{
    private static readonly Ipv4Address Hoa = Ipv4Address.Parse("10.200.0.9");
    private static readonly Ipv4Address Router = Ipv4Address.Parse("10.200.0.1");

    private static VmProfile DualStack(Ipv4Address? fixedAddress = null) =>
        new(MagHarness.Nai, [], MagHarness.Lma, fixedAddress) { Ipv4Service = true, Ipv4PrefixLength = fixedAddress is null ? (byte)0 : (byte)24 };

    private static VmProfile Ipv4Only(Ipv4Address? fixedAddress = null) => DualStack(fixedAddress) with { Ipv6Service = false };

    /// <summary>An accepting PBA for <paramref name="pbu"/> with the RFC 5844 options an LMA adds (§3.1.2.6).</summary>
    private static BindingAcknowledgement Pba(BindingUpdate pbu, Ipv4HomeAddressReplyOption? reply = null, bool router = true, bool? serverMode = true,
        BindingAckStatus status = BindingAckStatus.Accepted)
    {
        var options = new List<MobilityOption>();
        if (pbu.HomeNetworkPrefixes.Any()) options.Add(new HomeNetworkPrefixOption(MagHarness.Hnp));
        options.Add(new HandoffIndicatorOption(pbu.HandoffIndicator!.Value));
        if (pbu.Timestamp is { } ts) options.Add(new TimestampOption(ts));
        options.Add(MobileNodeIdentifierOption.ForNai(MagHarness.Nai));
        if (pbu.Ipv4HomeAddressRequest is { } request)
        {
            options.Add(reply ?? (status == BindingAckStatus.Accepted
                ? new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, request.IsAllZero ? Hoa : request.Address)
                : new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.AdministrativelyProhibited, request.PrefixLength, request.Address)));
            if (status == BindingAckStatus.Accepted && router) options.Add(new Ipv4DefaultRouterAddressOption(Router));
            if (status == BindingAckStatus.Accepted && serverMode is { } s) options.Add(new Ipv4DhcpSupportModeOption(s));
        }
        return new BindingAcknowledgement(status, BindingAckFlags.ProxyRegistration, pbu.Sequence, status == BindingAckStatus.Accepted ? pbu.Lifetime : (ushort)0)
        {
            Options = new MobilityOptionList(options),
        };
    }

    private static (MagHarness H, BindingUpdate Pbu, List<MagAction> Actions) Established(VmProfile profile, AttachTrigger trigger = AttachTrigger.Dhcp)
    {
        var h = new MagHarness();
        var pbu = h.Register(trigger, profile);
        h.Now += TimeSpan.FromMilliseconds(20);
        var actions = h.Receive(Pba(pbu));
        return (h, pbu, actions);
    }

    [Fact]
    public void A_dual_stack_pbu_carries_the_prefix_and_exactly_one_all_zero_request()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.RouterSolicitation, DualStack());
        Assert.Equal([Ipv6Prefix.Unspecified], pbu.HomeNetworkPrefixes);
        Assert.Equal(1, pbu.Ipv4HomeAddressRequestCount);
        Assert.True(pbu.Ipv4HomeAddressRequest!.IsAllZero);
        Assert.Equal(0, pbu.Ipv4HomeAddressRequest.PrefixLength);
    }

    [Fact]
    public void An_ipv4_only_pbu_has_no_prefix_option_and_asks_for_the_profiles_address()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.Dhcp, Ipv4Only(Hoa));
        Assert.Empty(pbu.HomeNetworkPrefixes);
        Assert.Equal(new Ipv4HomeAddressRequestOption(24, Hoa), pbu.Ipv4HomeAddressRequest);
        Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, pbu.HandoffIndicator);
    }

    [Fact]
    public void An_accepted_ipv4_only_session_installs_its_address_and_sends_no_router_advertisement()
    {
        var (h, _, actions) = Established(Ipv4Only());
        var install = Assert.Single(actions.OfType<MagAction.InstallSession>());
        Assert.Empty(install.HomeNetworkPrefixes);
        Assert.Equal(new Ipv4Assignment(Hoa, 24, Router), install.Ipv4);
        Assert.Empty(actions.OfType<MagAction.SendRouterAdvertisement>());
        var done = Assert.Single(actions.OfType<MagAction.HandoverCompleted>());
        Assert.Equal(new Ipv4Assignment(Hoa, 24, Router), done.Ipv4);
        Assert.True(h.Mag.TryGetSession(MagHarness.Port, out var view));
        Assert.Equal(Hoa, view.Ipv4!.Value.HomeAddress);
        // No periodic RAs either: the only timer is NUD's.
        var later = h.Advance(TimeSpan.FromMinutes(20));
        Assert.Empty(later.OfType<MagAction.SendRouterAdvertisement>());
    }

    [Fact]
    public void Refreshes_carry_exactly_the_assigned_address()
    {
        var (h, _, _) = Established(DualStack());
        var refresh = MagHarness.Pbus(h.Advance(TimeSpan.FromMinutes(46))).First();
        Assert.Equal(HandoffIndicator.HandoffStateNotChanged, refresh.HandoffIndicator);
        Assert.Equal([MagHarness.Hnp], refresh.HomeNetworkPrefixes);
        Assert.Equal(1, refresh.Ipv4HomeAddressRequestCount);
        Assert.Equal(new Ipv4HomeAddressRequestOption(24, Hoa), refresh.Ipv4HomeAddressRequest);
    }

    [Theory]
    [InlineData(false, true, true, Ipv4UnavailableReason.NoReply)]
    [InlineData(true, false, true, Ipv4UnavailableReason.NoDefaultRouter)]
    [InlineData(true, true, false, Ipv4UnavailableReason.RelayModeNotSupported)]
    public void Without_a_usable_reply_ipv4_stays_off_and_ipv6_goes_on(bool withReply, bool router, bool serverMode, Ipv4UnavailableReason reason)
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.RouterSolicitation, DualStack());
        h.Now += TimeSpan.FromMilliseconds(20);
        var pba = Pba(pbu, router: router, serverMode: serverMode ? true : null);
        if (!withReply) pba = pba with { Options = new MobilityOptionList(pba.Options.Where(o => o is not Ipv4HomeAddressReplyOption)) };
        var actions = h.Receive(pba);
        Assert.Null(Assert.Single(actions.OfType<MagAction.InstallSession>()).Ipv4);
        Assert.Single(actions.OfType<MagAction.SendRouterAdvertisement>());
        Assert.Equal(reason, Assert.Single(actions.OfType<MagAction.Ipv4Unavailable>()).Reason);
        // §3.2.3.3: no address assigned, so refreshes carry no Request; a DHCPDISCOVER does not ask again.
        Assert.Null(MagHarness.Pbus(h.Advance(TimeSpan.FromMinutes(46))).First().Ipv4HomeAddressRequest);
        Assert.Empty(MagHarness.Pbus(h.Handle(new MagEvent.Ipv4AddressRequested(MagHarness.Port))));
    }

    [Fact]
    public void A_refused_reply_for_an_ipv4_only_vm_fails_the_session_for_good()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.Dhcp, Ipv4Only());
        h.Now += TimeSpan.FromMilliseconds(20);
        var actions = h.Receive(Pba(pbu, reply: new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, 0, Ipv4Address.Any)));
        var failed = Assert.Single(actions.OfType<MagAction.SessionFailed>());
        Assert.Equal(SessionFailureReason.Ipv4Unavailable, failed.Reason);
        Assert.False(failed.WillRetry);
        Assert.Empty(actions.OfType<MagAction.InstallSession>());
    }

    [Fact]
    public void Status_170_sends_again_without_the_request_and_never_asks_again_in_the_session()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.RouterSolicitation, DualStack());
        h.Now += TimeSpan.FromMilliseconds(20);
        var actions = h.Receive(Pba(pbu, status: BindingAckStatus.NotAuthorizedForIpv4MobilityService));
        var again = MagHarness.SinglePbu(actions);
        Assert.Null(again.Ipv4HomeAddressRequest);
        Assert.Equal(pbu.HomeNetworkPrefixes, again.HomeNetworkPrefixes);
        Assert.Equal(Ipv4UnavailableReason.NotAuthorized, Assert.Single(actions.OfType<MagAction.Ipv4Unavailable>()).Reason);
        Assert.Equal(1, h.C.RegistrationsNarrowed);
        h.Now += TimeSpan.FromMilliseconds(20);
        Assert.Single(h.Receive(Pba(again)).OfType<MagAction.InstallSession>());
        Assert.Empty(MagHarness.Pbus(h.Handle(new MagEvent.Ipv4AddressRequested(MagHarness.Port))));
    }

    [Fact]
    public void Status_170_for_an_ipv4_only_vm_fails_it_without_retry()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.Dhcp, Ipv4Only());
        h.Now += TimeSpan.FromMilliseconds(20);
        var failed = Assert.Single(h.Receive(Pba(pbu, status: BindingAckStatus.NotAuthorizedForIpv4MobilityService)).OfType<MagAction.SessionFailed>());
        Assert.False(failed.WillRetry);
        Assert.Equal(BindingAckStatus.NotAuthorizedForIpv4MobilityService, failed.Status);
    }

    [Fact]
    public void Status_171_for_the_profiles_address_asks_all_zero_instead()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.Dhcp, Ipv4Only(Hoa));
        h.Now += TimeSpan.FromMilliseconds(20);
        var again = MagHarness.SinglePbu(h.Receive(Pba(pbu, status: BindingAckStatus.NotAuthorizedForIpv4HomeAddress)));
        Assert.True(again.Ipv4HomeAddressRequest!.IsAllZero);
        h.Now += TimeSpan.FromMilliseconds(20);
        var pba = Pba(again, reply: new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, Ipv4Address.Parse("10.200.0.33")));
        Assert.Equal(Ipv4Address.Parse("10.200.0.33"), Assert.Single(h.Receive(pba).OfType<MagAction.InstallSession>()).Ipv4!.Value.HomeAddress);
    }

    [Fact]
    public void Status_172_sends_again_without_prefixes()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.RouterSolicitation, DualStack());
        h.Now += TimeSpan.FromMilliseconds(20);
        var again = MagHarness.SinglePbu(h.Receive(Pba(pbu, status: BindingAckStatus.NotAuthorizedForIpv6MobilityService)));
        Assert.Empty(again.HomeNetworkPrefixes);
        Assert.NotNull(again.Ipv4HomeAddressRequest);
        // IPv6 only and 172: nothing left to ask for.
        var v6 = new MagHarness();
        var p6 = v6.Register();
        v6.Now += TimeSpan.FromMilliseconds(20);
        Assert.False(Assert.Single(v6.Receive(MagHarness.Pba(p6, BindingAckStatus.NotAuthorizedForIpv6MobilityService)).OfType<MagAction.SessionFailed>()).WillRetry);
    }

    [Fact]
    public void Dhcprelease_deregisters_only_ipv4_and_a_later_discover_asks_again()
    {
        var (h, _, _) = Established(DualStack(), AttachTrigger.RouterSolicitation);
        var actions = h.Handle(new MagEvent.Ipv4AddressReleased(MagHarness.Port));
        // Forwarding loses the address at once; the PBU (§3.2.3.3) has lifetime 0, only the Request, no HNP.
        Assert.Null(Assert.Single(actions.OfType<MagAction.InstallSession>()).Ipv4);
        var release = MagHarness.SinglePbu(actions);
        Assert.Equal(0, release.Lifetime);
        Assert.Empty(release.HomeNetworkPrefixes);
        Assert.Equal(new Ipv4HomeAddressRequestOption(24, Hoa), release.Ipv4HomeAddressRequest);
        h.Now += TimeSpan.FromMilliseconds(20);
        Assert.Empty(h.Receive(Pba(release)).OfType<MagAction.RemoveSession>());
        Assert.True(h.Mag.TryGetSession(MagHarness.Port, out var s));
        Assert.Equal(SessionState.Established, s.State);
        Assert.Equal(1, h.C.Ipv4ReleasesAcknowledged);

        // The refresh no longer asks for IPv4; a DHCPDISCOVER does: HNP + ALL_ZERO, lifetime > 0 (§3.2.3.3, second bullet).
        var ask = MagHarness.SinglePbu(h.Handle(new MagEvent.Ipv4AddressRequested(MagHarness.Port)));
        Assert.True(ask.Ipv4HomeAddressRequest!.IsAllZero);
        Assert.Equal([MagHarness.Hnp], ask.HomeNetworkPrefixes);
        Assert.True(ask.Lifetime > 0);
        h.Now += TimeSpan.FromMilliseconds(20);
        Assert.Equal(Hoa, Assert.Single(h.Receive(Pba(ask)).OfType<MagAction.InstallSession>()).Ipv4!.Value.HomeAddress);
        Assert.Equal(1, h.C.Ipv4Extensions);
    }

    [Fact]
    public void Dhcprelease_of_an_ipv4_only_vm_ends_its_session()
    {
        var (h, _, _) = Established(Ipv4Only());
        var actions = h.Handle(new MagEvent.Ipv4AddressReleased(MagHarness.Port));
        Assert.Equal(DetachReason.AddressReleased, Assert.Single(actions.OfType<MagAction.RemoveSession>()).Reason);
        var dereg = MagHarness.SinglePbu(actions);
        Assert.Equal((0, 0), (dereg.Lifetime, dereg.HomeNetworkPrefixes.Count()));
        Assert.Equal(Hoa, dereg.Ipv4HomeAddressRequest!.Address);
    }

    [Fact]
    public void Detach_deregisters_the_prefixes_and_the_address_together()
    {
        var (h, _, _) = Established(DualStack(), AttachTrigger.RouterSolicitation);
        var dereg = MagHarness.SinglePbu(h.Handle(new MagEvent.PortDetached(MagHarness.Port, DetachReason.HotplugOffline)));
        Assert.Equal(0, dereg.Lifetime);
        Assert.Equal([MagHarness.Hnp], dereg.HomeNetworkPrefixes);
        Assert.Equal(new Ipv4HomeAddressRequestOption(24, Hoa), dereg.Ipv4HomeAddressRequest);
    }

    [Fact]
    public void Nud_probes_an_ipv4_vm_by_arp_and_only_by_arp_when_it_has_no_ipv6()
    {
        var (h, _, _) = Established(Ipv4Only());
        var probes = h.Advance(TimeSpan.FromSeconds(30.5), vmAlive: false);
        var arp = Assert.Single(probes.OfType<MagAction.SendArpProbe>());
        Assert.Equal((Hoa, Router, PmipDefaults.SharedMagMacAddress, MagHarness.VmMac), (arp.Target, arp.SourceAddress, arp.SourceMac, arp.VmMac));
        Assert.Empty(probes.OfType<MagAction.SendNeighborSolicitation>());

        var (d, _, _) = Established(DualStack(), AttachTrigger.RouterSolicitation);
        var both = d.Advance(TimeSpan.FromSeconds(30.5), vmAlive: false);
        Assert.Single(both.OfType<MagAction.SendArpProbe>());
        Assert.Single(both.OfType<MagAction.SendNeighborSolicitation>());
        // Unanswered, both families' probes give up together: the VM left.
        Assert.Contains(d.Advance(TimeSpan.FromSeconds(4), vmAlive: false).OfType<MagAction.RemoveSession>(), r => r.Reason == DetachReason.NeighborUnreachable);
    }

    [Fact]
    public void A_migrated_ipv4_vm_announcing_itself_registers_with_hi_3_when_its_address_is_known()
    {
        var h = new MagHarness();
        var pbu = h.Register(AttachTrigger.GratuitousArp, Ipv4Only(Hoa));
        Assert.Equal(HandoffIndicator.HandoffBetweenMagsForSameInterface, pbu.HandoffIndicator);
        var unknown = new MagHarness().Register(AttachTrigger.Rarp, Ipv4Only());
        Assert.Equal(HandoffIndicator.HandoffStateUnknown, unknown.HandoffIndicator);
        Assert.Empty(unknown.HomeNetworkPrefixes);
    }

    [Fact]
    public void A_profile_without_any_ip_version_is_invalid()
    {
        var h = new MagHarness();
        var request = Assert.IsType<MagAction.RequestPolicy>(Assert.Single(h.Attach()));
        var actions = h.Handle(new MagEvent.PolicyDecided(request.RequestId, DualStack() with { Ipv4Service = false, Ipv6Service = false }));
        Assert.Equal(SessionFailureReason.InvalidProfile, Assert.Single(actions.OfType<MagAction.SessionFailed>()).Reason);
    }
}
