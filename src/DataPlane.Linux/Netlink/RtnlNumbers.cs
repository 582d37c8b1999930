namespace DataPlane.Linux.Netlink;

/// <summary>Message types, flags and attribute numbers from linux/netlink.h, linux/rtnetlink.h,
/// linux/if_link.h, linux/if_addr.h. Names are the kernel's.</summary>
internal static class Rtnl
{
    public const int NlmsgHdrLen = 16;
    public const int NlaHdrLen = 4;
    public static int Align(int n) => (n + 3) & ~3;

    // nlmsg_type
    public const ushort NLMSG_NOOP = 1;
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;
    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_DELLINK = 17;
    public const ushort RTM_GETLINK = 18;
    public const ushort RTM_SETLINK = 19;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_DELADDR = 21;
    public const ushort RTM_GETADDR = 22;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort RTM_DELROUTE = 25;
    public const ushort RTM_GETROUTE = 26;
    public const ushort RTM_NEWNEIGH = 28;
    public const ushort RTM_NEWQDISC = 36;
    public const ushort RTM_DELQDISC = 37;
    public const ushort RTM_NEWTFILTER = 44;
    public const ushort RTM_DELTFILTER = 45;
    public const ushort RTM_GETNEIGH = 30;

    // nlmsg_flags
    public const ushort NLM_F_REQUEST = 0x01;
    public const ushort NLM_F_MULTI = 0x02;
    public const ushort NLM_F_ACK = 0x04;
    public const ushort NLM_F_DUMP = 0x300;
    public const ushort NLM_F_REPLACE = 0x100;
    public const ushort NLM_F_EXCL = 0x200;
    public const ushort NLM_F_CREATE = 0x400;
    /// <summary>On an NLMSG_ERROR: extended-ack TLVs follow.</summary>
    public const ushort NLM_F_ACK_TLVS = 0x200;
    /// <summary>On an NLMSG_ERROR: the echoed request is capped to its header.</summary>
    public const ushort NLM_F_CAPPED = 0x100;
    public const ushort NLMSGERR_ATTR_MSG = 1;

    // struct ifinfomsg (16 bytes) and IFLA_*
    public const int IfinfomsgLen = 16;
    public const ushort IFLA_ADDRESS = 1;
    public const ushort IFLA_IFNAME = 3;
    public const ushort IFLA_MTU = 4;
    public const ushort IFLA_OPERSTATE = 16;
    public const ushort IFLA_LINKINFO = 18;
    public const ushort IFLA_INFO_KIND = 1;
    public const uint IFF_UP = 0x1;

    // struct ifaddrmsg (8 bytes) and IFA_*
    public const int IfaddrmsgLen = 8;
    public const ushort IFA_ADDRESS = 1;
    public const ushort IFA_LOCAL = 2;
    public const ushort IFA_FLAGS = 8;
    public const byte IFA_F_NODAD = 0x02;
    public const byte IFA_F_PERMANENT = 0x80;

    // struct rtmsg (12 bytes) and RTA_*
    public const int RtmsgLen = 12;
    public const ushort RTA_DST = 1;
    public const ushort RTA_OIF = 4;
    public const ushort RTA_GATEWAY = 5;
    public const ushort RTA_PRIORITY = 6;
    public const ushort RTA_PREFSRC = 7;
    public const ushort RTA_TABLE = 15;
    public const byte RT_TABLE_MAIN = 254;
    public const byte RT_TABLE_LOCAL = 255;
    public const byte RTN_LOCAL = 2;
    public const byte RT_SCOPE_UNIVERSE = 0;
    public const byte RTN_UNICAST = 1;
    public const byte RTPROT_STATIC = 4;

    // struct ndmsg (12 bytes) and NDA_*
    public const int NdmsgLen = 12;
    public const ushort NDA_DST = 1;
    public const ushort NDA_LLADDR = 2;

    // struct tcmsg (20 bytes), TCA_* and cls_bpf's TCA_BPF_* (linux/pkt_sched.h, linux/pkt_cls.h)
    public const int TcmsgLen = 20;
    public const ushort TCA_KIND = 1;
    public const ushort TCA_OPTIONS = 2;
    public const ushort TCA_BPF_FD = 6;
    public const ushort TCA_BPF_NAME = 7;
    public const ushort TCA_BPF_FLAGS = 8;
    public const uint TCA_BPF_FLAG_ACT_DIRECT = 1;
    public const uint TC_H_CLSACT = 0xFFFF_FFF1;
    public const uint TC_H_CLSACT_HANDLE = 0xFFFF_0000;
    public const uint TC_H_INGRESS_PARENT = 0xFFFF_FFF2; // TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
    public const uint TC_H_EGRESS_PARENT = 0xFFFF_FFF3;  // TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)
    public const ushort ETH_P_ALL_BE = 0x0300;           // htons(ETH_P_ALL)

    public const byte AF_UNSPEC = 0;
    public const byte AF_INET6 = 10;
    public const byte AF_INET = 2;
    public const byte RT_SCOPE_LINK = 253;
}
