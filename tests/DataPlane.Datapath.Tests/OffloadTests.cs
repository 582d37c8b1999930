using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>Checksum completion (NEEDS_CSUM) and TCP segmentation of GSO super-frames.</summary>
public class OffloadTests
{
    private const int TcpHeader = 32;           // 20 + NOP, NOP, timestamps
    private const int Mss = 1460 - 40 - TcpHeader; // segments exactly fill the tunnel MTU

    private static OffloadInfo Gso(GsoType type, int ipHeader, int gsoSize = Mss) => OffloadInfo.TcpSegmentation(type, (ushort)gsoSize,
        (ushort)(EthernetFrame.HeaderLength + ipHeader + TcpHeader), (ushort)(EthernetFrame.HeaderLength + ipHeader), 16);

    [Fact]
    public void A_64k_tcpv6_super_frame_becomes_mss_sized_segments_with_consecutive_sequence_numbers_and_valid_checksums()
    {
        var f = new MagFixture();
        f.Establish();
        const int payload = 64_000;
        const uint seq = 4_294_000_000; // wraps during the run
        var flags = TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr;
        var frame = TestFrames.TcpSuperFrame(ipv6: true, payload, flags, seq);
        var original = (byte[])frame.Clone();
        var (verdict, _) = f.FromVm(frame, Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength));

