using System.Buffers.Binary;
using DataPlane.Linux.Native;
using DataPlane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>Options for <see cref="PacketTunnelReceiver"/>.</summary>
public sealed record PacketTunnelReceiverOptions
{
    /// <summary>The interface tunnel packets arrive on.</summary>
    public required string Interface { get; init; }

    /// <summary>Our tunnel address (Proxy-CoA or LMA address): only IPv6-in-IPv6 packets to it are taken.</summary>
    public required Ipv6Address LocalAddress { get; init; }

    /// <summary>Also drop them at tc ingress, so the kernel's IPv6 input never processes them (see <see cref="TunnelIngressDrop"/>).</summary>
    public bool BypassKernelInput { get; init; } = true;

    /// <summary>RingV2 (default: the kernel copies into a shared ring, no queue, no syscall per batch) or MessageBatch.</summary>
    public PacketSocketBackend Backend { get; init; } = PacketSocketBackend.RingV2;

    /// <summary>Ring backend: frames in the ring.</summary>
    public int RingFrames { get; init; } = 4096;

    /// <summary>The largest tunnel packet (outer IPv6 packet) expected: the uplink MTU.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>SO_RCVBUFFORCE for the message backend.</summary>
    public int? ReceiveBufferBytes { get; init; }

    /// <summary>
    /// PACKET_VNET_HDR: each packet comes with its virtio-net header, so a TCP super-frame the sender kept whole (or
    /// the interface's GRO merged) arrives as one packet with its GSO type and gso_size, and a partial checksum as
    /// NEEDS_CSUM. The header in <see cref="PacketMetadata.Vnet"/> then counts from the inner packet. Super-frames
    /// need 64 KiB slots: use the message backend (a ring of 64 KiB frames would be mostly empty).
    /// </summary>
    public bool VnetHeader { get; init; }
}

/// <summary>
/// The tunnel's receive side on AF_PACKET: a socket on the uplink that takes, through a classic BPF filter, only
/// IPv6 packets with next header 41 (or 4: IPv4-in-IPv6) addressed to our tunnel address, before the kernel's IP
/// layer sees them;
/// with <see cref="PacketTunnelReceiverOptions.BypassKernelInput"/> a tc ingress filter then drops them, so the
/// kernel spends no IPv6 input, route look-up or raw-socket delivery on them (the per-packet cost that dominates
/// a raw protocol-41 socket). <see cref="Receive"/> gives what <see cref="RawIpv6Socket.Receive"/> gives: the inner
/// packet in each slot, outer source and destination in its metadata, and also the outer traffic class and, with
/// <see cref="PacketTunnelReceiverOptions.VnetHeader"/>, the offload metadata of the inner packet.
/// </summary>
/// <remarks>
/// Packets the filter does not take (extension headers between the outer header and the inner packet, another
/// interface) still reach the raw socket, which the host keeps open and reads as before. The tc filter is removed
/// when this object is disposed; one left behind by a crash is replaced by the next receiver opened on the interface.
/// </remarks>
public sealed unsafe class PacketTunnelReceiver : IDisposable
{
    private const int OuterHeaders = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength;
    private const int SO_ATTACH_FILTER = 26;
    private readonly PacketSocket _socket;
    private readonly TunnelIngressDrop? _drop;

    private PacketTunnelReceiver(PacketSocket socket, TunnelIngressDrop? drop, PacketTunnelReceiverOptions options)
    {
        _socket = socket;
        _drop = drop;
        Options = options;
    }

    public PacketTunnelReceiverOptions Options { get; }
    public int Fd => _socket.Fd;
    public int IfIndex => _socket.IfIndex;
    public PortLinkState LinkState => _socket.LinkState;
    public PortCounters Counters => _socket.Counters;

    /// <summary>Frames the filter let through that were not a whole tunnel packet, or whose offload metadata pointed
    /// into the outer headers (counted, left empty in their slot).</summary>
    public long Malformed { get; private set; }

