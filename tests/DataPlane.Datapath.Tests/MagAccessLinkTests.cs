using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// The emulated point-to-point home link, scenario by scenario (frames in, frames and counters out,
/// compared byte for byte where scapy made the expected frame).
/// </summary>
public class MagAccessLinkTests
{
    [Fact]
    public void Router_solicitation_raises_the_attachment_and_the_registration_ends_in_a_unicast_ra_with_exactly_the_vms_prefix()
    {
        var f = new MagFixture();
        var (verdict, _) = f.FromVm(ScapyVectors.RouterSolicitation);
        Assert.Equal(VerdictKind.Consumed, verdict.Kind);
        Assert.Equal(1, f.Mag.Counters.AttachTriggers[AttachTrigger.RouterSolicitation]);
        Assert.Equal(1, f.Mag.Counters.SessionsStartedBy[AttachTrigger.RouterSolicitation]);
        Assert.True(f.Mag.TryGetSession(MagFixture.Port, out var session));
        Assert.Equal(MagFixture.VmLinkLocal, session.VmLinkLocal); // the RS source
        Assert.Equal(MagFixture.VmMac, session.Mac);               // learned from the first frame
        var request = Assert.IsType<MagAction.RequestPolicy>(Assert.Single(f.Dp.HostActions));
        Assert.Equal(MagFixture.VmMac, request.Mac);
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.RouterSolicitation]);
        Assert.Empty(f.TakeControl()); // nothing to say before the binding exists

        var pbu = f.AnswerPolicy();
        Assert.True(pbu.IsProxy);
        Assert.Equal([MagFixture.Hnp], pbu.HomeNetworkPrefixes);
        f.AcceptPbu(pbu);
        var control = f.TakeControl();
        var (meta, ra) = Assert.Single(control);
        Assert.Equal(new ControlFrame(ControlSink.Port, ControlMessageKind.RouterAdvertisement, MagFixture.Port, MagFixture.SharedLinkLocal,
            MagFixture.VmLinkLocal, ra.Length), meta);
        Assert.Equal(ScapyVectors.RouterAdvertisementFromMag, Hex.Of(ra));
        Assert.Contains(f.TakeHostActions(), a => a is MagAction.HandoverCompleted);
        Assert.True(f.Dp.TryLookupPrefix(MagFixture.VmAddress, out var port));
        Assert.Equal(MagFixture.Port, port);
    }

    [Fact]
    public void Neighbor_solicitation_for_the_shared_link_local_address_is_answered_from_the_shared_mac()
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, _) = f.FromVm(ScapyVectors.NeighborSolicitationForSharedLinkLocal);
        Assert.Equal(VerdictKind.Consumed, verdict.Kind);
        var (meta, na) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.NeighborAdvertisement, meta.Kind);
        Assert.Equal(MagFixture.Port, meta.Port);
        Assert.Equal(ScapyVectors.NeighborAdvertisementFromMag, Hex.Of(na));
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.NeighborSolicitationForRouter]);
    }

    [Fact]
    public void Neighbor_solicitation_for_a_configured_router_address_is_answered_and_others_are_not()
    {
        var gateway = Ipv6Address.Parse("2001:db8:1::1");
        var f = new MagFixture(options: new MagDatapathOptions { RouterAddresses = [gateway] });
        f.Establish();
        Assert.Equal(VerdictKind.Consumed, f.FromVm(NeighborSolicitation(gateway)).Verdict.Kind);
        var (_, na) = Assert.Single(f.TakeControl());
        var ip = Ipv6(na);
        Assert.Equal(gateway, ip.Source);
        Assert.Equal(MagFixture.VmAddress, ip.Destination);
        Assert.True(NeighborAdvertisement.TryParse(ip.Payload, out var parsed, out _));
        Assert.Equal(new NeighborAdvertisement(NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override,
            gateway, MagFixture.SharedMac), parsed);

        // Nobody else is on the emulated link: resolution of another address goes unanswered.
        Assert.Equal(VerdictKind.Consumed, f.FromVm(NeighborSolicitation(Ipv6Address.Parse("2001:db8:1::99"))).Verdict.Kind);
        Assert.Empty(f.TakeControl());
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.NeighborSolicitationUnanswered]);
    }

    [Fact]
    public void Dad_probe_raises_the_attachment_with_the_tentative_link_local_address()
    {
        var f = new MagFixture();
        Assert.Equal(VerdictKind.Consumed, f.FromVm(ScapyVectors.DadNeighborSolicitation).Verdict.Kind);
        Assert.Equal(1, f.Mag.Counters.SessionsStartedBy[AttachTrigger.DadNeighborSolicitation]);
        Assert.True(f.Mag.TryGetSession(MagFixture.Port, out var s));
        Assert.Equal(MagFixture.VmLinkLocal, s.VmLinkLocal);
        Assert.Empty(f.TakeControl());
    }

    [Fact]
    public void Dad_probe_for_the_shared_link_local_address_is_defended()
    {
        var f = new MagFixture();
        var frame = NdFrame(Ipv6Address.Unspecified, MagFixture.SharedLinkLocal.SolicitedNodeMulticast,
            b => Icmpv6Writer.WriteNeighborSolicitation(b, Ipv6Address.Unspecified, MagFixture.SharedLinkLocal.SolicitedNodeMulticast, MagFixture.SharedLinkLocal, null));
        Assert.Equal(VerdictKind.Consumed, f.FromVm(frame).Verdict.Kind);
        var (_, na) = Assert.Single(f.TakeControl());
        Assert.True(EthernetFrame.TryCreate(na, out var eth, out _));
        Assert.Equal(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), eth.Destination);
        Assert.Equal(Ipv6Address.AllNodes, Ipv6(na).Destination);
        Assert.True(f.Mag.TryGetSession(MagFixture.Port, out var s));
        Assert.Null(s.VmLinkLocal); // the target was ours, not the VM's
    }

    [Theory]
    [InlineData(ScapyVectors.UnsolicitedNeighborAdvertisement, AttachTrigger.UnsolicitedNeighborAdvertisement, ControlFrameKind.UnsolicitedNeighborAdvertisement)]
    [InlineData(ScapyVectors.GratuitousArp, AttachTrigger.GratuitousArp, ControlFrameKind.GratuitousArp)]
    [InlineData(ScapyVectors.QemuRarp, AttachTrigger.Rarp, ControlFrameKind.Rarp)]
    public void Migration_announcements_raise_their_own_trigger_not_first_frame(string hex, AttachTrigger trigger, ControlFrameKind kind)
    {
        var f = new MagFixture();
        Assert.Equal(VerdictKind.Consumed, f.FromVm(hex).Verdict.Kind);
        Assert.Equal(1, f.Mag.Counters.SessionsStartedBy[trigger]);
        Assert.Equal(0, f.Mag.Counters.AttachTriggers[AttachTrigger.FirstFrame]);
        Assert.Equal(1, f.Dp.Counters.All.Control[kind]);
        // A RARP announce from a known profile registers with HI 3 (handoff between MAGs) at once.
        if (trigger == AttachTrigger.Rarp) Assert.Equal(HandoffIndicator.HandoffBetweenMagsForSameInterface, f.AnswerPolicy().HandoffIndicator);
    }

    [Fact]
    public void Any_other_first_frame_teaches_the_mac_and_raises_first_frame_once_per_second()
    {
        var f = new MagFixture();
        var (verdict, _) = f.FromVm(TestFrames.FromVm());
        Assert.Equal(DropReason.NoBinding, verdict.Reason);
        Assert.Equal(1, f.Mag.Counters.SessionsStartedBy[AttachTrigger.FirstFrame]);
        for (int i = 0; i < 10; i++) f.FromVm(TestFrames.FromVm());
        Assert.Equal(1, f.Mag.Counters.AttachTriggers[AttachTrigger.FirstFrame]);
        f.Now += TimeSpan.FromSeconds(1);
        f.FromVm(TestFrames.FromVm());
        Assert.Equal(2, f.Mag.Counters.AttachTriggers[AttachTrigger.FirstFrame]); // absorbed by the session under way
        Assert.Equal(1, f.Mag.Counters.TriggersAbsorbed);
        Assert.Equal(12, f.Dp.Counters.All.Drops[DropReason.NoBinding]);
    }

    [Fact]
    public void Hotplug_online_waits_for_the_vms_first_frame_unless_told_it_runs()
    {
        var f = new MagFixture(configuredMac: MagFixture.VmMac);
        Assert.True(f.Dp.PortOnline(MagFixture.Port, f.Now));                 // plugged in: nothing registered yet
        Assert.Equal(0, f.Mag.Counters.SessionsStartedBy.Total);
        Assert.True(f.Dp.PortOnline(MagFixture.Port, f.Now, PortOnlineKind.VmRunning));
        Assert.Equal(1, f.Mag.Counters.SessionsStartedBy[AttachTrigger.HotplugOnline]);
        f.Dp.AddPort(new PortId(2), "vif2.0");
        Assert.False(f.Dp.PortOnline(new PortId(2), f.Now, PortOnlineKind.VmRunning)); // no MAC yet: the first frame will do
    }

    [Fact]
    public void Incoming_migration_pre_registers_at_once_unless_pre_registration_is_off()
    {
        var on = new MagFixture(configuredMac: MagFixture.VmMac);
        Assert.True(on.Dp.PortOnline(MagFixture.Port, on.Now, PortOnlineKind.IncomingMigration));
        Assert.Equal(1, on.Mag.Counters.SessionsStartedBy[AttachTrigger.HotplugIncomingMigration]);
        Assert.Equal(1, on.Mag.Counters.Handover.PreRegistrationsStarted);
    }

    [Fact]
    public void Incoming_migration_registers_on_the_first_frame_after_the_vm_resumes_as_a_migration()
    {
        // Without pre-registration (or without a hook announcing the migration) the first frame registers, as before issue 16.
        var f = new MagFixture(machine: o => o with { PreRegistration = false }, configuredMac: MagFixture.VmMac);
        Assert.True(f.Dp.PortOnline(MagFixture.Port, f.Now, PortOnlineKind.IncomingMigration));
        Assert.Equal(0, f.Mag.Counters.SessionsStartedBy.Total); // the VM still runs on the source
        f.Now += TimeSpan.FromSeconds(3);                         // pre-copy
        f.FromVm(TestFrames.FromVm());                            // its first frame after resuming: a data packet
        Assert.Equal(1, f.Mag.Counters.SessionsStartedBy[AttachTrigger.HotplugIncomingMigration]);
    }

    [Fact]
    public void Solicited_neighbor_advertisement_answers_the_nud_probe()
    {
        var f = new MagFixture();
        f.Establish();
        // Silence for NudReachableTime: the machine probes through the data path.
        f.Now += TimeSpan.FromSeconds(31);
        f.Dp.Tick(f.Now);
        // (the heartbeat to the LMA may go out on the same tick)
        var (meta, probe) = Assert.Single(f.TakeControl(), c => c.Meta.Kind == ControlMessageKind.NeighborSolicitation);
        Assert.Equal(MagFixture.Port, meta.Port);
        Assert.True(EthernetFrame.TryCreate(probe, out var eth, out _));
        Assert.Equal((MagFixture.VmMac, MagFixture.SharedMac), (eth.Destination, eth.Source));
        var ip = Ipv6(probe);
        Assert.Equal((MagFixture.SharedLinkLocal, MagFixture.VmLinkLocal, (byte)255), (ip.Source, ip.Destination, ip.HopLimit));
        Assert.True(DataPlane.Wire.NeighborSolicitation.TryParse(ip.Payload, out var ns, out _));
        Assert.Equal(new DataPlane.Wire.NeighborSolicitation(MagFixture.VmLinkLocal, MagFixture.SharedMac), ns);
        Assert.True(Icmpv6Packet.IsChecksumValid(ip.Payload, ip.Source, ip.Destination));

        var answer = NdFrame(MagFixture.VmLinkLocal, MagFixture.SharedLinkLocal, b => Icmpv6Writer.WriteNeighborAdvertisement(b,
            MagFixture.VmLinkLocal, MagFixture.SharedLinkLocal, NeighborAdvertisementFlags.Solicited, MagFixture.VmLinkLocal, MagFixture.VmMac),
            destinationMac: MagFixture.SharedMac);
        Assert.Equal(VerdictKind.Consumed, f.FromVm(answer).Verdict.Kind);
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.SolicitedNeighborAdvertisement]);
        // Confirmed: no more probes and no detach.
        f.Now += TimeSpan.FromSeconds(5);
        f.Dp.Tick(f.Now);
        Assert.DoesNotContain(f.TakeControl(), c => c.Meta.Kind == ControlMessageKind.NeighborSolicitation);
        Assert.Equal(1, f.Mag.Counters.NudProbesSent);
    }

    [Fact]
    public void Mld_reports_are_consumed_quietly()
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, _) = f.FromVm(ScapyVectors.Mldv2Report);
        Assert.Equal(VerdictKind.Consumed, verdict.Kind);
        Assert.Equal(1, f.Dp.Counters.All.Control[ControlFrameKind.MulticastListenerDiscovery]);
        Assert.Empty(f.TakeControl());
        Assert.Equal(0, f.Dp.Counters.All.DroppedTotal);
    }

    [Theory]
    [InlineData(ScapyVectors.RouterAdvertisementFromVm, DropReason.RouterAdvertisementGuard)]
    [InlineData(ScapyVectors.RedirectFromVm, DropReason.RedirectGuard)]
    [InlineData(ScapyVectors.Dhcpv6AdvertiseFromVm, DropReason.DhcpServerGuard)]
    [InlineData(ScapyVectors.Dhcpv4OfferFromVm, DropReason.DhcpServerGuard)]
    public void Guards_drop_what_only_routers_and_servers_may_send(string hex, DropReason reason)
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, _) = f.FromVm(hex);
        Assert.Equal(Verdict.Drop(reason).ToString(), verdict.ToString());
        Assert.Empty(f.TakeControl());
        Assert.Equal(1, f.Dp.Counters.All.Drops[reason]);
        Assert.True(f.Dp.TryGetPort(MagFixture.Port, out var port));
        Assert.Equal(1, port.Counters.Drops[reason]);
        Assert.Equal(1, f.Dp.VmCounters[MagFixture.VmMac].Drops[reason]);
    }

    [Fact]
    public void Router_solicitation_flood_gets_one_ra_and_the_excess_is_rate_limited()
    {
        var options = new MagDatapathOptions { ControlFrameRate = RateLimit.PerSecond(20, burst: 10) };
        var f = new MagFixture(options: options);
        f.Establish();
        f.Now += TimeSpan.FromSeconds(2); // past RouterSolicitationMinInterval since the first RA
        var rs = Hex.Bytes(ScapyVectors.RouterSolicitation);
        int consumed = 0, limited = 0;
        for (int i = 0; i < 100; i++)
        {
            var v = f.FromVm(rs).Verdict;
            if (v.Kind == VerdictKind.Consumed) consumed++;
            else if (v.Reason == DropReason.RateLimited) limited++;
        }
        Assert.Equal((10, 90), (consumed, limited));
        var ra = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.RouterAdvertisement, ra.Meta.Kind);
        Assert.Equal(9, f.Mag.Counters.RouterSolicitationsSuppressed);
        Assert.Equal(90, f.Dp.Counters.All.Drops[DropReason.RateLimited]);
        // The bucket refills: a second later the VM may ask again (and the machine answers again).
        f.Now += TimeSpan.FromSeconds(1.1);
        Assert.Equal(VerdictKind.Consumed, f.FromVm(rs).Verdict.Kind);
        Assert.Single(f.TakeControl());
    }

    [Fact]
    public void Frames_from_any_other_mac_are_dropped_and_never_reach_the_machine()
    {
        var f = new MagFixture();
        f.Establish();
        var stranger = MacAddress.Parse("52:54:00:99:99:99");
        var (verdict, _) = f.FromVm(TestFrames.FromVm(mac: stranger));
        Assert.Equal(DropReason.ForeignSourceMac, verdict.Reason);
        var rs = Hex.Bytes(ScapyVectors.RouterSolicitation);
        stranger.WriteTo(rs.AsSpan(MacAddress.Length));
        Assert.Equal(DropReason.ForeignSourceMac, f.FromVm(rs).Verdict.Reason);
        Assert.Equal(2, f.Dp.Counters.All.Drops[DropReason.ForeignSourceMac]);
        Assert.Equal(0, f.Dp.VmCounters[MagFixture.VmMac].DroppedTotal); // not the VM's doing
        Assert.Empty(f.TakeControl());
        Assert.Equal(1, f.Mag.Counters.AttachTriggers.Total); // only the establishing RS
    }

    [Fact]
    public void Neighbor_discovery_that_fails_rfc_4861_validation_is_malformed()
    {
        var f = new MagFixture();
        f.Establish();
        var rs = Hex.Bytes(ScapyVectors.RouterSolicitation);
        var forwarded = (byte[])rs.Clone();
        forwarded[EthernetFrame.HeaderLength + 7] = 64; // hop limit: it was routed here
        Assert.Equal(Verdict.Drop(DropReason.Malformed, WireError.BadValue).ToString(), f.FromVm(forwarded).Verdict.ToString());
        var corrupt = (byte[])rs.Clone();
        corrupt[^1] ^= 0xFF;
        Assert.Equal(Verdict.Drop(DropReason.Malformed, WireError.BadChecksum).ToString(), f.FromVm(corrupt).Verdict.ToString());
        Assert.Equal(1, f.Dp.Counters.All.MalformedBy[WireError.BadValue]);
        Assert.Equal(1, f.Dp.Counters.All.MalformedBy[WireError.BadChecksum]);
    }

    [Fact]
    public void Removing_the_port_detaches_the_vm_and_removes_its_prefix()
    {
        var f = new MagFixture();
        f.Establish();
        Assert.True(f.Dp.RemovePort(MagFixture.Port, f.Now));
        Assert.Equal(0, f.Dp.PrefixCount);
        Assert.Equal(0, f.Mag.SessionCount);
        var dereg = f.TakePbu();
        Assert.Equal(0, dereg.Lifetime);
        Assert.Equal(DropReason.PortUnknown, f.FromVm(TestFrames.FromVm()).Verdict.Reason);
    }

    [Fact]
    public void Hotplug_offline_forgets_a_learned_mac_so_the_port_can_serve_the_next_vm()
    {
        var f = new MagFixture();
        f.Establish();
        Assert.True(f.Dp.PortOffline(MagFixture.Port, f.Now));
        Assert.Equal(0, f.Dp.PrefixCount);
        Assert.True(f.Dp.TryGetPort(MagFixture.Port, out var view));
        Assert.Null(view.VmMac);
        var next = MacAddress.Parse("52:54:00:00:00:02");
        Assert.Equal(DropReason.NoBinding, f.FromVm(TestFrames.FromVm(mac: next)).Verdict.Reason);
        Assert.True(f.Mag.TryGetSession(MagFixture.Port, out var s));
        Assert.Equal(next, s.Mac);
    }

    internal static Ipv6Packet Ipv6(byte[] frame)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth, out _));
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip, out var error), error.ToString());
        return ip;
    }

    private delegate int IcmpWriter(Span<byte> destination);

    /// <summary>An ND frame from the VM (hop limit 255) whose ICMPv6 body <paramref name="write"/> produces.</summary>
    private static byte[] NdFrame(Ipv6Address source, Ipv6Address destination, IcmpWriter write, MacAddress? destinationMac = null)
    {
        var icmp = new byte[256];
        int n = write(icmp);
        var ip = new byte[Ipv6Packet.HeaderLength + n];
        Ipv6Packet.WriteHeader(ip, source, destination, IpProtocol.Icmpv6, n, 255);
        icmp.AsSpan(0, n).CopyTo(ip.AsSpan(Ipv6Packet.HeaderLength));
        return TestFrames.WithEthernet(ip, destinationMac ?? (destination.IsMulticast ? MacAddress.ForIpv6Multicast(destination) : MagFixture.SharedMac), MagFixture.VmMac);
    }

    private static byte[] NeighborSolicitation(Ipv6Address target) =>
        NdFrame(MagFixture.VmAddress, target.SolicitedNodeMulticast,
            b => Icmpv6Writer.WriteNeighborSolicitation(b, MagFixture.VmAddress, target.SolicitedNodeMulticast, target, MagFixture.VmMac));
}
