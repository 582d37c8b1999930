using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>What the host's tunnel path says it can take, fixed for a test.</summary>
internal sealed class FixedTunnelOffloads(bool superFrames, bool partialChecksums) : ITunnelOffloads
{
    public bool CarriesSuperFrames(Ipv6Address peer) => superFrames;
    public bool CompletesChecksums(Ipv6Address peer) => partialChecksums;
}

/// <summary>
/// Super-frames across the tunnel: where the path carries them, a TSO frame from a VM (or a TUN) leaves whole with
/// its GSO descriptor re-based on the inner packet; Packet Too Big still compares the segment size; where it only
/// completes checksums, the segments and single frames leave with partial checksums; at the exit the descriptor is
/// checked and handed on, and the outer ECN mark is carried in (RFC 5213 §5.6.3).
/// </summary>
public class TunnelOffloadTests
{
    private const int TcpHeader = 32;
    private const int Mss = 1460 - 40 - TcpHeader;

    private static OffloadInfo Gso(int link, int gsoSize = Mss, GsoType type = GsoType.TcpV6, int ipHeader = 40) =>
        OffloadInfo.TcpSegmentation(type, (ushort)gsoSize, (ushort)(link + ipHeader + TcpHeader), (ushort)(link + ipHeader), 16);

    private static MagFixture Mag(bool superFrames, bool partial)
    {
        var f = new MagFixture();
        f.Establish();
        f.Dp.TunnelOffloads = new FixedTunnelOffloads(superFrames, partial);
        return f;
    }

    /// <summary>The folded pseudo-header sum over the TCP length, what NEEDS_CSUM frames carry in the checksum field.</summary>
    private static ushort PartialSum(ReadOnlySpan<byte> ipv6Packet)
    {
        uint pseudo = InternetChecksum.PseudoHeader(Ipv6Address.ReadFrom(ipv6Packet[8..]), Ipv6Address.ReadFrom(ipv6Packet[24..]),
            (uint)(ipv6Packet.Length - 40), (byte)IpProtocol.Tcp);
        return (ushort)~InternetChecksum.Finish(pseudo);
    }

    [Fact]
    public void A_super_frame_leaves_whole_when_the_path_carries_super_frames()
    {
        var f = Mag(superFrames: true, partial: true);
        const int payload = 64_000;
        var frame = TestFrames.TcpSuperFrame(ipv6: true, payload, TcpFlags.Ack | TcpFlags.Psh);
        var original = (byte[])frame.Clone();
        var (v, p) = f.FromVm(frame, Gso(EthernetFrame.HeaderLength));

        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(MagFixture.Lma, v.TunnelDestination);
        var inner = p.Output(v);
        Assert.Equal(original.Length - EthernetFrame.HeaderLength, inner.Length);
        Assert.Equal(63, inner[7]); // hop limit decremented once, RFC 2473 §3.1
        Assert.Equal(original.AsSpan(EthernetFrame.HeaderLength + 40 + 18).ToArray(), inner.AsSpan(40 + 18).ToArray()); // TCP from the checksum on: unchanged
        Assert.Equal(GsoType.TcpV6, v.Offload.GsoType);
        Assert.Equal(Mss, v.Offload.GsoSize);
        Assert.True(v.Offload.NeedsChecksum);
        Assert.Equal((40, 16, 40 + TcpHeader), (v.Offload.ChecksumStart, v.Offload.ChecksumOffset, v.Offload.HeaderLength));
        Assert.Equal(PartialSum(inner), BinaryPrimitives.ReadUInt16BigEndian(inner.AsSpan(40 + 16)));

        int segments = (payload + Mss - 1) / Mss;
        Assert.Equal(1, f.Dp.Counters.SuperFramesForwarded);
        Assert.Equal(0, f.Dp.Counters.SuperFramesSegmented);
        Assert.Equal(0, f.Dp.Segments.Count);
        Assert.Equal(segments, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
        Assert.Equal(inner.Length + (segments - 1) * (40L + TcpHeader), f.Dp.TunnelCounters[MagFixture.Lma].OutBytes);
        Assert.Equal(segments, f.Dp.VmCounters[MagFixture.VmMac].InPackets);
    }

    [Fact]
    public void A_guest_frame_without_a_partial_checksum_leaves_whole_with_one()
    {
        var f = Mag(superFrames: true, partial: true);
        var frame = TestFrames.TcpSuperFrame(ipv6: true, 20_000, TcpFlags.Ack);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(EthernetFrame.HeaderLength + 40 + 16), 0x1234); // some full checksum
        var offload = Gso(EthernetFrame.HeaderLength);
        offload.Flags = OffloadFlags.None;
        var (v, p) = f.FromVm(frame, offload);
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.True(v.Offload.NeedsChecksum);
        var inner = p.Output(v);
        Assert.Equal(PartialSum(inner), BinaryPrimitives.ReadUInt16BigEndian(inner.AsSpan(40 + 16)));
    }

