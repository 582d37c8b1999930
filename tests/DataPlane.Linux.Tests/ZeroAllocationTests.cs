using DataPlane.Tests.Shared;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>
/// The steady-state data path allocates nothing: a receive and a send of a whole batch, the epoll
/// wait between them, and an eventfd wake-up, measured with GC.GetAllocatedBytesForCurrentThread
/// after warm-up rounds (which pay for JIT and first-call set-up), best of a few windows (<see cref="Allocations"/>).
/// </summary>
public sealed class ZeroAllocationTests
{
    private const int Batch = 32;
    private const int Rounds = 50;

    /// <summary>Send a batch from <paramref name="tx"/>, then receive until that many matching frames came in.</summary>
    private static long Measure(Action round) => Allocations.BestWindow(round, Rounds);

    /// <summary>Assert.Equal itself allocates (boxing, comparers): not inside the measured region.</summary>
    private static void Expect(int expected, int actual)
    {
        if (expected != actual) throw new InvalidOperationException($"expected {expected}, got {actual}");
    }

    private static void ReceiveAtLeast(Func<PacketBatch, int> receive, PacketBatch rx, Epoll epoll, int wanted)
    {
        Span<EpollReady> ready = stackalloc EpollReady[4];
        int got = 0, idle = 0;
        while (got < wanted)
        {
            int n = receive(rx);
            for (int i = 0; i < n; i++)
                if (Frames.IsExperimental(rx.Frame(i)) || rx.Meta(i).Source != default) got++;
            if (n == 0 && epoll.Wait(ready, TimeSpan.FromMilliseconds(200)) == 0 && ++idle > 10)
                throw new TimeoutException($"only {got} of {wanted} frames arrived");
        }
    }

    [Theory]
    [InlineData(PacketSocketBackend.MessageBatch, false)]
    [InlineData(PacketSocketBackend.MessageBatch, true)]
    [InlineData(PacketSocketBackend.RingV2, true)]
    public void PacketSocket_receive_and_send_of_a_batch_allocate_nothing(PacketSocketBackend backend, bool vnet)
    {
        using var pair = new NamespacePair(addresses: false);
        var options = new PacketSocketOptions { Backend = backend, VnetHeader = vnet, RingFrames = 128, RingFrameSize = 2048 };
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA, options));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB, options));
        using var tx = new PacketBatch(Batch, 2048);
        using var rx = new PacketBatch(64, 2048);
        using var epoll = new Epoll();
        epoll.Add(b.Fd, 1);
        for (int i = 0; i < Batch; i++) tx.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, i, 200));
        Func<PacketBatch, int> receive = b.Receive;

        long allocated = Measure(() =>
        {
            Expect(Batch, a.Send(tx, 0, Batch));
            ReceiveAtLeast(receive, rx, epoll, Batch);
        });
        Assert.Equal(0, allocated);
        Assert.True(b.Counters.RxPackets >= Batch * Rounds);
    }

    [Fact]
    public void RawIpv6Socket_receive_and_send_of_a_batch_allocate_nothing()
    {
        using var pair = new NamespacePair();
        using var mag = pair.A.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressA }));
        using var lma = pair.B.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressB }));
        using var tx = new PacketBatch(Batch, 2048);
        using var rx = new PacketBatch(64, 2048);
        using var epoll = new Epoll();
        epoll.Add(lma.Fd, 1);
        var inner = Frames.EchoRequestPacket(Ipv6Address.Parse("2001:db8:100::5"), Ipv6Address.Parse("2001:db8:cafe::1"), 1, 1, 200);
        for (int i = 0; i < Batch; i++) tx.Meta(tx.Add(inner)).Destination = NamespacePair.AddressB;
        Func<PacketBatch, int> receive = lma.Receive;

        long allocated = Measure(() =>
        {
            Expect(Batch, mag.Send(tx, 0, Batch));
            ReceiveAtLeast(receive, rx, epoll, Batch);
        });
        Assert.Equal(0, allocated);
        Assert.Equal(NamespacePair.AddressA, rx.Meta(0).Source);
    }

    [Fact]
    public void Tap_receive_and_send_and_eventfd_wakeups_allocate_nothing()
    {
        using var ns = TestNamespace.Create();
        var tapMac = MacAddress.Parse("02:00:00:00:02:01");
        using var tap = ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dptap0", MacAddress = tapMac, VnetHeader = true }));
        // A packet socket on the same TAP sees what we write (the kernel's receive path) …
        using var watch = ns.Run(() => PacketSocket.Open("dptap0"));
        using var tx = new PacketBatch(Batch, 2048);
        using var rx = new PacketBatch(64, 2048);
        using var epoll = new Epoll();
        using var wake = new EventFd();
        epoll.Add(watch.Fd, 1);
        epoll.Add(wake.Fd, 2);
        for (int i = 0; i < Batch; i++) tx.Add(Frames.Experimental(tapMac, MacAddress.Parse("02:00:00:00:02:02"), i, 200));
        Func<PacketBatch, int> receive = watch.Receive;
        Span<EpollReady> ready = stackalloc EpollReady[2];

        long allocated = Measure(() =>
        {
            Expect(Batch, tap.Send(tx, 0, Batch));
            ReceiveAtLeast(receive, rx, epoll, Batch);
            tap.Receive(rx); // … and reading the TAP (nothing or the kernel's own chatter) allocates nothing either
            wake.Signal();
            wake.Drain();
        });
        Assert.Equal(0, allocated);
    }
}
