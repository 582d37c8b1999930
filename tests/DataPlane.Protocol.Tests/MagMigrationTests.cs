using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// The MAG's side of a live migration, event by event. As destination: the incoming port pre-registers the VM (a PBU
/// with the Transient Binding option), installs its forwarding with the downlink held, and the VM's first frame
/// activates it (RA at once, buffer released once the source's marker is here or the wait ran out, the binding taken
/// over by an ordinary PBU). As source: the hypervisor's STOP becomes a stop notice with the delivery marker.
/// </summary>
public class MagMigrationTests
{
    private static readonly DeliveryMarker Marker = new(true, new DownlinkIdentity(DownlinkIdentityKind.Other, 0xabcd, 0, 0));

    private static MagHarness Harness(Func<MagOptions, MagOptions>? configure = null) =>
        new(o => (configure?.Invoke(o) ?? o) with { InitialBindackTimeoutFirstReg = TimeSpan.FromMilliseconds(300) });

    /// <summary>The PBA an LMA sends for a pre-registration: the option echoed (transient), or not (it made us the serving MAG).</summary>
    private static BindingAcknowledgement PreRegistrationPba(BindingUpdate pbu, bool transient = true)
    {
        var pba = MagHarness.Pba(pbu, lifetimeUnits: 900);
        return transient ? pba with { Options = new MobilityOptionList([.. pba.Options, pbu.TransientBinding!]) } : pba;
    }

    private static HandoverInitiate Relayed(DeliveryMarker marker) => new(1, HandoverInitiateFlags.Proxy, HandoverInitiateCode.CompletionOfForwarding)
    {
        Options = new MobilityOptionList([new HomeNetworkPrefixOption(MagHarness.Hnp), MobileNodeIdentifierOption.ForNai(MagHarness.Nai), new DeliveryMarkerOption(marker)]),
    };

    /// <summary>Port plugged in as incoming, policy answered: the pre-registration PBU.</summary>
    private static BindingUpdate StartPreRegistration(MagHarness h)
    {
        var request = Assert.IsType<MagAction.RequestPolicy>(Assert.Single(h.Handle(new MagEvent.IncomingMigration(MagHarness.Port, MagHarness.VmMac))));
        return MagHarness.SinglePbu(h.Handle(new MagEvent.PolicyDecided(request.RequestId, MagHarness.Profile(MagHarness.Hnp))));
    }

    private static (BindingUpdate Pbu, List<MagAction> Accepted) PreRegister(MagHarness h, bool transient = true)
    {
        var pbu = StartPreRegistration(h);
        h.Now += TimeSpan.FromMilliseconds(20);
        return (pbu, h.Receive(PreRegistrationPba(pbu, transient)));
    }

    /// <summary>Advance with the VM absent, answering every pre-registration refresh as the LMA would.</summary>
    private static List<MagAction> AdvanceAnsweringRefreshes(MagHarness h, TimeSpan by)
    {
        var end = h.Now + by;
        var all = new List<MagAction>();
        while (h.Mag.NextDeadline is { } due && due <= end)
        {
            h.Now = Instant.Max(h.Now, due);
            var actions = h.Mag.Tick(h.Now).ToList();
            all.AddRange(actions);
            foreach (var pbu in MagHarness.Pbus(actions).Where(p => p.TransientBinding is not null).ToList())
            {
                h.Now += TimeSpan.FromMilliseconds(5);
                all.AddRange(h.Receive(PreRegistrationPba(pbu)));
            }
        }
        h.Now = end;
        return all;
    }

    private static MigrationPhase Phase(MagHarness h) => h.Mag.TryGetSession(MagHarness.Port, out var s) ? s.Migration : MigrationPhase.None;

