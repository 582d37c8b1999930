using Xunit.Abstractions;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>PACKET_VNET_HDR on a veth with its default offloads (TSO/GSO and tx checksumming on).</summary>
public sealed class VnetHeaderTests(ITestOutputHelper output)
{
    /// <summary>A TCP connection A → B (kernel sockets in each namespace) carrying 1 MiB.</summary>
    private static void RunTcpFlow(NamespacePair pair, int bytes)
    {
        using var listener = pair.B.Run(() =>
        {
            var l = new TcpListener(IPAddress.IPv6Any, 5201);
            l.Start();
            return l;
        });
        using var client = pair.A.Run(() => new TcpClient(AddressFamily.InterNetworkV6));
        var accept = listener.AcceptTcpClientAsync();
        client.Connect(NamespacePair.AddressB.ToIPAddress(), 5201);
        using var server = accept.GetAwaiter().GetResult();
        var data = new byte[bytes];
        var reader = Task.Run(() =>
        {
            var buf = new byte[65536];
            int total = 0;
            using var s = server.GetStream();
            while (total < bytes)
            {
                int n = s.Read(buf);
                if (n == 0) break;
                total += n;
            }
            return total;
        });
        client.GetStream().Write(data);
        Assert.True(reader.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(bytes, reader.Result);
    }

    [Fact]
    public void A_TCP_flow_arrives_as_GSO_TCPv6_super_frames_with_partial_checksums()
    {
        using var pair = new NamespacePair();
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, new PacketSocketOptions { VnetHeader = true }));
        using var plain = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, new PacketSocketOptions { VnetHeader = false }));
        using var rx = new PacketBatch();
        RunTcpFlow(pair, 1 << 20);

        // What DESIGN warns about: without the vnet header the same skbs arrive as frames larger than
        // the MTU whose TCP checksum is only partial, i.e. wrong on the wire if forwarded as they are.
        var raw = Frames.Collect(plain.Fd, plain.Receive, rx, r => IsTcp(r.Bytes), l => l.Count >= 1 && !HasMore(plain), TimeSpan.FromSeconds(5));
        Assert.Contains(raw, r => r.Bytes.Length > 1514);
        Assert.Contains(raw, r => !TcpChecksumValid(r.Bytes));

        var tcp = Frames.Collect(b.Fd, b.Receive, rx, r => IsTcp(r.Bytes), l => l.Count >= 1 && !HasMore(b), TimeSpan.FromSeconds(5));
        Assert.NotEmpty(tcp);
        var gso = tcp.Where(r => r.Meta.Vnet.GsoType == VirtioGsoType.TcpV6).ToList();
        var partial = tcp.Where(r => r.Meta.Vnet.NeedsChecksum && !r.Meta.Vnet.IsGso).ToList();
        output.WriteLine($"{tcp.Count} TCP frames: {gso.Count} GSO TCPv6 (largest {gso.Select(r => r.Bytes.Length).DefaultIfEmpty().Max()} B), " +
            $"{partial.Count} plain with NEEDS_CSUM, {tcp.Count(r => !r.Meta.Vnet.NeedsChecksum)} with a full checksum");
        foreach (var r in tcp.Take(3)) output.WriteLine($"  {r.Bytes.Length} B: {r.Meta.Vnet}");
        Assert.NotEmpty(gso);
        Assert.NotEmpty(partial);
        foreach (var r in gso)
        {
            var v = r.Meta.Vnet;
            Assert.True(r.Bytes.Length > 1514, $"GSO frame of {r.Bytes.Length} bytes");
            Assert.True(v.NeedsChecksum);
            Assert.Equal(14 + 40, v.CsumStart);      // TCP header right after Ethernet + IPv6
            Assert.Equal(16, v.CsumOffset);          // th->check
            Assert.InRange(v.GsoSize, 1000, 1500 - 40 - 20);
            Assert.True(v.HeaderLength >= 14 + 40 + 20);
        }
        // Every TCP frame with NEEDS_CSUM holds only the pseudo-header sum; completing it as the
        // header says gives the checksum a receiver accepts (done here for the non-GSO ones).
        foreach (var r in partial)
        {
            var frame = r.Bytes.AsSpan();
            Assert.False(TcpChecksumValid(frame));
            CompleteChecksum(frame, r.Meta.Vnet);
            Assert.True(TcpChecksumValid(frame));
        }
    }

    private static bool HasMore(PacketSocket s)
    {
        using var e = new Epoll(1);
        e.Add(s.Fd, 0, EpollEvents.In);
        Span<EpollReady> r = stackalloc EpollReady[1];
        return e.Wait(r, 200) > 0;
    }

    internal static bool IsTcp(ReadOnlySpan<byte> frame) =>
        frame.Length >= 14 + 60 && frame[12] == 0x86 && frame[13] == 0xDD && frame[14 + 6] == (byte)IpProtocol.Tcp;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: fold [csum_start, end) into the field at csum_start + csum_offset.</summary>
    internal static void CompleteChecksum(Span<byte> frame, VirtioNetHeader v)
    {
        var l4 = frame[v.CsumStart..];
        ushort partial = BinaryPrimitives.ReadUInt16BigEndian(l4[v.CsumOffset..]);
        BinaryPrimitives.WriteUInt16BigEndian(l4[v.CsumOffset..], 0);
        ushort sum = InternetChecksum.Finish(InternetChecksum.Sum(l4, partial));
        BinaryPrimitives.WriteUInt16BigEndian(l4[v.CsumOffset..], sum);
    }

    internal static bool TcpChecksumValid(ReadOnlySpan<byte> frame)
    {
        var ip = frame[14..];
        var src = Ipv6Address.ReadFrom(ip[8..]);
        var dst = Ipv6Address.ReadFrom(ip[24..]);
        var tcp = ip[40..];
        return InternetChecksum.Verify(tcp, InternetChecksum.PseudoHeader(src, dst, (uint)tcp.Length, (byte)IpProtocol.Tcp));
    }

    /// <summary>A 64,000-byte TCPv6 frame (Ethernet + IPv6 + TCP + payload) declared as GSO in its vnet header.</summary>
    internal static byte[] GsoTcpFrame(int length, out VirtioNetHeader vnet)
    {
        var frame = new byte[length];
        EthernetFrame.WriteHeader(frame, NamespacePair.Macs.B, NamespacePair.Macs.A, EtherType.Ipv6);
        int tcpLength = length - 14 - 40;
        Ipv6Packet.WriteHeader(frame.AsSpan(14), NamespacePair.AddressA, NamespacePair.AddressB, IpProtocol.Tcp, tcpLength);
        var tcp = frame.AsSpan(14 + 40);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);      // source port
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 9);     // discard
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 1000);  // seq
        tcp[12] = 5 << 4;                                       // data offset 5 words
        tcp[13] = 0x18;                                         // PSH|ACK
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
        for (int i = 20; i < tcp.Length; i++) tcp[i] = (byte)i;
        // Partial checksum: the pseudo-header sum, not inverted, as the kernel expects with NEEDS_CSUM.
        uint pseudo = InternetChecksum.PseudoHeader(NamespacePair.AddressA, NamespacePair.AddressB, (uint)tcpLength, (byte)IpProtocol.Tcp);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)InternetChecksum.Add(pseudo, 0));
        vnet = new VirtioNetHeader
        {
            Flags = VirtioNetHeaderFlags.NeedsChecksum,
            GsoType = VirtioGsoType.TcpV6,
            HeaderLength = 14 + 40 + 20,
            GsoSize = 1440,
            CsumStart = 14 + 40,
            CsumOffset = 16,
        };
        return frame;
    }

    [Theory]
    [InlineData(PacketSocketBackend.MessageBatch)]
    [InlineData(PacketSocketBackend.RingV2)]
    public void A_64000_byte_frame_declared_GSO_TCPv6_is_accepted_and_arrives_whole(PacketSocketBackend backend)
    {
        using var pair = new NamespacePair();
        var options = new PacketSocketOptions { VnetHeader = true, Backend = backend, RingFrames = 8 };
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA, options));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, options));
        using var tx = new PacketBatch(2);
        using var rx = new PacketBatch(8);
        var frame = GsoTcpFrame(64_000, out var vnet);
        int slot = tx.Add(frame);
        tx.Meta(slot).Vnet = vnet;

        Assert.Equal(1, a.Send(tx, 0, 1));
        Assert.Equal(0, a.Counters.TxErrors);
        Assert.Equal(1, a.Counters.TxPackets);
        Assert.Equal(64_000, a.Counters.TxBytes); // the frame, not the virtio-net header

        // veth hands the GSO skb to the peer unsegmented; B's vnet_hdr socket sees it as sent.
        var got = Frames.Collect(b, rx, r => VnetHeaderTests.IsTcp(r.Bytes), 1);
        var r = Assert.Single(got);
        Assert.Equal(64_000, r.Bytes.Length);
        Assert.Equal(VirtioGsoType.TcpV6, r.Meta.Vnet.GsoType);
        Assert.Equal(1440, r.Meta.Vnet.GsoSize);
        Assert.True(r.Meta.Vnet.NeedsChecksum);
        Assert.Equal(frame.AsSpan(0, 14 + 40 + 20).ToArray(), r.Bytes.AsSpan(0, 14 + 40 + 20).ToArray());
        Assert.Equal(frame.AsSpan(100).ToArray(), r.Bytes.AsSpan(100).ToArray());
    }

    [Fact]
    public void Without_vnet_header_the_same_frame_is_refused_with_EMSGSIZE()
    {
        using var pair = new NamespacePair();
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var tx = new PacketBatch(1);
        tx.Add(GsoTcpFrame(64_000, out _));
        Assert.Equal(1, a.Send(tx, 0, 1));
        Assert.Equal(1, a.Counters.TxErrors);
        Assert.Equal(Errno.EMSGSIZE, a.Counters.LastError);
    }

    [Fact]
    public void A_malformed_vnet_header_is_dropped_with_EINVAL_not_thrown()
    {
        using var pair = new NamespacePair();
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA, new PacketSocketOptions { VnetHeader = true }));
        using var tx = new PacketBatch(1);
        var frame = GsoTcpFrame(2000, out var vnet);
        vnet.CsumStart = 5000; // beyond the frame
        tx.Meta(tx.Add(frame)).Vnet = vnet;
        Assert.Equal(1, a.Send(tx, 0, 1));
        Assert.Equal(1, a.Counters.TxErrors);
        Assert.Equal(Errno.EINVAL, a.Counters.LastError);
    }
}
