using System.Buffers.Binary;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// A live migration through the three data paths (LMA, source MAG, destination MAG) in one process, every Mobility
/// Header message as bytes: the destination pre-registers, the LMA bicasts, the source stops and its marker reaches
/// the destination through the LMA, the VM's first frame at the destination releases exactly the packets the source
/// had not delivered, in order, and the destination takes the binding over. Downlink packets are numbered so that
/// what the VM received, from either side, can be checked for loss, duplicates and order.
/// </summary>
public class MigrationDatapathTests
{
    internal static readonly PortId Incoming = new(2);

    private static byte[] Downlink(int n)
    {
        var p = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 8);
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength), n);
        return p;
    }

    private static int Number(ReadOnlySpan<byte> frame) =>
        BinaryPrimitives.ReadInt32BigEndian(frame[(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength)..]);

    /// <summary>IPv4 packet <paramref name="n"/> to the VM's IPv4 home address (RFC 5844), numbered as <see cref="Downlink"/>.</summary>
    private static byte[] Downlink4(int n)
    {
        var p = MagIpv4Tests.Ipv4Udp(MagFixture.Client4, MagFixture.VmIpv4, 20 + UdpDatagram.HeaderLength + 8, dontFragment: true);
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(20 + UdpDatagram.HeaderLength), n);
        return p;
    }

    private static int Number4(ReadOnlySpan<byte> frame) =>
        BinaryPrimitives.ReadInt32BigEndian(frame[(EthernetFrame.HeaderLength + 20 + UdpDatagram.HeaderLength)..]);

    /// <summary>The home network sends packet <paramref name="n"/>: the LMA's verdict, carried to whichever MAGs it names; what reached the VM's port on each.</summary>
    private static (List<int> ToSource, List<int> ToDestination, int Buffered) SendDownlink(DomainFixture d, int n, bool ipv4 = false)
    {
        var p = Packet.Of(ipv4 ? Downlink4(n) : Downlink(n));
        Func<ReadOnlySpan<byte>, int> number = ipv4 ? Number4 : Number;
        var v = d.Lma.FromHome(p.Buffer, p.Offset, p.Length, d.Now);
        var copies = new List<(Ipv6Address Mag, byte[] Inner)>();
        if (v.Kind == VerdictKind.ToTunnel) copies.Add((v.TunnelDestination, p.Output(v)));
        else if (v.Kind == VerdictKind.Segmented)
            for (int i = v.FirstSegment; i < v.FirstSegment + v.SegmentCount; i++)
                copies.Add((d.Lma.Segments.VerdictOf(i).TunnelDestination, d.Lma.Segments.Packet(i).ToArray()));
        d.Lma.Segments.Clear();
        var toSource = new List<int>();
        var toDestination = new List<int>();
        int buffered = 0;
        foreach (var (mag, inner) in copies)
        {
            var dp = d.MagAt(mag);
            var q = Packet.Of(inner);
            var verdict = dp.FromTunnel(q.Buffer, q.Offset, q.Length, DomainFixture.LmaAddress, mag, d.Now);
            if (verdict.Kind == VerdictKind.ToPort) (dp == d.M1 ? toSource : toDestination).Add(number(q.Output(verdict)));
            else if (verdict.Kind == VerdictKind.Consumed) buffered++;
        }
        return (toSource, toDestination, buffered);
    }

    /// <summary>What the host does after a batch: send the released buffers (returns their packet numbers, in order), then complete.</summary>
    private static List<int> TakeReleases(MagDatapath dp, Instant now, bool ipv4 = false)
    {
        var numbers = new List<int>();
        for (int i = 0; i < dp.ReleaseCount; i++)
        {
            if (!dp.TryGetRelease(i, out _, out var buffer)) continue;
            for (int k = 0; k < buffer.Count; k++) numbers.Add(ipv4 ? Number4(buffer.Frame(k)) : Number(buffer.Frame(k)));
        }
        dp.CompleteReleases(now);
        return numbers;
    }

    /// <summary>The VM runs on MAG1; MAG2's port for it is plugged in as the destination of a live migration.</summary>
    internal static DomainFixture Migrating(bool bicast = true, bool esp = false)
    {
        var d = new DomainFixture(configureLma: o => o with { Bicast = bicast }, esp: esp);
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        Assert.Equal(DomainFixture.Mag1, d.Lma.Machine.Bindings.Single().ProxyCareOfAddress);
        d.M2.AddPort(Incoming, "incoming", MagFixture.VmMac);
        Assert.True(d.M2.PortOnline(Incoming, d.Now, PortOnlineKind.IncomingMigration));
        d.Settle();
        Assert.True(d.M2.Machine.TryGetSession(Incoming, out var s));
        Assert.Equal(MigrationPhase.PreRegistered, s.Migration);
        Assert.Equal(DomainFixture.Mag2, d.Lma.Machine.Bindings.Single().TransientMag);
        return d;
    }

    [Fact]
    public void Every_downlink_packet_reaches_the_vm_once_in_order_across_the_switchover()
    {
        var d = Migrating();
        var received = new List<int>();
        int n = 0;
        // Pre-copy: the source delivers, the destination buffers a copy of everything.
        for (; n < 10; n++)
        {
            var (s, t, buffered) = SendDownlink(d, n);
            received.AddRange(s);
            Assert.Empty(t);
            Assert.Equal(1, buffered);
        }
        // The VM stops; the source delivers nothing more (it holds what comes, for its VM should the migration fail);
        // its marker (packet 9) goes to the LMA, which relays it.
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        var (afterStop, _, heldBoth) = SendDownlink(d, n++);
        Assert.Empty(afterStop);
        Assert.Equal(2, heldBoth);
        Assert.Equal((1L, 0L), (d.M1.Counters.Handover.HeldWhileStopped, d.M1.Counters.Handover.DroppedWhileStopped));
        d.Settle();
        Assert.True(d.Lma.Machine.Bindings.Single().ServingMagStopped);
        Assert.Equal(1, d.M2.Counters.Handover.MarkersApplied[MarkerOutcome.Found]);
        // While the VM is in transit nothing is delivered: both MAGs hold their copy.
        for (; n < 15; n++)
        {
            var (s, t, buffered) = SendDownlink(d, n);
            Assert.Empty(s);
            Assert.Empty(t);
            Assert.Equal(2, buffered);
        }
        // The VM resumes at the destination: QEMU's RARP. The buffer is released (the marker is here), the RA goes out.
        var rarp = Packet.Of(ScapyVectors.QemuRarp);
        Assert.Equal(VerdictKind.Consumed, d.M2.FromPort(Incoming, rarp.Buffer, rarp.Offset, rarp.Length, OffloadInfo.None, d.Now).Kind);
        received.AddRange(TakeReleases(d.M2, d.Now));
        // Uplink from the destination is accepted before the activation PBU has even reached the LMA.
        var up = Packet.Of(TestFrames.FromVm());
        var upVerdict = d.M2.FromPort(Incoming, up.Buffer, up.Offset, up.Length, OffloadInfo.None, d.Now);
        Assert.Equal(VerdictKind.ToTunnel, upVerdict.Kind);
        var inner = Packet.Of(up.Output(upVerdict));
        Assert.Equal(VerdictKind.ToHome, d.Lma.FromTunnel(inner.Buffer, inner.Offset, inner.Length, DomainFixture.Mag2, DomainFixture.LmaAddress, d.Now).Kind);
        // The activation PBU takes the binding over; downlink now goes straight to the destination's port.
        d.Settle();
        Assert.Equal(DomainFixture.Mag2, d.Lma.Machine.Bindings.Single().ProxyCareOfAddress);
        for (; n < 20; n++) received.AddRange(SendDownlink(d, n).ToDestination);
        Assert.Equal(Enumerable.Range(0, 20), received); // each exactly once, in order
        var h = d.M2.Counters.Handover;
        Assert.Equal((10L, 5L, 0L), (h.TrimmedByMarker, h.Released, h.DroppedUnreleased));
        // The source's copies (10..14) go with its port when the source QEMU exits: never delivered.
        Assert.Equal(5L, d.M1.Counters.Handover.HeldWhileStopped);
        d.M1.RemovePort(MagFixture.Port, d.Now);
        Assert.Equal(5L, d.M1.Counters.Handover.DiscardedAtSource);
        Assert.Equal(0, d.M1.HandoverBuffers.InUse);
    }

    /// <summary>
    /// The source delivers 0..<paramref name="delivered"/>−1, one per millisecond, and the guest stops after reading
    /// 0..<paramref name="readByGuest"/>−1 (the hypervisor's STOP time lies between); the MAG hears of it only after the
    /// last delivery and is given the STOP's time. Returns what the VM got from either side, and the source's count of
    /// packets it left to the destination.
    /// </summary>
    private static (List<int> Received, long DeliveredAfterStop) StopAfterDeliveringPast(int delivered, int readByGuest)
    {
        var d = Migrating();
        var received = new List<int>();
        Instant stoppedAt = default;
        for (int n = 0; n < delivered; n++)
        {
            d.Now += TimeSpan.FromMilliseconds(1);
            var (s, _, _) = SendDownlink(d, n);
            Assert.Equal([n], s);
            if (n < readByGuest) received.AddRange(s); // the rest waits unread in the stopped guest's tap, lost with it
            if (n == readByGuest - 1) stoppedAt = d.Now + TimeSpan.FromMicroseconds(500);
        }
        d.Now += TimeSpan.FromMilliseconds(3); // the STOP event's way to the MAG
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now, stoppedAt));
        d.Settle();
        var rarp = Packet.Of(ScapyVectors.QemuRarp);
        d.M2.FromPort(Incoming, rarp.Buffer, rarp.Offset, rarp.Length, OffloadInfo.None, d.Now);
        received.AddRange(TakeReleases(d.M2, d.Now));
        d.Settle();
        for (int n = delivered; n < delivered + 3; n++) received.AddRange(SendDownlink(d, n).ToDestination);
        return (received, d.M1.Counters.Handover.DeliveredAfterStop);
    }

    [Fact]
    public void Packets_delivered_after_the_hypervisors_stop_time_are_left_to_the_destination_which_delivers_them()
    {
        // 7, 8 and 9 reached the source's port after the guest stopped: the marker names 6, so the destination has them.
        var (received, afterStop) = StopAfterDeliveringPast(delivered: 10, readByGuest: 7);
        Assert.Equal(Enumerable.Range(0, 13), received);
        Assert.Equal(3, afterStop);
    }

    [Fact]
    public void Past_what_the_source_remembers_the_marker_is_the_oldest_it_remembers_and_nothing_is_delivered_twice()
    {
        // 20 deliveries after the stop's time, 8 remembered: the marker names the oldest of them (12); 5..12 are lost in
        // the tap as they were without the stop's time, the destination delivers 13 on, and nothing twice.
        var (received, afterStop) = StopAfterDeliveringPast(delivered: 20, readByGuest: 5);
        Assert.Equal(Enumerable.Range(0, 5).Concat(Enumerable.Range(13, 10)), received);
        Assert.Equal(InstalledSession.DeliveredHistory - 1, afterStop);
    }

    [Fact]
    public void An_ipv4_home_address_is_bicast_held_and_released_once_in_order_as_ipv6_is()
    {
        // RFC 5844: one binding carries both families; the pre-registration gets the IPv4 home address in its PBA,
        // the LMA bicasts the IPv4 host route, both MAGs hold IPv4-in-IPv6 downlink as they hold IPv6.
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        d.M2.AddPort(Incoming, "incoming", MagFixture.VmMac);
        Assert.True(d.M2.PortOnline(Incoming, d.Now, PortOnlineKind.IncomingMigration));
        d.Settle();
        Assert.True(d.M2.Machine.TryGetSession(Incoming, out var pre));
        Assert.Equal((MigrationPhase.PreRegistered, (Ipv4Address?)MagFixture.VmIpv4), (pre.Migration, pre.Ipv4?.HomeAddress));
        var received = new List<int>();
        int n = 0;
        for (; n < 5; n++)
        {
            var (s, t, buffered) = SendDownlink(d, n, ipv4: true);
            received.AddRange(s);
            Assert.Empty(t);
            Assert.Equal(1, buffered);
        }
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        Assert.Equal(2, SendDownlink(d, n++, ipv4: true).Buffered);
        d.Settle();
        Assert.Equal(1, d.M2.Counters.Handover.MarkersApplied[MarkerOutcome.Found]); // the marker names IPv4 packet 4
        for (; n < 8; n++) Assert.Equal(2, SendDownlink(d, n, ipv4: true).Buffered);
        var rarp = Packet.Of(ScapyVectors.QemuRarp);
        d.M2.FromPort(Incoming, rarp.Buffer, rarp.Offset, rarp.Length, OffloadInfo.None, d.Now);
        received.AddRange(TakeReleases(d.M2, d.Now, ipv4: true));
        // Uplink over IPv4 from the destination is accepted before its activation reached the LMA.
        var up = Packet.Of(Hex.Bytes(ScapyIpv4Vectors.UdpToClient));
        var upVerdict = d.M2.FromPort(Incoming, up.Buffer, up.Offset, up.Length, OffloadInfo.None, d.Now);
        Assert.Equal(VerdictKind.ToTunnel, upVerdict.Kind);
        var inner = Packet.Of(up.Output(upVerdict));
        Assert.Equal(VerdictKind.ToHome, d.Lma.FromTunnel(inner.Buffer, inner.Offset, inner.Length, DomainFixture.Mag2, DomainFixture.LmaAddress, d.Now).Kind);
        d.Settle();
        Assert.True(d.Lma.TryLookupIpv4Route(MagFixture.VmIpv4, out var mag));
        Assert.Equal(DomainFixture.Mag2, mag);
        for (; n < 10; n++) received.AddRange(SendDownlink(d, n, ipv4: true).ToDestination);
        Assert.Equal(Enumerable.Range(0, 10), received);
    }

    [Fact]
    public void With_esp_the_pre_registration_the_stop_notice_and_its_relay_travel_protected_as_pbus_do()
    {
        // Issue 17's policy covers issue 16's messages: DomainFixture.Settle checks every one went through ESP.
        var d = Migrating(esp: true);
        for (int n = 0; n < 5; n++) SendDownlink(d, n);
        long lmaOpened = d.Lma.Security.Counters.Accepted;
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        d.Settle();
        Assert.True(d.Lma.Security.Counters.Accepted > lmaOpened); // the stop notice, opened from ESP
        Assert.Equal(1, d.M2.Counters.Handover.MarkersApplied[MarkerOutcome.Found]); // its relay, opened at MAG2
        var rarp = Packet.Of(ScapyVectors.QemuRarp);
        d.M2.FromPort(Incoming, rarp.Buffer, rarp.Offset, rarp.Length, OffloadInfo.None, d.Now);
        Assert.Empty(TakeReleases(d.M2, d.Now)); // 0..4 were the source's
        d.Settle();
        Assert.Equal(DomainFixture.Mag2, d.Lma.Machine.Bindings.Single().ProxyCareOfAddress);
        Assert.Equal(0, d.M1.Security.Counters.Drops.Total + d.M2.Security.Counters.Drops.Total + d.Lma.Security.Counters.Drops.Total);
    }

    [Fact]
    public void Without_bicast_the_destination_gets_the_downlink_from_the_stop_on()
    {
        var d = Migrating(bicast: false);
        var received = new List<int>();
        int n = 0;
        for (; n < 5; n++) received.AddRange(SendDownlink(d, n).ToSource);
        Assert.Equal(0, d.M2.Counters.Handover.Buffered);
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        d.Settle();
        for (; n < 10; n++) Assert.Equal(1, SendDownlink(d, n).Buffered);
        var rarp = Packet.Of(ScapyVectors.QemuRarp);
        d.M2.FromPort(Incoming, rarp.Buffer, rarp.Offset, rarp.Length, OffloadInfo.None, d.Now);
        received.AddRange(TakeReleases(d.M2, d.Now));
        d.Settle();
        for (; n < 12; n++) received.AddRange(SendDownlink(d, n).ToDestination);
        Assert.Equal(Enumerable.Range(0, 12), received);
    }

    [Fact]
    public void A_migration_cancelled_before_the_stop_leaves_everything_at_the_source()
    {
        var d = Migrating();
        for (int n = 0; n < 3; n++) SendDownlink(d, n);
        Assert.True(d.M2.RemovePort(Incoming, d.Now));
        d.Settle();
        var binding = d.Lma.Machine.Bindings.Single();
        Assert.Equal((DomainFixture.Mag1, (Ipv6Address?)null), (binding.ProxyCareOfAddress!.Value, binding.TransientMag));
        Assert.Equal(0, d.M2.HandoverBuffers.InUse);
        Assert.Equal(3, d.M2.Counters.Handover.DroppedUnreleased);
        var (s, t, buffered) = SendDownlink(d, 3);
        Assert.Equal([3], s);
        Assert.Empty(t);
        Assert.Equal(0, buffered);
    }

    [Fact]
    public void A_source_whose_vm_runs_again_after_its_stop_delivers_again_and_gets_its_downlink_back()
    {
        var d = Migrating();
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        d.Settle();
        Assert.Empty(SendDownlink(d, 0).ToSource);
        // The migration fails after the stop: the destination goes, the source's VM runs again and first gets what
        // was held for it while it was stopped, then the rest, in order.
        d.M2.RemovePort(Incoming, d.Now);
        Assert.True(d.M1.PortResumed(MagFixture.Port, d.Now));
        Assert.Equal([0], TakeReleases(d.M1, d.Now));
        d.Settle();
        Assert.False(d.Lma.Machine.Bindings.Single().ServingMagStopped);
        Assert.Equal([1], SendDownlink(d, 1).ToSource);
    }

    [Fact]
    public void A_frame_from_a_stopped_vm_after_the_stop_grace_means_it_runs_and_delivery_resumes()
    {
        var d = Migrating();
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        d.Now += new MagDatapathOptions().StopGrace;
        var up = Packet.Of(TestFrames.FromVm());
        d.M1.FromPort(MagFixture.Port, up.Buffer, up.Offset, up.Length, OffloadInfo.None, d.Now);
        Assert.Equal((1L, 1L, 0L), (d.M1.Counters.Handover.Resumes, d.M1.Counters.Handover.ResumedByFrame, d.M1.Counters.Handover.FramesFromStoppedVm));
        // Its (empty) hold is released first, then it gets its downlink directly.
        Assert.True(d.M1.TryGetHandover(MagFixture.Port, out var h));
        Assert.Equal(DeliveryMode.Releasing, h.Mode);
        Assert.Empty(TakeReleases(d.M1, d.Now));
        Assert.True(d.M1.TryGetHandover(MagFixture.Port, out h));
        Assert.Equal(DeliveryMode.Forwarding, h.Mode);
    }

    /// <summary>
    /// Found by the end-to-end paused migration on a loaded host (2-12 probes delivered twice): the guest's reply to the
    /// last probe delivered before its stop sat in the port's queue while the MAG, short of CPU, took the stop first;
    /// read after it, the reply was taken as the VM running again, so the source delivered what it held (and more, until
    /// its port went) after its marker, and the destination delivered the same packets again.
    /// </summary>
    [Fact]
    public void A_frame_the_vm_sent_before_its_stop_read_after_it_is_forwarded_without_resuming_delivery()
    {
        var d = Migrating();
        var received = new List<int>();
        int n = 0;
        for (; n < 3; n++) received.AddRange(SendDownlink(d, n).ToSource);
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        d.Settle();
        for (; n < 6; n++) Assert.Empty(SendDownlink(d, n).ToSource);
        // The reply, read late: forwarded to the LMA (the binding is still the source's), but nothing is delivered for it.
        var up = Packet.Of(TestFrames.FromVm());
        Assert.Equal(VerdictKind.ToTunnel, d.M1.FromPort(MagFixture.Port, up.Buffer, up.Offset, up.Length, OffloadInfo.None, d.Now).Kind);
        Assert.Equal(0, d.M1.ReleaseCount);
        for (; n < 8; n++) Assert.Empty(SendDownlink(d, n).ToSource);
        var h = d.M1.Counters.Handover;
        Assert.Equal((1L, 0L, 0L), (h.FramesFromStoppedVm, h.Resumes, h.ResumedByFrame));
        Assert.True(d.M1.TryGetHandover(MagFixture.Port, out var view));
        Assert.Equal(DeliveryMode.Stopped, view.Mode);
        // The VM resumes at the destination, which delivers what the source did not, each packet once.
        var rarp = Packet.Of(ScapyVectors.QemuRarp);
        d.M2.FromPort(Incoming, rarp.Buffer, rarp.Offset, rarp.Length, OffloadInfo.None, d.Now);
        received.AddRange(TakeReleases(d.M2, d.Now));
        d.Settle();
        for (; n < 10; n++) received.AddRange(SendDownlink(d, n).ToDestination);
        Assert.Equal(Enumerable.Range(0, 10), received);
        d.M1.RemovePort(MagFixture.Port, d.Now);
        Assert.Equal(5L, d.M1.Counters.Handover.DiscardedAtSource);
    }

    [Fact]
    public void Stopping_a_port_without_a_registered_session_changes_nothing()
    {
        var f = new MagFixture();
        Assert.False(f.Dp.PortStopped(MagFixture.Port, f.Now));
        Assert.False(f.Dp.PortResumed(MagFixture.Port, f.Now));
    }
}
