using System.Runtime.InteropServices;

namespace DataPlane.Linux;

/// <summary>
/// errno values the I/O layer reacts to, and the symbolic name of any errno for messages
/// ("EEXIST" says more to an operator than "File exists" and is what the kernel source uses).
/// Numbers are Linux's generic ones (asm-generic/errno*.h), which x86-64 and arm64 share.
/// </summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int ERANGE = 34;
    public const int ENOPROTOOPT = 92;
    public const int EPROTONOSUPPORT = 93;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int ENOBUFS = 105;
    public const int EHOSTUNREACH = 113;
    public const int EMSGSIZE = 90;
    public const int EDESTADDRREQ = 89;
    public const int ENOTSOCK = 88;
    public const int EBADFD = 77;
    public const int ESRCH = 3;
    public const int E2BIG = 7;
    public const int ENOTTY = 25;
    public const int EPIPE = 32;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;

    /// <summary>errno of the last P/Invoke made on this thread (Tmds.LibC and our own imports set it).</summary>
    public static int Last => Marshal.GetLastPInvokeError();

    /// <summary>True for "try again later": the hot path treats these as back-pressure, never as failure.</summary>
    public static bool IsWouldBlock(int errno) => errno is EAGAIN or ENOBUFS;

    /// <summary>The errno's symbolic name, e.g. "EEXIST"; "errno 200" for numbers not in the table.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        ENXIO => "ENXIO",
        E2BIG => "E2BIG",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        ENOSPC => "ENOSPC",
        EPIPE => "EPIPE",
        ERANGE => "ERANGE",
        EBADFD => "EBADFD",
        ENOTSOCK => "ENOTSOCK",
        EDESTADDRREQ => "EDESTADDRREQ",
        EMSGSIZE => "EMSGSIZE",
        ENOPROTOOPT => "ENOPROTOOPT",
        EPROTONOSUPPORT => "EPROTONOSUPPORT",
        EOPNOTSUPP => "EOPNOTSUPP",
        EAFNOSUPPORT => "EAFNOSUPPORT",
        EADDRINUSE => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        ENETDOWN => "ENETDOWN",
        ENETUNREACH => "ENETUNREACH",
        ENOBUFS => "ENOBUFS",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNREFUSED => "ECONNREFUSED",
        EHOSTUNREACH => "EHOSTUNREACH",
        _ => $"errno {errno}",
    };
}
