using DataPlane.Tests.Shared;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>
/// The AF_PACKET receive side of the tunnel: it takes exactly the IPv6-in-IPv6 packets addressed to us, hands
/// over the inner packet with the outer addresses like the raw socket does, and with the tc ingress drop the
/// kernel's own input (and so the raw socket) no longer sees them — until the receiver is disposed.
/// </summary>
public sealed class PacketTunnelReceiverTests
{
    private static readonly Ipv6Address Inner1 = Ipv6Address.Parse("2001:db8:1001:1::10");
    private static readonly Ipv6Address Inner2 = Ipv6Address.Parse("2001:db8:2::10");

    private static RawIpv6Socket Raw41(TestNamespace ns, Ipv6Address local) =>
        ns.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = local }));

    private static void SendTunnelled(RawIpv6Socket from, byte[] inner, int count)
    {
        using var tx = new PacketBatch(count, 2048);
        for (int i = 0; i < count; i++) tx.Meta(tx.Add(inner)).Destination = NamespacePair.AddressB;
        Assert.Equal(count, from.Send(tx, 0, count));
    }

    [Theory]
    [InlineData(PacketSocketBackend.RingV2)]
    [InlineData(PacketSocketBackend.MessageBatch)]
    public void Tunnel_packets_to_us_arrive_as_inner_packets_and_bypass_the_kernel_input(PacketSocketBackend backend)
    {
        using var pair = new NamespacePair();
        using var mag = Raw41(pair.A, NamespacePair.AddressA);
        using var lmaRaw = Raw41(pair.B, NamespacePair.AddressB);
        var receiver = pair.B.Run(() => PacketTunnelReceiver.Open(new PacketTunnelReceiverOptions
        {
            Interface = NamespacePair.VethB, LocalAddress = NamespacePair.AddressB, Backend = backend,
        }));
        Assert.True(receiver.BypassesKernelInput);
        var inner = Frames.EchoRequestPacket(Inner1, Inner2, 0x42, 7, 500);
        using var rx = new PacketBatch(64, 2048);
        try
        {
            SendTunnelled(mag, inner, 10);
            var got = Frames.Collect(receiver.Fd, receiver.Receive, rx, r => r.Bytes.Length == inner.Length, l => l.Count >= 10, TimeSpan.FromSeconds(5));
            Assert.Equal(10, got.Count);
            Assert.All(got, r =>
            {
                Assert.Equal(inner, r.Bytes);
                Assert.Equal(NamespacePair.AddressA, r.Meta.Source);
                Assert.Equal(NamespacePair.AddressB, r.Meta.Destination);
            });
            // The kernel's input never saw them: nothing for the raw socket.
            Assert.Empty(Frames.Collect(lmaRaw, rx, _ => true, 1, TimeSpan.FromMilliseconds(300)));
            // Other traffic to the same address still reaches the kernel (a ping is answered).
            Assert.Equal(0, pair.A.Exec("ping", "-6", "-c", "1", "-W", "2", NamespacePair.AddressB.ToString()).ExitCode);
        }
        finally
        {
            receiver.Dispose();
        }
        // Disposed: the filter is gone and the kernel delivers to the raw socket again.
        Assert.DoesNotContain("dataplane", pair.B.Exec("tc", "filter", "show", "dev", NamespacePair.VethB, "ingress").Stdout);
        SendTunnelled(mag, inner, 1);
        Assert.Single(Frames.Collect(lmaRaw, rx, r => r.Bytes.Length == inner.Length, 1));
    }

    [Fact]
    public void Without_the_bypass_both_see_the_packets_and_other_destinations_are_not_taken()
    {
        using var pair = new NamespacePair();
        var other = Ipv6Address.Parse("2001:db8:a::99");
        pair.B.AddAddress(NamespacePair.VethB, other, 128);
        using var mag = Raw41(pair.A, NamespacePair.AddressA);
        using var lmaRaw = Raw41(pair.B, Ipv6Address.Parse("::"));
        using var receiver = pair.B.Run(() => PacketTunnelReceiver.Open(new PacketTunnelReceiverOptions
        {
            Interface = NamespacePair.VethB, LocalAddress = NamespacePair.AddressB, BypassKernelInput = false,
        }));
        var inner = Frames.EchoRequestPacket(Inner1, Inner2, 1, 1, 100);
        using var tx = new PacketBatch(4, 2048);
        tx.Meta(tx.Add(inner)).Destination = NamespacePair.AddressB;
        tx.Meta(tx.Add(inner)).Destination = other;
        Assert.Equal(2, mag.Send(tx, 0, 2));
        using var rx = new PacketBatch(64, 2048);
        Assert.Equal(2, Frames.Collect(lmaRaw, rx, r => r.Bytes.Length == inner.Length, 2).Count);
        var taken = Frames.Collect(receiver.Fd, receiver.Receive, rx, r => r.Bytes.Length == inner.Length, l => l.Count >= 2, TimeSpan.FromMilliseconds(500));
        var only = Assert.Single(taken);
        Assert.Equal(NamespacePair.AddressB, only.Meta.Destination);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // as the daemons open both ends: vnet headers, the message backend
    public void Receiving_a_batch_allocates_nothing(bool vnetHeader)
    {
        using var pair = new NamespacePair();
        using var uplink = pair.A.Run(() => PacketTunnelSender.Open(new PacketTunnelOptions { Interface = NamespacePair.VethA, LocalAddress = NamespacePair.AddressA, VnetHeader = vnetHeader }));
        uplink.SetNextHop(NamespacePair.AddressB, NamespacePair.Macs.B);
        using var receiver = pair.B.Run(() => PacketTunnelReceiver.Open(new PacketTunnelReceiverOptions
        {
            Interface = NamespacePair.VethB, LocalAddress = NamespacePair.AddressB, VnetHeader = vnetHeader,
            Backend = vnetHeader ? PacketSocketBackend.MessageBatch : PacketSocketBackend.RingV2,
        }));
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
                int n = receiver.Receive(rx);
                got += n;
                if (n == 0) Thread.Sleep(1);
            }
            if (got < batch) throw new InvalidOperationException($"only {got} arrived");
        }
        Assert.Equal(0, Allocations.BestWindow(Round, rounds: 50));
    }
}
