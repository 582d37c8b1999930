namespace DataPlane.Linux.Tests;

/// <summary>The TPACKET_V2 ring backend behind the same Receive/Send shape.</summary>
public sealed class PacketRingTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batches_round_trip_through_rings_on_both_ends(bool vnet)
    {
        using var pair = new NamespacePair(addresses: false);
        // A small ring at A (to see TX back-pressure), a roomier one at B (whose RX ring also takes
        // the MLD reports of link-up: a full RX ring drops, as a full socket queue would).
        var options = new PacketSocketOptions { Backend = PacketSocketBackend.RingV2, VnetHeader = vnet, RingFrames = 16, RingFrameSize = 4096 };
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA, options));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, options with { RingFrames = 128 }));
        using var batch = new PacketBatch(40);
        using var rx = new PacketBatch(64);

        // 40 frames through a 16-frame TX ring: back-pressure shows as a short count, never an exception.
        for (int i = 0; i < 40; i++) batch.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, i, 60 + i * 30));
        var atB = new List<Received>();
        int sent = 0;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while ((sent < 40 || atB.Count < 40) && DateTime.UtcNow < deadline)
        {
            if (sent < 40) sent += a.Send(batch, sent, 40 - sent);
            atB.AddRange(Frames.Collect(b, rx, r => Frames.IsExperimental(r.Bytes), 40 - atB.Count, TimeSpan.FromMilliseconds(50)));
        }
        Assert.Equal(40, sent);
        Assert.Equal(Enumerable.Range(0, 40), atB.Select(r => Frames.SequenceOf(r.Bytes)));
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(batch.Frame(i).ToArray(), atB[i].Bytes);
            Assert.Equal(b.IfIndex, atB[i].Meta.IfIndex);
        }
        Assert.Equal(40, a.Counters.TxPackets);
    }

    [Fact]
    public void A_frame_larger_than_the_ring_frame_is_truncated_on_receive_and_refused_on_send()
    {
        using var pair = new NamespacePair(addresses: false);
        var small = new PacketSocketOptions { Backend = PacketSocketBackend.RingV2, RingFrames = 4, RingFrameSize = 512 };
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, small));
        using var tx = new PacketBatch(1);
        using var rx = new PacketBatch(4);
        tx.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, 1, 1000));
        Assert.Equal(1, a.Send(tx, 0, 1));
        var got = Assert.Single(Frames.Collect(b, rx, r => Frames.IsExperimental(r.Bytes), 1));
        Assert.True(got.Meta.Truncated);
        Assert.True(got.Bytes.Length < 1014);
        Assert.Equal(tx.Frame(0)[..got.Bytes.Length].ToArray(), got.Bytes);

        Assert.Equal(1, b.Send(tx, 0, 1));
        Assert.Equal(1, b.Counters.TxErrors);
        Assert.Equal(0, b.Counters.TxPackets);
    }

    [Fact]
    public void Link_down_is_reported_through_the_ring_too()
    {
        using var pair = new NamespacePair(addresses: false);
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, new PacketSocketOptions { Backend = PacketSocketBackend.RingV2, RingFrames = 4, RingFrameSize = 2048 }));
        using var rx = new PacketBatch(4);
        using var epoll = new Epoll();
        epoll.Add(b.Fd, 1, EpollEvents.In);
        Span<EpollReady> ready = stackalloc EpollReady[1];
        pair.B.Ip("link", "set", NamespacePair.VethB, "down");
        Assert.Equal(1, epoll.Wait(ready, 2000));
        Frames.ReceiveUntilLinkEvent(b, rx); // skips the kernel's own traffic queued ahead of the link-down
        Assert.Equal(PortLinkState.Down, b.LinkState);
        // The error was consumed: epoll is quiet again.
        Assert.Equal(0, epoll.Wait(ready, 50));
    }
}