        int count = (payload + Mss - 1) / Mss;
        Assert.Equal(VerdictKind.Segmented, verdict.Kind);
        Assert.Equal((0, count), (verdict.FirstSegment, verdict.SegmentCount));
        Assert.Equal(47, count);
        var pool = f.Dp.Segments;
        int carried = 0;
        for (int i = 0; i < count; i++)
        {
            var v = pool.VerdictOf(verdict.FirstSegment + i);
            Assert.Equal(VerdictKind.ToTunnel, v.Kind);
            Assert.Equal(MagFixture.Lma, v.TunnelDestination);
            Assert.Equal(pool.Headroom + EthernetFrame.HeaderLength, v.Offset);
            var packet = pool.Packet(verdict.FirstSegment + i);
            Assert.True(Ipv6Packet.TryCreate(packet, out var ip, out _));
            int chunk = Math.Min(Mss, payload - carried);
            Assert.Equal(Ipv6Packet.HeaderLength + TcpHeader + chunk, packet.Length);
            Assert.Equal(TcpHeader + chunk, ip.PayloadLength);
            Assert.Equal(63, ip.HopLimit);
            Assert.True(packet.Length <= 1460);
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Assert.Equal(unchecked(seq + (uint)carried), tcp.SequenceNumber);
            Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination), $"segment {i} checksum");
            bool last = i == count - 1;
            Assert.Equal(last ? TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin : i == 0 ? TcpFlags.Ack | TcpFlags.Cwr : TcpFlags.Ack, tcp.Flags);
            Assert.True(tcp.TryGetTimestamps(out uint tsval, out _));
            Assert.Equal(0x11223344u, tsval);
            int dataAt = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + TcpHeader + carried;
            Assert.True(tcp.Payload.SequenceEqual(original.AsSpan(dataAt, chunk)), $"segment {i} payload");
            carried += chunk;
        }
        Assert.Equal(payload, carried);
        Assert.Equal(1, f.Dp.Counters.SuperFramesSegmented);
        Assert.Equal(count, f.Dp.Counters.SegmentsProduced);
        Assert.Equal(count, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
        Assert.Equal(count, f.Dp.VmCounters[MagFixture.VmMac].InPackets);
        Assert.Equal(count, pool.Count);
        pool.Clear();
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void The_tcpv4_segmenter_increments_the_ipv4_id_and_rewrites_lengths_and_both_checksums()
    {
        const int payload = 10_000, mss = 1448;
        var frame = TestFrames.TcpSuperFrame(ipv6: false, payload, TcpFlags.Ack | TcpFlags.Psh, sequence: 5, ipv4Id: 0xFFFE);
        Assert.True(TcpSegmenter.TryParse(frame, EthernetFrame.HeaderLength, out var super, out var error), error.ToString());
        Assert.False(super.IsIpv6);
        int count = super.SegmentCount(mss);
        Assert.Equal(7, count);
        var slot = new byte[2048];
        for (int i = 0; i < count; i++)
        {
            int length = TcpSegmenter.WriteSegment(frame, super, mss, i, count, slot);
            Assert.True(Ipv4Packet.TryCreate(slot.AsSpan(EthernetFrame.HeaderLength, length - EthernetFrame.HeaderLength), out var ip, out _));
            Assert.Equal(length - EthernetFrame.HeaderLength, ip.TotalLength);
            Assert.Equal((ushort)(0xFFFE + i), ip.Identification); // wraps after 0xFFFF
            Assert.True(ip.IsHeaderChecksumValid);
            Assert.True(ip.DontFragment);
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Assert.Equal(5u + (uint)(i * mss), tcp.SequenceNumber);
            Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
            Assert.Equal(i == count - 1 ? TcpFlags.Ack | TcpFlags.Psh : TcpFlags.Ack, tcp.Flags);
        }
    }

    [Fact]
    public void Tcpv4_gso_from_a_vm_is_dropped_unsegmented_because_ipv4_is_not_served()
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, _) = f.FromVm(TestFrames.TcpSuperFrame(ipv6: false, 10_000, TcpFlags.Ack), Gso(GsoType.TcpV4, Ipv4Packet.MinHeaderLength));
        Assert.Equal(DropReason.Ipv4NotServed, verdict.Reason);
        Assert.Equal(0, f.Dp.Segments.Count);
    }

    [Fact]
    public void Udp_gso_is_dropped_and_counted_for_now()
    {
        var f = new MagFixture();
        f.Establish();
        var offload = new OffloadInfo { Flags = OffloadFlags.NeedsChecksum, GsoType = GsoType.UdpL4, GsoSize = 1200, ChecksumStart = 54, ChecksumOffset = 6 };
        Assert.Equal(DropReason.UdpSegmentationUnsupported, f.FromVm(TestFrames.FromVm(payload: 5000), offload).Verdict.Reason);
    }

    [Fact]
    public void A_super_frame_whose_segments_exceed_the_tunnel_mtu_gets_one_packet_too_big()
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, _) = f.FromVm(TestFrames.TcpSuperFrame(ipv6: true, 30_000, TcpFlags.Ack), Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength, gsoSize: Mss + 1));
        Assert.Equal(DropReason.PacketTooBig, verdict.Reason);
        var (meta, reply) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.PacketTooBig, meta.Kind);
        Assert.True(PacketTooBig.TryParse(MagAccessLinkTests.Ipv6(reply).Payload, out var ptb, out _));
        Assert.Equal(1460u, ptb.Mtu);
        Assert.Equal(0, f.Dp.Segments.Count);
    }

    [Fact]
    public void Super_frames_that_fail_a_check_are_dropped_whole_and_pool_exhaustion_is_counted()
    {
        var f = new MagFixture(options: new MagDatapathOptions { SegmentPoolCapacity = 60 });
        f.Establish();
        var spoofed = TestFrames.TcpSuperFrame(ipv6: true, 64_000, TcpFlags.Ack);
        Ipv6Address.Parse("2001:db8:66::1").WriteTo(spoofed.AsSpan(EthernetFrame.HeaderLength + 8));
        Assert.Equal(DropReason.SpoofedSource, f.FromVm(spoofed, Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength)).Verdict.Reason);
        Assert.Equal(1, f.Dp.Counters.All.Drops[DropReason.SpoofedSource]);
        Assert.Equal(VerdictKind.Segmented, f.FromVm(TestFrames.TcpSuperFrame(true, 64_000, TcpFlags.Ack), Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength)).Verdict.Kind);
        Assert.Equal(DropReason.SegmentPoolExhausted,
            f.FromVm(TestFrames.TcpSuperFrame(true, 64_000, TcpFlags.Ack), Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength)).Verdict.Reason);
        f.Dp.Segments.Clear(); // the host sent the batch
        Assert.Equal(VerdictKind.Segmented, f.FromVm(TestFrames.TcpSuperFrame(true, 64_000, TcpFlags.Ack), Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength)).Verdict.Kind);
        Assert.Equal(DropReason.OffloadInvalid, f.FromVm(TestFrames.TcpSuperFrame(true, 5000, TcpFlags.Ack), Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength, gsoSize: 0)).Verdict.Reason);
        Assert.Equal(DropReason.OffloadInvalid, f.FromVm(TestFrames.FromVm(payload: 3000), Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength)).Verdict.Reason); // UDP under a TCP GSO type
    }

    [Fact]
    public void A_gso_frame_with_no_more_than_one_segment_of_payload_only_gets_its_checksum_completed()
    {
        var f = new MagFixture();
        f.Establish();
        var (verdict, packet) = f.FromVm(TestFrames.TcpSuperFrame(ipv6: true, 500, TcpFlags.Ack | TcpFlags.Psh), Gso(GsoType.TcpV6, Ipv6Packet.HeaderLength));
        Assert.Equal(VerdictKind.ToTunnel, verdict.Kind);
        var inner = packet.Output(verdict);
        Assert.True(Ipv6Packet.TryCreate(inner, out var ip, out _));
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
        Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.Equal(1, f.Dp.Counters.ChecksumsCompleted);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_partial_checksum_is_completed_before_the_packet_is_encapsulated(bool tcp)
    {
        var f = new MagFixture();
        f.Establish();
        byte[] frame;
        int checksumOffset;
        if (tcp)
        {
            frame = TestFrames.TcpSuperFrame(ipv6: true, 700, TcpFlags.Ack | TcpFlags.Psh);
            checksumOffset = 16; // the builder left the partial sum a guest leaves
        }
        else
        {
            frame = TestFrames.FromVm(payload: 301); // odd length: the last byte is padded
            checksumOffset = 6;
            UdpDatagram.TryCreate(frame.AsSpan(54), out var u, out _);
            u.Checksum = (ushort)~InternetChecksum.Finish(u.PseudoHeaderSum(MagFixture.VmAddress, MagFixture.Client));
        }
        var expected = (byte[])frame.Clone();
        if (tcp)
        {
            TcpSegment.TryCreate(expected.AsSpan(54), out var t, out _);
            t.FillChecksum(MagFixture.VmAddress, MagFixture.Client);
        }
        else
        {
            UdpDatagram.TryCreate(expected.AsSpan(54), out var u, out _);
            u.FillChecksum(MagFixture.VmAddress, MagFixture.Client);
        }
        expected[EthernetFrame.HeaderLength + 7]--; // and the hop limit
        // With Ethernet padding after the IP packet, which the checksum must not cover.
        var padded = frame.Concat(new byte[] { 0xAA, 0xBB, 0xCC }).ToArray();
        var (verdict, packet) = f.FromVm(padded, OffloadInfo.PartialChecksum(54, (ushort)checksumOffset));
        Assert.Equal(VerdictKind.ToTunnel, verdict.Kind);
        Assert.Equal(Hex.Of(expected[EthernetFrame.HeaderLength..]), Hex.Of(packet.Output(verdict)));
        Assert.Equal(1, f.Dp.Counters.ChecksumsCompleted);
    }

    [Fact]
    public void Checksum_offsets_outside_the_packet_are_refused()
    {
        var f = new MagFixture();
        f.Establish();
        var frame = TestFrames.FromVm();
        Assert.Equal(DropReason.OffloadInvalid, f.FromVm(frame, OffloadInfo.PartialChecksum((ushort)(frame.Length - 4), 6)).Verdict.Reason);
        Assert.Equal(DropReason.OffloadInvalid, f.FromVm(frame, OffloadInfo.PartialChecksum(4, 6)).Verdict.Reason);
    }
}