    [Fact]
    public void An_incoming_port_pre_registers_with_the_transient_binding_option_and_holds_the_downlink()
    {
        var h = Harness();
        var pbu = StartPreRegistration(h);
        Assert.Equal(HandoffIndicator.HandoffBetweenMagsForSameInterface, pbu.HandoffIndicator);
        Assert.Equal([MagHarness.Hnp], pbu.HomeNetworkPrefixes);
        Assert.Equal(TransientBindingOption.For(true, TimeSpan.FromSeconds(20)), pbu.TransientBinding);
        Assert.Equal(MigrationPhase.PreRegistering, Phase(h));

        h.Now += TimeSpan.FromMilliseconds(20);
        var actions = h.Receive(PreRegistrationPba(pbu));
        var install = Assert.IsType<MagAction.InstallPreRegistration>(Assert.Single(actions));
        Assert.Equal((MagHarness.Port, MagHarness.VmMac, MagHarness.Lma), (install.Port, install.Mac, install.LocalMobilityAnchor));
        Assert.Equal([MagHarness.Hnp], install.HomeNetworkPrefixes);
        Assert.True(h.Mag.TryGetSession(MagHarness.Port, out var s));
        Assert.Equal((SessionState.PreRegistered, MigrationPhase.PreRegistered, true), (s.State, s.Migration, s.ForwardingInstalled));
        Assert.Equal(1, h.C.Handover.PreRegistrationsAccepted);
        // No RA and no NUD while the VM is not here: ten minutes pass with only the transient refreshes, every 10 s
        // (half the lifetime granted).
        var later = AdvanceAnsweringRefreshes(h, TimeSpan.FromMinutes(10));
        Assert.Empty(later.OfType<MagAction.SendRouterAdvertisement>());
        Assert.Empty(later.OfType<MagAction.SendNeighborSolicitation>());
        var refreshes = MagHarness.Pbus(later).ToList();
        Assert.All(refreshes, p => Assert.NotNull(p.TransientBinding));
        Assert.InRange(refreshes.Count, 59, 61);
        Assert.Equal(MigrationPhase.PreRegistered, Phase(h));
    }

    [Fact]
    public void The_marker_before_the_vm_trims_the_buffer_and_the_vms_first_frame_releases_it_at_once()
    {
        var h = Harness();
        PreRegister(h);
        h.Now += TimeSpan.FromSeconds(2);
        var relayed = h.Receive(Relayed(Marker));
        Assert.Equal(new MagAction.ApplyDeliveryMarker(MagHarness.Port, Marker), Assert.Single(relayed.OfType<MagAction.ApplyDeliveryMarker>()));
        var ack = (HandoverAcknowledge)Assert.Single(relayed.OfType<MagAction.SendMobilityMessage>()).Message;
        Assert.Equal(HandoverAcknowledgeCode.HandoverAccepted, ack.Code);

        h.Now += TimeSpan.FromMilliseconds(5);
        var arrival = h.Attach(AttachTrigger.Rarp);
        // In this order: the activation PBU, the RA, the release, the handover record. Nothing waits on the LMA.
        var activation = MagHarness.SinglePbu(arrival);
        Assert.Null(activation.TransientBinding);
        Assert.Equal(HandoffIndicator.HandoffBetweenMagsForSameInterface, activation.HandoffIndicator);
        Assert.Single(arrival.OfType<MagAction.SendRouterAdvertisement>());
        Assert.Equal(new MagAction.ReleaseBuffer(MagHarness.Port, DiscardBeforeActivation: false), Assert.Single(arrival.OfType<MagAction.ReleaseBuffer>()));
        var done = Assert.Single(arrival.OfType<MagAction.HandoverCompleted>());
        Assert.Equal(TimeSpan.Zero, done.Timings.Total);
        Assert.NotNull(done.Timings.PreRegistered);
        Assert.False(done.Timings.EndMarkerTimedOut);
        Assert.True(arrival.IndexOf(arrival.OfType<MagAction.SendRouterAdvertisement>().Single()) < arrival.IndexOf(arrival.OfType<MagAction.ReleaseBuffer>().Single()));
        Assert.True(h.Mag.TryGetSession(MagHarness.Port, out var s));
        Assert.Equal((SessionState.Established, MigrationPhase.None), (s.State, s.Migration));

        // The activation's PBA makes it an ordinary binding with its refresh.
        h.Now += TimeSpan.FromMilliseconds(20);
        Assert.Empty(h.Receive(MagHarness.Pba(activation)));
        Assert.True(Assert.Single(h.Mag.BindingUpdateList).Registered);
        Assert.Equal(1, h.C.Handover.ActivationsAccepted);
    }

