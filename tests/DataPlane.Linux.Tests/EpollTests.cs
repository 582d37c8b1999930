using System.Diagnostics;

namespace DataPlane.Linux.Tests;

public sealed class EpollTests
{
    [Fact]
    public void An_eventfd_signalled_from_another_thread_wakes_the_wait_with_its_token()
    {
        using var epoll = new Epoll();
        using var wake = new EventFd();
        epoll.Add(wake.Fd, 0xFEED, EpollEvents.In);
        Span<EpollReady> ready = stackalloc EpollReady[8];

        var sw = Stopwatch.StartNew();
        var signaller = new Thread(() =>
        {
            Thread.Sleep(50);
            wake.Signal();
            wake.Signal(); // signals coalesce
        });
        signaller.Start();
        int n = epoll.Wait(ready, 5000);
        sw.Stop();
        signaller.Join();

        Assert.Equal(1, n);
        Assert.Equal(0xFEEDul, ready[0].Token);
        Assert.True((ready[0].Events & EpollEvents.In) != 0);
        Assert.InRange(sw.ElapsedMilliseconds, 40, 4000);
        Thread.Sleep(10);
        Assert.Equal(2ul, wake.Drain());
        Assert.Equal(0ul, wake.Drain());
        Assert.Equal(0, epoll.Wait(ready, 0)); // drained: no longer readable
    }

    [Fact]
    public void A_millisecond_timeout_is_honoured()
    {
        using var epoll = new Epoll();
        using var idle = new EventFd();
        epoll.Add(idle.Fd, 1);
        Span<EpollReady> ready = stackalloc EpollReady[1];
        var sw = Stopwatch.StartNew();
        Assert.Equal(0, epoll.Wait(ready, 100));
        Assert.InRange(sw.ElapsedMilliseconds, 95, 1000);
    }

    [Fact]
    public void A_microsecond_timeout_is_honoured_without_rounding_up_to_a_millisecond()
    {
        using var epoll = new Epoll();
        Span<EpollReady> ready = stackalloc EpollReady[1];
        // 1.5 ms (InitialBindackTimeout scaled down): epoll_wait would round to 2 ms; epoll_pwait2 does not.
        var timeout = TimeSpan.FromMicroseconds(1500);
        var samples = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            var sw = Stopwatch.StartNew();
            Assert.Equal(0, epoll.Wait(ready, timeout));
            samples.Add(sw.Elapsed.TotalMilliseconds);
        }
        samples.Sort();
        Assert.True(samples[0] >= 1.4, $"woke early: {samples[0]} ms");
        Assert.True(samples[10] < 1.95, $"median {samples[10]} ms"); // the slack of a loaded 2-core box, below the 2 ms epoll_wait would give

        var swZero = Stopwatch.StartNew();
        Assert.Equal(0, epoll.Wait(ready, TimeSpan.FromTicks(-5))); // a deadline already passed: poll
        Assert.True(swZero.ElapsedMilliseconds < 50);
    }

    [Fact]
    public void Registrations_can_be_modified_and_removed()
    {
        using var epoll = new Epoll();
        using var a = new EventFd();
        using var b = new EventFd();
        epoll.Add(a.Fd, 1);
        epoll.Add(b.Fd, 2);
        a.Signal();
        b.Signal();
        Span<EpollReady> ready = stackalloc EpollReady[4];
        Assert.Equal(2, epoll.Wait(ready, 100));
        Assert.Equal([1ul, 2ul], ready[..2].ToArray().Select(r => r.Token).Order());

        epoll.Modify(a.Fd, 7, EpollEvents.In);
        epoll.Remove(b.Fd);
        Assert.Equal(1, epoll.Wait(ready, 100));
        Assert.Equal(7ul, ready[0].Token);
        epoll.Remove(b.Fd); // twice is harmless
        var e = Assert.Throws<LinuxIoException>(() => epoll.Add(a.Fd, 9));
        Assert.Equal(Errno.EEXIST, e.Errno);
    }

    [Fact]
    public void A_packet_port_is_readable_through_epoll_when_a_frame_waits()
    {
        using var pair = new NamespacePair(addresses: false);
        using var a = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var b = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var epoll = new Epoll();
        epoll.Add(b.Fd, 3);
        using var batch = new PacketBatch(2);
        while (b.Receive(batch) > 0) { } // link-up chatter
        batch.Clear();
        batch.Add(Frames.Experimental(NamespacePair.Macs.B, NamespacePair.Macs.A, 1));
        a.Send(batch, 0, 1);
        Span<EpollReady> ready = stackalloc EpollReady[2];
        Assert.Equal(1, epoll.Wait(ready, 2000));
        Assert.Equal(3ul, ready[0].Token);
        Assert.True(b.Receive(batch) >= 1);
    }
}
