using DataPlane.Linux.Native;
using DataPlane.Linux.Netlink;

namespace DataPlane.Linux;

/// <summary>How a <see cref="TunnelGsoRelabel"/> program is attached to the uplink's egress.</summary>
public enum RelabelAttachment
{
    /// <summary>A tcx BPF link (Linux ≥ 6.6): detached by the kernel when the daemon's process ends, however it ends.</summary>
    Tcx,
    /// <summary>A direct-action filter on the clsact qdisc (older kernels): it outlives a crash, so a later start replaces it.</summary>
    Clsact,
}

/// <summary>
/// The tc egress program that lets an IPv6-in-IPv6 (or IPv4-in-IPv6) TCP super-frame we built ourselves leave
/// whole. A virtio-net header can only say "GSO TCPv6/TCPv4", so the skb the kernel makes of our AF_PACKET send
/// has no tunnel GSO type, and the IPv6 GSO code would refuse to segment it (<c>ip6ip6_gso_segment</c> wants
/// SKB_GSO_IPXIP6). This program changes no byte: it takes the outer IPv6 header off and puts the same 40 bytes
/// back with <c>bpf_skb_adjust_room(…, BPF_F_ADJ_ROOM_ENCAP_L3_IPV6)</c>, which is the kernel's own way of saying
/// "this skb is now IP-in-IPv6 encapsulated" (it sets the inner header offsets, <c>encapsulation</c> and
/// SKB_GSO_IPXIP6). A veth then carries the super-frame whole, and where it must be cut (a NIC without IPXIP6 TSO,
/// <c>tx-ipxip6-segmentation off</c>) the kernel's GSO emits correct RFC 2473 packets, each with its own outer
/// header. It needs tc's egress hook, so the sending socket must not use PACKET_QDISC_BYPASS.
/// </summary>
/// <remarks>
/// Only frames of one socket are touched (the sender's SO_COOKIE is compiled into the program): a GSO frame the
/// kernel itself forwards out of the uplink, perhaps already encapsulated, passes as it came. A frame that is not a
/// super-frame (gso_size 0) or not IPv6/IPv4-in-IPv6 passes untouched. The program returns TC_ACT_UNSPEC (tcx:
/// TCX_NEXT), so programs after it on the hook still run; it drops a frame only in the one case where it has
/// already taken the outer header off and cannot put it back (the kernel refused the second adjust_room), which
/// would otherwise leave as a bare inner packet. Attached with tcx where the kernel has it, else as a clsact
/// egress filter at a fixed priority, replacing any left behind; a tcx attach also removes such a leftover filter.
/// </remarks>
public sealed class TunnelGsoRelabel : IDisposable
{
    /// <summary>The program's name in the kernel (bpf_prog_info.name, at most 15 characters).</summary>
    public const string ProgramName = "dp_gso_relabel";
    /// <summary>The clsact filter's name and priority (41: IPv6-in-IPv6), when it is attached that way.</summary>
    public const string FilterName = "dataplane-gso-relabel";
    public const ushort FilterPriority = 41;

    private const int SkbGsoSizeOffset = 176;    // offsetof(struct __sk_buff, gso_size)
    private const int EthernetHeader = 14;
    private const int Ipv6Header = 40;
    private const int NextHeaderOffset = 6;      // in the IPv6 header
    private const int AdjustRoomMac = 1;         // BPF_ADJ_ROOM_MAC: the room is made right after the Ethernet header
    private const int FixedGso = 1 << 0;         // BPF_F_ADJ_ROOM_FIXED_GSO: gso_size stays what the sender said
    private const int EncapL3Ipv6 = 1 << 2;      // BPF_F_ADJ_ROOM_ENCAP_L3_IPV6: what is pushed is an outer IPv6 header
    private const int DecapL3Ipv4 = 1 << 7;      // BPF_F_ADJ_ROOM_DECAP_L3_IPV4: after the pop, the frame is IPv4 (Linux ≥ 6.3)
    private const int DecapL3Ipv6 = 1 << 8;      // BPF_F_ADJ_ROOM_DECAP_L3_IPV6: after the pop, the frame is IPv6
    private const int TcActUnspec = -1, TcActShot = 2;
    /// <summary>ENOTSUPP (524), the kernel-internal "not supported" some BPF paths return to user space.</summary>
    private const int KernelEnotsupp = 524;