    [Fact]
    public void A_vm_that_arrives_before_the_marker_waits_for_it_and_then_gets_all_of_its_buffer()
    {
        var h = Harness(o => o with { EndMarkerWait = TimeSpan.FromMilliseconds(50) });
        PreRegister(h);
        var arrival = h.Attach(AttachTrigger.Rarp);
        Assert.Empty(arrival.OfType<MagAction.ReleaseBuffer>());
        Assert.Equal(MigrationPhase.AwaitingMarker, Phase(h));
        h.Now += TimeSpan.FromMilliseconds(20);
        var relayed = h.Receive(Relayed(Marker));
        Assert.Single(relayed.OfType<MagAction.ApplyDeliveryMarker>());
        Assert.False(Assert.Single(relayed.OfType<MagAction.ReleaseBuffer>()).DiscardBeforeActivation);
        var done = Assert.Single(relayed.OfType<MagAction.HandoverCompleted>());
        Assert.Equal(TimeSpan.FromMilliseconds(20), done.Timings.Total);
        Assert.True(relayed.IndexOf(relayed.OfType<MagAction.ApplyDeliveryMarker>().Single()) < relayed.IndexOf(relayed.OfType<MagAction.ReleaseBuffer>().Single()));
    }

    [Fact]
    public void Without_a_marker_the_buffer_is_released_after_the_wait_without_what_came_before_the_vm()
    {
        var h = Harness(o => o with { EndMarkerWait = TimeSpan.FromMilliseconds(50) });
        PreRegister(h);
        h.Attach(AttachTrigger.Rarp);
        var later = h.Advance(TimeSpan.FromMilliseconds(49));
        Assert.Empty(later.OfType<MagAction.ReleaseBuffer>());
        later = h.Advance(TimeSpan.FromMilliseconds(2));
        Assert.True(Assert.Single(later.OfType<MagAction.ReleaseBuffer>()).DiscardBeforeActivation);
        Assert.True(Assert.Single(later.OfType<MagAction.HandoverCompleted>()).Timings.EndMarkerTimedOut);
        Assert.Equal(1, h.C.Handover.EndMarkerTimeouts);
        // A marker that comes after that is too late to use: counted, acknowledged, nothing else.
        var late = h.Receive(Relayed(Marker));
        Assert.Empty(late.OfType<MagAction.ApplyDeliveryMarker>());
        Assert.Equal(1, h.C.Handover.EndMarkersLate);
    }

    [Fact]
    public void The_automatic_marker_wait_is_the_pre_registrations_round_trip_plus_10_ms()
    {
        var h = Harness();
        PreRegister(h); // answered 20 ms after it was sent
        h.Attach(AttachTrigger.Rarp);
        Assert.Empty(h.Advance(TimeSpan.FromMilliseconds(29)).OfType<MagAction.ReleaseBuffer>());
        Assert.Single(h.Advance(TimeSpan.FromMilliseconds(2)).OfType<MagAction.ReleaseBuffer>());
    }

    [Fact]
    public void When_the_lma_made_us_the_serving_mag_at_once_the_vms_arrival_needs_no_marker_and_no_pbu()
    {
        var h = Harness();
        var (_, accepted) = PreRegister(h, transient: false);
        Assert.Single(accepted.OfType<MagAction.InstallPreRegistration>());
        Assert.True(Assert.Single(h.Mag.BindingUpdateList).Registered);
        var arrival = h.Attach(AttachTrigger.Rarp);
        Assert.Empty(MagHarness.Pbus(arrival));
        Assert.False(Assert.Single(arrival.OfType<MagAction.ReleaseBuffer>()).DiscardBeforeActivation);
    }

