using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux.Native;

/// <summary>Small wrappers over Tmds.LibC that turn a -1 into a <see cref="LinuxIoException"/>.</summary>
internal static unsafe class Sys
{
    public static int Check(int result, string operation) =>
        result < 0 ? throw LinuxIoException.FromLast(operation) : result;

    public static void SetInt(int fd, int level, int name, int value, string operation)
    {
        int v = value;
        Check(setsockopt(fd, level, name, &v, sizeof(int)), operation);
    }

    public static int GetInt(int fd, int level, int name, string operation)
    {
        int v = 0;
        socklen_t len = sizeof(int);
        Check(getsockopt(fd, level, name, &v, &len), operation);
        return v;
    }

    public static void Close(ref int fd)
    {
        if (fd < 0) return;
        close(fd);
        fd = -1;
    }

    /// <summary>Write an interface name into struct ifreq's ifr_name (NUL-terminated, IFNAMSIZ).</summary>
    public static void WriteIfName(byte* ifreq, string name)
    {
        ValidateIfName(name);
        var dest = new Span<byte>(ifreq, KernelConstants.IFNAMSIZ);
        dest.Clear();
        Encoding.ASCII.GetBytes(name, dest);
    }

    public static string ReadIfName(byte* ifreq)
    {
        var s = new ReadOnlySpan<byte>(ifreq, KernelConstants.IFNAMSIZ);
        int nul = s.IndexOf((byte)0);
        return Encoding.ASCII.GetString(nul < 0 ? s : s[..nul]);
    }

    public static void ValidateIfName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length >= KernelConstants.IFNAMSIZ || name.Contains('/') || name.Contains(' ') || name.Contains('\0') || !Ascii.IsValid(name))
            throw new ArgumentException($"'{name}' is not a valid interface name (at most 15 ASCII characters, no '/' or spaces)", nameof(name));
    }

    /// <summary>SIOCGIFINDEX through <paramref name="fd"/>, so the look-up happens in that socket's namespace.</summary>
    public static int IfIndexOf(int fd, string name)
    {
        byte* ifr = stackalloc byte[KernelConstants.IfreqSize];
        new Span<byte>(ifr, KernelConstants.IfreqSize).Clear();
        WriteIfName(ifr, name);
        Check(ioctl(fd, SIOCGIFINDEX, ifr), $"find interface {name}");
        return *(int*)(ifr + KernelConstants.IFNAMSIZ);
    }

    /// <summary>SIOCGIFNAME: the current name of an ifindex, or null if no such interface (ENODEV).</summary>
    public static string? IfNameOf(int fd, int ifindex)
    {
        byte* ifr = stackalloc byte[KernelConstants.IfreqSize];
        new Span<byte>(ifr, KernelConstants.IfreqSize).Clear();
        *(int*)(ifr + KernelConstants.IFNAMSIZ) = ifindex;
        if (ioctl(fd, SIOCGIFNAME, ifr) < 0)
        {
            int e = Errno.Last;
            return e == Errno.ENODEV ? null : throw new LinuxIoException($"name of interface #{ifindex}", e);
        }
        return ReadIfName(ifr);
    }

    /// <summary>SIOCGIFFLAGS, or -1 if the interface does not exist (ENODEV).</summary>
    public static int IfFlagsOf(int fd, string name)
    {
        byte* ifr = stackalloc byte[KernelConstants.IfreqSize];
        new Span<byte>(ifr, KernelConstants.IfreqSize).Clear();
        WriteIfName(ifr, name);
        if (ioctl(fd, SIOCGIFFLAGS, ifr) < 0)
        {
            int e = Errno.Last;
            return e == Errno.ENODEV ? -1 : throw new LinuxIoException($"flags of interface {name}", e);
        }
        return *(ushort*)(ifr + KernelConstants.IFNAMSIZ);
    }

    /// <summary>Link state from the interface flags seen through <paramref name="fd"/>.</summary>
    public static PortLinkState LinkStateOf(int fd, int ifindex)
    {
        string? name = IfNameOf(fd, ifindex);
        if (name is null) return PortLinkState.Removed;
        int flags = IfFlagsOf(fd, name);
        if (flags < 0) return PortLinkState.Removed;
        return (flags & KernelConstants.IFF_UP) != 0 ? PortLinkState.Up : PortLinkState.Down;
    }
}