    private int _programFd;
    private int _linkFd;
    private readonly RtNetlink? _netlink;

    private TunnelGsoRelabel(int ifIndex, int programFd, int linkFd, RtNetlink? netlink, RelabelAttachment attachment, bool replacedStale)
    {
        IfIndex = ifIndex;
        _programFd = programFd;
        _linkFd = linkFd;
        _netlink = netlink;
        Attachment = attachment;
        ReplacedStale = replacedStale;
    }

    ~TunnelGsoRelabel() => Close();

    public int IfIndex { get; }

    public RelabelAttachment Attachment { get; }

    /// <summary>A filter of ours that an earlier run left on the hook was replaced or removed when this attached.</summary>
    public bool ReplacedStale { get; }

    /// <summary>
    /// The program, instruction by instruction. <paramref name="socketCookie"/> is the SO_COOKIE of the one socket
    /// whose frames it relabels. r6 keeps the context (calls clobber r1–r5), r7 the flags of the first adjust_room;
    /// the outer IPv6 header is saved at r10-40 (stack).
    /// </summary>
    public static ulong[] Program(ulong socketCookie)
    {
        const int Pass = 40, Drop = 42; // instruction numbers of the two exits
        const int Shrink = 20;
        ulong[] p =
        [
            /*  0 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 6, src: 1),                         // r6 = skb
            /*  1 */ Bpf.Instruction(Bpf.LoadMemWord, dst: 2, src: 6, offset: SkbGsoSizeOffset),   // r2 = skb->gso_size
            /*  2 */ Bpf.Instruction(Bpf.JeqImm, dst: 2, offset: Pass - 3, imm: 0),               // not a super-frame: pass
            /*  3 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 1, src: 6),                         // r1 = skb
            /*  4 */ Bpf.Instruction(Bpf.Call, imm: Bpf.HelperGetSocketCookie),                  // r0 = cookie of skb->sk (0: none)
            /*  5 */ Bpf.LoadImm64Low(1, socketCookie),                                          // r1 = our sender's cookie
            /*  6 */ Bpf.LoadImm64High(socketCookie),
            /*  7 */ Bpf.Instruction(Bpf.JneReg, dst: 0, src: 1, offset: Pass - 8),             // someone else's frame: pass
            /*  8 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 1, src: 6),                         // bpf_skb_load_bytes(skb,
            /*  9 */ Bpf.Instruction(Bpf.MovImm64, dst: 2, imm: EthernetHeader),                  //   14,
            /* 10 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 3, src: 10),                        //   r10 - 40,
            /* 11 */ Bpf.Instruction(Bpf.AddImm64, dst: 3, imm: -Ipv6Header),
            /* 12 */ Bpf.Instruction(Bpf.MovImm64, dst: 4, imm: Ipv6Header),                     //   40): the outer header
            /* 13 */ Bpf.Instruction(Bpf.Call, imm: Bpf.HelperSkbLoadBytes),
            /* 14 */ Bpf.Instruction(Bpf.JneImm, dst: 0, offset: Pass - 15, imm: 0),             // shorter than that: pass
            /* 15 */ Bpf.Instruction(Bpf.LoadMemByte, dst: 2, src: 10, offset: -Ipv6Header + NextHeaderOffset), // r2 = outer next header
            /* 16 */ Bpf.Instruction(Bpf.MovImm64, dst: 7, imm: FixedGso | DecapL3Ipv6),        // r7 = pop flags for IPv6 inside
            /* 17 */ Bpf.Instruction(Bpf.JeqImm, dst: 2, offset: Shrink - 18, imm: 41),          // 41 IPv6-in-IPv6 (RFC 2473)
            /* 18 */ Bpf.Instruction(Bpf.MovImm64, dst: 7, imm: FixedGso | DecapL3Ipv4),        // r7 = pop flags for IPv4 inside
            /* 19 */ Bpf.Instruction(Bpf.JneImm, dst: 2, offset: Pass - 20, imm: 4),             // neither 41 nor 4 (IPv4-in-IPv6): pass
            /* 20 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 1, src: 6),                         // bpf_skb_adjust_room(skb,
            /* 21 */ Bpf.Instruction(Bpf.MovImm64, dst: 2, imm: -Ipv6Header),                    //   -40,
            /* 22 */ Bpf.Instruction(Bpf.MovImm64, dst: 3, imm: AdjustRoomMac),                  //   BPF_ADJ_ROOM_MAC,
            /* 23 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 4, src: 7),                         //   r7): the outer header off
            /* 24 */ Bpf.Instruction(Bpf.Call, imm: Bpf.HelperSkbAdjustRoom),
            /* 25 */ Bpf.Instruction(Bpf.JneImm, dst: 0, offset: Pass - 26, imm: 0),             // refused: nothing changed, pass
            /* 26 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 1, src: 6),                         // bpf_skb_adjust_room(skb,
            /* 27 */ Bpf.Instruction(Bpf.MovImm64, dst: 2, imm: Ipv6Header),                     //   +40,
            /* 28 */ Bpf.Instruction(Bpf.MovImm64, dst: 3, imm: AdjustRoomMac),                  //   BPF_ADJ_ROOM_MAC,
            /* 29 */ Bpf.Instruction(Bpf.MovImm64, dst: 4, imm: FixedGso | EncapL3Ipv6),        //   ENCAP_L3_IPV6): room back, labelled IPXIP6
            /* 30 */ Bpf.Instruction(Bpf.Call, imm: Bpf.HelperSkbAdjustRoom),
            /* 31 */ Bpf.Instruction(Bpf.JneImm, dst: 0, offset: Drop - 32, imm: 0),             // header gone, cannot come back: drop
            /* 32 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 1, src: 6),                         // bpf_skb_store_bytes(skb,
            /* 33 */ Bpf.Instruction(Bpf.MovImm64, dst: 2, imm: EthernetHeader),                 //   14,
            /* 34 */ Bpf.Instruction(Bpf.MovRegToReg64, dst: 3, src: 10),                        //   r10 - 40,
            /* 35 */ Bpf.Instruction(Bpf.AddImm64, dst: 3, imm: -Ipv6Header),
            /* 36 */ Bpf.Instruction(Bpf.MovImm64, dst: 4, imm: Ipv6Header),                     //   40,
            /* 37 */ Bpf.Instruction(Bpf.MovImm64, dst: 5, imm: 0),                              //   0): the same 40 bytes back
            /* 38 */ Bpf.Instruction(Bpf.Call, imm: Bpf.HelperSkbStoreBytes),
            /* 39 */ Bpf.Instruction(Bpf.JneImm, dst: 0, offset: Drop - 40, imm: 0),             // not stored: never send a blank header
            /* 40 */ Bpf.Instruction(Bpf.MovImm64, dst: 0, imm: TcActUnspec),                    // pass: TC_ACT_UNSPEC / TCX_NEXT
            /* 41 */ Bpf.Instruction(Bpf.Exit),
            /* 42 */ Bpf.Instruction(Bpf.MovImm64, dst: 0, imm: TcActShot),                      // drop: TC_ACT_SHOT
            /* 43 */ Bpf.Instruction(Bpf.Exit),
        ];
        return p;
    }

