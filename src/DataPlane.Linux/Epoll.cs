using System.Runtime.InteropServices;
using DataPlane.Linux.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>epoll event bits (sys/epoll.h).</summary>
[Flags]
public enum EpollEvents : uint
{
    None = 0,
    In = 0x001,
    Pri = 0x002,
    Out = 0x004,
    /// <summary>Always reported: on an AF_PACKET port it means a link event (read it with Receive).</summary>
    Error = 0x008,
    /// <summary>Always reported.</summary>
    HangUp = 0x010,
    ReadHangUp = 0x2000,
    Exclusive = 1u << 28,
    OneShot = 1u << 30,
    EdgeTriggered = 1u << 31,
}

/// <summary>One ready registration: the token given at <see cref="Epoll.Add"/> and what is ready.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct EpollReady(ulong Token, EpollEvents Events);

/// <summary>
/// An epoll instance for the packet loop. Registrations carry a caller-chosen 64-bit token (a port
/// number, an index into the loop's table); <see cref="Wait(Span{EpollReady}, TimeSpan)"/> fills a
/// caller span with ready tokens and allocates nothing. Timeouts come from the protocol core's next
/// deadline, with microsecond resolution (epoll_pwait2) so a 1.5 ms retransmission is not rounded to 2.
/// </summary>
/// <remarks>Busy polling (issue 9) plugs in here: a loop that spins calls Wait with a zero timeout;
/// kernel-side busy polling is SO_BUSY_POLL on the sockets (PacketSocketOptions.BusyPollMicroseconds)
/// or EPIOCSPARAMS on this fd.</remarks>
public sealed unsafe class Epoll : IDisposable
{
    private int _fd;
    private readonly epoll_event* _events;
    private readonly int _capacity;

    public Epoll(int capacity = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _fd = Sys.Check(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
        _events = (epoll_event*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(epoll_event)));
    }

    ~Epoll() => Free();

    public int Fd => _fd;

    /// <summary>Most events one wait returns.</summary>
    public int Capacity => _capacity;

    public void Add(int fd, ulong token, EpollEvents events = EpollEvents.In) => Control(EPOLL_CTL_ADD, fd, token, events, "add");

    public void Modify(int fd, ulong token, EpollEvents events) => Control(EPOLL_CTL_MOD, fd, token, events, "modify");

    public void Remove(int fd)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        epoll_event ev = default;
        if (epoll_ctl(_fd, EPOLL_CTL_DEL, fd, &ev) < 0)
        {
            int e = Errno.Last;
            // Already gone (closed fds leave epoll by themselves): nothing to do.
            if (e is not (Errno.ENOENT or Errno.EBADF)) throw new LinuxIoException($"epoll remove fd {fd}", e);
        }
    }

    private void Control(int op, int fd, ulong token, EpollEvents events, string what)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        epoll_event ev = default;
        ev.events = (int)events;
        ev.data.u64 = token;
        Sys.Check(epoll_ctl(_fd, op, fd, &ev), $"epoll {what} fd {fd}");
    }

    /// <summary>Wait up to <paramref name="timeoutMilliseconds"/> (-1 = forever, 0 = poll). Returns
    /// the number of entries written to <paramref name="ready"/>; 0 on timeout or signal.</summary>
    public int Wait(Span<EpollReady> ready, int timeoutMilliseconds)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int max = Math.Min(ready.Length, _capacity);
        if (max == 0) throw new ArgumentException("no room for events", nameof(ready));
        int n = epoll_wait(_fd, _events, max, timeoutMilliseconds);
        return Collect(n, ready, "epoll_wait");
    }

    /// <summary>Wait with microsecond resolution; <see cref="Timeout.InfiniteTimeSpan"/> waits forever.
    /// A negative timeout other than infinite counts as zero (the deadline has passed).</summary>
    public int Wait(Span<EpollReady> ready, TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int max = Math.Min(ready.Length, _capacity);
        if (max == 0) throw new ArgumentException("no room for events", nameof(ready));
        int n;
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            n = LibcExtras.epoll_pwait2(_fd, _events, max, null, null);
        }
        else
        {
            long ticks = Math.Max(0, timeout.Ticks);
            timespec ts = default;
            ts.tv_sec = ticks / TimeSpan.TicksPerSecond;
            ts.tv_nsec = (long_t)((ticks % TimeSpan.TicksPerSecond) * 100);
            n = LibcExtras.epoll_pwait2(_fd, _events, max, &ts, null);
        }
        return Collect(n, ready, "epoll_pwait2");
    }

    private int Collect(int n, Span<EpollReady> ready, string operation)
    {
        if (n < 0)
        {
            int e = Errno.Last;
            if (e == Errno.EINTR) return 0;
            throw new LinuxIoException(operation, e);
        }
        for (int i = 0; i < n; i++) ready[i] = new EpollReady(_events[i].data.u64, (EpollEvents)_events[i].events);
        return n;
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_fd < 0) return;
        Sys.Close(ref _fd);
        NativeMemory.Free(_events);
    }
}
