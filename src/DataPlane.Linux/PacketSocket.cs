using System.Buffers.Binary;
using DataPlane.Linux.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>
/// An AF_PACKET SOCK_RAW socket bound to one existing interface (Xen's vifX.Y, a QEMU-created tap,
/// a veth): whole Ethernet frames in and out, nonblocking, batched with recvmmsg/sendmmsg or a
/// TPACKET_V2 ring.
/// </summary>
/// <remarks>
/// Link events: when the interface goes down or is unregistered (deleted, or moved to another
/// namespace as a migration does), af_packet's notifier sets the socket error to ENETDOWN, so epoll
/// reports EPOLLERR and the next receive consumes it; sends then fail with ENETDOWN (down) or ENXIO
/// (gone). <see cref="Receive"/> and <see cref="Send(PacketBatch,int,int)"/> turn these into
/// <see cref="LinkState"/> instead of throwing; <see cref="RefreshLinkState"/> tells down from removed
/// (after NETDEV_UNREGISTER the socket's bound ifindex reads back as -1).
/// </remarks>
public sealed unsafe class PacketSocket : IPacketPort
{
    private const int MSG_TRUNC = 0x20;
    private static readonly Func<int, SendErrorKind> s_classifySend = static e => e switch
    {
        Errno.EAGAIN or Errno.ENOBUFS => SendErrorKind.WouldBlock,
        Errno.ENETDOWN => SendErrorKind.LinkDown,
        Errno.ENXIO or Errno.ENODEV => SendErrorKind.LinkRemoved,
        // ENOMEM: the kernel could not segment this super-frame (an IPv6-in-IPv6 one whose virtio-net header can only
        // say TCPv6, with no TunnelGsoRelabel on the egress hook) or allocate its skb: that frame is lost, not the port.
        Errno.EMSGSIZE or Errno.EINVAL or Errno.EPERM or Errno.EACCES or Errno.EOPNOTSUPP or Errno.EFAULT or Errno.ENOMEM => SendErrorKind.DropOne,
        _ => SendErrorKind.Fatal,
    };

    private int _fd;
    private readonly PacketRing? _ring;
    private PortLinkState _linkState = PortLinkState.Up;

    private PacketSocket(int fd, string name, int ifIndex, PacketSocketOptions options, PacketRing? ring, ulong cookie)
    {
        SocketCookie = cookie;
        _fd = fd;
        Name = name;
        IfIndex = ifIndex;
        Options = options;
        _ring = ring;
        _receiveOperation = $"recvmmsg on {name}";
        _sendOperation = $"sendmmsg on {name}";
    }

    // Built once: the hot path must not format strings.
    private readonly string _receiveOperation;
    private readonly string _sendOperation;

    ~PacketSocket() => DisposeCore();

    public string Name { get; }
    public int IfIndex { get; }
    public int Fd => _fd;
    public PacketSocketOptions Options { get; }
    public bool HasVnetHeader => Options.VnetHeader;
    public PortLinkState LinkState => _linkState;
    public PortCounters Counters { get; } = new();

    /// <summary>The socket's SO_COOKIE: what <see cref="TunnelGsoRelabel"/> recognises this socket's frames by.</summary>
    public ulong SocketCookie { get; }

    /// <summary>Open a port on the interface <paramref name="interfaceName"/> in the calling thread's network namespace.</summary>
    public static PacketSocket Open(string interfaceName, PacketSocketOptions? options = null) => Open(interfaceName, options, null);