    /// <summary>Load the program (the verifier checks it) and return its fd; the caller closes it.</summary>
    public static int Load(ulong socketCookie, out string verifierLog) =>
        Bpf.LoadSchedCls(Program(socketCookie), ProgramName, out verifierLog, verboseLog: true);

    /// <summary>
    /// Load the program for the socket with <paramref name="socketCookie"/> and attach it to the egress of interface
    /// <paramref name="ifIndex"/> (in the calling thread's namespace): with tcx unless <paramref name="allowTcx"/> is
    /// false or the kernel has none, else as a clsact filter. Throws <see cref="LinuxIoException"/> when it cannot be
    /// loaded or attached (no CAP_BPF/CAP_NET_ADMIN, no BPF in the kernel): the caller then segments in userspace.
    /// </summary>
    public static TunnelGsoRelabel Attach(int ifIndex, ulong socketCookie, bool allowTcx = true)
    {
        int program = Load(socketCookie, out _);
        var netlink = RtNetlink.Open();
        try
        {
            // A clsact filter of ours from an earlier run (one that crashed on a kernel without tcx, or a run
            // forced onto clsact) would relabel nothing any more (its cookie names a closed socket), but it
            // should not stay: remove it whichever way we attach now.
            bool stale = RemoveStaleFilter(netlink, ifIndex);
            if (allowTcx)
            {
                try
                {
                    int link = Bpf.LinkCreateTcx(program, ifIndex, Bpf.AttachTcxEgress);
                    netlink.Dispose();
                    return new TunnelGsoRelabel(ifIndex, program, link, null, RelabelAttachment.Tcx, stale);
                }
                catch (LinuxIoException e) when (e.Errno is Errno.EINVAL or Errno.EOPNOTSUPP or KernelEnotsupp)
                {
                    // No tcx in this kernel (< 6.6): the clsact qdisc does the same job.
                }
            }
            netlink.AddClsactQdisc(ifIndex);
            netlink.AddEgressBpfFilter(ifIndex, program, FilterName, FilterPriority, replace: true);
            return new TunnelGsoRelabel(ifIndex, program, -1, netlink, RelabelAttachment.Clsact, stale);
        }
        catch
        {
            netlink.Dispose();
            Sys.Close(ref program);
            throw;
        }
    }

