using System.Buffers.Binary;
using DataPlane.Linux.Native;
using DataPlane.Linux.Netlink;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>
/// The tc egress relabel program: the kernel's verifier accepts it; it leaves alone what is not ours; attached once
/// (tcx), replacing what a crashed run left (clsact), gone when disposed; and with it an IPv6-in-IPv6 (or
/// IPv4-in-IPv6) TCP super-frame sent by AF_PACKET crosses a veth whole, or, where the device may not take it whole
/// (tx-ipxip6-segmentation off), leaves as correct RFC 2473 packets cut by the kernel's GSO.
/// </summary>
public sealed class TunnelGsoRelabelTests
{
    private static readonly Ipv6Address VmAddress = Ipv6Address.Parse("2001:db8:1001:1::10");
    private static readonly Ipv6Address ClientAddress = Ipv6Address.Parse("2001:db8:2::10");
    /// <summary>A segment fills the 1460-byte tunnel MTU of a 1500-byte link exactly: 40 + 32 + 1388.</summary>
    private const int Mss = 1388;
    private const int Segments = 20;

    [Fact]
    public void The_program_passes_the_verifier()
    {
        int fd = TunnelGsoRelabel.Load(0x1234_5678_9abc_def0, out string log);
        try
        {
            Assert.True(fd >= 0);
            // Log level 2 ends with the verifier's statistics ("processed N insns ...").
            Assert.Contains("processed", log);
            Assert.Equal(44, TunnelGsoRelabel.Program(1).Length);
        }
        finally
        {
            Sys.Close(ref fd);
        }
    }

    [Fact]
    public void Frames_that_are_not_our_super_frames_pass_unchanged()
    {
        int fd = TunnelGsoRelabel.Load(0x1234_5678_9abc_def0, out _);
        try
        {
            // BPF_PROG_TEST_RUN takes at most a page: one segment's worth.
            var frame = Tunnelled(SuperPacket(false, 1)[..(72 + Mss)], 41);
            var output = new byte[frame.Length + 64];
            // Not GSO: gso_size 0.
            Assert.Equal(-1, Bpf.TestRun(fd, frame, 0, output, out int length));
            Assert.Equal(frame, output.AsSpan(0, length).ToArray());
            // GSO, but from another socket (the test run's own): untouched.
            Assert.Equal(-1, Bpf.TestRun(fd, frame, Mss, output, out length));
            Assert.Equal(frame, output.AsSpan(0, length).ToArray());
        }
        finally
        {
            Sys.Close(ref fd);
        }
    }

    [Fact]
    public void Attached_once_by_tcx_and_gone_when_disposed()
    {
        using var pair = new NamespacePair();
        using var sender = OpenSender(pair);
        var relabel = pair.A.Run(() => TunnelGsoRelabel.Attach(sender.IfIndex, sender.SocketCookie));
        try
        {
            Assert.Equal(RelabelAttachment.Tcx, relabel.Attachment);
            Assert.False(relabel.ReplacedStale);
            Assert.Equal(1, pair.A.Run(() => TunnelGsoRelabel.CountOnTcxEgress(sender.IfIndex)));
        }
        finally
        {
            relabel.Dispose();
        }
        Assert.Equal(0, pair.A.Run(() => TunnelGsoRelabel.CountOnTcxEgress(sender.IfIndex)));
    }

