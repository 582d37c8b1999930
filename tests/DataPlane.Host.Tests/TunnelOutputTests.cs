using DataPlane.Datapath;
using DataPlane.Host.Lma;
using DataPlane.Host.Mag;
using DataPlane.Host.Runtime;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

/// <summary>
/// The daemons' tunnel-bound packet loops (<see cref="MagDaemon.ForwardFromPort"/>, <see cref="LmaDaemon.ForwardFromHome"/>)
/// with injected batches: a real data path, a recording sink in place of the protocol-41 socket. A batch of
/// one TCP flow that mixes 64 KB TSO super-frames with ordinary segments must leave whole and in order.
/// </summary>
public class TunnelOutputTests : PacketLoopTestBase
{
    private const int TcpHeader = 32; // 20 + NOP, NOP, timestamps
    private const int Mss = 1460 - Ipv6Packet.HeaderLength - TcpHeader;
    private const int SuperPayload = 64_000; // 47 segments
    private const int PlainPayload = 100;

    /// <param name="pairs">2: within the pool's 512 slots (order alone); 16: 752 segments in one batch.</param>
    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void Mag_a_batch_of_super_frames_and_plain_frames_leaves_whole_and_in_the_vms_order(int pairs)
    {
        var dp = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Coa }, new SplitMix64Random(1)));
        dp.AddPort(Port, "vif1.0", VmMac);
        Assert.True(dp.Execute(new MagAction.InstallSession(Port, VmMac, [Hnp], LmaAddress, null)));
        using var rx = new PacketBatch(64, 65536 + 256);
        uint expectedEnd = FillBatch(rx, pairs, EthernetFrame.HeaderLength, Vm, Client);

        using var tx = new PacketBatch(64, 16384);
        var sink = new RecordingSink(Vm);
        MagDaemon.ForwardFromPort(dp, Port, vnetHeader: true, rx, rx.Count, new TunnelOutput(sink, tx), default);

        Assert.Equal(0, dp.Counters.All.Drops[DropReason.SegmentPoolExhausted]);
        Assert.Equal(0, dp.Counters.All.DroppedTotal);
        sink.AssertContiguous(Start, expectedEnd, ExpectedPackets(pairs));
        Assert.All(sink.Destinations, d => Assert.Equal(LmaAddress, d));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void Lma_a_batch_of_super_packets_and_plain_packets_from_home_leaves_whole_and_in_order(int pairs)
    {
        var dp = new LmaDatapath(new LocalMobilityAnchor(new LmaOptions { LocalMobilityAnchorAddress = LmaAddress }, new InMemoryLmaPolicy(),
            new SplitMix64Random(1)));
        Assert.True(dp.Execute(new LmaAction.TunnelUp(Coa)));
        Assert.True(dp.Execute(new LmaAction.RouteAdd(Hnp, Coa)));
        using var rx = new PacketBatch(64, 65536 + 256);
        uint expectedEnd = FillBatch(rx, pairs, 0, Client, Vm);

        using var tx = new PacketBatch(64, 16384);
        var sink = new RecordingSink(Client);
        LmaDaemon.ForwardFromHome(dp, rx, rx.Count, new TunnelOutput(sink, tx), default);

        Assert.Equal(0, dp.Counters.All.Drops[DropReason.SegmentPoolExhausted]);
        Assert.Equal(0, dp.Counters.All.DroppedTotal);
        sink.AssertContiguous(Start, expectedEnd, ExpectedPackets(pairs));
        Assert.All(sink.Destinations, d => Assert.Equal(Coa, d));
    }

    /// <summary>
    /// A live migration's bicast of a super-packet that both tunnel paths carry whole (issue 16 on issue 14): the same
    /// receive slot goes out twice, to the serving MAG and then to the pre-registered destination, each time whole with
    /// its GSO descriptor, and the plain packets around it keep their places.
    /// </summary>
    [Fact]
    public void Lma_a_bicast_super_packet_leaves_whole_to_both_mags_in_order()
    {
        var destination = Ipv6Address.Parse("2001:db8:ffff::3");
        var dp = new LmaDatapath(new LocalMobilityAnchor(new LmaOptions { LocalMobilityAnchorAddress = LmaAddress }, new InMemoryLmaPolicy(),
            new SplitMix64Random(1)));
        Assert.True(dp.Execute(new LmaAction.TunnelUp(Coa)));
        Assert.True(dp.Execute(new LmaAction.TunnelUp(destination)));
        Assert.True(dp.Execute(new LmaAction.RouteAdd(Hnp, Coa)));
        Assert.True(dp.Execute(new LmaAction.RouteSecondary(Hnp, destination, CopyDownlink: true, ServingMagDownlink: true)));
        dp.TunnelOffloads = new WholeEverywhere();
        using var rx = new PacketBatch(64, 65536 + 256);
        uint end = FillBatch(rx, 1, 0, Client, Vm); // plain, super, plain

        using var tx = new PacketBatch(64, 16384);
        var sink = new WholeRecorder();
        LmaDaemon.ForwardFromHome(dp, rx, rx.Count, new TunnelOutput(sink, tx), default);

        // Plain packets are copied through the segment pool (two slots each), the super-packet from its receive slot.
        Assert.Equal(0, dp.Counters.All.DroppedTotal);
        Assert.Equal(
            [(Coa, Start, PlainPayload, 0), (destination, Start, PlainPayload, 0),
             (Coa, Start + PlainPayload, SuperPayload, Mss), (destination, Start + PlainPayload, SuperPayload, Mss),
             (Coa, end - PlainPayload, PlainPayload, 0), (destination, end - PlainPayload, PlainPayload, 0)],
            sink.Sent);
        Assert.Equal(sink.Bytes[2], sink.Bytes[3]); // the same bytes, whole
    }

    private sealed class WholeEverywhere : ITunnelOffloads
    {
        public bool CarriesSuperFrames(Ipv6Address peer) => true;
        public bool CompletesChecksums(Ipv6Address peer) => true;
    }

    /// <summary>Records each packet sent into the tunnel: peer, TCP sequence, payload length and gso_size, and its bytes.</summary>
    private sealed class WholeRecorder : ITunnelSink
    {
        public List<(Ipv6Address Peer, uint Sequence, int Payload, int GsoSize)> Sent { get; } = [];
        public List<byte[]> Bytes { get; } = [];

        public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
        {
            foreach (int slot in slots) Record(batch, slot);
        }

        public void Send(PacketBatch batch, int count)
        {
            for (int i = 0; i < count; i++) Record(batch, i);
        }

        private void Record(PacketBatch batch, int slot)
        {
            Assert.True(Ipv6Packet.TryCreate(batch.Frame(slot), out var ip, out var error), error.ToString());
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Sent.Add((batch.Meta(slot).Destination, tcp.SequenceNumber, ip.Payload.Length - tcp.HeaderLength, batch.Meta(slot).Vnet.GsoSize));
            Bytes.Add(batch.Frame(slot).ToArray());
        }
    }

    private const uint Start = 4_294_000_000; // the sequence space wraps during the batch

    private static int ExpectedPackets(int pairs) => pairs * (1 + (SuperPayload + Mss - 1) / Mss) + 1;

    /// <summary>
    /// One flow: a plain segment, a super-frame, a plain segment, ... and a last plain one, in one batch.
    /// Returns the sequence number after the last byte.
    /// </summary>
    private static uint FillBatch(PacketBatch rx, int pairs, int linkHeader, Ipv6Address source, Ipv6Address destination)
    {
        uint seq = Start;
        for (int i = 0; i < pairs; i++)
        {
            Add(rx, Segment(linkHeader, source, destination, seq, PlainPayload), linkHeader, gso: false);
            seq += PlainPayload;
            Add(rx, Segment(linkHeader, source, destination, seq, SuperPayload), linkHeader, gso: true);
            seq += SuperPayload;
        }
        Add(rx, Segment(linkHeader, source, destination, seq, PlainPayload), linkHeader, gso: false);
        return seq + PlainPayload;
    }

    private static void Add(PacketBatch rx, byte[] frame, int linkHeader, bool gso)
    {
        int slot = rx.Add(frame);
        rx.Meta(slot).Vnet = new VirtioNetHeader
        {
            Flags = VirtioNetHeaderFlags.NeedsChecksum,
            GsoType = gso ? VirtioGsoType.TcpV6 : VirtioGsoType.None,
            GsoSize = gso ? (ushort)Mss : (ushort)0,
            HeaderLength = (ushort)(linkHeader + Ipv6Packet.HeaderLength + TcpHeader),
            CsumStart = (ushort)(linkHeader + Ipv6Packet.HeaderLength),
            CsumOffset = 16,
        };
    }

    /// <summary>A TCP/IPv6 segment as a Linux guest hands it over (only the pseudo-header sum in the checksum field), behind an Ethernet header when <paramref name="linkHeader"/> is 14.</summary>
    private static byte[] Segment(int linkHeader, Ipv6Address source, Ipv6Address destination, uint sequence, int payload)
    {
        var f = new byte[linkHeader + Ipv6Packet.HeaderLength + TcpHeader + payload];
        int at = linkHeader == 0 ? 0 : EthernetFrame.WriteHeader(f, PmipDefaults.SharedMagMacAddress, VmMac, EtherType.Ipv6);
        at += Ipv6Packet.WriteHeader(f.AsSpan(at), source, destination, IpProtocol.Tcp, TcpHeader + payload);
        int tcpAt = at;
        TcpSegment.WriteHeader(f.AsSpan(at), 40000, 5201, sequence, 77, TcpFlags.Ack, 512, optionsLength: 12);
        f[at + 20] = 1;
        f[at + 21] = 1;
        f[at + 22] = 8;
        f[at + 23] = 10;
        at += TcpHeader;
        for (int i = 0; i < payload; i++) f[at + i] = (byte)i;
        uint pseudo = InternetChecksum.PseudoHeader(source, destination, (uint)(TcpHeader + payload), (byte)IpProtocol.Tcp);
        TcpSegment.TryCreate(f.AsSpan(tcpAt), out var tcp, out _);
        tcp.Checksum = (ushort)~InternetChecksum.Finish(pseudo);
        return f;
    }

    /// <summary>Records the TCP sequence numbers and lengths of what would go into the tunnel, in sending order.</summary>
    private sealed class RecordingSink(Ipv6Address source) : ITunnelSink
    {
        private readonly List<(uint Sequence, int Payload)> _sent = [];
        public List<Ipv6Address> Destinations { get; } = [];

        public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
        {
            foreach (int slot in slots) Record(batch, slot);
        }

        public void Send(PacketBatch batch, int count)
        {
            for (int i = 0; i < count; i++) Record(batch, i);
        }

        private void Record(PacketBatch batch, int slot)
        {
            Assert.True(Ipv6Packet.TryCreate(batch.Frame(slot), out var ip, out var error), error.ToString());
            Assert.Equal(source, ip.Source);
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Assert.True(ip.Payload.Length <= 1460 - Ipv6Packet.HeaderLength, "cut to the tunnel MTU");
            _sent.Add((tcp.SequenceNumber, ip.Payload.Length - tcp.HeaderLength));
            Destinations.Add(batch.Meta(slot).Destination);
        }

        public void AssertContiguous(uint start, uint end, int packets)
        {
            uint next = start;
            for (int i = 0; i < _sent.Count; i++)
            {
                Assert.True(_sent[i].Sequence == next, $"packet {i} of {_sent.Count}: sequence {_sent[i].Sequence}, expected {next} (reordered or lost)");
                next += (uint)_sent[i].Payload;
            }
            Assert.Equal(end, next);
            Assert.Equal(packets, _sent.Count);
        }
    }
}