    [Fact]
    public void Packet_too_big_compares_the_segment_size_not_the_super_frame()
    {
        var f = Mag(superFrames: true, partial: true);
        // 64 KB frames are fine whole when each segment fits the 1460-byte tunnel MTU ...
        Assert.Equal(VerdictKind.ToTunnel, f.FromVm(TestFrames.TcpSuperFrame(true, 60_000, TcpFlags.Ack), Gso(EthernetFrame.HeaderLength)).Verdict.Kind);
        Assert.Empty(f.TakeControl());
        // ... and one byte more per segment is too big, whatever the super-frame's length.
        var (v, _) = f.FromVm(TestFrames.TcpSuperFrame(true, 60_000, TcpFlags.Ack), Gso(EthernetFrame.HeaderLength, Mss + 1));
        Assert.Equal(DropReason.PacketTooBig, v.Reason);
        var (meta, reply) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.PacketTooBig, meta.Kind);
        Assert.True(PacketTooBig.TryParse(MagAccessLinkTests.Ipv6(reply).Payload, out var ptb, out _));
        Assert.Equal(1460u, ptb.Mtu);
        Assert.Equal(1, f.Dp.Counters.SuperFramesForwarded); // the first one only
    }

    [Fact]
    public void Without_super_frames_the_segments_leave_with_partial_checksums_the_kernel_completes()
    {
        var f = Mag(superFrames: false, partial: true);
        var (v, _) = f.FromVm(TestFrames.TcpSuperFrame(true, 20_000, TcpFlags.Ack | TcpFlags.Psh), Gso(EthernetFrame.HeaderLength));
        Assert.Equal(VerdictKind.Segmented, v.Kind);
        Assert.Equal(0, f.Dp.Counters.ChecksumsCompleted);
        for (int i = 0; i < v.SegmentCount; i++)
        {
            var sv = f.Dp.Segments.VerdictOf(v.FirstSegment + i);
            Assert.Equal(OffloadInfo.PartialChecksum(40, 16).ToString(), sv.Offload.ToString());
            var packet = f.Dp.Segments.Packet(v.FirstSegment + i).ToArray();
            Assert.Equal(PartialSum(packet), BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(40 + 16)));
            // What the kernel does with it: sum from csum_start and complement; the result verifies.
            Assert.True(ChecksumCompletion.TryComplete(packet, packet.Length, sv.Offload, 40));
            Assert.True(Ipv6Packet.TryCreate(packet, out var ip, out _));
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination), $"segment {i}");
        }
    }

    [Fact]
    public void A_single_frame_keeps_its_partial_checksum_where_the_path_completes_it()
    {
        var f = Mag(superFrames: false, partial: true);
        var frame = TestFrames.TcpSuperFrame(ipv6: true, 700, TcpFlags.Ack | TcpFlags.Psh);
        var (v, p) = f.FromVm(frame, OffloadInfo.PartialChecksum(54, 16));
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(OffloadInfo.PartialChecksum(40, 16).ToString(), v.Offload.ToString());
        Assert.Equal(0, f.Dp.Counters.ChecksumsCompleted);
        Assert.Equal(frame.AsSpan(EthernetFrame.HeaderLength + 40).ToArray(), p.Output(v).AsSpan(40).ToArray());
        // Where it does not, it is completed here as before.
        var g = Mag(superFrames: false, partial: false);
        var (v2, p2) = g.FromVm(TestFrames.TcpSuperFrame(ipv6: true, 700, TcpFlags.Ack | TcpFlags.Psh), OffloadInfo.PartialChecksum(54, 16));
        Assert.False(v2.Offload.NeedsChecksum);
        Assert.Equal(1, g.Dp.Counters.ChecksumsCompleted);
        Assert.True(Ipv6Packet.TryCreate(p2.Output(v2), out var ip, out _));
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
        Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
    }

    [Fact]
    public void A_super_frame_from_the_tunnel_goes_to_the_vm_whole_with_its_descriptor()
    {
        var f = Mag(superFrames: true, partial: true);
        var inner = TestFrames.TcpSuperFrame(true, 30_000, TcpFlags.Ack, source: MagFixture.Client, destination: MagFixture.VmAddress)[EthernetFrame.HeaderLength..];
        var p = Packet.Of(inner);
        var v = f.Dp.FromTunnel(p.Buffer, p.Offset, p.Length, MagFixture.Lma, MagFixture.Coa, 0, Gso(0), f.Now);
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.Equal(Gso(EthernetFrame.HeaderLength).ToString(), v.Offload.ToString()); // re-based on the Ethernet frame
        Assert.Equal(inner, p.Output(v)[EthernetFrame.HeaderLength..]);
        int segments = (30_000 + Mss - 1) / Mss;
        Assert.Equal(1, f.Dp.Counters.SuperFramesDelivered);
        Assert.Equal(segments, f.Dp.VmCounters[MagFixture.VmMac].OutPackets);

        // A descriptor that does not match the packet is refused: the checksum elsewhere, a UDP packet, gso_size 0.
        var bad = Gso(0);
        bad.ChecksumStart = 30;
        Assert.Equal(DropReason.OffloadInvalid, f.Dp.FromTunnel(p.Buffer, p.Offset, p.Length, MagFixture.Lma, MagFixture.Coa, 0, bad, f.Now).Reason);
        var udp = Packet.Of(TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 3000));
        Assert.Equal(DropReason.OffloadInvalid, f.Dp.FromTunnel(udp.Buffer, udp.Offset, udp.Length, MagFixture.Lma, MagFixture.Coa, 0, Gso(0), f.Now).Reason);
        Assert.Equal(DropReason.OffloadInvalid, f.Dp.FromTunnel(p.Buffer, p.Offset, p.Length, MagFixture.Lma, MagFixture.Coa, 0, Gso(0, gsoSize: 0), f.Now).Reason);
    }

    [Fact]
    public void A_merged_packet_from_the_raw_socket_is_described_again_as_a_super_frame()
    {
        // The raw socket hands over what the kernel's GRO merged (or a super-frame that crossed whole) without its
        // GSO type: longer than the tunnel MTU, the checksum field holding the pseudo-header sum.
        var f = Mag(superFrames: false, partial: false);
        var inner = TestFrames.TcpSuperFrame(true, 20_000, TcpFlags.Ack, source: MagFixture.Client, destination: MagFixture.VmAddress)[EthernetFrame.HeaderLength..];
        var p = Packet.Of(inner);
        var v = f.FromTunnel(p);
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.Equal(Gso(EthernetFrame.HeaderLength, gsoSize: 1460 - 40 - TcpHeader).ToString(), v.Offload.ToString());
        Assert.Equal(1, f.Dp.Counters.SuperFramesDelivered);

        // Anything else that long cannot have come through a 1460-byte tunnel: counted and dropped.
        var udp = Packet.Of(TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 3000));
        Assert.Equal(DropReason.PacketTooBig, f.FromTunnel(udp).Reason);
    }

    [Theory]
    [InlineData(0b10, 0b11, true, 0b11)]  // outer CE, inner ECT(0): inner becomes CE
    [InlineData(0b01, 0b11, true, 0b11)]  // ECT(1) likewise
    [InlineData(0b00, 0b11, false, 0)]    // inner Not-ECT: dropped
    [InlineData(0b10, 0b10, true, 0b10)]  // outer ECT(0): nothing to carry
    [InlineData(0b00, 0b00, true, 0b00)]
    public void The_outer_ecn_mark_is_carried_into_the_inner_packet(int innerEcn, int outerEcn, bool delivered, int result)
    {
        var f = Mag(superFrames: true, partial: true);
        var inner = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 100);
        inner[1] = (byte)((inner[1] & 0xCF) | (innerEcn << 4));
        var p = Packet.Of(inner);
        var v = f.Dp.FromTunnel(p.Buffer, p.Offset, p.Length, MagFixture.Lma, MagFixture.Coa, (byte)(0xB8 | outerEcn), OffloadInfo.None, f.Now);
        if (!delivered)
        {
            Assert.Equal(DropReason.CongestionOnNotEct, v.Reason);
            return;
        }
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.Equal(result, (p.Output(v)[EthernetFrame.HeaderLength + 1] >> 4) & 3);
        Assert.Equal(0, p.Output(v)[EthernetFrame.HeaderLength] & 0x0F); // the inner DSCP is the VM's own, untouched
    }

    [Fact]
    public void An_ipv4_packet_marked_ce_keeps_a_valid_header_checksum()
    {
        var p = new byte[40];
        Ipv4Packet.WriteHeader(p, new Ipv4Address(10, 0, 0, 1), new Ipv4Address(10, 0, 0, 2), IpProtocol.Udp, 20, tos: 0x02); // ECT(0)
        Assert.True(EcnDecapsulation.Apply(p, 0x03));
        Assert.True(Ipv4Packet.TryCreate(p, out var ip, out _));
        Assert.Equal(0x03, ip.TypeOfService & 3);
        Assert.True(ip.IsHeaderChecksumValid);
        var notEct = new byte[40];
        Ipv4Packet.WriteHeader(notEct, new Ipv4Address(10, 0, 0, 1), new Ipv4Address(10, 0, 0, 2), IpProtocol.Udp, 20);
        Assert.False(EcnDecapsulation.Apply(notEct, 0x03));
    }

    [Fact]
    public void The_lma_sends_a_home_super_frame_whole_and_delivers_one_from_the_tunnel_whole()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);

        // Home → tunnel: the TUN's offsets count from the IPv6 header, and so do the verdict's.
        var down = TestFrames.TcpSuperFrame(true, 40_000, TcpFlags.Ack, source: MagFixture.Client, destination: MagFixture.VmAddress)[EthernetFrame.HeaderLength..];
        var home = Packet.Of(down);
        var v = d.Lma.FromHome(home.Buffer, home.Offset, home.Length, Gso(0), d.Now);
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(DomainFixture.Mag1, v.TunnelDestination);
        Assert.Equal(Gso(0).ToString(), v.Offload.ToString());
        Assert.Equal(down.Length, v.Length);
        Assert.Equal(1, d.Lma.Counters.SuperFramesForwarded);
        // The MAG takes it as it comes out of the tunnel and hands it to the VM's port whole.
        var atMag = Packet.Of(home.Output(v));
        var toVm = d.M1.FromTunnel(atMag.Buffer, atMag.Offset, atMag.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, 0, v.Offload, d.Now);
        Assert.Equal(VerdictKind.ToPort, toVm.Kind);
        Assert.Equal(Mss, toVm.Offload.GsoSize);

        // Tunnel → home: a super-frame from the VM, as the MAG's tunnel receiver hands it over.
        var up = TestFrames.TcpSuperFrame(true, 40_000, TcpFlags.Ack)[EthernetFrame.HeaderLength..];
        var fromMag = Packet.Of(up);
        var h = d.Lma.FromTunnel(fromMag.Buffer, fromMag.Offset, fromMag.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, 0, Gso(0), d.Now);
        Assert.Equal(VerdictKind.ToHome, h.Kind);
        Assert.Equal(Gso(0).ToString(), h.Offload.ToString());
        Assert.Equal(up, fromMag.Output(h));
        Assert.Equal(1, d.Lma.Counters.SuperFramesDelivered);
        Assert.Equal((40_000 + Mss - 1) / Mss, d.Lma.PrefixCounters[MagFixture.Hnp].InPackets);

        // Without super-frames on the path but with checksum offload, the LMA cuts it with partial checksums.
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: false, partialChecksums: true);
        var again = Packet.Of(down);
        var s = d.Lma.FromHome(again.Buffer, again.Offset, again.Length, Gso(0), d.Now);
        Assert.Equal(VerdictKind.Segmented, s.Kind);
        Assert.Equal(OffloadInfo.PartialChecksum(40, 16).ToString(), d.Lma.Segments.VerdictOf(s.FirstSegment).Offload.ToString());
        d.Lma.Segments.Clear();
    }
}
