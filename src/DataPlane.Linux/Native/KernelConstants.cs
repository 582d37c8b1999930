namespace DataPlane.Linux.Native;

/// <summary>
/// Kernel ABI numbers Tmds.LibC 0.5.0 does not carry (from linux/if_ether.h, net/if.h,
/// linux/if_tun.h, linux/if_packet.h, linux/netlink.h). Names are the kernel's; everything Tmds.LibC
/// has is taken from there.
/// </summary>
internal static class KernelConstants
{
    /// <summary>Every EtherType (passed to bind in network byte order).</summary>
    public const ushort ETH_P_ALL = 0x0003;

    // net/if.h
    public const int IFNAMSIZ = 16;
    public const short IFF_UP = 0x1;
    /// <summary>sizeof(struct ifreq) on 64-bit Linux: name[16] + a 24-byte union.</summary>
    public const int IfreqSize = 40;

    // linux/if_tun.h: _IOW('T', n, int) = 0x400454nn.
    public const int TUNSETIFF = 0x400454ca;
    public const int TUNSETPERSIST = 0x400454cb;
    public const int TUNSETOFFLOAD = 0x400454d0;
    public const int TUNSETVNETHDRSZ = 0x400454d8;
    public const short IFF_TUN = 0x0001;
    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;

    // linux/if_packet.h (PACKET_MMAP)
    public const int TPACKET_V2 = 1;
    public const int TPACKET_ALIGNMENT = 16;
    /// <summary>TPACKET_ALIGN(sizeof(struct tpacket2_hdr)): where the sockaddr_ll sits in an RX
    /// frame and where the data starts in a TX frame (TPACKET2_HDRLEN - sizeof(sockaddr_ll)).</summary>
    public const int TPACKET2_HDR_ALIGNED = 32;
    public const uint TP_STATUS_KERNEL = 0;
    public const uint TP_STATUS_USER = 1;
    public const uint TP_STATUS_AVAILABLE = 0;
    public const uint TP_STATUS_SEND_REQUEST = 1;
    public const uint TP_STATUS_WRONG_FORMAT = 4;

    // linux/netlink.h
    public const int NETLINK_ROUTE = 0;
    public const int NETLINK_CAP_ACK = 10;
    public const int NETLINK_EXT_ACK = 11;
}
