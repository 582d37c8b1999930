using System.Text;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux.Native;

/// <summary>
/// The netdev feature flags `ethtool -k/-K` reads and writes (rx-gro, rx-udp-gro-forwarding,
/// tx-ipxip6-segmentation…), through the SIOCETHTOOL ioctl: ETHTOOL_GSSET_INFO / ETHTOOL_GSTRINGS for the names
/// of the feature bits, ETHTOOL_GFEATURES / ETHTOOL_SFEATURES for their state (include/uapi/linux/ethtool.h).
/// </summary>
internal static unsafe class Ethtool
{
    private const int SIOCETHTOOL = 0x8946;
    private const uint ETHTOOL_GSTRINGS = 0x1b;
    private const uint ETHTOOL_GSSET_INFO = 0x37;
    private const uint ETHTOOL_GFEATURES = 0x3a;
    private const uint ETHTOOL_SFEATURES = 0x3b;
    private const uint ETH_SS_FEATURES = 4;
    private const int StringLength = 32; // ETH_GSTRING_LEN

    /// <summary>A feature's state: whether the device can change it, and whether it is on.</summary>
    public readonly record struct Feature(bool Exists, bool Changeable, bool Active);

    /// <summary>A socket for the ioctls, in the calling thread's network namespace (it stays there: use it from any thread).</summary>
    public static int Socket() => Sys.Check(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket for SIOCETHTOOL");

    public static Feature Get(int fd, string ifName, string feature)
    {
        {
            int bit = FeatureBit(fd, ifName, feature, out int count);
            if (bit < 0) return default;
            int blocks = (count + 31) / 32;
            int size = 8 + blocks * 16;
            byte* buf = stackalloc byte[size];
            new Span<byte>(buf, size).Clear();
            *(uint*)buf = ETHTOOL_GFEATURES;
            *(uint*)(buf + 4) = (uint)blocks;
            Ioctl(fd, ifName, buf, "ETHTOOL_GFEATURES");
            byte* block = buf + 8 + (bit / 32) * 16; // { available, requested, active, never_changed }
            uint mask = 1u << (bit % 32);
            return new Feature(true, (*(uint*)block & mask) != 0 && (*(uint*)(block + 12) & mask) == 0, (*(uint*)(block + 8) & mask) != 0);
        }
    }

    /// <summary>Request <paramref name="feature"/> on or off; returns its state afterwards (the driver may keep it as it was).</summary>
    public static Feature Set(int fd, string ifName, string feature, bool on)
    {
        {
            int bit = FeatureBit(fd, ifName, feature, out int count);
            if (bit < 0) throw new LinuxIoException($"ethtool -K {ifName} {feature}", Errno.EOPNOTSUPP, "the kernel has no such feature");
            // ETHTOOL_SFEATURES wants exactly the kernel's number of feature words (ETHTOOL_DEV_FEATURE_WORDS).
            int blocks = (count + 31) / 32;
            int size = 8 + blocks * 8;
            byte* buf = stackalloc byte[size];
            new Span<byte>(buf, size).Clear();
            *(uint*)buf = ETHTOOL_SFEATURES;
            *(uint*)(buf + 4) = (uint)blocks;
            byte* block = buf + 8 + (bit / 32) * 8; // { valid, requested }
            uint mask = 1u << (bit % 32);
            *(uint*)block = mask;
            *(uint*)(block + 4) = on ? mask : 0;
            Ioctl(fd, ifName, buf, $"ethtool -K {ifName} {feature} {(on ? "on" : "off")}");
        }
        return Get(fd, ifName, feature);
    }

    private static void Ioctl(int fd, string ifName, byte* data, string operation)
    {
        byte* ifr = stackalloc byte[KernelConstants.IfreqSize];
        new Span<byte>(ifr, KernelConstants.IfreqSize).Clear();
        Sys.WriteIfName(ifr, ifName);
        *(byte**)(ifr + KernelConstants.IFNAMSIZ) = data; // ifr_data
        Sys.Check(ioctl(fd, SIOCETHTOOL, ifr), operation);
    }

    /// <summary>The bit of a feature name in the kernel's feature string set, or -1; <paramref name="count"/> features in all.</summary>
    private static int FeatureBit(int fd, string ifName, string feature, out int count)
    {
        byte* info = stackalloc byte[24];
        new Span<byte>(info, 24).Clear();
        *(uint*)info = ETHTOOL_GSSET_INFO;
        *(ulong*)(info + 8) = 1UL << (int)ETH_SS_FEATURES;
        Ioctl(fd, ifName, info, $"ETHTOOL_GSSET_INFO on {ifName}");
        count = (int)*(uint*)(info + 16);
        if (count <= 0 || count > 256) return -1;
        int size = 12 + count * StringLength;
        byte[] strings = new byte[size];
        fixed (byte* s = strings)
        {
            *(uint*)s = ETHTOOL_GSTRINGS;
            *(uint*)(s + 4) = ETH_SS_FEATURES;
            *(uint*)(s + 8) = (uint)count;
            Ioctl(fd, ifName, s, $"ETHTOOL_GSTRINGS on {ifName}");
        }
        for (int i = 0; i < count; i++)
        {
            var name = strings.AsSpan(12 + i * StringLength, StringLength);
            int nul = name.IndexOf((byte)0);
            if (Encoding.ASCII.GetString(nul < 0 ? name : name[..nul]) == feature) return i;
        }
        return -1;
    }
}
