using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// The LMA's side of a live migration, message by message: a destination's pre-registration (RFC 6058 transient
/// binding) beside the serving MAG's binding, bicast, the source's stop notice relayed with its marker, and every way
/// the transient binding ends (activation, cancellation, expiry, promotion when the source lets go first, replacement).
/// </summary>
public class LmaTransientTests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Source = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Destination = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Address Third = Ipv6Address.Parse("2001:db8:0:2::3");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:200:1::/64");
    private static readonly MacAddress Mac = MacAddress.Parse("52:54:00:00:00:01");
    private const string Nai = "vm@t";

    private sealed class Lma
    {
        private ushort _seq = 100;

        public Lma(bool bicast = true)
        {
            var policy = new InMemoryLmaPolicy();
            policy.SetProfile(Nai, new LmaMobileNodeProfile([Hnp]));
            M = new LocalMobilityAnchor(new LmaOptions
            {
                LocalMobilityAnchorAddress = LmaAddr,
                AuthorizedMags = new HashSet<Ipv6Address> { Source, Destination, Third },
                Bicast = bicast,
            }, policy, new SplitMix64Random(1));
        }

        public LocalMobilityAnchor M { get; }
        public LmaHandoverCounters H => M.Counters.Handover;
        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        public BindingUpdate Pbu(HandoffIndicator hi, ushort lifetime = 900, TransientBindingOption? transient = null)
        {
            var options = Pbus.Complete(Nai, Now, Hnp, hi, Mac);
            if (transient is not null) options.Add(transient);
            return new BindingUpdate(_seq++, Pbus.ProxyFlags, lifetime) { Options = new MobilityOptionList(options) };
        }

        public List<LmaAction> Send(Ipv6Address from, MobilityMessage m)
        {
            Now += TimeSpan.FromMilliseconds(1);
            return [.. M.Handle(new LmaEvent.MobilityMessageReceived(from, m), Now)];
        }

        public List<LmaAction> Advance(TimeSpan by) => LmaClock.Advance(M, ref Now, by);

        /// <summary>The source serves the VM; the destination pre-registers. Returns the pre-registration's actions.</summary>
        public List<LmaAction> Migrating(TimeSpan? transientLifetime = null)
        {
            Assert.Equal(BindingAckStatus.Accepted, Pba(Send(Source, Pbu(HandoffIndicator.AttachmentOverNewInterface))).Status);
            return Send(Destination, Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface,
                transient: TransientBindingOption.For(true, transientLifetime ?? TimeSpan.FromSeconds(20))));
        }

        public BindingCacheView Binding => Assert.Single(M.Bindings);
    }

    private static BindingAcknowledgement Pba(List<LmaAction> actions) =>
        (BindingAcknowledgement)Assert.Single(actions.OfType<LmaAction.SendMobilityMessage>(), s => s.Message is BindingAcknowledgement).Message;

    private static HandoverInitiate StopNotice(DeliveryMarker marker) => new(9, HandoverInitiateFlags.Proxy, HandoverInitiateCode.CompletionOfForwarding)
    {
        Options = new MobilityOptionList([new HomeNetworkPrefixOption(Hnp), MobileNodeLinkLayerIdentifierOption.ForMac(Mac),
            MobileNodeIdentifierOption.ForNai(Nai), new DeliveryMarkerOption(marker)]),
    };

    private static readonly DeliveryMarker Marker = new(true, new DownlinkIdentity(DownlinkIdentityKind.Other, 0x1234, 0, 0));

    [Fact]
    public void A_pre_registration_leaves_the_binding_at_the_source_and_adds_the_destination_as_second_mag()
    {
        var l = new Lma();
        var actions = l.Migrating();
        var pba = Pba(actions);
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        Assert.Equal([Hnp], pba.HomeNetworkPrefixes);
        // The option is echoed with the transient lifetime granted; the PBA's lifetime is what is left of the binding.
        Assert.Equal(TransientBindingOption.For(true, TimeSpan.FromSeconds(20)), pba.TransientBinding);
        Assert.InRange(pba.LifetimeSpan, TimeSpan.FromSeconds(3590), TimeSpan.FromSeconds(3600));
        Assert.Equal(Destination, Assert.Single(actions.OfType<LmaAction.TunnelUp>()).Mag);
        Assert.Empty(actions.OfType<LmaAction.RouteAdd>()); // the serving MAG keeps the route
        Assert.Equal(new LmaAction.RouteSecondary(Hnp, Destination, CopyDownlink: true, ServingMagDownlink: true),
            Assert.Single(actions.OfType<LmaAction.RouteSecondary>()));
        Assert.Equal(BindingChange.PreRegistered, Assert.Single(actions.OfType<LmaAction.BindingChanged>()).Change);
        var b = l.Binding;
        Assert.Equal(Source, b.ProxyCareOfAddress);
        Assert.Equal(Destination, b.TransientMag);
        Assert.Equal((1, 2, 1), ((int)l.H.TransientRegistrations, l.M.TunnelCount, l.M.TransientBindingCount));
    }

    [Fact]
    public void Without_bicast_the_destination_gets_no_downlink_until_the_source_stops()
    {
        var l = new Lma(bicast: false);
        var secondary = Assert.Single(l.Migrating().OfType<LmaAction.RouteSecondary>());
        Assert.Equal((Destination, false, true), (secondary.Mag, secondary.CopyDownlink, secondary.ServingMagDownlink));
        var stop = l.Send(Source, StopNotice(Marker));
        Assert.Equal(new LmaAction.RouteSecondary(Hnp, Destination, CopyDownlink: true, ServingMagDownlink: false),
            Assert.Single(stop.OfType<LmaAction.RouteSecondary>()));
    }

    [Fact]
    public void The_stop_notice_is_relayed_to_the_destination_with_the_marker_and_with_bicast_the_source_keeps_its_copy()
    {
        var l = new Lma();
        l.Migrating();
        var actions = l.Send(Source, StopNotice(Marker));
        // Bicast: the stopped source holds its copy for its VM (it gets it if the migration fails); the destination keeps its own.
        Assert.Equal(new LmaAction.RouteSecondary(Hnp, Destination, CopyDownlink: true, ServingMagDownlink: true),
            Assert.Single(actions.OfType<LmaAction.RouteSecondary>()));
        var sends = actions.OfType<LmaAction.SendMobilityMessage>().ToList();
        var relay = Assert.Single(sends, s => s.Message is HandoverInitiate);
        Assert.Equal((LmaAddr, Destination), (relay.Source, relay.Destination));
        var hi = (HandoverInitiate)relay.Message;
        Assert.Equal(Marker, hi.DeliveryMarker);
        Assert.Equal(Nai, hi.MobileNodeIdentifier!.Nai);
        var ack = Assert.Single(sends, s => s.Message is HandoverAcknowledge);
        Assert.Equal(Source, ack.Destination);
        Assert.Equal((ushort)9, ((HandoverAcknowledge)ack.Message).Sequence);
        Assert.Equal(HandoverAcknowledgeCode.HandoverAccepted, ((HandoverAcknowledge)ack.Message).Code);
        Assert.True(l.Binding.ServingMagStopped);
        Assert.Equal(Source, l.Binding.ProxyCareOfAddress); // the binding moves only with the destination's PBU
        Assert.Equal(1, l.H.StopNoticesRelayed);
    }

    [Fact]
    public void A_stop_notice_without_a_pre_registered_destination_is_refused_with_131_and_changes_nothing()
    {
        var l = new Lma();
        l.Send(Source, l.Pbu(HandoffIndicator.AttachmentOverNewInterface));
        var actions = l.Send(Source, StopNotice(Marker));
        var ack = (HandoverAcknowledge)Assert.Single(actions.OfType<LmaAction.SendMobilityMessage>()).Message;
        Assert.Equal(HandoverAcknowledgeCode.RequestedContextNotAvailable, ack.Code);
        Assert.Empty(actions.OfType<LmaAction.RouteSecondary>());
        Assert.False(l.Binding.ServingMagStopped);
        Assert.Equal(1, l.H.StopNoticesWithoutDestination);
    }

    [Fact]
    public void A_stop_notice_that_arrives_after_the_destination_took_over_is_still_relayed_to_it()
    {
        var l = new Lma();
        l.Migrating();
        l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface));
        var relay = Assert.Single(l.Send(Source, StopNotice(Marker)).OfType<LmaAction.SendMobilityMessage>(), s => s.Message is HandoverInitiate);
        Assert.Equal(Destination, relay.Destination);
    }

    [Fact]
    public void The_destinations_activation_takes_the_binding_over_and_ends_the_transient_binding()
    {
        var l = new Lma();
        l.Migrating();
        l.Send(Source, StopNotice(Marker));
        var actions = l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface));
        Assert.Equal(BindingAckStatus.Accepted, Pba(actions).Status);
        Assert.Null(Pba(actions).TransientBinding);
        Assert.Equal(new LmaAction.RouteAdd(Hnp, Destination), Assert.Single(actions.OfType<LmaAction.RouteAdd>()));
        Assert.Equal(Source, Assert.Single(actions.OfType<LmaAction.TunnelDown>()).Mag);
        Assert.Empty(actions.OfType<LmaAction.TunnelUp>()); // the destination's tunnel was up already
        var b = l.Binding;
        Assert.Equal((Destination, (Ipv6Address?)null, false), (b.ProxyCareOfAddress!.Value, b.TransientMag, b.ServingMagStopped));
        Assert.Equal((1, 1, 0), (l.M.TunnelCount, l.M.TunnelReferences(Destination), l.M.TransientBindingCount));
        Assert.Equal(1, l.H.TransientActivations);
        // The source's late de-registration leaves the entry alone.
        l.Send(Source, l.Pbu(HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal(Destination, l.Binding.ProxyCareOfAddress);
    }

    [Fact]
    public void A_cancelled_migration_leaves_the_source_with_everything_and_nothing_stale()
    {
        var l = new Lma();
        l.Migrating();
        l.Send(Source, StopNotice(Marker)); // even after the stop (the migration failed late)
        var actions = l.Send(Destination, l.Pbu(HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal(BindingAckStatus.Accepted, Pba(actions).Status);
        Assert.Equal(new LmaAction.RouteSecondary(Hnp, null, false, true), Assert.Single(actions.OfType<LmaAction.RouteSecondary>()));
        Assert.Equal(Destination, Assert.Single(actions.OfType<LmaAction.TunnelDown>()).Mag);
        var b = l.Binding;
        Assert.Equal((Source, (Ipv6Address?)null, false), (b.ProxyCareOfAddress!.Value, b.TransientMag, b.ServingMagStopped));
        Assert.Equal((1, 0), (l.M.TunnelCount, l.M.TransientBindingCount));
        Assert.Equal(1, l.H.TransientsCancelled);
    }

    [Fact]
    public void A_pre_registration_that_is_not_refreshed_expires_and_the_source_keeps_its_binding()
    {
        var l = new Lma();
        l.Migrating(TimeSpan.FromSeconds(2));
        var actions = l.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(new LmaAction.RouteSecondary(Hnp, null, false, true), Assert.Single(actions.OfType<LmaAction.RouteSecondary>()));
        Assert.Equal(BindingChange.PreRegistrationEnded, Assert.Single(actions.OfType<LmaAction.BindingChanged>()).Change);
        Assert.Null(l.Binding.TransientMag);
        Assert.Equal((1, 1), (l.M.TunnelCount, (int)l.H.TransientsExpired));
        Assert.Equal(Source, l.Binding.ProxyCareOfAddress);
    }

    [Fact]
    public void Refreshes_keep_the_pre_registration_beyond_its_lifetime()
    {
        var l = new Lma();
        l.Migrating(TimeSpan.FromSeconds(2));
        for (int i = 0; i < 5; i++)
        {
            l.Advance(TimeSpan.FromSeconds(1));
            var pba = Pba(l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: TransientBindingOption.For(true, TimeSpan.FromSeconds(2)))));
            Assert.NotNull(pba.TransientBinding);
        }
        Assert.Equal(Destination, l.Binding.TransientMag);
        Assert.Equal(5, l.H.TransientRefreshes);
        Assert.Equal(0, l.H.TransientsExpired);
    }

    [Fact]
    public void When_the_source_lets_go_first_the_pre_registered_destination_takes_the_binding()
    {
        var l = new Lma();
        l.Migrating();
        var actions = l.Send(Source, l.Pbu(HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal(BindingAckStatus.Accepted, Pba(actions).Status);
        Assert.Equal(new LmaAction.RouteAdd(Hnp, Destination), Assert.Single(actions.OfType<LmaAction.RouteAdd>()));
        Assert.Empty(actions.OfType<LmaAction.RouteRemove>());
        var b = l.Binding;
        Assert.Equal((BindingCacheState.Active, Destination, (Ipv6Address?)null), (b.State, b.ProxyCareOfAddress!.Value, b.TransientMag));
        Assert.Equal(1, l.H.TransientsPromoted);
        // The destination does not know yet: its VM has not resumed there. Its pre-registration refresh is answered as one
        // (the option echoed), so that it still sends its activation when the VM arrives; the binding lives on meanwhile.
        l.Advance(TimeSpan.FromSeconds(15));
        var older = l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: TransientBindingOption.For(true, TimeSpan.FromSeconds(20)));
        l.Advance(TimeSpan.FromMilliseconds(100)); // within the LMA's timestamp window (300 ms)
        var refresh = Pba(l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: TransientBindingOption.For(true, TimeSpan.FromSeconds(20)))));
        Assert.Equal(BindingAckStatus.Accepted, refresh.Status);
        Assert.Equal(TimeSpan.FromSeconds(20), refresh.TransientBinding!.LifetimeSpan);
        Assert.Equal(1, l.H.TransientRefreshes);
        // An older pre-registration PBU of that MAG, arriving late, is refused as before its promotion.
        Assert.Equal(BindingAckStatus.TimestampLowerThanPreviousAccepted, Pba(l.Send(Destination, older)).Status);
        l.Advance(TimeSpan.FromSeconds(10)); // past the lifetime the promotion left it (20 s), within the refreshed one
        Assert.Equal((BindingCacheState.Active, Destination), (l.Binding.State, l.Binding.ProxyCareOfAddress!.Value));
        // Its activation (no option: the VM runs there) is an ordinary re-registration.
        var activation = Pba(l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        Assert.Equal(BindingAckStatus.Accepted, activation.Status);
        Assert.Null(activation.TransientBinding);
        Assert.Equal(Destination, l.Binding.ProxyCareOfAddress);
        Assert.Equal(0, l.H.TransientActivations);
    }

    [Fact]
    public void A_second_destination_replaces_the_first()
    {
        var l = new Lma();
        l.Migrating();
        var actions = l.Send(Third, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: TransientBindingOption.For(true, TimeSpan.FromSeconds(20))));
        Assert.Equal(BindingAckStatus.Accepted, Pba(actions).Status);
        Assert.Equal(Destination, Assert.Single(actions.OfType<LmaAction.TunnelDown>()).Mag);
        Assert.Equal(Third, l.Binding.TransientMag);
        Assert.Equal(1, l.H.TransientsReplaced);
        // The replaced one cancelling later is a late de-registration: it touches nothing.
        l.Send(Destination, l.Pbu(HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal(Third, l.Binding.TransientMag);
    }

    [Fact]
    public void A_pre_registration_for_a_vm_nobody_serves_takes_the_binding_held_for_its_activation()
    {
        var l = new Lma();
        var actions = l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: TransientBindingOption.For(true, TimeSpan.FromSeconds(20))));
        var pba = Pba(actions);
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        // The binding is the destination's at once (nobody else can deliver), for the transient lifetime, and the option
        // is echoed: the MAG keeps the VM pre-registered and says when it arrives.
        Assert.Equal(TransientBindingOption.For(true, TimeSpan.FromSeconds(20)), pba.TransientBinding);
        Assert.Equal(TimeSpan.FromSeconds(20), pba.LifetimeSpan);
        Assert.Equal(new LmaAction.RouteAdd(Hnp, Destination), Assert.Single(actions.OfType<LmaAction.RouteAdd>()));
        Assert.Equal((Destination, (Ipv6Address?)null, true), (l.Binding.ProxyCareOfAddress!.Value, l.Binding.TransientMag, l.Binding.AwaitingActivation));
        Assert.Equal(1, l.H.LatePreRegistrations);
        // Its activation (no option: the VM runs there) makes it an ordinary binding of the full lifetime.
        l.Advance(TimeSpan.FromSeconds(1));
        var activation = Pba(l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        Assert.Equal(BindingAckStatus.Accepted, activation.Status);
        Assert.Null(activation.TransientBinding);
        Assert.Equal(TimeSpan.FromSeconds(3600), activation.LifetimeSpan);
        Assert.False(l.Binding.AwaitingActivation);
    }

    [Fact]
    public void A_pre_registration_that_arrives_after_the_source_let_go_is_held_for_its_activation_and_expires_if_the_vm_never_comes()
    {
        var l = new Lma();
        Assert.Equal(BindingAckStatus.Accepted, Pba(l.Send(Source, l.Pbu(HandoffIndicator.AttachmentOverNewInterface))).Status);
        Assert.Equal(BindingAckStatus.Accepted, Pba(l.Send(Source, l.Pbu(HandoffIndicator.HandoffStateNotChanged, lifetime: 0))).Status);
        var pba = Pba(l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: TransientBindingOption.For(true, TimeSpan.FromSeconds(20)))));
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        Assert.NotNull(pba.TransientBinding);
        Assert.Equal((BindingCacheState.Active, Destination, true), (l.Binding.State, l.Binding.ProxyCareOfAddress!.Value, l.Binding.AwaitingActivation));
        Assert.Equal(1, l.H.LatePreRegistrations);
        // Its refreshes are answered as the pre-registration refreshes they are.
        l.Advance(TimeSpan.FromSeconds(10));
        var refresh = Pba(l.Send(Destination, l.Pbu(HandoffIndicator.HandoffBetweenMagsForSameInterface, transient: TransientBindingOption.For(true, TimeSpan.FromSeconds(20)))));
        Assert.NotNull(refresh.TransientBinding);
        Assert.Equal(1, l.H.TransientRefreshes);
        // Nothing more from that MAG (its host went): the binding ends with the transient lifetime, not the hour asked for.
        var expiry = l.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(new LmaAction.RouteRemove(Hnp), Assert.Single(expiry.OfType<LmaAction.RouteRemove>()));
    }

    [Fact]
    public void The_serving_mag_registering_again_after_its_stop_notice_gets_its_downlink_back()
    {
        var l = new Lma();
        l.Migrating();
        l.Send(Source, StopNotice(Marker));
        var actions = l.Send(Source, l.Pbu(HandoffIndicator.HandoffStateNotChanged));
        Assert.Equal(new LmaAction.RouteSecondary(Hnp, Destination, true, true), Assert.Single(actions.OfType<LmaAction.RouteSecondary>()));
        Assert.False(l.Binding.ServingMagStopped);
    }

    [Fact]
    public void Malformed_or_unauthorised_stop_notices_are_refused_and_change_nothing()
    {
        var l = new Lma();
        l.Migrating();
        var stranger = Ipv6Address.Parse("2001:db8:9::9");
        var notProxy = StopNotice(Marker) with { Flags = HandoverInitiateFlags.None };
        var noPrefix = StopNotice(Marker) with { Options = new MobilityOptionList([MobileNodeIdentifierOption.ForNai(Nai)]) };
        foreach (var (from, hi) in new[] { (stranger, StopNotice(Marker)), (Source, notProxy), (Source, noPrefix) })
        {
            var ack = (HandoverAcknowledge)Assert.Single(l.Send(from, hi).OfType<LmaAction.SendMobilityMessage>()).Message;
            Assert.False(ack.IsAccepted);
        }
        Assert.False(l.Binding.ServingMagStopped);
        Assert.Equal(3, l.H.StopNoticesRefused);
        // A notice from the destination (not the serving MAG) moves nothing either.
        Assert.Empty(l.Send(Destination, StopNotice(Marker)).OfType<LmaAction.RouteSecondary>());
    }
}
