using DataPlane.Linux.Native;
using DataPlane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>Options for a raw IPv6 socket.</summary>
public sealed record RawIpv6SocketOptions
{
    /// <summary>The next-header value the socket sends and receives: 135 (Mobility Header) or 41 (IPv6-in-IPv6).</summary>
    public required IpProtocol Protocol { get; init; }

    /// <summary>The local address to bind (the MAG's Proxy-CoA or the LMA address). It must already be
    /// configured and not tentative (add it with noDad, or wait for DAD), or bind fails with EADDRNOTAVAIL.
    /// Unspecified: receive for every local address, let routing pick the source.</summary>
    public Ipv6Address LocalAddress { get; init; }

    /// <summary>
    /// IPV6_FREEBIND: bind <see cref="LocalAddress"/> although it is not (yet) configured. An LMA standby opens its
    /// sockets at start and receives only once a takeover brings the address up (the kernel delivers by address).
    /// </summary>
    public bool FreeBind { get; init; }

    /// <summary>IPV6_UNICAST_HOPS: the outer hop limit. RFC 2473 §3.1 recommends 64 for tunnels.</summary>
    public int HopLimit { get; init; } = 64;

    /// <summary>SO_BINDTODEVICE: only this interface (optional).</summary>
    public string? Device { get; init; }

    public int? ReceiveBufferBytes { get; init; }
    public int? SendBufferBytes { get; init; }
}

/// <summary>
/// socket(AF_INET6, SOCK_RAW, protocol): the MAG's and LMA's uplink for Mobility Header signalling
/// (135) and IPv6-in-IPv6 data (41). The kernel adds and removes the outer IPv6 header: a receive
/// yields the payload after it (the MH, or the whole inner packet) with the outer source in
/// <see cref="PacketMetadata.Source"/> and destination (IPV6_PKTINFO) in
/// <see cref="PacketMetadata.Destination"/>; a send takes the payload and
/// <see cref="PacketMetadata.Destination"/> per slot. The kernel routes the outer packet.
/// </summary>
/// <remarks>
/// Kernel behaviour, checked by tests on this machine (6.x, no ip6_tunnel, no CONFIG_IPV6_MIP6):
/// <list type="bullet">
/// <item>Protocol 135: raw.c sets rp->checksum at offset 4 for IPPROTO_MH, so the kernel computes
/// the MH checksum (pseudo-header, next header 135) on send, whatever the field holds, and drops
/// received MH with a bad checksum before they reach the socket. Turning it off (IPV6_CHECKSUM -1)
/// is possible for MH, unlike ICMPv6.</item>
/// <item>Protocol 41: the socket receives the inner packet (outer header stripped). With no tunnel
/// handler registered for next header 41, the kernel answers the sender with ICMPv6 Parameter
/// Problem (code 1, unrecognized next header) only when no raw socket took the packet; while our
/// socket is open it stays silent.</item>
/// </list>
/// </remarks>
public sealed unsafe class RawIpv6Socket : IDisposable
{
    private static readonly Func<int, SendErrorKind> s_classifySend = static e => e switch
    {
        Errno.EAGAIN or Errno.ENOBUFS => SendErrorKind.WouldBlock,
        // Per-destination trouble (no route, neighbour failure, too big, filtered): drop that one packet.
        Errno.ENETUNREACH or Errno.EHOSTUNREACH or Errno.ENETDOWN or Errno.EADDRNOTAVAIL or Errno.EMSGSIZE
            or Errno.EINVAL or Errno.EPERM or Errno.EACCES or Errno.ENXIO or Errno.ENODEV or Errno.ECONNREFUSED => SendErrorKind.DropOne,
        _ => SendErrorKind.Fatal,
    };

    private int _fd;
    private readonly string _receiveOperation;
    private readonly string _sendOperation;
    private PortLinkState _state = PortLinkState.Up; // raw sockets have no link; kept for BatchSend

    private RawIpv6Socket(int fd, RawIpv6SocketOptions options)
    {
        _fd = fd;
        Options = options;
        _receiveOperation = $"recvmmsg on raw IPv6 socket {(byte)options.Protocol} at {options.LocalAddress}";
        _sendOperation = $"sendmmsg on raw IPv6 socket {(byte)options.Protocol} at {options.LocalAddress}";
    }

