using DataPlane.Tests.Shared;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>
/// The AF_PACKET IPv6-in-IPv6 uplink: what it puts on the wire is what a protocol-41 raw socket at the far end
/// takes for a tunnel packet from us; peers without a next hop are handed back; the next hop comes from the
/// kernel's route and neighbour tables; a steady batch send allocates nothing.
/// </summary>
public sealed class PacketTunnelSenderTests
{
    private static readonly Ipv6Address Inner1 = Ipv6Address.Parse("2001:db8:1001:1::10");
    private static readonly Ipv6Address Inner2 = Ipv6Address.Parse("2001:db8:2::10");

    private static PacketTunnelSender Uplink(NamespacePair pair, bool bypass = false) =>
        pair.A.Run(() => PacketTunnelSender.Open(new PacketTunnelOptions
        {
            Interface = NamespacePair.VethA, LocalAddress = NamespacePair.AddressA, HopLimit = 61, QdiscBypass = bypass,
        }));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_far_end_raw_socket_receives_our_inner_packets_from_our_address(bool bypass)
    {
        using var pair = new NamespacePair();
        using var uplink = Uplink(pair, bypass);
        using var lma = pair.B.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressB }));
        using var wire = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        uplink.SetNextHop(NamespacePair.AddressB, NamespacePair.Macs.B);
        Assert.True(uplink.TryGetNextHop(NamespacePair.AddressB, out var mac));
        Assert.Equal(NamespacePair.Macs.B, mac);

        using var tx = new PacketBatch(8, 2048);
        var inner = Frames.EchoRequestPacket(Inner1, Inner2, 0x77, 3, 300);
        for (int i = 0; i < 3; i++) tx.Meta(tx.Add(inner)).Destination = NamespacePair.AddressB;
        Span<int> back = stackalloc int[3];
        Assert.Equal(3, uplink.Send(tx, [0, 1, 2], back, out int unsent));
        Assert.Equal(0, unsent);
        Assert.Equal(inner, tx.Frame(1).ToArray()); // the slot is as it was

        using var rx = new PacketBatch(16, 4096);
        var got = Frames.Collect(lma, rx, r => r.Bytes.Length == inner.Length, 3);
        Assert.Equal(3, got.Count);
        Assert.All(got, r =>
        {
            Assert.Equal(inner, r.Bytes);
            Assert.Equal(NamespacePair.AddressA, r.Meta.Source);
            Assert.Equal(NamespacePair.AddressB, r.Meta.Destination);
        });
        var frame = Frames.Collect(wire, rx, r => r.Bytes.Length > 54 && r.Bytes[14 + 6] == 41, 1)[0].Bytes;
        Assert.Equal(NamespacePair.Macs.B, MacAddress.ReadFrom(frame));
        Assert.Equal(NamespacePair.Macs.A, MacAddress.ReadFrom(frame.AsSpan(6)));
        Assert.True(Ipv6Packet.TryCreate(frame.AsSpan(14), out var outer, out _));
        Assert.Equal(61, outer.HopLimit);
        Assert.Equal(inner.Length, outer.PayloadLength);
        Assert.Equal(3, uplink.Counters.TxPackets);
    }

    [Fact]
    public void Slots_for_a_peer_without_a_next_hop_are_handed_back_untouched()
    {
        using var pair = new NamespacePair();
        using var uplink = Uplink(pair);
        var other = Ipv6Address.Parse("2001:db8:100:2::2");
        uplink.SetNextHop(NamespacePair.AddressB, NamespacePair.Macs.B);
        using var tx = new PacketBatch(8, 2048);
        var inner = Frames.EchoRequestPacket(Inner1, Inner2, 1, 1);
        tx.Meta(tx.Add(inner)).Destination = other;
        tx.Meta(tx.Add(inner)).Destination = NamespacePair.AddressB;
        tx.Meta(tx.Add(inner)).Destination = other;
        Span<int> back = stackalloc int[3];
        Assert.Equal(1, uplink.Send(tx, [0, 1, 2], back, out int unsent));
        Assert.Equal(new[] { 0, 2 }, back[..unsent].ToArray());
        Assert.Equal(inner, tx.Frame(0).ToArray());

        uplink.RemoveNextHop(NamespacePair.AddressB);
        Assert.False(uplink.HasNextHop(NamespacePair.AddressB));
        Assert.Equal(0, uplink.Send(tx, [1], back, out unsent));
        Assert.Equal(1, unsent);
    }

    [Fact]
    public void Route_and_neighbour_lookups_give_the_next_hop_mac()
    {
        using var pair = new NamespacePair();
        var far = Ipv6Address.Parse("2001:db8:100::1");
        pair.A.Ip("-6", "route", "add", "2001:db8:100::/48", "via", NamespacePair.AddressB.ToString());
        pair.A.Ip("neigh", "replace", NamespacePair.AddressB.ToString(), "lladdr", NamespacePair.Macs.B.ToString(), "dev", NamespacePair.VethA, "nud", "reachable");
        pair.A.Run(() =>
        {
            using var nl = RtNetlink.Open();
            var route = nl.LookUpRoute(far);
            Assert.NotNull(route);
            Assert.Equal(nl.GetIfIndex(NamespacePair.VethA), route.OutputIfIndex);
            Assert.Equal(NamespacePair.AddressB, route.Gateway);
            Assert.Equal(NamespacePair.AddressB, route.NextHop);
            var onLink = nl.LookUpRoute(NamespacePair.AddressB)!;
            Assert.Null(onLink.Gateway);
            Assert.Equal(NamespacePair.AddressB, onLink.NextHop);

            var neighbor = nl.GetNeighbor(route.OutputIfIndex, route.NextHop);
            Assert.NotNull(neighbor);
            Assert.True(neighbor.IsUsable, neighbor.State.ToString());
            Assert.Equal(NamespacePair.Macs.B, neighbor.LinkLayerAddress);

            Assert.Null(nl.GetNeighbor(route.OutputIfIndex, Ipv6Address.Parse("2001:db8:a::77")));
            Assert.Null(nl.LookUpRoute(Ipv6Address.Parse("2001:db8:ffff::1")));
        });
    }

    [Fact]
    public void A_batch_send_allocates_nothing()
    {
        using var pair = new NamespacePair();
        using var uplink = Uplink(pair);
        using var lma = pair.B.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressB }));
        uplink.SetNextHop(NamespacePair.AddressB, NamespacePair.Macs.B);
        const int batch = 32;
        using var tx = new PacketBatch(batch, 2048);
        using var rx = new PacketBatch(64, 2048);
        var inner = Frames.EchoRequestPacket(Inner1, Inner2, 1, 1, 200);
        var slots = new int[batch];
        for (int i = 0; i < batch; i++) tx.Meta(slots[i] = tx.Add(inner)).Destination = NamespacePair.AddressB;
        var back = new int[batch];
        void Round()
        {
            if (uplink.Send(tx, slots, back, out _) != batch) throw new InvalidOperationException("not sent");
            int got = 0;
            for (long deadline = Environment.TickCount64 + 5000; got < batch && Environment.TickCount64 < deadline;)
            {
                int n = lma.Receive(rx);
                got += n;
                if (n == 0) Thread.Sleep(1);
            }
        }
        Assert.Equal(0, Allocations.BestWindow(Round, rounds: 50));
    }
}
