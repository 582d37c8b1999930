namespace DataPlane.Linux;

/// <summary>
/// A system call failed for a reason the caller must hear about (not back-pressure such as EAGAIN,
/// which the batch calls report through their return values). The message names the operation and
/// the errno symbol, e.g. "bind AF_PACKET to vif3.0: ENODEV".
/// </summary>
public class LinuxIoException : IOException
{
    public LinuxIoException(string operation, int errno, string? detail = null)
        : base(Format(operation, errno, detail))
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    /// <summary>What we were doing, in the words of the message (e.g. "add route 2001:db8::/64 dev dp0").</summary>
    public string Operation { get; }

    /// <summary>The errno value (see <see cref="Linux.Errno"/>).</summary>
    public int Errno { get; }

    public string ErrnoName => Linux.Errno.Name(Errno);

    private static string Format(string operation, int errno, string? detail) =>
        detail is null ? $"{operation}: {Linux.Errno.Name(errno)}" : $"{operation}: {Linux.Errno.Name(errno)} ({detail})";

    /// <summary>Throw for the errno of the last call.</summary>
    internal static LinuxIoException FromLast(string operation) => new(operation, Linux.Errno.Last);
}