    /// <summary>As <see cref="Open(string, PacketSocketOptions?)"/>, with <paramref name="beforeBind"/> run on the fd
    /// before it is bound (a socket filter attached there applies to the very first frame).</summary>
    internal static PacketSocket Open(string interfaceName, PacketSocketOptions? options, Action<int>? beforeBind)
    {
        options ??= new PacketSocketOptions();
        Sys.ValidateIfName(interfaceName);
        // Protocol 0 at creation: the socket receives nothing until bind() names the interface, so no
        // frame from another interface slips in between socket() and bind().
        int fd = Sys.Check(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket AF_PACKET");
        PacketRing? ring = null;
        try
        {
            int ifIndex = Sys.IfIndexOf(fd, interfaceName);
            if (options.VnetHeader) Sys.SetInt(fd, SOL_PACKET, PACKET_VNET_HDR, 1, $"PACKET_VNET_HDR on {interfaceName}");
            if (options.IgnoreOutgoing) Sys.SetInt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, $"PACKET_IGNORE_OUTGOING on {interfaceName}");
            if (options.QdiscBypass) Sys.SetInt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, $"PACKET_QDISC_BYPASS on {interfaceName}");
            if (options.ReceiveBufferBytes is int rcv) Sys.SetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcv, $"SO_RCVBUFFORCE on {interfaceName}");
            if (options.SendBufferBytes is int snd) Sys.SetInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, snd, $"SO_SNDBUFFORCE on {interfaceName}");
            if (options.BusyPollMicroseconds > 0) Sys.SetInt(fd, SOL_SOCKET, SO_BUSY_POLL, options.BusyPollMicroseconds, $"SO_BUSY_POLL on {interfaceName}");
            // Rings must exist before bind so that no frame is queued the copying way first.
            if (options.Backend == PacketSocketBackend.RingV2) ring = PacketRing.Create(fd, options, interfaceName);
            beforeBind?.Invoke(fd);

            sockaddr_ll sll = default;
            sll.sll_family = (ushort)AF_PACKET;
            sll.sll_protocol = BinaryPrimitives.ReverseEndianness(KernelConstants.ETH_P_ALL);
            sll.sll_ifindex = ifIndex;
            Sys.Check(bind(fd, (sockaddr*)&sll, (uint)sizeof(sockaddr_ll)), $"bind AF_PACKET to {interfaceName}");

            if (options.Promiscuous)
            {
                packet_mreq mreq = default;
                mreq.mr_ifindex = ifIndex;
                mreq.mr_type = (ushort)PACKET_MR_PROMISC;
                Sys.Check(setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, (uint)sizeof(packet_mreq)), $"PACKET_MR_PROMISC on {interfaceName}");
            }
            ulong cookie = 0;
            socklen_t cookieLength = sizeof(ulong);
            Sys.Check(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &cookieLength), $"SO_COOKIE on {interfaceName}");
            return new PacketSocket(fd, interfaceName, ifIndex, options, ring, cookie);
        }
        catch
        {
            ring?.Dispose();
            close(fd);
            throw;
        }
    }

    public int Receive(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int n = _ring is not null ? _ring.Receive(batch, Counters, _receiveOperation) : ReceiveMessages(batch);
        if (n < 0)
        {
            OnLinkEvent(-n);
            n = 0;
        }
        batch.Count = n;
        if (n > 0 && _linkState == PortLinkState.Down) _linkState = PortLinkState.Up;
        return n;
    }

    private int ReceiveMessages(PacketBatch batch)
    {
        int capacity = batch.Capacity, vnet = HasVnetHeader ? VirtioNetHeader.Length : 0;
        mmsghdr* headers = batch.Headers;
        for (int k = 0; k < capacity; k++)
        {
            batch.Reset(k);
            iovec* iov = batch.Iovecs(k);
            int n = 0;
            if (vnet != 0) iov[n++] = new iovec { iov_base = batch.VnetArea(k), iov_len = vnet };
            iov[n++] = new iovec { iov_base = batch.SlotPointer(k) + batch.Headroom, iov_len = batch.FrameCapacity };
            msghdr* m = (msghdr*)(headers + k);
            m->msg_name = batch.Name(k);
            m->msg_namelen = (uint)sizeof(sockaddr_ll);
            m->msg_iov = iov;
            m->msg_iovlen = n;
            m->msg_control = null;
            m->msg_controllen = 0;
            m->msg_flags = 0;
        }

        int r;
        do r = LibcExtras.recvmmsg(_fd, headers, (uint)capacity, MSG_DONTWAIT, null);
        while (r < 0 && Errno.Last == Errno.EINTR);
        if (r < 0)
        {
            int e = Errno.Last;
            if (e == Errno.EAGAIN) return 0;
            if (e is Errno.ENETDOWN or Errno.ENXIO or Errno.ENODEV) return -e;
            throw new LinuxIoException(_receiveOperation, e);
        }

        long bytes = 0;
        for (int k = 0; k < r; k++)
        {
            ref var meta = ref batch.Meta(k);
            int length = (int)headers[k].msg_len - vnet;
            if (length < 0) length = 0;
            msghdr* m = (msghdr*)(headers + k);
            if ((m->msg_flags & MSG_TRUNC) != 0 || length > batch.FrameCapacity)
            {
                meta.Truncated = true;
                Counters.RxTruncated++;
                length = Math.Min(length, batch.FrameCapacity);
            }
            meta.Length = length;
            if (vnet != 0) meta.Vnet = VirtioNetHeader.ReadFrom(new ReadOnlySpan<byte>(batch.VnetArea(k), vnet));
            var sll = (sockaddr_ll*)batch.Name(k);
            meta.IfIndex = sll->sll_ifindex;
            meta.PacketType = (PacketType)sll->sll_pkttype;
            meta.EtherType = BinaryPrimitives.ReverseEndianness(sll->sll_protocol);
            bytes += length;
        }
        Counters.RxPackets += r;
        Counters.RxBytes += bytes;
        return r;
    }

    public int Send(PacketBatch batch, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if ((uint)start > (uint)batch.Capacity || (uint)count > (uint)(batch.Capacity - start))
            throw new ArgumentOutOfRangeException(nameof(count), $"slots [{start}, {start}+{count}) are outside the batch");
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (count == 0) return 0;
        if (_ring is not null) return _ring.Send(batch, start, count, default, Counters, ref _linkState, _sendOperation);
        for (int k = 0; k < count; k++) Prepare(batch, k, start + k);
        return BatchSend.Run(_fd, batch.Headers, count, Counters, ref _linkState, s_classifySend, HasVnetHeader ? VirtioNetHeader.Length : 0, _sendOperation);
    }

    public int Send(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (slots.Length > batch.Capacity) throw new ArgumentOutOfRangeException(nameof(slots), "more slots than the batch has");
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (slots.IsEmpty) return 0;
        if (_ring is not null) return _ring.Send(batch, 0, slots.Length, slots, Counters, ref _linkState, _sendOperation);
        for (int k = 0; k < slots.Length; k++) Prepare(batch, k, slots[k]);
        return BatchSend.Run(_fd, batch.Headers, slots.Length, Counters, ref _linkState, s_classifySend, HasVnetHeader ? VirtioNetHeader.Length : 0, _sendOperation);
    }

    /// <summary>Message <paramref name="k"/> of the next sendmmsg carries slot <paramref name="slot"/>.
    /// No address: a bound AF_PACKET socket sends on its interface and takes the EtherType from the frame.</summary>
    private void Prepare(PacketBatch batch, int k, int slot)
    {
        ref var meta = ref batch.Meta(slot);
        iovec* iov = batch.Iovecs(k);
        int n = 0;
        if (HasVnetHeader)
        {
            meta.Vnet.WriteTo(new Span<byte>(batch.VnetArea(k), VirtioNetHeader.Length));
            iov[n++] = new iovec { iov_base = batch.VnetArea(k), iov_len = VirtioNetHeader.Length };
        }
        iov[n++] = new iovec { iov_base = batch.FramePointer(slot), iov_len = meta.Length };
        msghdr* m = (msghdr*)(batch.Headers + k);
        m->msg_name = null;
        m->msg_namelen = 0;
        m->msg_iov = iov;
        m->msg_iovlen = n;
        m->msg_control = null;
        m->msg_controllen = 0;
        m->msg_flags = 0;
    }

    private void OnLinkEvent(int errno)
    {
        Counters.LinkEvents++;
        Counters.LastError = errno;
        _linkState = errno == Errno.ENETDOWN ? PortLinkState.Down : PortLinkState.Removed;
        // ENETDOWN is reported for both "down" and "unregistered"; look closer.
        if (_linkState == PortLinkState.Down) RefreshLinkState();
    }

    public PortLinkState RefreshLinkState()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (_linkState == PortLinkState.Removed) return _linkState;
        // After NETDEV_UNREGISTER af_packet resets the bound ifindex to -1 (packet_getname reports it).
        sockaddr_ll sll = default;
        socklen_t len = (uint)sizeof(sockaddr_ll);
        Sys.Check(getsockname(_fd, (sockaddr*)&sll, &len), $"getsockname on {Name}");
        _linkState = sll.sll_ifindex != IfIndex ? PortLinkState.Removed : Sys.LinkStateOf(_fd, IfIndex);
        return _linkState;
    }

    public void Dispose()
    {
        DisposeCore();
        GC.SuppressFinalize(this);
    }

    private void DisposeCore()
    {
        _ring?.Dispose();
        Sys.Close(ref _fd);
    }

    public override string ToString() => $"AF_PACKET {Name} (#{IfIndex}{(HasVnetHeader ? ", vnet_hdr" : "")}{(_ring is null ? "" : ", ring")})";
}
