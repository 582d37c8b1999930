using DataPlane.Tests.Shared;
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
/// Receive offload on the tunnel's receive path (<see cref="MagDaemon.DeliverFromTunnel"/>,
/// <see cref="LmaDaemon.DeliverFromTunnel"/>) with injected batches of decapsulated packets, as the
/// protocol-41 socket hands them over: MSS-sized segments of one flow leave as one GSO super-frame.
/// </summary>
public class TunnelDeliveryTests : PacketLoopTestBase
{
    private const int TcpHeader = 32;
    private const int Mss = 1460 - Ipv6Packet.HeaderLength - TcpHeader;
    private const int Segments = 20;

    private static MagDatapath Mag()
    {
        var dp = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Coa }, new SplitMix64Random(1)));
        dp.AddPort(Port, "vif1.0", VmMac);
        Assert.True(dp.Execute(new MagAction.InstallSession(Port, VmMac, [Hnp], LmaAddress, null)));
        return dp;
    }

    private static LmaDatapath Lma()
    {
        var dp = new LmaDatapath(new LocalMobilityAnchor(new LmaOptions { LocalMobilityAnchorAddress = LmaAddress }, new InMemoryLmaPolicy(),
            new SplitMix64Random(1)));
        Assert.True(dp.Execute(new LmaAction.TunnelUp(Coa)));
        Assert.True(dp.Execute(new LmaAction.RouteAdd(Hnp, Coa)));
        return dp;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Mag_consecutive_segments_from_the_lma_reach_the_vm_as_one_super_frame_when_receive_offload_is_on(bool receiveOffload)
    {
        var dp = Mag();
        using var rx = new PacketBatch(64, TunnelDelivery.SuperFrameSlot);
        Fill(rx, Client, Vm, LmaAddress, Coa);
        var entries = MagDaemon.DeliverFromTunnel(dp, rx, rx.Count, new TunnelDelivery(EthernetFrame.HeaderLength, receiveOffload, 64), default);
        AssertDelivered(rx, entries, receiveOffload, EthernetFrame.HeaderLength, Port.Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Lma_consecutive_segments_from_a_mag_reach_the_home_device_as_one_super_packet_when_receive_offload_is_on(bool receiveOffload)
    {
        var dp = Lma();
        using var rx = new PacketBatch(64, TunnelDelivery.SuperFrameSlot);
        Fill(rx, Vm, Client, Coa, LmaAddress);
        var entries = LmaDaemon.DeliverFromTunnel(dp, rx, rx.Count, new TunnelDelivery(0, receiveOffload, 64), default);
        AssertDelivered(rx, entries, receiveOffload, 0, 0);
    }

    [Fact]
    public void The_tunnel_loops_allocate_nothing_per_packet()
    {
        var mag = Mag();
        var lma = Lma();
        using var rx = new PacketBatch(64, TunnelDelivery.SuperFrameSlot);
        using var tx = new PacketBatch(64, 16384);
        var delivery = new TunnelDelivery(EthernetFrame.HeaderLength, true, 64);
        var lmaDelivery = new TunnelDelivery(0, true, 64);
        var output = new TunnelOutput(new NullSink(), tx);
        var fromTunnel = new List<byte[]>();
        for (int i = 0; i < Segments; i++) fromTunnel.Add(TcpPacket(Client, Vm, (uint)(1000 + i * Mss), Mss, full: true));
        var fromVm = new List<byte[]> { Frame(TcpPacket(Vm, Client, 1, 64_000, full: false)), Frame(TcpPacket(Vm, Client, 64_001, 100, full: false)) };
        var fromMag = new List<byte[]>();
        for (int i = 0; i < Segments; i++) fromMag.Add(TcpPacket(Vm, Client, (uint)(1000 + i * Mss), Mss, full: true));
        var fromHome = new List<byte[]> { TcpPacket(Client, Vm, 1, 64_000, full: false), TcpPacket(Client, Vm, 64_001, 100, full: false) };

        void Round()
        {
            rx.Clear();
            foreach (var p in fromTunnel) Inject(rx, p, LmaAddress, Coa);
            MagDaemon.DeliverFromTunnel(mag, rx, rx.Count, delivery, default);
            rx.Clear();
            foreach (var f in fromVm) InjectFromVm(rx, f, gso: f.Length > 2000);
            MagDaemon.ForwardFromPort(mag, Port, true, rx, rx.Count, output, default);
            rx.Clear();
            foreach (var p in fromMag) Inject(rx, p, Coa, LmaAddress);
            LmaDaemon.DeliverFromTunnel(lma, rx, rx.Count, lmaDelivery, default);
            rx.Clear();
            foreach (var p in fromHome) InjectFromHome(rx, p, gso: p.Length > 2000);
            LmaDaemon.ForwardFromHome(lma, rx, rx.Count, output, default);
        }
        Round(); // warm up (JIT, first-frame activity)
        Assert.Equal(0, Allocations.BestWindow(Round, rounds: 100, warmUp: 1));
        Assert.Equal(0, mag.Counters.All.DroppedTotal);
        Assert.Equal(0, lma.Counters.All.DroppedTotal);
    }

    private static void AssertDelivered(PacketBatch rx, ReadOnlySpan<CoalesceEntry> entries, bool receiveOffload, int link, int tag)
    {
        Assert.Equal(Segments + 2, entries.Length);
        int sent = 0;
        foreach (var e in entries) if (e.Segments != 0) sent++;
        if (!receiveOffload)
        {
            Assert.Equal(Segments + 2, sent);
            foreach (var e in entries) Assert.Equal(default, rx.Meta(e.Slot).Vnet);
            return;
        }
        // The data segments became one super-frame; the FIN that follows and the other flow's packet go on alone, after it.
        Assert.Equal(3, sent);
        var first = entries[0];
        Assert.Equal(Segments, first.Segments);
        Assert.Equal(tag, first.Tag);
        var vnet = rx.Meta(first.Slot).Vnet;
        Assert.Equal(VirtioGsoType.TcpV6, vnet.GsoType);
        Assert.Equal(Mss, vnet.GsoSize);
        Assert.True(vnet.NeedsChecksum);
        Assert.Equal(link + Ipv6Packet.HeaderLength, vnet.CsumStart);
        var frame = rx.Frame(first.Slot);
        Assert.Equal(link + Ipv6Packet.HeaderLength + TcpHeader + Segments * Mss, frame.Length);
        Assert.True(Ipv6Packet.TryCreate(frame[link..], out var ip, out var error), error.ToString());
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
        Assert.Equal(1000u, tcp.SequenceNumber);
        for (int i = 0; i < Segments * Mss; i++) Assert.Equal((byte)(i % Mss), tcp.Payload[i]); // payloads appended in order
        for (int i = 1; i < Segments; i++) Assert.Equal(0, entries[i].Segments);
        Assert.Equal(1, entries[Segments].Segments);
        Assert.Equal(1, entries[Segments + 1].Segments);
    }

    /// <summary>20 MSS-sized segments of one flow, its FIN, and a packet of another flow (other ports), as the raw socket delivers them.</summary>
    private static void Fill(PacketBatch rx, Ipv6Address source, Ipv6Address destination, Ipv6Address outerSource, Ipv6Address outerDestination)
    {
        for (int i = 0; i < Segments; i++) Inject(rx, TcpPacket(source, destination, (uint)(1000 + i * Mss), Mss, full: true), outerSource, outerDestination);
        Inject(rx, TcpPacket(source, destination, (uint)(1000 + Segments * Mss), 0, full: true, flags: TcpFlags.Ack | TcpFlags.Fin), outerSource, outerDestination);
        Inject(rx, TcpPacket(source, destination, 5, 100, full: true, sourcePort: 40001), outerSource, outerDestination);
    }

    private static void Inject(PacketBatch rx, byte[] packet, Ipv6Address outerSource, Ipv6Address outerDestination)
    {
        int slot = rx.Add(packet);
        rx.Meta(slot).Source = outerSource;
        rx.Meta(slot).Destination = outerDestination;
    }

    private static void InjectFromVm(PacketBatch rx, byte[] frame, bool gso)
    {
        int slot = rx.Add(frame);
        rx.Meta(slot).Vnet = new VirtioNetHeader
        {
            Flags = VirtioNetHeaderFlags.NeedsChecksum,
            GsoType = gso ? VirtioGsoType.TcpV6 : VirtioGsoType.None,
            GsoSize = gso ? (ushort)Mss : (ushort)0,
            HeaderLength = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + TcpHeader,
            CsumStart = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength,
            CsumOffset = 16,
        };
    }

    private static void InjectFromHome(PacketBatch rx, byte[] packet, bool gso)
    {
        int slot = rx.Add(packet);
        rx.Meta(slot).Vnet = new VirtioNetHeader
        {
            Flags = VirtioNetHeaderFlags.NeedsChecksum,
            GsoType = gso ? VirtioGsoType.TcpV6 : VirtioGsoType.None,
            GsoSize = gso ? (ushort)Mss : (ushort)0,
            HeaderLength = Ipv6Packet.HeaderLength + TcpHeader,
            CsumStart = Ipv6Packet.HeaderLength,
            CsumOffset = 16,
        };
    }

    private static byte[] Frame(byte[] packet)
    {
        var f = new byte[EthernetFrame.HeaderLength + packet.Length];
        EthernetFrame.WriteHeader(f, PmipDefaults.SharedMagMacAddress, VmMac, EtherType.Ipv6);
        packet.CopyTo(f, EthernetFrame.HeaderLength);
        return f;
    }

    /// <summary>A TCP/IPv6 packet with timestamps; a full checksum (as off the wire) or only the pseudo-header sum (as a guest's TSO leaves it).</summary>
    private static byte[] TcpPacket(Ipv6Address source, Ipv6Address destination, uint sequence, int payload, bool full,
        TcpFlags flags = TcpFlags.Ack, ushort sourcePort = 5201)
    {
        var p = new byte[Ipv6Packet.HeaderLength + TcpHeader + payload];
        Ipv6Packet.WriteHeader(p, source, destination, IpProtocol.Tcp, TcpHeader + payload, 63);
        var t = p.AsSpan(Ipv6Packet.HeaderLength);
        TcpSegment.WriteHeader(t, sourcePort, 40000, sequence, 77, flags, 512, optionsLength: 12);
        t[20] = 1;
        t[21] = 1;
        t[22] = 8;
        t[23] = 10;
        for (int i = 0; i < payload; i++) t[TcpHeader + i] = (byte)(i % Mss);
        TcpSegment.TryCreate(t, out var tcp, out _);
        if (full) tcp.FillChecksum(source, destination);
        else tcp.Checksum = (ushort)~InternetChecksum.Finish(InternetChecksum.PseudoHeader(source, destination, (uint)(TcpHeader + payload), (byte)IpProtocol.Tcp));
        return p;
    }

    private sealed class NullSink : ITunnelSink
    {
        public void Send(PacketBatch batch, ReadOnlySpan<int> slots) { }

        public void Send(PacketBatch batch, int count) { }
    }
}
