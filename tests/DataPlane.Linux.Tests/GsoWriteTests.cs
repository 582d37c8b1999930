using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>
/// What userspace GRO relies on: a TCPv6 super-packet written with a virtio-net header declaring GSO TCPv6
/// (gso_size, NEEDS_CSUM, the checksum field holding the uncomplemented pseudo-header sum over the whole TCP
/// length) is accepted by a TUN and by an AF_PACKET port, forwarded whole where the device takes GSO, and cut
/// by the kernel into segments with correct checksums where it does not.
/// </summary>
public sealed class GsoWriteTests
{
    private static readonly Ipv6Address Behind = Ipv6Address.Parse("2001:db8:7::99");
    private const int Mss = 1400;
    private const int TcpHeader = 32;
    private const int Segments = 20;

    /// <summary>IPv6 + TCP (timestamps) + Segments × Mss bytes, checksum field = pseudo-header sum (partial).</summary>
    private static byte[] SuperPacket(Ipv6Address source, Ipv6Address destination, uint sequence)
    {
        int payload = Segments * Mss;
        var p = new byte[40 + TcpHeader + payload];
        Ipv6Packet.WriteHeader(p, source, destination, IpProtocol.Tcp, TcpHeader + payload, hopLimit: 64);
        TcpSegment.WriteHeader(p.AsSpan(40), 40000, 5201, sequence, 1, TcpFlags.Ack | TcpFlags.Psh, 512, optionsLength: 12);
        p[60] = 1; p[61] = 1; p[62] = 8; p[63] = 10;
        for (int i = 0; i < payload; i++) p[40 + TcpHeader + i] = (byte)(i * 13 + i / 255);
        uint pseudo = InternetChecksum.PseudoHeader(source, destination, (uint)(TcpHeader + payload), (byte)IpProtocol.Tcp);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(40 + 16), (ushort)~InternetChecksum.Finish(pseudo));
        return p;
    }

    private static VirtioNetHeader Gso(int link) => new()
    {
        Flags = VirtioNetHeaderFlags.NeedsChecksum,
        GsoType = VirtioGsoType.TcpV6,
        GsoSize = Mss,
        HeaderLength = (ushort)(link + 40 + TcpHeader),
        CsumStart = (ushort)(link + 40),
        CsumOffset = 16,
    };

    /// <summary>A TUN in A whose packets A forwards out of its veth to B; B listens on its veth end.</summary>
    private static (NamespacePair Pair, TunDevice Tun) TunBeforeVeth()
    {
        var pair = new NamespacePair();
        try
        {
            var tun = pair.A.Run(() => TunDevice.Create(new TunTapOptions { Name = "dphome0", VnetHeader = true, Offloads = TunOffloads.TcpSegmentation, Up = true }));
            pair.A.Sysctl("net.ipv6.conf.all.forwarding", "1");
            pair.A.Ip("neigh", "add", NamespacePair.AddressB.ToString(), "lladdr", NamespacePair.Macs.B.ToString(), "dev", NamespacePair.VethA, "nud", "permanent");
            return (pair, tun);
        }
        catch
        {
            pair.Dispose();
            throw;
        }
    }

    private static List<Received> Receive(PacketSocket socket, PacketBatch batch, int count) =>
        Frames.Collect(socket, batch, r => r.Bytes.Length > 54 && r.Bytes[14 + 6] == (byte)IpProtocol.Tcp, count, TimeSpan.FromSeconds(3));

    [Fact]
    public void A_GSO_super_packet_written_to_a_TUN_is_forwarded_whole_to_a_veth_that_takes_GSO()
    {
        var (pair, tun) = TunBeforeVeth();
        using (pair)
        using (tun)
        {
            using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, new PacketSocketOptions { VnetHeader = true }));
            using var batch = new PacketBatch(64);
            var super = SuperPacket(Behind, NamespacePair.AddressB, 1000);
            batch.Add(super);
            batch.Meta(0).Vnet = Gso(0);
            Assert.Equal(1, tun.Send(batch, 0, 1));
            Assert.Equal(0, tun.Counters.TxErrors);

            var got = Assert.Single(Receive(b, batch, 1));
            Assert.Equal(14 + super.Length, got.Bytes.Length);
            Assert.Equal(VirtioGsoType.TcpV6, got.Meta.Vnet.GsoType);
            Assert.Equal(Mss, got.Meta.Vnet.GsoSize);
            Assert.Equal(63, got.Bytes[14 + 7]); // forwarded: hop limit decremented once
            Assert.Equal(super.AsSpan(40 + TcpHeader).ToArray(), got.Bytes.AsSpan(14 + 40 + TcpHeader).ToArray());
        }
    }

    [Fact]
    public void Where_the_device_takes_no_GSO_the_kernel_cuts_the_TUN_super_packet_into_segments_with_valid_checksums()
    {
        var (pair, tun) = TunBeforeVeth();
        using (pair)
        using (tun)
        {
            var off = pair.A.Exec("ethtool", "-K", NamespacePair.VethA, "tso", "off", "gso", "off", "tx", "off");
            Assert.True(off.ExitCode == 0, off.Stderr);
            using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, new PacketSocketOptions { VnetHeader = true }));
            using var batch = new PacketBatch(64);
            var super = SuperPacket(Behind, NamespacePair.AddressB, uint.MaxValue - 5000); // the sequence wraps inside
            batch.Add(super);
            batch.Meta(0).Vnet = Gso(0);
            Assert.Equal(1, tun.Send(batch, 0, 1));
            AssertSegmentsOf(super, Receive(b, batch, Segments), expectedHopLimit: 63);
        }
    }

    [Fact]
    public void A_GSO_frame_sent_on_an_AF_PACKET_port_without_device_GSO_arrives_as_segments_with_valid_checksums()
    {
        using var pair = new NamespacePair();
        var off = pair.A.Exec("ethtool", "-K", NamespacePair.VethA, "tso", "off", "gso", "off", "tx", "off");
        Assert.True(off.ExitCode == 0, off.Stderr);
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA, new PacketSocketOptions { VnetHeader = true }));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, new PacketSocketOptions { VnetHeader = true }));
        using var batch = new PacketBatch(64);
        var super = SuperPacket(Behind, NamespacePair.AddressB, 77);
        batch.Add(Frames.WithEthernet(NamespacePair.Macs.B, NamespacePair.Macs.A, super));
        batch.Meta(0).Vnet = Gso(14);
        Assert.Equal(1, a.Send(batch, 0, 1));
        Assert.Equal(0, a.Counters.TxErrors);
        AssertSegmentsOf(super, Receive(b, batch, Segments), expectedHopLimit: 64);
    }

    /// <summary>The segments carry the super-packet's payload in order, each with a complete, valid TCP checksum.</summary>
    private static void AssertSegmentsOf(byte[] super, List<Received> got, int expectedHopLimit)
    {
        Assert.Equal(Segments, got.Count);
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(super.AsSpan(40 + 4));
        var payload = new List<byte>();
        foreach (var r in got)
        {
            Assert.True(Ipv6Packet.TryCreate(r.Bytes.AsSpan(14), out var ip, out var error), error.ToString());
            Assert.Equal(expectedHopLimit, ip.HopLimit);
            Assert.Equal(TcpHeader + Mss, ip.PayloadLength);
            Assert.True(InternetChecksum.Verify(ip.Payload, ip.PseudoHeaderSum(ip.Payload.Length, IpProtocol.Tcp)), "TCP checksum of a kernel-cut segment");
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Assert.Equal(sequence + (uint)payload.Count, tcp.SequenceNumber);
            payload.AddRange(ip.Payload[TcpHeader..].ToArray());
        }
        Assert.Equal(super.AsSpan(40 + TcpHeader).ToArray(), payload.ToArray());
    }
}