    ~RawIpv6Socket() => Sys.Close(ref _fd);

    public int Fd => _fd;
    public RawIpv6SocketOptions Options { get; }
    public IpProtocol Protocol => Options.Protocol;
    public Ipv6Address LocalAddress => Options.LocalAddress;
    public PortCounters Counters { get; } = new();

    /// <summary>Open the socket in the calling thread's network namespace.</summary>
    public static RawIpv6Socket Open(RawIpv6SocketOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        byte proto = (byte)options.Protocol;
        int fd = Sys.Check(socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto), $"socket AF_INET6 SOCK_RAW {proto}");
        try
        {
            Sys.SetInt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
            Sys.SetInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, options.HopLimit, $"IPV6_UNICAST_HOPS {options.HopLimit}");
            if (options.ReceiveBufferBytes is int rcv) Sys.SetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcv, "SO_RCVBUFFORCE");
            if (options.SendBufferBytes is int snd) Sys.SetInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, snd, "SO_SNDBUFFORCE");
            if (options.Device is string dev)
            {
                Sys.ValidateIfName(dev);
                byte* name = stackalloc byte[KernelConstants.IFNAMSIZ];
                Sys.WriteIfName(name, dev);
                Sys.Check(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, KernelConstants.IFNAMSIZ), $"SO_BINDTODEVICE {dev}");
            }
            if (options.FreeBind) Sys.SetInt(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND");
            if (!options.LocalAddress.IsUnspecified)
            {
                sockaddr_in6 sa = default;
                WriteSockaddr(&sa, options.LocalAddress, 0);
                Sys.Check(bind(fd, (sockaddr*)&sa, (uint)sizeof(sockaddr_in6)), $"bind raw IPv6 socket {proto} to {options.LocalAddress}");
            }
            return new RawIpv6Socket(fd, options);
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    /// <summary>
    /// IPV6_CHECKSUM: where the kernel computes and verifies the upper-layer checksum (-1 = not at all).
    /// The kernel defaults to offset 4 for protocol 135; tests use -1 to send a deliberately bad one.
    /// </summary>
    public void SetChecksumOffset(int offset) => Sys.SetInt(_fd, IPPROTO_IPV6, IPV6_CHECKSUM, offset, $"IPV6_CHECKSUM {offset}");

    public int ChecksumOffset => Sys.GetInt(_fd, IPPROTO_IPV6, IPV6_CHECKSUM, "IPV6_CHECKSUM");

    /// <summary>
    /// Receive up to a batch of packets without blocking: payload after the outer IPv6 header in each
    /// slot, outer source/destination and ingress ifindex in its metadata. Returns the count (0 = none).
    /// </summary>
    public int Receive(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int capacity = batch.Capacity;
        mmsghdr* headers = batch.Headers;
        for (int k = 0; k < capacity; k++)
        {
            batch.Reset(k);
            iovec* iov = batch.Iovecs(k);
            iov[0] = new iovec { iov_base = batch.SlotPointer(k) + batch.Headroom, iov_len = batch.FrameCapacity };
            msghdr* m = (msghdr*)(headers + k);
            m->msg_name = batch.Name(k);
            m->msg_namelen = (uint)sizeof(sockaddr_in6);
            m->msg_iov = iov;
            m->msg_iovlen = 1;
            m->msg_control = batch.ControlBuffer(k);
            m->msg_controllen = PacketBatch.ControlSize;
            m->msg_flags = 0;
        }
        int r;
        do r = LibcExtras.recvmmsg(_fd, headers, (uint)capacity, MSG_DONTWAIT, null);
        while (r < 0 && Errno.Last == Errno.EINTR);
        if (r < 0)
        {
            int e = Errno.Last;
            if (e == Errno.EAGAIN) r = 0;
            else throw new LinuxIoException(_receiveOperation, e);
        }
        long bytes = 0;
        for (int k = 0; k < r; k++)
        {
            ref var meta = ref batch.Meta(k);
            msghdr* m = (msghdr*)(headers + k);
            int length = (int)headers[k].msg_len;
            if ((m->msg_flags & 0x20 /* MSG_TRUNC */) != 0 || length > batch.FrameCapacity)
            {
                meta.Truncated = true;
                Counters.RxTruncated++;
                length = Math.Min(length, batch.FrameCapacity);
            }
            meta.Length = length;
            var sa = (sockaddr_in6*)batch.Name(k);
            meta.Source = Ipv6Address.ReadFrom(new ReadOnlySpan<byte>(&sa->sin6_addr, 16));
            ReadPacketInfo(m, ref meta);
            bytes += length;
        }
        batch.Count = r;
        Counters.RxPackets += r;
        Counters.RxBytes += bytes;
        return r;
    }

    /// <summary>Walk the control messages for IPV6_PKTINFO (destination address, ingress ifindex).</summary>
    private static void ReadPacketInfo(msghdr* m, ref PacketMetadata meta)
    {
        byte* p = (byte*)m->msg_control;
        long left = m->msg_controllen;
        while (left >= sizeof(cmsghdr))
        {
            var c = (cmsghdr*)p;
            long len = (long)(ulong)c->cmsg_len;
            if (len < sizeof(cmsghdr) || len > left) break;
            if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && len >= sizeof(cmsghdr) + sizeof(in6_pktinfo))
            {
                var info = (in6_pktinfo*)(p + sizeof(cmsghdr));
                meta.Destination = Ipv6Address.ReadFrom(new ReadOnlySpan<byte>(&info->ipi6_addr, 16));
                meta.IfIndex = (int)info->ipi6_ifindex;
            }
            long step = (len + 7) & ~7L; // CMSG_ALIGN
            p += step;
            left -= step;
        }
    }

    /// <summary>Send slots [start, start+count), each to its <see cref="PacketMetadata.Destination"/>.
    /// Returns how many were consumed (sent, or dropped for a per-destination error); fewer only on back-pressure.</summary>
    public int Send(PacketBatch batch, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if ((uint)start > (uint)batch.Capacity || (uint)count > (uint)(batch.Capacity - start))
            throw new ArgumentOutOfRangeException(nameof(count), $"slots [{start}, {start}+{count}) are outside the batch");
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (count == 0) return 0;
        for (int k = 0; k < count; k++) Prepare(batch, k, start + k);
        return BatchSend.Run(_fd, batch.Headers, count, Counters, ref _state, s_classifySend, 0, _sendOperation);
    }

    public int Send(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (slots.Length > batch.Capacity) throw new ArgumentOutOfRangeException(nameof(slots), "more slots than the batch has");
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (slots.IsEmpty) return 0;
        for (int k = 0; k < slots.Length; k++) Prepare(batch, k, slots[k]);
        return BatchSend.Run(_fd, batch.Headers, slots.Length, Counters, ref _state, s_classifySend, 0, _sendOperation);
    }

    private static void Prepare(PacketBatch batch, int k, int slot)
    {
        ref var meta = ref batch.Meta(slot);
        iovec* iov = batch.Iovecs(k);
        iov[0] = new iovec { iov_base = batch.FramePointer(slot), iov_len = meta.Length };
        var sa = (sockaddr_in6*)batch.Name(k);
        // A link-local destination needs its interface: the slot's IfIndex.
        WriteSockaddr(sa, meta.Destination, meta.Destination.IsLinkLocal ? meta.IfIndex : 0);
        msghdr* m = (msghdr*)(batch.Headers + k);
        m->msg_name = sa;
        m->msg_namelen = (uint)sizeof(sockaddr_in6);
        m->msg_iov = iov;
        m->msg_iovlen = 1;
        m->msg_control = null;
        m->msg_controllen = 0;
        m->msg_flags = 0;
    }

    private static void WriteSockaddr(sockaddr_in6* sa, Ipv6Address address, int scopeId)
    {
        *sa = default;
        sa->sin6_family = AF_INET6;
        // sin6_port must be 0 (or the protocol) on a raw socket.
        address.WriteTo(new Span<byte>(&sa->sin6_addr, 16));
        sa->sin6_scope_id = (uint)scopeId;
    }

    public void Dispose()
    {
        Sys.Close(ref _fd);
        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"raw IPv6 {(byte)Protocol} at {LocalAddress}";
}
