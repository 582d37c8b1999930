using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// IPv4 guests (RFC 5844, outer next header 4) get what IPv6 has: a TCPv4 TSO super-frame crosses the tunnel whole
/// (TTL decremented once, header checksum kept valid, its GSO descriptor re-based on the inner packet), the check
/// against the tunnel MTU compares the segment size (one Fragmentation Needed), single frames keep a partial
/// checksum where the path completes it, and at the exits (MAG and LMA) a super-frame is delivered whole.
/// </summary>
public class TunnelOffloadIpv4Tests
{
    private const int TcpHeader = 32;
    private const int Mss = 1460 - 20 - TcpHeader;

    private static OffloadInfo Gso(int link, int gsoSize = Mss) =>
        OffloadInfo.TcpSegmentation(GsoType.TcpV4, (ushort)gsoSize, (ushort)(link + 20 + TcpHeader), (ushort)(link + 20), 16);

    private static MagFixture Mag(bool superFrames, bool partial)
    {
        var f = new MagFixture();
        f.EstablishIpv4();
        f.Dp.TunnelOffloads = new FixedTunnelOffloads(superFrames, partial);
        return f;
    }

    private static byte[] FromVm(int payload, TcpFlags flags = TcpFlags.Ack) =>
        TestFrames.TcpSuperFrame(ipv6: false, payload, flags, source4: MagFixture.VmIpv4, destination4: MagFixture.Client4);

    private static byte[] ToVm(int payload) =>
        TestFrames.TcpSuperFrame(ipv6: false, payload, TcpFlags.Ack, source4: MagFixture.Client4, destination4: MagFixture.VmIpv4)[EthernetFrame.HeaderLength..];

    private static ushort PartialSum(ReadOnlySpan<byte> ipv4Packet)
    {
        uint pseudo = InternetChecksum.PseudoHeader(Ipv4Address.ReadFrom(ipv4Packet[12..]), Ipv4Address.ReadFrom(ipv4Packet[16..]),
            (ushort)(ipv4Packet.Length - 20), (byte)IpProtocol.Tcp);
        return (ushort)~InternetChecksum.Finish(pseudo);
    }

    [Fact]
    public void A_tcpv4_super_frame_from_the_vm_leaves_whole_when_the_path_carries_super_frames()
    {
        var f = Mag(superFrames: true, partial: true);
        const int payload = 60_000;
        var frame = FromVm(payload, TcpFlags.Ack | TcpFlags.Psh);
        var (v, p) = f.FromVm(frame, Gso(EthernetFrame.HeaderLength));

        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(MagFixture.Lma, v.TunnelDestination);
        var inner = p.Output(v);
        Assert.Equal(frame.Length - EthernetFrame.HeaderLength, inner.Length);
        Assert.True(Ipv4Packet.TryCreate(inner, out var ip, out _));
        Assert.Equal(63, ip.TimeToLive); // RFC 2473 §3.1 / RFC 5844 §3.2.4: the entry point forwards once
        Assert.True(ip.IsHeaderChecksumValid);
        Assert.Equal(GsoType.TcpV4, v.Offload.GsoType);
        Assert.Equal((Mss, 20, 16, 20 + TcpHeader), (v.Offload.GsoSize, v.Offload.ChecksumStart, v.Offload.ChecksumOffset, v.Offload.HeaderLength));
        Assert.Equal(PartialSum(inner), BinaryPrimitives.ReadUInt16BigEndian(inner.AsSpan(20 + 16)));

        int segments = (payload + Mss - 1) / Mss;
        Assert.Equal(1, f.Dp.Counters.SuperFramesForwarded);
        Assert.Equal(0, f.Dp.Counters.SuperFramesSegmented);
        Assert.Equal(0, f.Dp.Segments.Count);
        Assert.Equal(segments, f.Dp.VmIpv4Counters[MagFixture.VmMac].InPackets);
        Assert.Equal(segments, f.Dp.TunnelCounters[MagFixture.Lma].OutPackets);
    }

