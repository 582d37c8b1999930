using DataPlane.Linux.Native;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>
/// An eventfd to wake the packet loop from other threads (control socket commands, policy answers
/// arriving through a channel): <see cref="Signal"/> from anywhere, register <see cref="Fd"/> with
/// the loop's <see cref="Epoll"/>, <see cref="Drain"/> when it is readable. Nonblocking; signals
/// coalesce until drained.
/// </summary>
public sealed unsafe class EventFd : IDisposable
{
    private int _fd;

    public EventFd()
    {
        _fd = Sys.Check(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
    }

    ~EventFd() => Sys.Close(ref _fd);

    public int Fd => _fd;

    /// <summary>Make the fd readable (thread-safe; never blocks).</summary>
    public void Signal()
    {
        int fd = _fd;
        ObjectDisposedException.ThrowIf(fd < 0, this);
        ulong one = 1;
        while (write(fd, &one, 8) < 0)
        {
            int e = Errno.Last;
            if (e == Errno.EINTR) continue;
            if (e == Errno.EAGAIN) return; // counter saturated: it is readable anyway
            throw new LinuxIoException("eventfd signal", e);
        }
    }

    /// <summary>Reset the counter; returns how many signals had accumulated (0 if none).</summary>
    public ulong Drain()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        ulong value = 0;
        while (read(_fd, &value, 8) < 0)
        {
            int e = Errno.Last;
            if (e == Errno.EINTR) continue;
            if (e == Errno.EAGAIN) return 0;
            throw new LinuxIoException("eventfd drain", e);
        }
        return value;
    }

    public void Dispose()
    {
        Sys.Close(ref _fd);
        GC.SuppressFinalize(this);
    }
}
