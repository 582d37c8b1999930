using System.Buffers.Binary;
using DataPlane.Linux.Native;
using DataPlane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>Options for an AF_PACKET IPv6-in-IPv6 uplink (<see cref="PacketTunnelSender"/>).</summary>
public sealed record PacketTunnelOptions
{
    /// <summary>The interface the tunnel packets leave by (the route to the tunnel peers goes out of it).</summary>
    public required string Interface { get; init; }

    /// <summary>The outer source: the MAG's Proxy-CoA or the LMA address.</summary>
    public required Ipv6Address LocalAddress { get; init; }

    /// <summary>The outer hop limit (RFC 2473 §3.1 recommends 64).</summary>
    public int HopLimit { get; init; } = 64;

    /// <summary>PACKET_QDISC_BYPASS: hand frames straight to the driver (no qdisc, no tc shaping on the uplink).
    /// Not with <see cref="VnetHeader"/> super-frames: those need tc's egress hook (<see cref="TunnelGsoRelabel"/>).</summary>
    public bool QdiscBypass { get; init; }

    /// <summary>
    /// PACKET_VNET_HDR: every packet leaves with the virtio-net header in its slot's <see cref="PacketMetadata.Vnet"/>
    /// (offsets counted from the inner packet, as the data path writes them; the sender adds the outer headers' 54
    /// bytes), so a TCP super-frame (GSO TCPv6/TCPv4, relabelled by <see cref="TunnelGsoRelabel"/>) or a segment
    /// with a partial checksum (NEEDS_CSUM) is handed to the kernel as it is.
    /// </summary>
    public bool VnetHeader { get; init; }

    /// <summary>SO_SNDBUFFORCE in bytes; null keeps the system default.</summary>
    public int? SendBufferBytes { get; init; }
}

/// <summary>
/// The IPv6-in-IPv6 uplink on AF_PACKET: the outer Ethernet and IPv6 headers are precomputed per tunnel peer
/// (next-hop MAC from the neighbour table, see <see cref="RtNetlink.LookUpRoute"/> and
/// <see cref="RtNetlink.GetNeighbor"/>), written into each slot's headroom, and a batch leaves with one
/// sendmmsg. A raw socket of protocol 41 takes the kernel's whole IPv6 output path per packet (route
/// look-up, ip6_append_data, neighbour output); measured here on veth, this path costs about half as much per
/// packet. Receiving stays on the raw socket (which must stay open anyway, see <see cref="RawIpv6Socket"/>).
/// </summary>
/// <remarks>
/// The socket is bound with protocol 0, so it receives nothing. A peer without a known next hop is not sent
/// to: its slots are handed back for the raw socket, which makes the kernel resolve the neighbour. The kernel
/// never sees our AF_PACKET traffic as use of its neighbour entry, so the entry goes STALE and is not
/// re-verified by it; the signalling on the Mobility Header raw socket (heartbeats, refreshes) goes through the
/// kernel's path to the same peers and keeps it checked, and the host re-reads it periodically.
/// Outer header (RFC 2473 §3.1, RFC 5213 §5.6.3): flow label 0, next header 41 for an inner IPv6 packet and 4 for
/// an inner IPv4 one, payload length = the inner packet's length, and the ECN field per RFC 3168's
/// full-functionality option (RFC 5213 §5.6.3): the inner packet's ECN codepoint copied, CE sent as ECT(0); the
/// DSCP bits stay 0.
/// </remarks>
public sealed unsafe class PacketTunnelSender : IDisposable
{
    /// <summary>Ethernet (14) + IPv6 (40): what is prepended to every inner packet.</summary>
    public const int OuterHeaderLength = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength;

    private static readonly Func<int, SendErrorKind> s_classifySend = static e => e switch
    {
        Errno.EAGAIN or Errno.ENOBUFS => SendErrorKind.WouldBlock,
        Errno.ENETDOWN => SendErrorKind.LinkDown,
        Errno.ENXIO or Errno.ENODEV => SendErrorKind.LinkRemoved,
        // ENOMEM: the kernel could not segment a super-frame (no relabel program on the hook): that one is lost.
        Errno.EMSGSIZE or Errno.EINVAL or Errno.EPERM or Errno.EACCES or Errno.EOPNOTSUPP or Errno.EFAULT or Errno.ENOMEM => SendErrorKind.DropOne,
        _ => SendErrorKind.Fatal,
    };

    private int _fd;
    private readonly string _sendOperation;
    private PortLinkState _linkState = PortLinkState.Up;
    private readonly Dictionary<Ipv6Address, int> _peers = [];
    private byte[] _templates = new byte[4 * OuterHeaderLength];
    private int _templateCount;
    private Ipv6Address _lastPeer;
    private int _lastTemplate = -1;
    private readonly int[] _prepared;

