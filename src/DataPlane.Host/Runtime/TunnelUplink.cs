using System.Text.Json.Nodes;
using DataPlane.Datapath;
using DataPlane.Host.Configuration;
using DataPlane.Linux;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Runtime;

/// <summary>
/// A daemon's tunnel path (`dataplane.uplink`): the protocol-41 raw socket, or AF_PACKET with vnet headers
/// (<see cref="UplinkInterface"/>: a <see cref="PacketTunnelSender"/>, the relabel program that lets TCP super-frames
/// leave whole, a <see cref="PacketTunnelReceiver"/> and GRO settings per interface), with the raw socket as the
/// per-packet fallback for peers without a resolved next hop and for what arrives elsewhere.
/// </summary>
/// <remarks>
/// In packet mode an interface is set up for each interface a route to a peer leaves by (the LMA may reach its MAGs
/// through several); a batch goes through their senders in turn, each sending the slots of the peers it has a header
/// for and handing the others on, and what is left (peers whose next hop the kernel has no usable neighbour entry
/// for, or whose interface could not be opened) goes by the raw socket, which also makes the kernel resolve the
/// neighbour. <see cref="Refresh"/> re-reads the route and neighbour of every peer (control path, about once a
/// second, or at once after <see cref="RequestRefresh"/>) and rewrites, adds or drops its precomputed header. As
/// <see cref="ITunnelOffloads"/> it tells the data path, per peer, whether super-frames leave whole and whether
/// checksums may stay partial: only where an AF_PACKET sender has the peer's header. <see cref="Send(PacketBatch,
/// ReadOnlySpan{int})"/> allocates nothing.
/// </remarks>
public sealed class TunnelUplink : IDisposable, ITunnelOffloads
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly RawIpv6Socket _raw;
    private readonly UplinkKind _kind;
    private readonly Ipv6Address _local;
    private readonly int _sendBufferBytes;
    private readonly TunnelPathOptions _path;
    private readonly ILogger _log;
    private readonly int[] _all = new int[DataplaneConfig.MaxBatchSize];
    private readonly int[] _handBackA = new int[DataplaneConfig.MaxBatchSize];
    private readonly int[] _handBackB = new int[DataplaneConfig.MaxBatchSize];
    private readonly PortCounters _packetTotals = new();
    private readonly HashSet<Ipv6Address> _peers = [];
    private readonly HashSet<Ipv6Address> _seen = [];
    private readonly HashSet<int> _failedInterfaces = [];
    private UplinkInterface[] _interfaces = [];
    private int[] _duplicateIfIndexes = [];
    private PacketTunnelSender[] _senders = [];
    private RtNetlink? _netlink;
    private long _nextRefresh;
    // The last peer asked about by the data path, and its interface (null: none): frames of a batch mostly go to one peer.
    private Ipv6Address _lastPeer;
    private UplinkInterface? _lastInterface;
    private bool _lastValid;

    public TunnelUplink(RawIpv6Socket raw, UplinkKind kind, Ipv6Address local, int sendBufferBytes, ILogger log, TunnelPathOptions? path = null)
    {
        _raw = raw;
        _kind = kind;
        _local = local;
        _sendBufferBytes = sendBufferBytes;
        _path = path ?? new TunnelPathOptions { SuperFrames = false, Receive = false, Gro = null };
        _log = log;
        for (int i = 0; i < _all.Length; i++) _all[i] = i;
    }

    /// <summary>A receiver was opened on a new interface (on the loop thread, during <see cref="Refresh"/>): the daemon polls it from now on.</summary>
    public event Action<PacketTunnelReceiver>? ReceiverOpened;

    /// <summary>The interfaces set up so far (packet mode).</summary>
    public IReadOnlyList<UplinkInterface> Interfaces => _interfaces;

    public UplinkKind Kind => _kind;

    /// <summary>The AF_PACKET senders opened so far (packet mode), one per interface a peer's route leaves by.</summary>
    public IReadOnlyList<PacketTunnelSender> Senders => _senders;

    /// <summary>The AF_PACKET senders' and receivers' counters summed (control path), or null while none is open.</summary>
    public PortCounters? PacketCounters
    {
        get
        {
            if (_senders.Length == 0) return null;
            var t = _packetTotals;
            t.TxPackets = t.TxBytes = t.TxErrors = t.TxLinkDrops = t.TxWouldBlock = t.LinkEvents = t.RxPackets = t.RxBytes = 0;
            foreach (var i in _interfaces)
            {
                if (i.Receiver is not { } r) continue;
                t.RxPackets += r.Counters.RxPackets;
                t.RxBytes += r.Counters.RxBytes;
            }
            foreach (var sender in _senders)
            {
                var c = sender.Counters;
                t.TxPackets += c.TxPackets;
                t.TxBytes += c.TxBytes;
                t.TxErrors += c.TxErrors;
                t.TxLinkDrops += c.TxLinkDrops;
                t.TxWouldBlock += c.TxWouldBlock;
                t.LinkEvents += c.LinkEvents;
                if (c.LastError != 0) t.LastError = c.LastError;
            }
            return t;
        }
    }

    /// <summary>Packets of packet mode that went by the raw socket because their peer had no precomputed header.</summary>
    public long RawFallbackPackets { get; private set; }

    /// <summary>Super-frames that would have had to go by the raw socket (which cannot carry them): dropped. Zero unless
    /// a caller ignored <see cref="CarriesSuperFrames"/>; partial checksums bound there are completed instead.</summary>
    public long RawFallbackSuperFramesDropped { get; private set; }

    /// <summary>Copies of tunnel packets the raw socket got from an interface whose AF_PACKET receiver already has them (no bypass): discarded.</summary>
    public long RawDuplicatesDiscarded { get; private set; }

    /// <summary>
    /// Receive from the raw socket. Where a receiver could not keep the kernel's input off the tunnel packets (no BPF),
    /// the raw socket gets a copy of each of them too: those slots are left empty (length 0) for the loop to skip.
    /// </summary>
    public int ReceiveRaw(PacketBatch batch) => DiscardDuplicates(batch, _raw.Receive(batch));

    /// <summary>
    /// Empties (length 0) the first <paramref name="n"/> slots a raw tunnel socket (protocol 41 or 4) received from an
    /// interface whose AF_PACKET receiver has them already; returns <paramref name="n"/>.
    /// </summary>
    public int DiscardDuplicates(PacketBatch batch, int n)
    {
        if (n == 0 || _duplicateIfIndexes.Length == 0) return n;
        for (int i = 0; i < n; i++)
        {
            int ifIndex = batch.Meta(i).IfIndex;
            foreach (int dup in _duplicateIfIndexes)
            {
                if (dup != ifIndex) continue;
                batch.SetLength(i, 0);
                RawDuplicatesDiscarded++;
                break;
            }
        }
        return n;
    }

    /// <summary>A TCP super-frame to <paramref name="peer"/> leaves whole: an AF_PACKET sender has its header and the relabel program on its interface.</summary>
    public bool CarriesSuperFrames(Ipv6Address peer) => InterfaceOf(peer) is { CarriesSuperFrames: true };

    /// <summary>Packets to <paramref name="peer"/> may keep a partial checksum: they leave by an AF_PACKET sender with a vnet header.</summary>
    public bool CompletesChecksums(Ipv6Address peer) => InterfaceOf(peer) is not null;

    private UplinkInterface? InterfaceOf(Ipv6Address peer)
    {
        if (_lastValid && peer == _lastPeer) return _lastInterface;
        UplinkInterface? found = null;
        foreach (var i in _interfaces)
        {
            if (!i.Sender.HasNextHop(peer)) continue;
            found = i;
            break;
        }
        _lastPeer = peer;
        _lastInterface = found;
        _lastValid = true;
        return found;
    }

    /// <summary>Send the listed slots (each slot's Destination is the peer), in order per peer.</summary>
    public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        var senders = _senders;
        if (senders.Length == 0)
        {
            _raw.Send(batch, slots);
            return;
        }
        // More slots than one sendmmsg takes (never with the loops' batches): in pieces.
        while (slots.Length > _handBackA.Length)
        {
            Send(batch, slots[.._handBackA.Length]);
            slots = slots[_handBackA.Length..];
        }
        // Each sender takes its peers' slots and hands the rest on, into the buffer the previous one did not write.
        var rest = slots;
        var into = _handBackA;
        for (int i = 0; i < senders.Length && rest.Length > 0; i++)
        {
            senders[i].Send(batch, rest, into, out int n);
            rest = into.AsSpan(0, n);
            into = into == _handBackA ? _handBackB : _handBackA;
        }
        if (rest.Length == 0) return;
        RawFallbackPackets += rest.Length;
        _raw.Send(batch, ForRawSocket(batch, rest, into));
    }

    /// <summary>
    /// What of <paramref name="slots"/> the raw socket can send: it carries no virtio-net header, so a partial checksum
    /// is completed here and a super-frame dropped (counted). The data path asks <see cref="CarriesSuperFrames"/> and
    /// <see cref="CompletesChecksums"/> first, so neither happens unless a peer's header vanished between the two.
    /// </summary>
    private ReadOnlySpan<int> ForRawSocket(PacketBatch batch, ReadOnlySpan<int> slots, int[] scratch)
    {
        int n = 0;
        bool changed = false;
        foreach (int slot in slots)
        {
            ref var meta = ref batch.Meta(slot);
            if (meta.Vnet.IsGso)
            {
                RawFallbackSuperFramesDropped++;
                changed = true;
                continue;
            }
            if (meta.Vnet.NeedsChecksum)
            {
                var frame = batch.Frame(slot);
                ChecksumCompletion.TryComplete(frame, frame.Length, Offloads.From(meta.Vnet), Ipv6Packet.HeaderLength);
                meta.Vnet = default;
            }
            scratch[n++] = slot;
        }
        return changed ? scratch.AsSpan(0, n) : slots;
    }

    /// <summary>Send slots [0, <paramref name="count"/>).</summary>
    public void Send(PacketBatch batch, int count)
    {
        if (_senders.Length == 0) _raw.Send(batch, 0, count);
        else Send(batch, _all.AsSpan(0, count));
    }

    /// <summary>Packet mode and <see cref="RefreshInterval"/> has passed since the last <see cref="Refresh"/>, or a refresh was requested.</summary>
    public bool RefreshDue => _kind == UplinkKind.Packet && Environment.TickCount64 >= _nextRefresh;

    /// <summary>Refresh at the next chance rather than within a second (a new peer: its interface should be set up
    /// before its packets arrive, or the first super-frames would reach the raw socket).</summary>
    public void RequestRefresh() => _nextRefresh = 0;

    /// <summary>
    /// Packet mode, at most once per <see cref="RefreshInterval"/>: follow the peers' routes and neighbour
    /// entries (control path; netlink requests, may allocate). <paramref name="peers"/> is only enumerated when due.
    /// </summary>
    public void Refresh(IEnumerable<Ipv6Address> peers)
    {
        if (_kind != UplinkKind.Packet) return;
        long now = Environment.TickCount64;
        if (now < _nextRefresh) return;
        _nextRefresh = now + (long)RefreshInterval.TotalMilliseconds;
        _lastValid = false;
        try
        {
            _netlink ??= RtNetlink.Open();
            _seen.Clear();
            foreach (var peer in peers)
            {
                if (!_seen.Add(peer)) continue;
                RefreshPeer(peer);
            }
            foreach (var gone in _peers.Where(p => !_seen.Contains(p)).ToList())
            {
                _peers.Remove(gone);
                foreach (var sender in _senders) sender.RemoveNextHop(gone);
            }
        }
        catch (Exception e) when (e is NetlinkException or LinuxIoException)
        {
            _log.LogWarning("uplink: refreshing the tunnel peers' next hops failed ({Error}); their packets go by the raw socket meanwhile", e.Message);
            _netlink?.Dispose();
            _netlink = null;
        }
    }

    private void RefreshPeer(Ipv6Address peer)
    {
        _peers.Add(peer);
        var route = _netlink!.LookUpRoute(peer);
        if (route is null || route.OutputIfIndex == 0)
        {
            Forget(peer, null, "no route");
            return;
        }
        var sender = SenderFor(route.OutputIfIndex);
        // The route may have moved to another interface: only its sender keeps a header for the peer.
        Forget(peer, sender, $"route now leaves by interface #{route.OutputIfIndex}");
        if (sender is null) return;
        var neighbor = _netlink.GetNeighbor(route.OutputIfIndex, route.NextHop);
        if (neighbor is not { IsUsable: true, LinkLayerAddress: { } mac })
        {
            if (!sender.HasNextHop(peer)) return;
            sender.RemoveNextHop(peer);
            _log.LogInformation("uplink: tunnel packets to {Peer} go by the raw socket: next hop {NextHop} not resolved", peer, route.NextHop);
            return;
        }
        if (sender.TryGetNextHop(peer, out var current) && current == mac) return;
        sender.SetNextHop(peer, mac);
        _log.LogInformation("uplink: tunnel packets to {Peer} leave by AF_PACKET on {Interface} to {NextHop} ({Mac})", peer, sender.Options.Interface, route.NextHop, mac);
    }

    /// <summary>Drop <paramref name="peer"/>'s header from every sender but <paramref name="keep"/>.</summary>
    private void Forget(Ipv6Address peer, PacketTunnelSender? keep, string why)
    {
        foreach (var sender in _senders)
        {
            if (sender == keep || !sender.HasNextHop(peer)) continue;
            sender.RemoveNextHop(peer);
            _log.LogInformation("uplink: tunnel packets to {Peer} no longer leave by {Interface}: {Reason}", peer, sender.Options.Interface, why);
        }
    }

    private PacketTunnelSender? SenderFor(int ifIndex)
    {
        foreach (var i in _interfaces)
            if (i.IfIndex == ifIndex) return i.Sender;
        if (_failedInterfaces.Contains(ifIndex)) return null;
        string? name = _netlink!.ListLinks().FirstOrDefault(l => l.Index == ifIndex)?.Name;
        try
        {
            if (name is null) throw new ArgumentException($"interface #{ifIndex} not found");
            var opened = UplinkInterface.Open(name, _local, _sendBufferBytes, _path, DataplaneConfig.MaxBatchSize, _log);
            // New arrays: the loop thread (this one) is the only sender, so no batch is in flight meanwhile.
            _interfaces = [.. _interfaces, opened];
            _senders = [.. _senders, opened.Sender];
            if (opened.RawCopiesArrive) _duplicateIfIndexes = [.. _duplicateIfIndexes, opened.IfIndex];
            _log.LogInformation("uplink: {Sender}", opened.Sender);
            if (opened.Receiver is { } receiver) ReceiverOpened?.Invoke(receiver);
            return opened.Sender;
        }
        catch (Exception e) when (e is ArgumentException or LinuxIoException or NetlinkException)
        {
            _failedInterfaces.Add(ifIndex);
            _log.LogWarning("uplink: cannot open AF_PACKET on {Interface} ({Error}); tunnel packets through it go by the raw socket", name ?? $"#{ifIndex}", e.Message);
            return null;
        }
    }

    /// <summary>For `ctl stats`: the kind, and in packet mode the AF_PACKET socket's counters and the fallback count.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["kind"] = _kind == UplinkKind.Packet ? "packet" : "raw" };
        if (_kind != UplinkKind.Packet) return o;
        var totals = PacketCounters;
        o["interfaces"] = new JsonArray([.. _senders.Select(x => (JsonNode)JsonValue.Create(x.Options.Interface))]);
        o["peers"] = _senders.Sum(x => x.PeerCount);
        o["packetTxPackets"] = totals?.TxPackets ?? 0;
        o["packetTxErrors"] = totals?.TxErrors ?? 0;
        o["packetTxWouldBlock"] = totals?.TxWouldBlock ?? 0;
        o["rawFallbackPackets"] = RawFallbackPackets;
        o["rawFallbackSuperFramesDropped"] = RawFallbackSuperFramesDropped;
        o["rawDuplicatesDiscarded"] = RawDuplicatesDiscarded;
        o["tunnelOffload"] = _path.SuperFrames;
        o["paths"] = new JsonArray([.. _interfaces.Select(i => (JsonNode)i.ToJson())]);
        return o;
    }

    public void Dispose()
    {
        foreach (var i in _interfaces) i.Dispose();
        _netlink?.Dispose();
    }
}