    [Fact]
    public void A_filter_left_by_a_crashed_run_is_replaced_not_stacked()
    {
        using var pair = new NamespacePair();
        using var sender = OpenSender(pair);
        // What a daemon on the clsact path leaves when it is killed: the filter (holding its program) stays.
        pair.A.Run(() =>
        {
            int stale = TunnelGsoRelabel.Load(42, out _);
            using var nl = RtNetlink.Open();
            nl.AddClsactQdisc(sender.IfIndex);
            nl.AddEgressBpfFilter(sender.IfIndex, stale, TunnelGsoRelabel.FilterName, TunnelGsoRelabel.FilterPriority, replace: false);
            Sys.Close(ref stale);
        });
        Assert.Contains(TunnelGsoRelabel.FilterName, EgressFilters(pair));

        // The clsact path again (a kernel without tcx): the stale filter is replaced, one filter remains.
        var clsact = pair.A.Run(() => TunnelGsoRelabel.Attach(sender.IfIndex, sender.SocketCookie, allowTcx: false));
        Assert.Equal(RelabelAttachment.Clsact, clsact.Attachment);
        Assert.True(clsact.ReplacedStale);
        Assert.Single(EgressFilters(pair).Split('\n'), l => l.Contains(TunnelGsoRelabel.FilterName, StringComparison.Ordinal));
        // Simulated crash of that one too, then a run with tcx: the filter goes, the tcx link is the only relabel.
        GC.SuppressFinalize(clsact);
        var tcx = pair.A.Run(() => TunnelGsoRelabel.Attach(sender.IfIndex, sender.SocketCookie));
        try
        {
            Assert.Equal(RelabelAttachment.Tcx, tcx.Attachment);
            Assert.True(tcx.ReplacedStale);
            Assert.DoesNotContain(TunnelGsoRelabel.FilterName, EgressFilters(pair));
            Assert.Equal(1, pair.A.Run(() => TunnelGsoRelabel.CountOnTcxEgress(sender.IfIndex)));
        }
        finally
        {
            tcx.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_relabelled_super_frame_crosses_the_veth_whole(bool ipv4Inside)
    {
        using var pair = new NamespacePair();
        using var sender = OpenSender(pair);
        using var receiver = OpenReceiver(pair);
        using var relabel = pair.A.Run(() => TunnelGsoRelabel.Attach(sender.IfIndex, sender.SocketCookie));
        var inner = SuperPacket(ipv4Inside, 5000);
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(64);
        Send(sender, tx, inner, ipv4Inside);
        Assert.Equal(0, sender.Counters.TxErrors);

        var all = Frames.Collect(receiver.Fd, receiver.Receive, rx, r => r.Bytes.Length > 100, l => l.Count >= 1, TimeSpan.FromSeconds(5));
        var got = Assert.Single(all);
        Assert.Equal(inner, got.Bytes);
        Assert.Equal(ipv4Inside ? VirtioGsoType.TcpV4 : VirtioGsoType.TcpV6, got.Meta.Vnet.GsoType & ~VirtioGsoType.Ecn);
        Assert.Equal(Mss, got.Meta.Vnet.GsoSize);
        Assert.True(got.Meta.Vnet.NeedsChecksum);
        Assert.Equal(ipv4Inside ? 20 : 40, got.Meta.Vnet.CsumStart); // counted from the inner packet
        Assert.Equal(1, receiver.SuperFrames);
    }

    [Fact]
    public void Without_the_program_the_kernel_refuses_the_super_frame()
    {
        using var pair = new NamespacePair();
        using var sender = OpenSender(pair);
        using var receiver = OpenReceiver(pair);
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(64);
        Send(sender, tx, SuperPacket(false, 1), false);
        Assert.Equal(1, sender.Counters.TxErrors); // ENOMEM: counted, the batch goes on
        Assert.Empty(Frames.Collect(receiver.Fd, receiver.Receive, rx, r => r.Bytes.Length > 100, l => l.Count >= 1, TimeSpan.FromMilliseconds(500)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Where_the_device_may_not_take_it_whole_the_kernel_cuts_it_into_rfc2473_packets(bool ipv4Inside)
    {
        using var pair = new NamespacePair();
        // As on a NIC without IPXIP6 TSO; checksums computed in software, so each arriving segment carries its own.
        Assert.Equal(0, pair.A.Exec("ethtool", "-K", NamespacePair.VethA, "tx-ipxip6-segmentation", "off", "tx", "off").ExitCode);
        using var sender = OpenSender(pair);
        using var receiver = OpenReceiver(pair);
        using var relabel = pair.A.Run(() => TunnelGsoRelabel.Attach(sender.IfIndex, sender.SocketCookie));
        var inner = SuperPacket(ipv4Inside, 7000);
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(64, 2048);
        Send(sender, tx, inner, ipv4Inside);

        var got = Frames.Collect(receiver.Fd, receiver.Receive, rx, r => r.Bytes.Length > 100, l => l.Count >= Segments, TimeSpan.FromSeconds(5));
        Assert.Equal(Segments, got.Count);
        int ipHeader = ipv4Inside ? 20 : 40;
        int tcpHeader = 32;
        var payload = inner.AsSpan(ipHeader + tcpHeader);
        for (int i = 0; i < Segments; i++)
        {
            var p = got[i].Bytes;
            Assert.Equal(NamespacePair.AddressA, got[i].Meta.Source);
            Assert.False(got[i].Meta.Vnet.IsGso);
            Assert.Equal(ipHeader + tcpHeader + Mss, p.Length);
            if (ipv4Inside)
            {
                Assert.Equal(p.Length, BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(2)));
                Assert.True(Ipv4Packet.TryCreate(p, out var v4, out _) && v4.IsHeaderChecksumValid, $"segment {i}: bad IPv4 header checksum");
            }
            else
            {
                Assert.Equal(p.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(4)));
            }
            var tcp = p.AsSpan(ipHeader);
            Assert.Equal(7000u + (uint)(i * Mss), BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]));
            uint pseudo = ipv4Inside
                ? InternetChecksum.PseudoHeader(Ipv4Address.ReadFrom(p.AsSpan(12)), Ipv4Address.ReadFrom(p.AsSpan(16)), (ushort)tcp.Length, 6)
                : InternetChecksum.PseudoHeader(VmAddress, ClientAddress, (uint)tcp.Length, 6);
            Assert.True(InternetChecksum.Verify(tcp, pseudo), $"segment {i}: bad TCP checksum");
            Assert.Equal(payload.Slice(i * Mss, Mss).ToArray(), tcp[tcpHeader..].ToArray());
        }
    }

    private static PacketTunnelSender OpenSender(NamespacePair pair)
    {
        var s = pair.A.Run(() => PacketTunnelSender.Open(new PacketTunnelOptions { Interface = NamespacePair.VethA, LocalAddress = NamespacePair.AddressA, VnetHeader = true }));
        s.SetNextHop(NamespacePair.AddressB, NamespacePair.Macs.B);
        return s;
    }

    private static PacketTunnelReceiver OpenReceiver(NamespacePair pair) =>
        pair.B.Run(() => PacketTunnelReceiver.Open(new PacketTunnelReceiverOptions
        {
            Interface = NamespacePair.VethB, LocalAddress = NamespacePair.AddressB, VnetHeader = true, Backend = PacketSocketBackend.MessageBatch,
        }));

    private static void Send(PacketTunnelSender sender, PacketBatch tx, byte[] inner, bool ipv4Inside)
    {
        int slot = tx.Add(inner);
        ref var meta = ref tx.Meta(slot);
        meta.Destination = NamespacePair.AddressB;
        int ipHeader = ipv4Inside ? 20 : 40;
        meta.Vnet = new VirtioNetHeader
        {
            Flags = VirtioNetHeaderFlags.NeedsChecksum,
            GsoType = ipv4Inside ? VirtioGsoType.TcpV4 : VirtioGsoType.TcpV6,
            GsoSize = Mss,
            HeaderLength = (ushort)(ipHeader + 32),
            CsumStart = (ushort)ipHeader,
            CsumOffset = 16,
        };
        Assert.Equal(1, sender.Send(tx, [slot], new int[1], out int noNextHop));
        Assert.Equal(0, noNextHop);
    }

    private static string EgressFilters(NamespacePair pair) => pair.A.Exec("tc", "filter", "show", "dev", NamespacePair.VethA, "egress").Stdout;

    /// <summary>IPv6 (or IPv4) + TCP with timestamps + Segments × Mss bytes, the checksum field holding the pseudo-header sum.</summary>
    internal static byte[] SuperPacket(bool ipv4, uint sequence)
    {
        const int tcpHeader = 32;
        int payload = Segments * Mss;
        int ipHeader = ipv4 ? 20 : 40;
        var p = new byte[ipHeader + tcpHeader + payload];
        uint pseudo;
        if (ipv4)
        {
            var s = Ipv4Address.Parse("10.1.0.10");
            var d = Ipv4Address.Parse("10.2.0.10");
            Ipv4Packet.WriteHeader(p, s, d, IpProtocol.Tcp, tcpHeader + payload, identification: 100);
            pseudo = InternetChecksum.PseudoHeader(s, d, (ushort)(tcpHeader + payload), 6);
        }
        else
        {
            Ipv6Packet.WriteHeader(p, VmAddress, ClientAddress, IpProtocol.Tcp, tcpHeader + payload, hopLimit: 63);
            pseudo = InternetChecksum.PseudoHeader(VmAddress, ClientAddress, (uint)(tcpHeader + payload), 6);
        }
        TcpSegment.WriteHeader(p.AsSpan(ipHeader), 40000, 5201, sequence, 1, TcpFlags.Ack | TcpFlags.Psh, 512, optionsLength: 12);
        p[ipHeader + 20] = 1; p[ipHeader + 21] = 1; p[ipHeader + 22] = 8; p[ipHeader + 23] = 10;
        for (int i = 0; i < payload; i++) p[ipHeader + tcpHeader + i] = (byte)(i * 13 + i / 255);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ipHeader + 16), (ushort)~InternetChecksum.Finish(pseudo));
        return p;
    }

    private static ReadOnlySpan<byte> Tunnelled(byte[] inner, byte nextHeader)
    {
        var f = new byte[54 + inner.Length];
        EthernetFrame.WriteHeader(f, NamespacePair.Macs.B, NamespacePair.Macs.A, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(f.AsSpan(14), NamespacePair.AddressA, NamespacePair.AddressB, (IpProtocol)nextHeader, inner.Length, 64);
        inner.CopyTo(f.AsSpan(54));
        return f;
    }
}