    /// <summary>Packets that arrived as one GSO super-frame (sent whole, or merged by the interface's GRO).</summary>
    public long SuperFrames { get; private set; }

    public bool BypassesKernelInput => _drop is not null;

    /// <summary>Packets the kernel could not hand us (ring or buffer full) since the last call: PACKET_STATISTICS,
    /// which the kernel resets on every read. A syscall: for the once-a-second maintenance, not per batch.</summary>
    public long ReadKernelDrops()
    {
        const int PACKET_STATISTICS = 6;
        uint* stats = stackalloc uint[3]; // struct tpacket_stats (tp_packets, tp_drops), or tpacket_stats_v3 (+ tp_freeze_q_cnt)
        socklen_t length = 12;
        Sys.Check(getsockopt(_socket.Fd, SOL_PACKET, PACKET_STATISTICS, stats, &length), $"PACKET_STATISTICS on {Options.Interface}");
        KernelDrops += stats[1];
        return stats[1];
    }

    /// <summary>Total of what <see cref="ReadKernelDrops"/> has seen.</summary>
    public long KernelDrops { get; private set; }

    public static PacketTunnelReceiver Open(PacketTunnelReceiverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var local = options.LocalAddress;
        var socketOptions = new PacketSocketOptions
        {
            Promiscuous = false,
            IgnoreOutgoing = true,
            Backend = options.Backend,
            RingFrames = options.RingFrames,
            RingFrameSize = (options.Mtu + EthernetFrame.HeaderLength + 256 + 15) & ~15,
            ReceiveBufferBytes = options.ReceiveBufferBytes,
            VnetHeader = options.VnetHeader,
        };
        var socket = PacketSocket.Open(options.Interface, socketOptions, fd => AttachFilter(fd, local, options.Interface));
        TunnelIngressDrop? drop = null;
        try
        {
            if (options.BypassKernelInput) drop = TunnelIngressDrop.Install(socket.IfIndex, local);
            return new PacketTunnelReceiver(socket, drop, options);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Classic BPF: IPv6 (EtherType at 12), next header 41 or 4 (byte 20: IPv6- or IPv4-in-IPv6), destination = ours (bytes 38..53).</summary>
    private static void AttachFilter(int fd, Ipv6Address local, string name)
    {
        const ushort ldh = 0x28, ldb = 0x30, ldw = 0x20, jeq = 0x15, ret = 0x06;
        Span<ulong> code =
        [
            Filter(ldh, 0, 0, 12),
            Filter(jeq, 0, 12, 0x86DD),
            Filter(ldb, 0, 0, 20),
            Filter(jeq, 1, 0, 41),
            Filter(jeq, 0, 9, 4),
            Filter(ldw, 0, 0, 38),
            Filter(jeq, 0, 7, (uint)Bpf.AddressWord(local, 0)),
            Filter(ldw, 0, 0, 42),
            Filter(jeq, 0, 5, (uint)Bpf.AddressWord(local, 1)),
            Filter(ldw, 0, 0, 46),
            Filter(jeq, 0, 3, (uint)Bpf.AddressWord(local, 2)),
            Filter(ldw, 0, 0, 50),
            Filter(jeq, 0, 1, (uint)Bpf.AddressWord(local, 3)),
            Filter(ret, 0, 0, 0x40000), // accept (up to 256 KiB)
            Filter(ret, 0, 0, 0),       // drop
        ];
        fixed (ulong* p = code)
        {
            byte* prog = stackalloc byte[16];
            *(ushort*)prog = (ushort)code.Length;
            *(ulong*)(prog + 8) = (ulong)p;
            Sys.Check(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, 16), $"SO_ATTACH_FILTER on {name}");
        }
    }

    /// <summary>struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }</summary>
    private static ulong Filter(ushort code, byte jt, byte jf, uint k) => code | (ulong)jt << 16 | (ulong)jf << 24 | (ulong)k << 32;

    /// <summary>
    /// Receive up to a batch of tunnel packets without blocking: each slot holds the inner packet (outer Ethernet
    /// and IPv6 headers stripped, link padding cut), <see cref="PacketMetadata.Source"/> and
    /// <see cref="PacketMetadata.Destination"/> the outer addresses. Returns the count (0 = none).
    /// </summary>
    public int Receive(PacketBatch batch)
    {
        int n = _socket.Receive(batch);
        for (int i = 0; i < n; i++)
        {
            ref var meta = ref batch.Meta(i);
            var frame = batch.Frame(i);
            if (frame.Length < OuterHeaders || frame[EthernetFrame.HeaderLength] >> 4 != 6)
            {
                batch.SetLength(i, 0);
                Malformed++;
                continue;
            }
            var outer = frame[EthernetFrame.HeaderLength..];
            int payload = BinaryPrimitives.ReadUInt16BigEndian(outer[4..]);
            if (payload > outer.Length - Ipv6Packet.HeaderLength || meta.Truncated)
            {
                batch.SetLength(i, 0);
                Malformed++;
                continue;
            }
            if (Options.VnetHeader && !ToInnerOffsets(ref meta.Vnet))
            {
                batch.SetLength(i, 0);
                Malformed++;
                continue;
            }
            meta.Source = Ipv6Address.ReadFrom(outer[8..]);
            meta.Destination = Ipv6Address.ReadFrom(outer[24..]);
            meta.TrafficClass = (byte)(((outer[0] & 0x0F) << 4) | (outer[1] >> 4));
            batch.TrimFront(i, OuterHeaders);
            batch.SetLength(i, payload);
        }
        return n;
    }

    /// <summary>The kernel counts the header's offsets from the outer Ethernet header; the slot will hold the inner packet.</summary>
    private bool ToInnerOffsets(ref VirtioNetHeader vnet)
    {
        if (vnet.NeedsChecksum)
        {
            if (vnet.CsumStart < OuterHeaders) return false;
            vnet.CsumStart -= OuterHeaders;
        }
        if (vnet.IsGso)
        {
            SuperFrames++;
            // hdr_len is the kernel's hint (skb_headlen); the data path measures the headers itself.
            vnet.HeaderLength = vnet.HeaderLength > OuterHeaders ? (ushort)(vnet.HeaderLength - OuterHeaders) : (ushort)0;
        }
        return true;
    }

    public void Dispose()
    {
        _drop?.Dispose();
        _socket.Dispose();
    }

    public override string ToString() => $"AF_PACKET tunnel receiver {Options.Interface} for {Options.LocalAddress}{(Options.VnetHeader ? ", vnet_hdr" : "")}{(_drop is null ? "" : ", kernel input bypassed")}";
}

/// <summary>
/// A tc clsact ingress filter on one interface that drops IPv6 packets with next header 41 or 4 addressed to one
/// address: an 18-instruction eBPF program (direct action), attached through rtnetlink. AF_PACKET sockets see a
/// frame before tc ingress does, so a <see cref="PacketTunnelReceiver"/> still gets its copy; the kernel's IPv6
/// input never runs for it. Removed (and the clsact qdisc too, if this added it) on <see cref="Dispose"/>; one a crashed
/// process left behind is replaced when the next one is installed.
/// </summary>
public sealed class TunnelIngressDrop : IDisposable
{
    /// <summary>The filter's tc priority (41 for IPv6-in-IPv6).</summary>
    public const ushort Priority = 41;
    private const int TcActShot = 2, TcActUnspec = -1;

