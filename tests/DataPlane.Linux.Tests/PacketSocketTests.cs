using System.Net;
using System.Net.Sockets;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

public sealed class PacketSocketTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public void A_frame_sent_on_one_end_arrives_on_the_other_with_its_bytes_and_metadata()
    {
        using var pair = new NamespacePair(addresses: false);
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(8);

        // To a MAC that is neither end's: B sees it because veth delivers everything and we are promiscuous.
        var frame = Frames.Experimental(MacAddress.Parse("02:00:00:00:00:99"), NamespacePair.Macs.A, 7);
        tx.Add(frame);
        Assert.Equal(1, a.Send(tx, 0, 1));

        var got = Frames.Collect(b, rx, r => Frames.IsExperimental(r.Bytes), 1);
        var only = Assert.Single(got);
        Assert.Equal(frame, only.Bytes);
        Assert.Equal(b.IfIndex, only.Meta.IfIndex);
        Assert.Equal(Frames.ExperimentalEtherType, only.Meta.EtherType);
        Assert.Equal(PacketType.OtherHost, only.Meta.PacketType);
        Assert.Equal(rx.Headroom, only.Meta.Offset);
        Assert.Equal(1, a.Counters.TxPackets);
        Assert.True(b.Counters.RxPackets >= 1);
    }

    [Fact]
    public void Kernel_traffic_from_the_peer_namespace_is_seen()
    {
        using var pair = new NamespacePair();
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var rx = new PacketBatch();
        // A UDP datagram from A's kernel to B's address: A resolves B (NS), then sends the datagram.
        pair.A.Run(() =>
        {
            using var udp = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            udp.SendTo("hello"u8.ToArray(), new IPEndPoint(NamespacePair.AddressB.ToIPAddress(), 9999));
        });
        var got = Frames.Collect(b, rx, r => IsUdpTo(r.Bytes, 9999), 1);
        var frame = Assert.Single(got).Bytes;
        Assert.Equal(NamespacePair.Macs.A, MacAddress.ReadFrom(frame.AsSpan(6)));
        Assert.Equal(NamespacePair.AddressA, Ipv6Address.ReadFrom(frame.AsSpan(14 + 8)));
        Assert.Equal(PacketType.Host, got[0].Meta.PacketType);
    }

    internal static bool IsUdpTo(ReadOnlySpan<byte> frame, int port) =>
        frame.Length >= 14 + 48 && frame[12] == 0x86 && frame[13] == 0xDD && frame[14 + 6] == 17 &&
        ((frame[14 + 42] << 8) | frame[14 + 43]) == port;

    [Fact]
    public void A_batch_of_32_frames_round_trips_in_order_and_we_do_not_read_our_own()
    {
        using var pair = new NamespacePair(addresses: false);
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var batch = new PacketBatch(32);
        using var rx = new PacketBatch(64);

        for (int i = 0; i < 32; i++) batch.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, i, 60 + i * 40));
        Assert.Equal(32, a.Send(batch, 0, 32));
        var atB = Frames.Collect(b, rx, r => Frames.IsExperimental(r.Bytes), 32);
        Assert.Equal(Enumerable.Range(0, 32), atB.Select(r => Frames.SequenceOf(r.Bytes)));
        for (int i = 0; i < 32; i++) Assert.Equal(batch.Frame(i).ToArray(), atB[i].Bytes);

        // And back, B → A: the frames B received, forwarded from B's own batch (in place when they
        // all came in one receive, which is the data path's forwarding case).
        using var back = new PacketBatch(32);
        foreach (var r in atB) back.Add(r.Bytes);
        Assert.Equal(32, b.Send(back, 0, 32));
        var atA = Frames.Collect(a, batch, r => Frames.IsExperimental(r.Bytes), 32);
        Assert.Equal(Enumerable.Range(0, 32), atA.Select(r => Frames.SequenceOf(r.Bytes)));
        // PACKET_IGNORE_OUTGOING: B does not read back what it sent.
        Assert.Empty(Frames.Collect(b, rx, r => Frames.IsExperimental(r.Bytes), 1, TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void Send_of_a_slot_list_sends_those_slots_in_that_order()
    {
        using var pair = new NamespacePair(addresses: false);
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var batch = new PacketBatch(8);
        using var rx = new PacketBatch(8);
        for (int i = 0; i < 8; i++) batch.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, i));
        Assert.Equal(3, a.Send(batch, [5, 1, 6]));
        var got = Frames.Collect(b, rx, r => Frames.IsExperimental(r.Bytes), 3);
        Assert.Equal([5, 1, 6], got.Select(r => Frames.SequenceOf(r.Bytes)));
    }

    [Fact]
    public void Promiscuous_membership_is_taken_while_open_and_released_on_dispose()
    {
        using var ns = TestNamespace.Create();
        ns.Ip("link", "add", "p0", "type", "veth", "peer", "name", "p1");
        ns.Ip("link", "set", "p0", "up");
        int Promiscuity() => ns.IpJson("-d", "link", "show", "p0")[0].GetProperty("promiscuity").GetInt32();
        Assert.Equal(0, Promiscuity());
        var port = ns.Run(() => PacketSocket.Open("p0", new PacketSocketOptions { Promiscuous = true }));
        Assert.Equal(1, Promiscuity());
        port.Dispose();
        Assert.Equal(0, Promiscuity());
        using var plain = ns.Run(() => PacketSocket.Open("p0", new PacketSocketOptions { Promiscuous = false }));
        Assert.Equal(0, Promiscuity());
    }

    [Fact]
    public void Opening_a_missing_interface_names_it_and_the_errno()
    {
        using var ns = TestNamespace.Create();
        var e = Assert.Throws<LinuxIoException>(() => ns.Run(() => PacketSocket.Open("nosuch0")));
        Assert.Equal("find interface nosuch0: ENODEV", e.Message);
        Assert.Equal(Errno.ENODEV, e.Errno);
    }

    [Fact]
    public void An_oversize_frame_without_vnet_header_is_dropped_with_EMSGSIZE_and_the_rest_still_go()
    {
        using var pair = new NamespacePair(addresses: false);
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var batch = new PacketBatch(3);
        using var rx = new PacketBatch(8);
        batch.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, 0));
        batch.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, 1, 3000)); // > MTU 1500
        batch.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, 2));
        Assert.Equal(3, a.Send(batch, 0, 3));
        Assert.Equal(1, a.Counters.TxErrors);
        Assert.Equal(Errno.EMSGSIZE, a.Counters.LastError);
        Assert.Equal(2, a.Counters.TxPackets);
        var got = Frames.Collect(b, rx, r => Frames.IsExperimental(r.Bytes), 2);
        Assert.Equal([0, 2], got.Select(r => Frames.SequenceOf(r.Bytes)));
    }

    [Fact]
    public void Link_down_then_up_is_reported_and_removal_is_port_removed()
    {
        using var pair = new NamespacePair(addresses: false);
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var rx = new PacketBatch(8);
        using var epoll = new Epoll();
        epoll.Add(b.Fd, 42, EpollEvents.In);
        Span<EpollReady> ready = stackalloc EpollReady[4];

        pair.B.Ip("link", "set", NamespacePair.VethB, "down");
        // af_packet's notifier sets the socket error: epoll reports EPOLLERR without asking for it.
        int n = epoll.Wait(ready, 2000);
        Assert.Equal(1, n);
        Assert.Equal(42ul, ready[0].Token);
        Assert.True((ready[0].Events & EpollEvents.Error) != 0, $"events {ready[0].Events}");
        Frames.ReceiveUntilLinkEvent(b, rx);
        Assert.Equal(PortLinkState.Down, b.LinkState);

        // Sending while down drops the batch, counted, without throwing.
        using var tx = new PacketBatch(2);
        tx.Add(Frames.Experimental(NamespacePair.Macs.A, NamespacePair.Macs.B, 1));
        tx.Add(Frames.Experimental(NamespacePair.Macs.A, NamespacePair.Macs.B, 2));
        Assert.Equal(2, b.Send(tx, 0, 2));
        Assert.Equal(2, b.Counters.TxLinkDrops);

        pair.B.Ip("link", "set", NamespacePair.VethB, "up");
        Assert.Equal(PortLinkState.Up, b.RefreshLinkState());

        // Moving the interface away (what a migration does to a vif) unregisters it here.
        pair.B.Ip("link", "set", NamespacePair.VethB, "netns", pair.A.Name);
        Assert.Equal(1, epoll.Wait(ready, 2000));
        Frames.ReceiveUntilLinkEvent(b, rx);
        Assert.Equal(PortLinkState.Removed, b.LinkState);
        Assert.Equal(2, b.Send(tx, 0, 2));
        Assert.Equal(PortLinkState.Removed, b.RefreshLinkState());
    }
}