    private PacketTunnelSender(int fd, PacketTunnelOptions options, int ifIndex, MacAddress mac, int maxBatch, ulong cookie)
    {
        _fd = fd;
        SocketCookie = cookie;
        Options = options;
        IfIndex = ifIndex;
        InterfaceMac = mac;
        _sendOperation = $"sendmmsg on tunnel uplink {options.Interface}";
        _prepared = new int[maxBatch];
    }

    ~PacketTunnelSender() => Sys.Close(ref _fd);

    public PacketTunnelOptions Options { get; }
    public int IfIndex { get; }
    public MacAddress InterfaceMac { get; }
    public int Fd => _fd;

    /// <summary>The socket's SO_COOKIE: what <see cref="TunnelGsoRelabel"/> recognises this sender's frames by.</summary>
    public ulong SocketCookie { get; }

    public PortLinkState LinkState => _linkState;
    public PortCounters Counters { get; } = new();

    /// <summary>Peers with a precomputed header.</summary>
    public int PeerCount => _peers.Count;

    /// <summary>Open the uplink on <see cref="PacketTunnelOptions.Interface"/> in the calling thread's network namespace.</summary>
    /// <param name="maxBatch">The most slots one <see cref="Send"/> takes (the batch capacity).</param>
    public static PacketTunnelSender Open(PacketTunnelOptions options, int maxBatch = 1024)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.HopLimit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.HopLimit, 255);
        Sys.ValidateIfName(options.Interface);
        MacAddress mac;
        using (var nl = RtNetlink.Open())
            mac = nl.GetLink(options.Interface).MacAddress ?? throw new ArgumentException($"{options.Interface} has no Ethernet address", nameof(options));
        int fd = Sys.Check(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket AF_PACKET");
        try
        {
            int ifIndex = Sys.IfIndexOf(fd, options.Interface);
            if (options.QdiscBypass) Sys.SetInt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, $"PACKET_QDISC_BYPASS on {options.Interface}");
            if (options.SendBufferBytes is int snd) Sys.SetInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, snd, $"SO_SNDBUFFORCE on {options.Interface}");
            if (options.VnetHeader) Sys.SetInt(fd, SOL_PACKET, PACKET_VNET_HDR, 1, $"PACKET_VNET_HDR on {options.Interface}");
            ulong cookie = 0;
            socklen_t cookieLength = sizeof(ulong);
            Sys.Check(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &cookieLength), $"SO_COOKIE on {options.Interface}");
            // Protocol 0: bound to the interface for sending, receiving nothing.
            sockaddr_ll sll = default;
            sll.sll_family = (ushort)AF_PACKET;
            sll.sll_protocol = 0;
            sll.sll_ifindex = ifIndex;
            Sys.Check(bind(fd, (sockaddr*)&sll, (uint)sizeof(sockaddr_ll)), $"bind AF_PACKET to {options.Interface}");
            return new PacketTunnelSender(fd, options, ifIndex, mac, maxBatch, cookie);
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    /// <summary>Precompute (or replace) the outer header for tunnel peer <paramref name="peer"/>, reached through
    /// the neighbour with link-layer address <paramref name="nextHop"/>. Control path: may allocate.</summary>
    public void SetNextHop(Ipv6Address peer, MacAddress nextHop)
    {
        if (!_peers.TryGetValue(peer, out int index))
        {
            index = _templateCount++;
            if (_templates.Length < _templateCount * OuterHeaderLength) Array.Resize(ref _templates, _templates.Length * 2);
            _peers[peer] = index;
        }
        var t = _templates.AsSpan(index * OuterHeaderLength, OuterHeaderLength);
        EthernetFrame.WriteHeader(t, nextHop, InterfaceMac, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(t[EthernetFrame.HeaderLength..], Options.LocalAddress, peer, IpProtocol.Ipv6, 0, (byte)Options.HopLimit);
        _lastTemplate = -1;
    }

    /// <summary>The next-hop MAC the header for <paramref name="peer"/> uses, if it has one.</summary>
    public bool TryGetNextHop(Ipv6Address peer, out MacAddress nextHop)
    {
        nextHop = default;
        if (!_peers.TryGetValue(peer, out int index)) return false;
        nextHop = MacAddress.ReadFrom(_templates.AsSpan(index * OuterHeaderLength));
        return true;
    }

    /// <summary>Forget <paramref name="peer"/> (its tunnel went down, or its neighbour failed): its packets are handed back again.</summary>
    public void RemoveNextHop(Ipv6Address peer)
    {
        if (!_peers.Remove(peer, out int index)) return;
        // Keep the table dense: the last template moves into the freed place.
        int last = --_templateCount;
        if (index != last)
        {
            _templates.AsSpan(last * OuterHeaderLength, OuterHeaderLength).CopyTo(_templates.AsSpan(index * OuterHeaderLength));
            foreach (var (p, i) in _peers)
            {
                if (i != last) continue;
                _peers[p] = index;
                break;
            }
        }
        _lastTemplate = -1;
    }

    public bool HasNextHop(Ipv6Address peer) => _peers.ContainsKey(peer);

    /// <summary>
    /// Encapsulate and send the listed slots, each an inner IPv6 packet for the tunnel to its
    /// <see cref="PacketMetadata.Destination"/>. Slots whose peer has no next hop are not sent: they are written to
    /// <paramref name="noNextHop"/> (count in <paramref name="noNextHopCount"/>) for the caller to send another way.
    /// Returns how many of the others were consumed (sent, or dropped for a per-frame error or a dead link); fewer
    /// only on back-pressure. The slots' frames are left as they were (the outer header is taken off again).
    /// </summary>
    public int Send(PacketBatch batch, ReadOnlySpan<int> slots, Span<int> noNextHop, out int noNextHopCount)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (slots.Length > batch.Capacity || slots.Length > _prepared.Length) throw new ArgumentOutOfRangeException(nameof(slots), "more slots than the batch has");
        noNextHopCount = 0;
        int k = 0;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            ref var meta = ref batch.Meta(slot);
            int template = TemplateOf(meta.Destination);
            if (template < 0 || meta.Offset < OuterHeaderLength)
            {
                noNextHop[noNextHopCount++] = slot;
                continue;
            }
            int inner = meta.Length;
            var outer = batch.Prepend(slot, OuterHeaderLength);
            _templates.AsSpan(template * OuterHeaderLength, OuterHeaderLength).CopyTo(outer);
            var ip = outer[EthernetFrame.HeaderLength..];
            BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(4, 2), (ushort)inner);
            if (inner > 1)
            {
                // The inner packet's version picks the next header; its ECN codepoint goes into the outer traffic
                // class (template: 0), with CE sent as ECT(0) (RFC 3168 §9.1.1, full functionality).
                var first = batch.Frame(slot).Slice(OuterHeaderLength, 2);
                bool v4 = first[0] >> 4 == 4;
                int ecn = v4 ? first[1] & 3 : (first[1] >> 4) & 3;
                if (ecn == 3) ecn = 2;
                ip[1] = (byte)(ecn << 4);
                ip[6] = v4 ? (byte)IpProtocol.IpInIp : (byte)IpProtocol.Ipv6;
            }
            Prepare(batch, k, slot, Options.VnetHeader);
            _prepared[k++] = slot;
        }
        if (k == 0) return 0;
        int consumed = BatchSend.Run(_fd, batch.Headers, k, Counters, ref _linkState, s_classifySend, Options.VnetHeader ? VirtioNetHeader.Length : 0, _sendOperation);
        for (int i = 0; i < k; i++) batch.TrimFront(_prepared[i], OuterHeaderLength);
        return consumed;
    }

    private int TemplateOf(Ipv6Address peer)
    {
        if (_lastTemplate >= 0 && peer == _lastPeer) return _lastTemplate;
        if (!_peers.TryGetValue(peer, out int index)) return -1;
        _lastPeer = peer;
        _lastTemplate = index;
        return index;
    }

    /// <summary>Message <paramref name="k"/> carries slot <paramref name="slot"/>'s frame (its outer header already
    /// prepended), after its virtio-net header when the socket has one; no address (the bound interface; the kernel
    /// takes the protocol from the Ethernet header).</summary>
    private static void Prepare(PacketBatch batch, int k, int slot, bool vnetHeader)
    {
        iovec* iov = batch.Iovecs(k);
        int n = 0;
        if (vnetHeader)
        {
            // The slot's header counts from the inner packet; on the wire it counts from the outer Ethernet header.
            var vnet = batch.Meta(slot).Vnet;
            if (vnet.NeedsChecksum) vnet.CsumStart += OuterHeaderLength;
            if (vnet.IsGso && vnet.HeaderLength != 0) vnet.HeaderLength += OuterHeaderLength;
            vnet.WriteTo(new Span<byte>(batch.VnetArea(k), VirtioNetHeader.Length));
            iov[n++] = new iovec { iov_base = batch.VnetArea(k), iov_len = VirtioNetHeader.Length };
        }
        iov[n++] = new iovec { iov_base = batch.FramePointer(slot), iov_len = batch.Meta(slot).Length };
        msghdr* m = (msghdr*)(batch.Headers + k);
        m->msg_name = null;
        m->msg_namelen = 0;
        m->msg_iov = iov;
        m->msg_iovlen = n;
        m->msg_control = null;
        m->msg_controllen = 0;
        m->msg_flags = 0;
    }

    public void Dispose()
    {
        Sys.Close(ref _fd);
        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"AF_PACKET tunnel uplink {Options.Interface} (#{IfIndex}{(Options.VnetHeader ? ", vnet_hdr" : "")}) from {Options.LocalAddress}, {_peers.Count} peers";
}