    private readonly int _ifIndex;
    private readonly bool _addedQdisc;
    private int _programFd;
    // Opened where the filter was installed: a netlink socket stays in the namespace it was created in, so the
    // filter is removed from the right interface whichever thread disposes this.
    private readonly RtNetlink _netlink;

    private TunnelIngressDrop(int ifIndex, bool addedQdisc, int programFd, RtNetlink netlink)
    {
        _ifIndex = ifIndex;
        _addedQdisc = addedQdisc;
        _programFd = programFd;
        _netlink = netlink;
    }

    public int IfIndex => _ifIndex;

    ~TunnelIngressDrop() => Sys.Close(ref _programFd);

    public static TunnelIngressDrop Install(int ifIndex, Ipv6Address local)
    {
        Span<ulong> program =
        [
            Bpf.Instruction(Bpf.MovRegToReg64, dst: 6, src: 1),                 // 0: r6 = skb (for LD_ABS)
            Bpf.Instruction(Bpf.LoadAbsHalf, imm: 12),                          // 1: r0 = EtherType
            Bpf.Instruction(Bpf.Jne32Imm, offset: 13, imm: 0x86DD),             // 2: → 16 pass
            Bpf.Instruction(Bpf.LoadAbsByte, imm: 20),                          // 3: r0 = next header
            Bpf.Instruction(Bpf.Jeq32Imm, offset: 1, imm: 41),                  // 4: IPv6-in-IPv6 → 6
            Bpf.Instruction(Bpf.Jne32Imm, offset: 10, imm: 4),                  // 5: nor IPv4-in-IPv6 → 16
            Bpf.Instruction(Bpf.LoadAbsWord, imm: 38),                          // 6: destination, word 0
            Bpf.Instruction(Bpf.Jne32Imm, offset: 8, imm: Bpf.AddressWord(local, 0)),
            Bpf.Instruction(Bpf.LoadAbsWord, imm: 42),
            Bpf.Instruction(Bpf.Jne32Imm, offset: 6, imm: Bpf.AddressWord(local, 1)),
            Bpf.Instruction(Bpf.LoadAbsWord, imm: 46),
            Bpf.Instruction(Bpf.Jne32Imm, offset: 4, imm: Bpf.AddressWord(local, 2)),
            Bpf.Instruction(Bpf.LoadAbsWord, imm: 50),
            Bpf.Instruction(Bpf.Jne32Imm, offset: 2, imm: Bpf.AddressWord(local, 3)),
            Bpf.Instruction(Bpf.MovImm64, imm: TcActShot),                      // 14: ours: drop
            Bpf.Instruction(Bpf.Exit),                                          // 15
            Bpf.Instruction(Bpf.MovImm64, imm: TcActUnspec),                    // 16: pass: continue as usual
            Bpf.Instruction(Bpf.Exit),                                          // 17
        ];
        int fd = Bpf.LoadSchedCls(program, "dp_tunnel_drop");
        var nl = RtNetlink.Open();
        bool added = false;
        try
        {
            added = nl.AddClsactQdisc(ifIndex);
            // Replace, not add: a filter a crashed daemon left would otherwise make this start fail, and on its own
            // keep dropping every tunnel packet before the raw socket could see it.
            nl.AddIngressBpfFilter(ifIndex, fd, "dataplane-ip6ip6", Priority, replace: true);
            return new TunnelIngressDrop(ifIndex, added, fd, nl);
        }
        catch
        {
            if (added)
            {
                try { nl.DeleteClsactQdisc(ifIndex); } catch (NetlinkException) { }
            }
            nl.Dispose();
            Sys.Close(ref fd);
            throw;
        }
    }

    public void Dispose()
    {
        if (_programFd < 0) return;
        try
        {
            if (_addedQdisc) _netlink.DeleteClsactQdisc(_ifIndex); // takes its filters with it
            else _netlink.DeleteIngressFilter(_ifIndex, Priority);
        }
        catch (NetlinkException)
        {
            // The interface is gone (and its qdiscs with it).
        }
        _netlink.Dispose();
        Sys.Close(ref _programFd);
        GC.SuppressFinalize(this);
    }
}
