using System.Runtime.InteropServices;
using Tmds.Linux;

namespace DataPlane.Linux.Native;

/// <summary>
/// The few libc functions Tmds.LibC 0.5.0 does not bind: the batching syscalls (recvmmsg, sendmmsg),
/// scatter/gather on a TAP fd (readv, writev: virtio-net header and frame in separate buffers), and
/// the µs-resolution epoll wait (epoll_pwait2, glibc 2.35+; it also makes a timerfd unnecessary), and
/// the calling thread's CPU affinity (sched_setaffinity/sched_getaffinity with pid 0).
/// Everything else goes through Tmds.LibC. Interface names are resolved with SIOCGIFINDEX on the
/// port's own socket rather than if_nametoindex, which opens a throwaway socket in the calling
/// thread's namespace and would look in the wrong one for a port opened inside another namespace.
/// Kept in this one file so the hand-written part of the native surface is easy to audit.
/// </summary>
internal static unsafe partial class LibcExtras
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial int recvmmsg(int fd, mmsghdr* msgvec, uint vlen, int flags, timespec* timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sendmmsg(int fd, mmsghdr* msgvec, uint vlen, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint readv(int fd, iovec* iov, int iovcnt);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint writev(int fd, iovec* iov, int iovcnt);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_getaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_pwait2(int epfd, epoll_event* events, int maxevents, timespec* timeout, void* sigmask);
}