    [Fact]
    public void Fragmentation_needed_compares_the_segment_size_once_per_super_frame()
    {
        var f = Mag(superFrames: true, partial: true);
        Assert.Equal(VerdictKind.ToTunnel, f.FromVm(FromVm(60_000), Gso(EthernetFrame.HeaderLength)).Verdict.Kind);
        Assert.Empty(f.TakeControl());
        var (v, _) = f.FromVm(FromVm(60_000), Gso(EthernetFrame.HeaderLength, Mss + 1));
        Assert.Equal(DropReason.PacketTooBig, v.Reason);
        var (meta, reply) = Assert.Single(f.TakeControl());
        Assert.Equal(ControlMessageKind.Icmpv4Error, meta.Kind);
        Assert.True(EthernetFrame.TryCreate(reply, out var eth, out _));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip, out _));
        Assert.True(Icmpv4Packet.TryCreate(ip.Payload, out var icmp, out _));
        Assert.Equal((Icmpv4Type.DestinationUnreachable, (byte)Icmpv4DestinationUnreachableCode.FragmentationNeeded, (ushort)1460),
            (icmp.Type, icmp.Code, icmp.NextHopMtu));
        Assert.Equal(1, f.Dp.Counters.SuperFramesForwarded);
    }

    [Fact]
    public void A_single_ipv4_frame_keeps_its_partial_checksum_where_the_path_completes_it()
    {
        var f = Mag(superFrames: false, partial: true);
        var frame = FromVm(700, TcpFlags.Ack | TcpFlags.Psh);
        var (v, p) = f.FromVm(frame, OffloadInfo.PartialChecksum(EthernetFrame.HeaderLength + 20, 16));
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(OffloadInfo.PartialChecksum(20, 16).ToString(), v.Offload.ToString());
        Assert.Equal(0, f.Dp.Counters.ChecksumsCompleted);
        Assert.Equal(frame.AsSpan(EthernetFrame.HeaderLength + 20).ToArray(), p.Output(v).AsSpan(20).ToArray());

        // Where it does not (the raw protocol-4 socket), it is completed here and verifies.
        var g = Mag(superFrames: false, partial: false);
        var (v2, p2) = g.FromVm(FromVm(700, TcpFlags.Ack | TcpFlags.Psh), OffloadInfo.PartialChecksum(EthernetFrame.HeaderLength + 20, 16));
        Assert.False(v2.Offload.NeedsChecksum);
        Assert.Equal(1, g.Dp.Counters.ChecksumsCompleted);
        Assert.True(Ipv4Packet.TryCreate(p2.Output(v2), out var ip, out _));
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
        Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
    }

    [Fact]
    public void Without_super_frames_a_tcpv4_super_frame_is_cut_with_partial_checksums()
    {
        var f = Mag(superFrames: false, partial: true);
        var (v, _) = f.FromVm(FromVm(20_000), Gso(EthernetFrame.HeaderLength));
        Assert.Equal(VerdictKind.Segmented, v.Kind);
        for (int i = 0; i < v.SegmentCount; i++)
        {
            var sv = f.Dp.Segments.VerdictOf(v.FirstSegment + i);
            Assert.Equal(OffloadInfo.PartialChecksum(20, 16).ToString(), sv.Offload.ToString());
            var packet = f.Dp.Segments.Packet(v.FirstSegment + i).ToArray();
            Assert.True(ChecksumCompletion.TryComplete(packet, packet.Length, sv.Offload, 20));
            Assert.True(Ipv4Packet.TryCreate(packet, out var ip, out _));
            Assert.True(ip.IsHeaderChecksumValid);
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination), $"segment {i}");
        }
        Assert.Equal(v.SegmentCount, f.Dp.VmIpv4Counters[MagFixture.VmMac].InPackets);
    }

    [Fact]
    public void A_tcpv4_super_frame_from_the_tunnel_goes_to_the_vm_whole()
    {
        var f = Mag(superFrames: true, partial: true);
        var inner = ToVm(30_000);
        var p = Packet.Of(inner);
        var v = f.Dp.FromTunnel(p.Buffer, p.Offset, p.Length, MagFixture.Lma, MagFixture.Coa, 0, Gso(0), f.Now);
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.Equal(Gso(EthernetFrame.HeaderLength).ToString(), v.Offload.ToString());
        var frame = p.Output(v);
        Assert.True(EthernetFrame.TryCreate(frame, out var eth, out _));
        Assert.Equal((MagFixture.VmMac, EtherType.Ipv4), (eth.Destination, eth.EtherType));
        Assert.Equal(inner, frame[EthernetFrame.HeaderLength..]);
        int segments = (30_000 + Mss - 1) / Mss;
        Assert.Equal(1, f.Dp.Counters.SuperFramesDelivered);
        Assert.Equal(segments, f.Dp.VmIpv4Counters[MagFixture.VmMac].OutPackets);

        // A descriptor of the other IP version, or UDP GSO, is refused and counted.
        var wrong = OffloadInfo.TcpSegmentation(GsoType.TcpV6, Mss, 20 + TcpHeader, 20, 16);
        Assert.Equal(DropReason.OffloadInvalid, f.Dp.FromTunnel(p.Buffer, p.Offset, p.Length, MagFixture.Lma, MagFixture.Coa, 0, wrong, f.Now).Reason);
        var udpGso = new OffloadInfo { Flags = OffloadFlags.NeedsChecksum, GsoType = GsoType.UdpL4, GsoSize = 1200, ChecksumStart = 20, ChecksumOffset = 6 };
        Assert.Equal(DropReason.UdpSegmentationUnsupported, f.Dp.FromTunnel(p.Buffer, p.Offset, p.Length, MagFixture.Lma, MagFixture.Coa, 0, udpGso, f.Now).Reason);
    }

    [Fact]
    public void From_the_raw_socket_a_merged_tcpv4_packet_is_described_again_and_a_reassembled_datagram_goes_on()
    {
        var f = Mag(superFrames: false, partial: false);
        var v = f.FromTunnel(Packet.Of(ToVm(20_000)));
        Assert.Equal(VerdictKind.ToPort, v.Kind);
        Assert.Equal(Gso(EthernetFrame.HeaderLength).ToString(), v.Offload.ToString());
        // A UDP datagram longer than the tunnel MTU without DF: its tunnel packet was fragmented at the entry (RFC 2473
        // §7.2(b)) and reassembled by the protocol-4 socket; delivered as it is.
        var udp = Packet.Of(MagIpv4Tests.Ipv4Udp(MagFixture.Client4, MagFixture.VmIpv4, 3000, dontFragment: false));
        var u = f.FromTunnel(udp);
        Assert.Equal(VerdictKind.ToPort, u.Kind);
        Assert.False(u.Offload.IsGso);
    }

    [Fact]
    public void The_lma_sends_a_tcpv4_home_super_frame_whole_and_delivers_one_from_the_tunnel_whole()
    {
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);

        var home = Packet.Of(ToVm(40_000));
        var v = d.Lma.FromHome(home.Buffer, home.Offset, home.Length, Gso(0), d.Now);
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(DomainFixture.Mag1, v.TunnelDestination);
        Assert.Equal(Gso(0).ToString(), v.Offload.ToString());
        Assert.Equal(1, d.Lma.Counters.SuperFramesForwarded);
        var inner = home.Output(v);
        Assert.True(Ipv4Packet.TryCreate(inner, out var ip, out _));
        Assert.Equal(63, ip.TimeToLive);
        Assert.True(ip.IsHeaderChecksumValid);
        // The MAG takes it as it comes out of the tunnel and hands it to the VM's port whole.
        var atMag = Packet.Of(inner);
        var toVm = d.M1.FromTunnel(atMag.Buffer, atMag.Offset, atMag.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, 0, v.Offload, d.Now);
        Assert.Equal(VerdictKind.ToPort, toVm.Kind);
        Assert.Equal(Mss, toVm.Offload.GsoSize);

        // Tunnel → home: a super-frame from the VM.
        var up = FromVm(40_000)[EthernetFrame.HeaderLength..];
        var fromMag = Packet.Of(up);
        var h = d.Lma.FromTunnel(fromMag.Buffer, fromMag.Offset, fromMag.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, 0, Gso(0), d.Now);
        Assert.Equal(VerdictKind.ToHome, h.Kind);
        Assert.Equal(Gso(0).ToString(), h.Offload.ToString());
        Assert.Equal(up, fromMag.Output(h));
        Assert.Equal(1, d.Lma.Counters.SuperFramesDelivered);
        Assert.Equal((40_000 + Mss - 1) / Mss, d.Lma.Ipv4Counters[MagFixture.VmIpv4].InPackets);
    }
}