    [Fact]
    public void A_vm_that_arrives_while_the_pre_registration_is_on_its_way_is_activated_by_its_answer()
    {
        var h = Harness(o => o with { EndMarkerWait = TimeSpan.FromMilliseconds(50) });
        var pbu = StartPreRegistration(h);
        h.Now += TimeSpan.FromMilliseconds(5);
        Assert.Empty(h.Attach(AttachTrigger.Rarp));
        h.Now += TimeSpan.FromMilliseconds(15);
        var actions = h.Receive(PreRegistrationPba(pbu));
        Assert.Single(actions.OfType<MagAction.InstallPreRegistration>());
        Assert.Null(MagHarness.SinglePbu(actions).TransientBinding); // the activation
        Assert.Single(actions.OfType<MagAction.SendRouterAdvertisement>());
        Assert.Equal(MigrationPhase.AwaitingMarker, Phase(h));
        Assert.Equal(1, h.C.Handover.ArrivedWhilePreRegistering);
    }

    [Fact]
    public void A_pre_registered_vm_that_never_arrives_is_given_up_and_its_port_still_registers_it_later()
    {
        var h = Harness(o => o with { PreRegistrationTimeout = TimeSpan.FromMinutes(2) });
        PreRegister(h);
        var expiry = AdvanceAnsweringRefreshes(h, TimeSpan.FromMinutes(3));
        var remove = Assert.Single(expiry.OfType<MagAction.RemoveSession>());
        Assert.Equal(DetachReason.PreRegistrationExpired, remove.Reason);
        Assert.Contains(MagHarness.Pbus(expiry), p => p.IsDeregistration); // the LMA drops the transient binding
        Assert.False(h.Mag.TryGetSession(MagHarness.Port, out _));
        Assert.Equal(1, h.C.Handover.PreRegistrationsExpired);
        // The VM does come after all: its first frame registers it as any arriving VM.
        Assert.IsType<MagAction.RequestPolicy>(Assert.Single(h.Attach(AttachTrigger.Rarp)));
    }

    [Fact]
    public void A_pre_registration_whose_refreshes_go_unanswered_is_given_up()
    {
        var h = Harness();
        PreRegister(h);
        var later = h.Advance(TimeSpan.FromMinutes(2), vmAlive: false);
        Assert.Single(later.OfType<MagAction.RemoveSession>());
        Assert.Contains(MagHarness.Pbus(later), p => p.IsDeregistration);
        Assert.Equal(1, h.C.Handover.PreRegistrationsUnanswered);
    }

    [Fact]
    public void An_incoming_port_removed_before_the_vm_came_cancels_the_pre_registration()
    {
        var h = Harness();
        PreRegister(h);
        var actions = h.Handle(new MagEvent.PortDetached(MagHarness.Port, DetachReason.PortRemoved));
        Assert.Single(actions.OfType<MagAction.RemoveSession>());
        var dereg = MagHarness.SinglePbu(actions);
        Assert.True(dereg.IsDeregistration);
        Assert.Empty(h.Mag.Sessions);
    }

    [Fact]
    public void A_refused_pre_registration_falls_back_to_registering_on_the_first_frame()
    {
        var h = Harness();
        var pbu = StartPreRegistration(h);
        var actions = h.Receive(MagHarness.Pba(pbu, BindingAckStatus.AdministrativelyProhibited));
        Assert.Empty(actions.OfType<MagAction.InstallPreRegistration>());
        Assert.Empty(h.Mag.Sessions);
        Assert.Equal(1, h.C.Handover.PreRegistrationsRejected);
        Assert.IsType<MagAction.RequestPolicy>(Assert.Single(h.Attach(AttachTrigger.Rarp)));
    }

    [Fact]
    public void With_pre_registration_off_an_incoming_port_waits_for_the_vm_as_before()
    {
        var h = Harness(o => o with { PreRegistration = false });
        Assert.Empty(h.Handle(new MagEvent.IncomingMigration(MagHarness.Port, MagHarness.VmMac)));
        Assert.Equal(1, h.C.Handover.PreRegistrationsDisabled);
        Assert.Empty(h.Mag.Sessions);
    }

