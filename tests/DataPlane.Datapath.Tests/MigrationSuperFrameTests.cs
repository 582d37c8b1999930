using System.Buffers.Binary;
using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>What the tunnel path to each peer takes, per peer (a bicast's two MAGs may differ).</summary>
internal sealed class PerPeerTunnelOffloads(Func<Ipv6Address, bool> superFrames, bool partialChecksums) : ITunnelOffloads
{
    public bool CarriesSuperFrames(Ipv6Address peer) => superFrames(peer);
    public bool CompletesChecksums(Ipv6Address peer) => partialChecksums;
}

/// <summary>
/// A live migration with TCP super-frames crossing the tunnel whole (issue 14): the LMA's bicast sends both copies
/// whole where both paths carry them and cuts both where one cannot; the destination holds a super-frame as its
/// segments, matches the source's delivery marker per segment (IPv6 and IPv4, whose segments number their IDs
/// apart), and releases what the source did not deliver in order, each segment complete.
/// </summary>
public class MigrationSuperFrameTests
{
    private const int TcpHeader = 32;
    private const int Mss = 1460 - 40 - TcpHeader;
    private const uint FirstSequence = 1_000_000;

    private static OffloadInfo Gso(bool ipv6) => ipv6
        ? OffloadInfo.TcpSegmentation(GsoType.TcpV6, Mss, 40 + TcpHeader, 40, 16)
        : OffloadInfo.TcpSegmentation(GsoType.TcpV4, Mss, 20 + TcpHeader, 20, 16);

    /// <summary>Three full segments' worth of TCP from the home network to the VM, starting at <paramref name="sequence"/>.</summary>
    private static byte[] Down(bool ipv6, uint sequence, ushort ipv4Id = 0x4242) => TestFrames.TcpSuperFrame(ipv6, 3 * Mss, TcpFlags.Ack, sequence, ipv4Id,
        source: MagFixture.Client, destination: MagFixture.VmAddress, source4: MagFixture.Client4, destination4: MagFixture.VmIpv4)[EthernetFrame.HeaderLength..];

    private static DomainFixture MigratingIpv4()
    {
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        d.M2.AddPort(MigrationDatapathTests.Incoming, "incoming", MagFixture.VmMac);
        Assert.True(d.M2.PortOnline(MigrationDatapathTests.Incoming, d.Now, PortOnlineKind.IncomingMigration));
        d.Settle();
        return d;
    }

    [Fact]
    public void A_super_frame_is_bicast_whole_where_both_paths_carry_them_and_cut_for_both_where_one_cannot()
    {
        var d = MigrationDatapathTests.Migrating();
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);
        long m2Before = d.Lma.Tunnels.Single(t => t.Mag == DomainFixture.Mag2).Counters.OutPackets;

        var down = Down(ipv6: true, FirstSequence);
        var home = Packet.Of(down);
        var v = d.Lma.FromHome(home.Buffer, home.Offset, home.Length, Gso(true), d.Now);
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.True(v.HasTunnelCopy);
        Assert.Equal((DomainFixture.Mag1, DomainFixture.Mag2), (v.TunnelDestination, v.CopyTunnelDestination));
        Assert.Equal(Gso(true).ToString(), v.Offload.ToString()); // its descriptor, for both copies
        // The bytes both copies leave with: the super-frame as it came, its hop limit one less (RFC 2473 §3.1), the TCP
        // checksum field the guest's pseudo-header sum, as the path that cuts it expects.
        var expected = (byte[])down.Clone();
        expected[7]--;
        Assert.Equal(expected, home.Output(v));
        Assert.Equal(3, d.Lma.Counters.Handover.BicastCopies); // the packets it stands for
        Assert.Equal(1, d.Lma.Counters.SuperFramesForwarded);
        Assert.Equal(m2Before + 3, d.Lma.Tunnels.Single(t => t.Mag == DomainFixture.Mag2).Counters.OutPackets);

        // MAG2's path cannot take super-frames: both copies are cut (one verdict cannot send a slot whole and segments),
        // each with the partial checksum its path completes.
        d.Lma.TunnelOffloads = new PerPeerTunnelOffloads(peer => peer == DomainFixture.Mag1, partialChecksums: true);
        var again = Packet.Of(Down(ipv6: true, FirstSequence + 3 * Mss));
        var s = d.Lma.FromHome(again.Buffer, again.Offset, again.Length, Gso(true), d.Now);
        Assert.Equal(VerdictKind.Segmented, s.Kind);
        Assert.Equal(6, s.SegmentCount);
        for (int i = 0; i < 3; i++)
        {
            var toM1 = d.Lma.Segments.Packet(s.FirstSegment + 2 * i).ToArray();
            var toM2 = d.Lma.Segments.Packet(s.FirstSegment + 2 * i + 1).ToArray();
            Assert.Equal(DomainFixture.Mag1, d.Lma.Segments.VerdictOf(s.FirstSegment + 2 * i).TunnelDestination);
            Assert.Equal(DomainFixture.Mag2, d.Lma.Segments.VerdictOf(s.FirstSegment + 2 * i + 1).TunnelDestination);
            Assert.Equal(OffloadInfo.PartialChecksum(40, 16).ToString(), d.Lma.Segments.VerdictOf(s.FirstSegment + 2 * i + 1).Offload.ToString());
            Assert.Equal(toM1, toM2);
            Assert.Equal(40 + TcpHeader + Mss, toM2.Length);
            Assert.Equal(FirstSequence + (uint)((3 + i) * Mss), BinaryPrimitives.ReadUInt32BigEndian(toM2.AsSpan(40 + 4)));
            Assert.Equal(again.Buffer.AsSpan(again.Offset + 40 + TcpHeader + i * Mss, Mss).ToArray(), toM2.AsSpan(40 + TcpHeader).ToArray());
        }
        d.Lma.Segments.Clear();
        Assert.Equal(6, d.Lma.Counters.Handover.BicastCopies);
    }

    /// <summary>
    /// The home network sends a super-frame: the LMA's verdict carried to the MAGs it names, each taking it as its
    /// tunnel receiver hands it over (with the verdict's descriptor). Returns the frames the source sent to its VM and
    /// how many copies were held.
    /// </summary>
    private static (List<byte[]> ToSource, int Held) Bicast(DomainFixture d, byte[] down, bool ipv6)
    {
        var home = Packet.Of(down);
        var v = d.Lma.FromHome(home.Buffer, home.Offset, home.Length, Gso(ipv6), d.Now);
        Assert.True(v.Kind == VerdictKind.ToTunnel && v.HasTunnelCopy, v.ToString());
        var sent = home.Output(v);
        var toSource = new List<byte[]>();
        int held = 0;
        foreach (var mag in new[] { v.TunnelDestination, v.CopyTunnelDestination })
        {
            var q = Packet.Of(sent);
            var r = d.MagAt(mag).FromTunnel(q.Buffer, q.Offset, q.Length, DomainFixture.LmaAddress, mag, 0, v.Offload, d.Now);
            if (r.Kind == VerdictKind.ToPort) toSource.Add(q.Output(r));
            else if (r.Kind == VerdictKind.Consumed) held++;
            else Assert.Fail($"{mag}: {r}");
        }
        return (toSource, held);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_held_super_frame_is_trimmed_by_the_marker_and_the_rest_released_as_complete_segments_in_order(bool ipv6)
    {
        var d = ipv6 ? MigrationDatapathTests.Migrating() : MigratingIpv4();
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);
        var h = d.M2.Counters.Handover;

        // A: the source delivers it whole (with its descriptor, to a port with a vnet header); the destination holds it
        // as its three segments.
        var (toSource, held) = Bicast(d, Down(ipv6, FirstSequence, 0x4242), ipv6);
        Assert.Single(toSource);
        Assert.Equal(1, held);
        Assert.Equal((3L, 1L), (h.Buffered, h.SuperFramesSegmented));

        // The VM stops at the source: its marker names A (whole), which the destination finds in A's last segment (for
        // IPv4 with another ID than A's) and trims all three.
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        d.Settle();
        Assert.Equal(1, h.MarkersApplied[MarkerOutcome.Found]);
        Assert.Equal(3L, h.TrimmedByMarker);

        // B and C while the VM is in transit: both MAGs hold them.
        Assert.Equal(2, Bicast(d, Down(ipv6, FirstSequence + 3 * Mss, 0x4245), ipv6).Held);
        Assert.Equal(2, Bicast(d, Down(ipv6, FirstSequence + 6 * Mss, 0x4248), ipv6).Held);

        // The VM resumes at the destination: B's and C's six segments, in order, each a complete segment to its MAC.
        var rarp = Packet.Of(ScapyVectors.QemuRarp);
        d.M2.FromPort(MigrationDatapathTests.Incoming, rarp.Buffer, rarp.Offset, rarp.Length, OffloadInfo.None, d.Now);
        Assert.Equal(1, d.M2.ReleaseCount);
        Assert.True(d.M2.TryGetRelease(0, out var port, out var buffer));
        Assert.Equal(MigrationDatapathTests.Incoming, port);
        Assert.Equal(6, buffer.Count);
        int ip = ipv6 ? 40 : 20;
        var payloads = Down(ipv6, 0).AsSpan(ip + TcpHeader).ToArray(); // every test super-frame carries the same payload
        for (int k = 0; k < 6; k++)
        {
            var frame = buffer.Frame(k);
            Assert.Equal(EthernetFrame.HeaderLength + ip + TcpHeader + Mss, frame.Length);
            Assert.Equal(MagFixture.VmMac.ToString(), MacAddress.ReadFrom(frame).ToString());
            Assert.Equal(MagFixture.SharedMac.ToString(), MacAddress.ReadFrom(frame[6..]).ToString());
            Assert.Equal(ipv6 ? 0x86DD : 0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame[12..]));
            var packet = frame[EthernetFrame.HeaderLength..];
            var tcp = packet[ip..];
            Assert.Equal(FirstSequence + (uint)((3 + k) * Mss), BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]));
            Assert.Equal(payloads.AsSpan(k % 3 * Mss, Mss).ToArray(), tcp[TcpHeader..].ToArray());
            uint pseudo = ipv6
                ? InternetChecksum.PseudoHeader(MagFixture.Client, MagFixture.VmAddress, (uint)tcp.Length, (byte)IpProtocol.Tcp)
                : InternetChecksum.PseudoHeader(MagFixture.Client4, MagFixture.VmIpv4, (ushort)tcp.Length, (byte)IpProtocol.Tcp);
            Assert.True(InternetChecksum.Verify(tcp, pseudo), $"segment {k}: TCP checksum");
            if (ipv6) Assert.Equal(TcpHeader + Mss, BinaryPrimitives.ReadUInt16BigEndian(packet[4..]));
            else
            {
                Assert.Equal(ip + TcpHeader + Mss, BinaryPrimitives.ReadUInt16BigEndian(packet[2..]));
                Assert.Equal((ushort)((k < 3 ? 0x4245 : 0x4248) + k % 3), BinaryPrimitives.ReadUInt16BigEndian(packet[4..]));
                Assert.True(InternetChecksum.Verify(packet[..20]), $"segment {k}: IPv4 header checksum");
            }
        }
        d.M2.CompleteReleases(d.Now);
        Assert.Equal(6L, h.Released);
        Assert.Equal(0, d.M2.HandoverBuffers.InUse);
    }

    [Fact]
    public void A_udp_packet_the_source_delivered_with_a_partial_checksum_is_found_in_the_destinations_completed_copy()
    {
        // The LMA keeps a home packet's partial UDP checksum where both paths complete it; the source delivers it so,
        // the destination completes it before holding it; the marker must still name the held copy.
        var d = MigrationDatapathTests.Migrating();
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);
        var home = Packet.Of(TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 8));
        var v = d.Lma.FromHome(home.Buffer, home.Offset, home.Length, OffloadInfo.PartialChecksum(40, 6), d.Now);
        Assert.Equal(VerdictKind.Segmented, v.Kind);
        Assert.Equal(2, v.SegmentCount);
        var copies = new List<(Ipv6Address Mag, byte[] Bytes, OffloadInfo Offload)>();
        for (int i = v.FirstSegment; i < v.FirstSegment + v.SegmentCount; i++)
        {
            var sv = d.Lma.Segments.VerdictOf(i);
            Assert.True(sv.Offload.NeedsChecksum);
            copies.Add((sv.TunnelDestination, d.Lma.Segments.Packet(i).ToArray(), sv.Offload));
        }
        d.Lma.Segments.Clear();
        foreach (var (mag, bytes, offload) in copies)
        {
            var q = Packet.Of(bytes);
            var r = d.MagAt(mag).FromTunnel(q.Buffer, q.Offset, q.Length, DomainFixture.LmaAddress, mag, 0, offload, d.Now);
            Assert.Equal(mag == DomainFixture.Mag1 ? VerdictKind.ToPort : VerdictKind.Consumed, r.Kind);
            if (mag == DomainFixture.Mag1) Assert.True(r.Offload.NeedsChecksum); // delivered partial to the vnet port
        }
        Assert.True(d.M1.PortStopped(MagFixture.Port, d.Now));
        d.Settle();
        Assert.Equal(1, d.M2.Counters.Handover.MarkersApplied[MarkerOutcome.Found]);
        Assert.Equal(1L, d.M2.Counters.Handover.TrimmedByMarker);
    }
}