    private static bool RemoveStaleFilter(RtNetlink netlink, int ifIndex)
    {
        try
        {
            netlink.DeleteEgressFilter(ifIndex, FilterPriority);
            return true;
        }
        catch (NetlinkException e) when (e.Errno is Errno.ENOENT or Errno.EINVAL)
        {
            return false; // none there, or no clsact qdisc at all
        }
    }

    /// <summary>How many programs named <see cref="ProgramName"/> the tcx egress hook of <paramref name="ifIndex"/> runs
    /// (the daemon's `ctl stats`, and the tests' check that it attaches once).</summary>
    public static int CountOnTcxEgress(int ifIndex)
    {
        int n = 0;
        foreach (uint id in Bpf.QueryTcx(ifIndex, Bpf.AttachTcxEgress))
            if (Bpf.ProgramName(id) == ProgramName) n++;
        return n;
    }

    /// <summary>Detach: the tcx link is closed (the kernel detaches it), or the clsact filter deleted.</summary>
    public void Dispose()
    {
        if (_netlink is not null)
        {
            try
            {
                _netlink.DeleteEgressFilter(IfIndex, FilterPriority);
            }
            catch (NetlinkException)
            {
                // The interface is gone, and its qdiscs with it.
            }
            _netlink.Dispose();
        }
        Close();
        GC.SuppressFinalize(this);
    }

    private void Close()
    {
        Sys.Close(ref _linkFd);
        Sys.Close(ref _programFd);
    }

    public override string ToString() => $"{ProgramName} on egress of #{IfIndex} ({(Attachment == RelabelAttachment.Tcx ? "tcx link" : "clsact filter")})";
}