    [Fact]
    public void A_rejected_activation_fails_the_session_and_removes_its_forwarding()
    {
        var h = Harness();
        PreRegister(h);
        h.Receive(Relayed(Marker));
        var activation = MagHarness.SinglePbu(h.Attach(AttachTrigger.Rarp));
        var actions = h.Receive(MagHarness.Pba(activation, BindingAckStatus.NotAuthorizedForHomeNetworkPrefix));
        Assert.Single(actions.OfType<MagAction.RemoveSession>());
        Assert.Single(actions.OfType<MagAction.SessionFailed>());
    }

    // ---- Source ---------------------------------------------------------------------------------------------------

    [Fact]
    public void A_stopped_vm_becomes_a_stop_notice_with_the_marker_retransmitted_until_acknowledged()
    {
        var h = Harness();
        h.Establish();
        var actions = h.Handle(new MagEvent.VmStopped(MagHarness.Port, Marker));
        var send = Assert.Single(actions.OfType<MagAction.SendMobilityMessage>());
        Assert.Equal((MagHarness.Coa, MagHarness.Lma), (send.Source, send.Destination));
        var hi = Assert.IsType<HandoverInitiate>(send.Message);
        Assert.Equal((HandoverInitiateFlags.Proxy, HandoverInitiateCode.CompletionOfForwarding), (hi.Flags, hi.Code));
        Assert.Equal(Marker, hi.DeliveryMarker);
        Assert.Equal([MagHarness.Hnp], hi.HomeNetworkPrefixes);
        Assert.Equal(MagHarness.Nai, hi.MobileNodeIdentifier!.Nai);
        Assert.Equal(MigrationPhase.VmStopped, Phase(h));

        // Unanswered: two retransmissions, then it gives up.
        var later = h.Advance(TimeSpan.FromSeconds(5), vmAlive: false);
        Assert.Equal(2, later.OfType<MagAction.SendMobilityMessage>().Count(s => s.Message is HandoverInitiate));
        Assert.Empty(later.OfType<MagAction.SendNeighborSolicitation>()); // no NUD on a stopped VM
        Assert.Equal(1, h.C.Handover.StopNoticesUnanswered);
    }

    [Fact]
    public void An_acknowledged_stop_notice_is_not_sent_again()
    {
        var h = Harness();
        h.Establish();
        var hi = (HandoverInitiate)h.Handle(new MagEvent.VmStopped(MagHarness.Port, Marker)).OfType<MagAction.SendMobilityMessage>().Single().Message;
        h.Receive(new HandoverAcknowledge(hi.Sequence, HandoverAcknowledgeFlags.Proxy, HandoverAcknowledgeCode.HandoverAccepted)
        {
            Options = new MobilityOptionList([MobileNodeIdentifierOption.ForNai(MagHarness.Nai)]),
        });
        Assert.DoesNotContain(h.Advance(TimeSpan.FromSeconds(5), vmAlive: false).OfType<MagAction.SendMobilityMessage>(), s => s.Message is HandoverInitiate);
        Assert.Equal(1, h.C.Handover.StopNoticesAccepted);
    }

    [Fact]
    public void A_vm_that_runs_again_after_its_stop_takes_its_downlink_back_with_a_registration()
    {
        var h = Harness();
        h.Establish();
        h.Handle(new MagEvent.VmStopped(MagHarness.Port, Marker));
        var actions = h.Handle(new MagEvent.VmResumed(MagHarness.Port));
        var refresh = MagHarness.SinglePbu(actions);
        Assert.Equal(HandoffIndicator.HandoffStateNotChanged, refresh.HandoffIndicator);
        Assert.Equal(MigrationPhase.None, Phase(h));
        Assert.Equal(1, h.C.Handover.VmResumedAfterStop);
    }

    [Fact]
    public void A_stop_for_a_port_without_a_registered_session_is_ignored()
    {
        var h = Harness();
        Assert.Empty(h.Handle(new MagEvent.VmStopped(MagHarness.Port, Marker)));
        h.Register();
        Assert.Empty(h.Handle(new MagEvent.VmStopped(MagHarness.Port, Marker)));
        Assert.Equal(2, h.C.Handover.StopsIgnored);
    }
}
