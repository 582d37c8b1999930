using System.Text.Json.Nodes;
using DataPlane.Datapath;
using DataPlane.Host.Capture;
using DataPlane.Host.Configuration;
using DataPlane.Host.Control;
using DataPlane.Host.Mag;
using DataPlane.Host.Policy;
using DataPlane.Host.Runtime;
using DataPlane.Linux;
using DataPlane.Linux.Netlink;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Lma;

/// <summary>
/// The LMA daemon: one packet loop thread owning the data path (and the LMA machine), the home-network
/// TUN device, and the Mobility Header and IPv6-in-IPv6 sockets. The kernel routes the prefix pool (and
/// any bound prefix outside it) into the TUN; packets for a bound prefix leave through the tunnel to the
/// MAG serving it, and tunnelled packets from that MAG come out of the TUN into the home network.
/// </summary>
public sealed partial class LmaDaemon : DaemonRunner.IDaemon
{
    private const ulong HomeToken = 1;
    private const ulong MobilityToken = 2;
    private const ulong TunnelToken = 3;
    private const ulong WakeToken = 4;
    private const ulong EspToken = 5;
    private const ulong Tunnel4Token = 6;
    private const int MaxBatchesPerWake = 4;

    private readonly LmaConfig _config;
    private readonly ILogger _log;
    private readonly IPolicyStore _policy;
    private readonly DaemonClock _clock = new();
    private readonly LmaDatapath _dp;
    private readonly Epoll _epoll = new(16);
    private readonly LoopWork _work = new();
    private readonly TunDevice _home;
    private readonly RtNetlink _netlink;
    private readonly RawIpv6Socket _mobility;
    private readonly RawIpv6Socket _tunnel;
    /// <summary>The ESP socket and sequence state; null when no signalling keys are configured.</summary>
    private readonly SecureSignalling? _secure;
    /// <summary>RFC 5844's IPv4-over-IPv6 (next header 4): the VMs' IPv4 packets, both ways.</summary>
    private readonly RawIpv6Socket _tunnel4;
    private readonly Ipv4TunnelSink _ipv4Sink;
    private readonly PacketBatch _rxHome;
    private readonly PacketBatch _rxTunnel;
    private readonly PacketBatch _rxMobility = new(16, 4096);
    /// <summary>Segments cut from super-packets are copied here to be sent; control output uses it between batches.</summary>
    private readonly PacketBatch _tx;
    private readonly TunnelOutput _uplink;
    /// <summary>The tunnel's send path (`dataplane.uplink`): the raw socket, or AF_PACKET with the raw socket as fallback.</summary>
    private readonly TunnelUplink _tunnelUplink;
    private readonly TunnelDelivery _delivery;
    private readonly Func<PacketBatch, int> _receiveRaw;
    private readonly Func<PacketBatch, int> _receiveRaw4;
    private readonly BusyPoll _busyPoll;
    private readonly int[] _slots;
    private readonly EpollReady[] _ready = new EpollReady[16];
    private readonly HashSet<Ipv6Prefix> _kernelRoutes = [];
    private readonly List<LmaAction> _hostActionScratch = [];
    private readonly Metrics.BindingTracker _bindings;
    private volatile bool _stopping;

    public LmaDaemon(LmaConfig config, IPolicyStore policy, uint restartCounter, ILogger log)
    {
        _config = config;
        _log = log;
        _policy = policy;
        _bindings = new Metrics.BindingTracker(config.Metrics.VmRetention);
        var tuning = config.Dataplane;
        _rxHome = new PacketBatch(tuning.BatchSize, 65536 + 256);
        // A tunnel slot holds a whole super-frame: one that crossed the tunnel whole, one the interface's GRO merged
        // (even on the raw socket), or the one receive offload merges segments into.
        _rxTunnel = new PacketBatch(tuning.BatchSize, TunnelDelivery.SuperFrameSlot);
        _tx = new PacketBatch(tuning.BatchSize, 16384);
        _slots = new int[tuning.BatchSize];
        _delivery = new TunnelDelivery(0, tuning.ReceiveOffload, tuning.BatchSize);
        _busyPoll = new BusyPoll(tuning.BusyPollMicroseconds);
        var options = config.Protocol with { RestartCounter = restartCounter };
        var machine = new LocalMobilityAnchor(options, new LmaPolicyAdapter(policy), new SplitMix64Random((ulong)Environment.TickCount64 ^ (ulong)Environment.ProcessId));
        var address = options.LocalMobilityAnchorAddress;
        // With etcd the address comes and goes with the role: the sockets bind it before it exists.
        bool freeBind = config.Etcd is not null;
        var (security, secure) = SecureSignalling.Open(config.Security, address, log, freeBind);
        _secure = secure;
        _dp = new LmaDatapath(machine, config.Datapath with { TunnelMtu = config.TunnelMtu }, security);
        // A binding gone for longer than the retention: its series went, its prefixes' counters go too.
        _bindings.Forgotten = prefixes =>
        {
            foreach (var prefix in prefixes) _dp.ForgetPrefix(prefix);
        };
        _bindings.Ipv4Forgotten = address => _dp.ForgetIpv4HomeAddress(address);
        _mobility = RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Mobility, LocalAddress = address, FreeBind = freeBind });
        _tunnel = RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = address, HopLimit = 64, ReceiveBufferBytes = tuning.SocketBufferBytes, SendBufferBytes = tuning.SocketBufferBytes, FreeBind = freeBind });
        _tunnel4 = RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.IpInIp, LocalAddress = address, HopLimit = 64, ReceiveBufferBytes = tuning.SocketBufferBytes, SendBufferBytes = tuning.SocketBufferBytes, FreeBind = freeBind });
        // The TUN's MTU is the tunnel MTU, so the kernel itself answers oversize packets from the home
        // network with Packet Too Big before they reach us.
        _home = TunDevice.Create(new TunTapOptions { Name = config.HomeInterface, VnetHeader = true, Mtu = config.TunnelMtu, Up = true });
        _netlink = RtNetlink.Open();
        if (options.HomeNetworkPrefixPool is { } pool)
        {
            _netlink.ReplaceRoute(pool, config.HomeInterface);
            _log.LogInformation("routing the prefix pool {Pool} into {Home}", pool, config.HomeInterface);
        }
        if (options.Ipv4HomeNetwork is { } ipv4) StartIpv4HomeNetwork(ipv4);
        _tunnelUplink = new TunnelUplink(_tunnel, tuning.Uplink, address, tuning.SocketBufferBytes, log, TunnelPath.For(tuning));
        _tunnelUplink.ReceiverOpened += AddTunnelReceiver;
        _receiveRaw = _tunnelUplink.ReceiveRaw;
        // The protocol-4 socket gets the same copies as the protocol-41 one where no receiver keeps them off.
        _receiveRaw4 = batch => _tunnelUplink.DiscardDuplicates(batch, _tunnel4.Receive(batch));
        if (tuning.Uplink == UplinkKind.Packet) _dp.TunnelOffloads = _tunnelUplink;
        _ipv4Sink = new Ipv4TunnelSink(new CapturingUplinkSink(_tunnelUplink, address, () => _uplinkCaptures, () => CaptureMicros),
            new RawTunnelSink(_tunnel4, address, () => _uplinkCaptures, () => CaptureMicros),
            tuning.Uplink == UplinkKind.Packet ? _tunnelUplink : null, config.TunnelMtu);
        _uplink = new TunnelOutput(_ipv4Sink, _tx);
        _epoll.Add(_home.Fd, HomeToken);
        _epoll.Add(_mobility.Fd, MobilityToken);
        _epoll.Add(_tunnel.Fd, TunnelToken);
        _epoll.Add(_tunnel4.Fd, Tunnel4Token);
        _epoll.Add(_work.Wake.Fd, WakeToken);
        if (_secure is not null) _epoll.Add(_secure.Fd, EspToken);
        StartReplication(restartCounter);
    }

    /// <summary>SIGHUP: the policy, and the signalling keys (on the loop thread, which owns them).</summary>
    public string? ReloadPolicy()
    {
        var error = _policy.Reload();
        if (_secure is { } secure) error ??= _work.Post(secure.Reload).GetAwaiter().GetResult();
        return error;
    }

    public void Run()
    {
        LoopThread.Pin(_config.Dataplane, _config.File, _log);
        _log.LogInformation("running at {Address}, home {Home}, tunnel MTU {Mtu}, restart counter {Counter}, batch {Batch}, receive offload {Gro}, busy-poll {BusyPoll} us, uplink {Uplink}, tunnel offload {TunnelOffload}",
            _config.Protocol.LocalMobilityAnchorAddress, _config.HomeInterface, _config.TunnelMtu, _dp.Machine.Options.RestartCounter,
            _config.Dataplane.BatchSize, _config.Dataplane.ReceiveOffload ? "on" : "off", _config.Dataplane.BusyPollMicroseconds,
            _config.Dataplane.Uplink.ToString().ToLowerInvariant(), _config.Dataplane.TunnelOffload ? "on" : "off");
        while (!_stopping)
        {
            var now = _clock.Now;
            var timeout = _dp.NextDeadline is { } due ? Clamp(due - now) : TimeSpan.FromSeconds(1);
            int n = _epoll.Wait(_ready, _busyPoll.Timeout(timeout));
            _busyPoll.Woke(n);
            now = _clock.Now;
            for (int i = 0; i < n; i++)
            {
                switch (_ready[i].Token)
                {
                    case HomeToken: ReceiveHome(now); break;
                    case TunnelToken: ReceiveTunnel(_receiveRaw, now); break;
                    case Tunnel4Token: ReceiveTunnel(_receiveRaw4, now); break;
                    case MobilityToken: ReceiveMobility(now); break;
                    case EspToken: ReceiveEsp(now); break;
                    case WakeToken: _work.RunPending(); break;
                    case var token: TryReceiveFromTunnelReceiver(token, now); break;
                }
            }
            now = _clock.Now;
            if (_dp.NextDeadline is { } d && d <= now) _dp.Tick(now);
            if (now >= _nextMaintenance) Maintain(now);
            _secure?.Maintain(now);
            AfterBatch();
            // After the host actions: a new peer's path (its receiver above all) is set up before its traffic arrives.
            if (_tunnelUplink.RefreshDue) _tunnelUplink.Refresh(UplinkPeers());
        }
    }

    private static TimeSpan Clamp(TimeSpan t) =>
        t < TimeSpan.Zero ? TimeSpan.Zero : t > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : t;

    public void Stop()
    {
        _stopping = true;
        _work.Wake.Signal();
    }

    /// <summary>From the home network (the TUN): to the MAG serving the destination prefix.</summary>
    private void ReceiveHome(Instant now)
    {
        for (int round = 0; round < MaxBatchesPerWake; round++)
        {
            int count = _home.Receive(_rxHome);
            if (count == 0) return;
            if (_homeCaptures is { } home) Taps.Batch(home, _rxHome, count, CaptureDirection.Rx, CaptureMicros);
            ForwardFromHome(_dp, _rxHome, count, _uplink, now);
            if (count < _rxHome.Capacity) return;
        }
    }

    /// <summary>
    /// One received batch of the home device through the data path and into the tunnels, in arrival order
    /// (<see cref="TunnelOutput"/>); everything is sent before this returns, so the batch may be reused.
    /// </summary>
    internal static void ForwardFromHome(LmaDatapath dp, PacketBatch rx, int count, TunnelOutput output, Instant now)
    {
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref rx.Meta(i);
            var v = dp.FromHome(rx.Slot(i), meta.Offset, meta.Length, Offloads.From(meta.Vnet), now);
            if (v.Kind == VerdictKind.ToTunnel)
            {
                meta.Destination = v.TunnelDestination;
                meta.Vnet = Offloads.ToVirtio(v.Offload); // counted from the inner packet, as the uplink expects
                rx.SetFrame(i, v.Offset, v.Length);
                output.Forward(rx, i);
                if (v.HasTunnelCopy) output.ForwardCopy(rx, i, v.CopyTunnelDestination); // a super-frame's bicast, whole
            }
            else if (v.Kind == VerdictKind.Segmented)
            {
                output.Segments(v, dp.Segments);
            }
        }
        output.Flush();
    }

    /// <summary>The tunnel peers for the packet uplink's next-hop refresh: every MAG with a tunnel up.</summary>
    private IEnumerable<Ipv6Address> UplinkPeers() => _dp.Tunnels.Where(t => t.Up).Select(t => t.Mag);

    /// <summary>
    /// From a MAG (the raw socket or an AF_PACKET tunnel receiver): accepted only from the MAG serving the source
    /// prefix, then out into the home network, consecutive TCP segments of a flow merged into one super-packet first
    /// when receive offload is on; super-frames that crossed the tunnel whole go on as they are.
    /// </summary>
    private void ReceiveTunnel(Func<PacketBatch, int> receive, Instant now)
    {
        for (int round = 0; round < MaxBatchesPerWake; round++)
        {
            int count = receive(_rxTunnel);
            if (count == 0) return;
            if (_uplinkCaptures is { } uplink) Taps.TunnelBatch(uplink, _rxTunnel, count, CaptureDirection.Rx, CaptureMicros);
            int toHome = 0;
            foreach (ref readonly var e in DeliverFromTunnel(_dp, _rxTunnel, count, _delivery, now))
                if (e.Segments != 0) _slots[toHome++] = e.Slot;
            if (toHome > 0)
            {
                if (_homeCaptures is { } home) Taps.Slots(home, _rxTunnel, _slots.AsSpan(0, toHome), CaptureDirection.Tx, CaptureMicros);
                _home.Send(_rxTunnel, _slots.AsSpan(0, toHome));
            }
            if (count < _rxTunnel.Capacity) return;
        }
    }

    /// <summary>One tunnel batch through the data path: the packets for the home device, set in their slots with their vnet headers, in sending order.</summary>
    internal static ReadOnlySpan<CoalesceEntry> DeliverFromTunnel(LmaDatapath dp, PacketBatch rx, int count, TunnelDelivery delivery, Instant now)
    {
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref rx.Meta(i);
            if (meta.Length == 0) continue; // left empty by the receiver: malformed (counted there) or a duplicate
            var v = dp.FromTunnel(rx.Slot(i), meta.Offset, meta.Length, meta.Source, meta.Destination, meta.TrafficClass, Offloads.From(meta.Vnet), now);
            if (v.Kind == VerdictKind.ToHome) delivery.Add(i, v.Offset, v.Length, 0, v.Offload);
        }
        return delivery.Finish(rx);
    }

    private void ReceiveMobility(Instant now)
    {
        int count = _mobility.Receive(_rxMobility);
        if (_uplinkCaptures is { } uplink) CaptureMobility(uplink, count);
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref _rxMobility.Meta(i);
            // A standby (or an active stepping down) answers nothing: the shard's active does.
            if (!Serving)
            {
                _mobilityWhileNotActive++;
                continue;
            }
            _dp.ReceiveMobilityMessage(_rxMobility.Frame(i), meta.Source, meta.Destination, now, verifyChecksum: false);
        }
    }

    /// <summary>ESP from a MAG: opened by the data path under the signalling policy (docs/security.md).</summary>
    private void ReceiveEsp(Instant now) =>
        _secure!.Receive(_uplinkCaptures, CaptureMicros, (rx, i) =>
        {
            ref var meta = ref rx.Meta(i);
            // A standby (or an active stepping down) answers nothing: the shard's active does.
            if (!Serving)
            {
                _mobilityWhileNotActive++;
                return false;
            }
            return _dp.ReceiveEsp(rx.Frame(i), meta.Source, meta.Destination, now);
        });

    private void AfterBatch()
    {
        for (int guard = 0; guard < 8 && (_dp.HostActions.Count > 0 || _dp.ControlOutput.Count > 0); guard++)
        {
            FlushControlOutput();
            HandleHostActions();
        }
        _dp.Segments.Clear();
    }

    private void FlushControlOutput()
    {
        var output = _dp.ControlOutput;
        for (int i = 0; i < output.Count; i++)
        {
            ref readonly var f = ref output[i];
            _tx.Reset(0);
            output.Frame(i).CopyTo(_tx.Slot(0)[_tx.Headroom..]);
            _tx.SetFrame(0, _tx.Headroom, f.Length);
            switch (f.Sink)
            {
                case ControlSink.MobilityHeaderSocket:
                    if (_uplinkCaptures is { } uplink) Taps.Ipv6(uplink, f.Source, f.Destination, IpProtocol.Mobility, _tx.Frame(0), CaptureDirection.Tx, CaptureMicros);
                    _tx.Meta(0).Destination = f.Destination;
                    _mobility.Send(_tx, 0, 1);
                    break;
                case ControlSink.EspSocket when _secure is not null:
                    if (_uplinkCaptures is { } espTaps) Taps.Ipv6(espTaps, f.Source, f.Destination, IpProtocol.Esp, _tx.Frame(0), CaptureDirection.Tx, CaptureMicros);
                    _tx.Meta(0).Destination = f.Destination;
                    _secure.Send(_tx);
                    break;
                case ControlSink.Home:
                    if (_homeCaptures is { } home) Taps.Frame(home, _tx.Frame(0), CaptureDirection.Tx, CaptureMicros);
                    _home.Send(_tx, 0, 1);
                    break;
            }
        }
        output.Clear();
    }

    private void HandleHostActions()
    {
        if (_dp.HostActions.Count == 0) return;
        _hostActionScratch.Clear();
        _hostActionScratch.AddRange(_dp.HostActions);
        _dp.ClearHostActions();
        foreach (var action in _hostActionScratch)
        {
            switch (action)
            {
                case LmaAction.BindingChanged b:
                    _bindings.OnChanged(b, _clock.Now);
                    using (BindingScope(b))
                    {
                        _log.LogInformation("binding: {Nai} {Change} at MAG {Mag}, HNP {Hnp}, IPv4 {Ipv4}", b.MobileNodeIdentifier, b.Change,
                            b.ProxyCareOfAddress?.ToString() ?? "-", string.Join(",", b.HomeNetworkPrefixes), b.Ipv4HomeAddress?.ToString() ?? "-");
                        UpdateKernelRoutes(b);
                        // A MAG may now send: set up the path to it before its first super-frames arrive.
                        if (b.Change is BindingChange.Created or BindingChange.HandedOff) _tunnelUplink.RequestRefresh();
                    }
                    break;
                case LmaAction.RequestProfile r:
                    AskProfile(r);
                    break;
                case LmaAction.LocalizedRoutingChanged l:
                    _log.LogInformation("localized routing: {A} at MAG {MagA} <-> {B} at MAG {MagB} {Change}{Reason}",
                        l.MobileNodeA, l.MagA, l.MobileNodeB, l.MagB, l.Change, l.Reason is { } why ? $" ({why})" : "");
                    break;
                case LmaAction.StoreBinding w:
                    _replicator!.Write(w);
                    break;
                case LmaAction.StoreWriteFailed f:
                    _log.LogError("etcd: write of binding {Key} failed ({Failure}): stepping down", f.Key, f.Failure);
                    _replicator!.Fenced($"write of {f.Key}: {f.Failure}");
                    break;
                case LmaAction.PeerUnreachable u:
                    _peers.Unreachable(u.Peer);
                    _log.LogWarning("heartbeat: MAG {Peer} unreachable", u.Peer);
                    break;
                case LmaAction.PeerReachable r:
                    _peers.Reachable(r.Peer);
                    _log.LogInformation("heartbeat: MAG {Peer} reachable", r.Peer);
                    break;
                case LmaAction.PeerRestarted r:
                    _peers.Restarted(r.Peer);
                    _log.LogWarning("heartbeat: MAG {Peer} restarted (counter {Old} -> {New})", r.Peer, r.PreviousRestartCounter, r.RestartCounter);
                    break;
                default:
                    _log.LogDebug("{Action}", action);
                    break;
            }
        }
    }

    /// <summary>
    /// The machine parked a PBU whose mobile node's profile the store does not hold in memory (a RADIUS cache
    /// miss). The look-up runs on the thread pool; its answer is posted back to this loop.
    /// </summary>
    private void AskProfile(LmaAction.RequestProfile r)
    {
        ValueTask<LmaProfileDecision> pending;
        using (_log.BeginScope(new Logging.BindingLogScope(r.MobileNodeIdentifier, null, null))) pending = _policy.LookUpLmaProfileAsync(r.MobileNodeIdentifier);
        if (pending.IsCompletedSuccessfully)
        {
            ApplyProfile(r, pending.Result);
            return;
        }
        pending.AsTask().ContinueWith(t =>
        {
            var decision = t.IsCompletedSuccessfully ? t.Result : LmaProfileDecision.Failed($"policy look-up failed: {t.Exception?.GetBaseException().Message}");
            try
            {
                _work.Post(() => ApplyProfile(r, decision));
            }
            catch (ObjectDisposedException)
            {
                // The daemon stopped while the look-up ran.
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private void ApplyProfile(LmaAction.RequestProfile r, LmaProfileDecision decision)
    {
        using var scope = _log.BeginScope(new Logging.BindingLogScope(r.MobileNodeIdentifier, null, null));
        if (decision.Profile is null)
            _log.LogWarning("policy: {Nai} refused ({Status}): {Reason}", r.MobileNodeIdentifier,
                decision.LookupFailed ? "128, the MAG retries" : "152", decision.DenialReason);
        _dp.Handle(new LmaEvent.ProfileDecided(r.RequestId, decision.Profile, decision.LookupFailed), _clock.Now);
    }

    /// <summary>
    /// The pool is routed into the TUN once at start; a prefix from a policy profile outside the pool
    /// gets its own kernel route while it is bound.
    /// </summary>
    private void UpdateKernelRoutes(LmaAction.BindingChanged b)
    {
        var pool = _config.Protocol.HomeNetworkPrefixPool;
        bool bound = b.Change is BindingChange.Created or BindingChange.HandedOff or BindingChange.Resumed;
        bool gone = b.Change is BindingChange.Deleted or BindingChange.Expired;
        foreach (var prefix in b.HomeNetworkPrefixes)
        {
            if (pool is { } p && p.Contains(prefix.Address) && prefix.Length >= p.Length) continue;
            try
            {
                if (bound && _kernelRoutes.Add(prefix)) _netlink.ReplaceRoute(prefix, _config.HomeInterface);
                else if (gone && _kernelRoutes.Remove(prefix)) _netlink.DeleteRoute(prefix, _config.HomeInterface);
            }
            catch (NetlinkException e)
            {
                _log.LogError("routes: {Error}", e.Message);
            }
        }
    }

    /// <summary>
    /// RFC 5844 §3.1.3: the LMA is the IPv4 home subnet's last hop. The default router's address goes on the home
    /// device with the subnet's length, which makes the kernel route the whole subnet into it (every home address,
    /// static or from the pool, lies in it), and makes the router address itself answer (a VM pinging its gateway
    /// reaches it through the tunnel). The kernel must forward IPv4 (net.ipv4.ip_forward).
    /// </summary>
    private void StartIpv4HomeNetwork(Ipv4HomeNetwork network)
    {
        _netlink.AddAddress(_config.HomeInterface, network.DefaultRouter, network.Subnet.Length);
        _log.LogInformation("routing the IPv4 home network {Subnet} into {Home}, default router {Router}", network.Subnet, _config.HomeInterface, network.DefaultRouter);
        try
        {
            if (File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim() == "0")
                _log.LogWarning("net.ipv4.ip_forward is 0: the kernel will not forward the VMs' IPv4 traffic between {Home} and the home network", _config.HomeInterface);
        }
        catch (IOException)
        {
        }
        if (_policy is FilePolicyStore file)
        {
            foreach (var a in file.Current.StaticIpv4HomeAddresses.Where(a => !network.IsAssignable(a)))
                _log.LogWarning("policy: static IPv4 home address {Address} is not assignable in the IPv4 home network {Subnet} (router {Router}): its VM will be refused IPv4 (170)",
                    a, network.Subnet, network.DefaultRouter);
        }
    }

    public Task<ControlResponse> HandleControlAsync(ControlRequest request, CancellationToken ct) => request.Command switch
    {
        "bindings" => _work.Post(() => ControlResponse.Success(BindingsJson())),
        "tunnels" => _work.Post(() => ControlResponse.Success(TunnelsJson())),
        "stats" => _work.Post(() => ControlResponse.Success(StatsJson())),
        "routes" => _work.Post(() => ControlResponse.Success(RoutesJson())),
        "capture" => _work.Post(() => StartCapture(request)),
        "ha" => _work.Post(() => ControlResponse.Success(ReplicationJson())),
        "policy.reload" => Task.FromResult(_policy.Reload() is { } error ? ControlResponse.Failure(error) : ControlResponse.Success()),
        "sas" => _work.Post(() => ControlResponse.Success(SecureSignalling.SasJson(_dp.Security, _clock.Now))),
        "sas.reload" => _work.Post(() => _secure is null ? ControlResponse.Failure("sas.reload: no signalling keys are configured (the security section; a restart turns them on)")
            : _secure.Reload() is { } error ? ControlResponse.Failure(error) : ControlResponse.Success()),
        _ => Task.FromResult(ControlResponse.Failure($"unknown command \"{request.Command}\" (LMA commands: bindings, tunnels, stats, routes, ha, capture, policy.reload, sas, sas.reload)")),
    };

    /// <summary>`routes`: the RFC 6705 pairs, each party with its prefixes, the MAG told and where that leg stands.</summary>
    private JsonArray RoutesJson()
    {
        var now = _clock.Now;
        var list = new JsonArray();
        foreach (var r in _dp.Machine.LocalizedRoutingSessions.OrderBy(r => r.MobileNodeA, StringComparer.Ordinal))
        {
            list.Add((JsonNode)new JsonObject
            {
                ["nai"] = r.MobileNodeA,
                ["hnp"] = MagDaemon.Strings(r.PrefixesA),
                ["ipv4"] = r.Ipv4A?.ToString(),
                ["mag"] = r.MagA.ToString(),
                ["leg"] = r.LegA,
                ["remoteNai"] = r.MobileNodeB,
                ["remoteHnp"] = MagDaemon.Strings(r.PrefixesB),
                ["remoteIpv4"] = r.Ipv4B?.ToString(),
                ["remoteMag"] = r.MagB.ToString(),
                ["remoteLeg"] = r.LegB,
                ["established"] = r.Established,
                ["expiresInSeconds"] = r.ExpiresAt is { } e ? (long)(e - now).TotalSeconds : null,
            });
        }
        return list;
    }

    private JsonArray BindingsJson()
    {
        var now = _clock.Now;
        var list = new JsonArray();
        foreach (var b in _dp.Machine.Bindings.OrderBy(b => b.MobileNodeIdentifier, StringComparer.Ordinal))
        {
            list.Add((JsonNode)new JsonObject
            {
                ["nai"] = b.MobileNodeIdentifier,
                ["hnp"] = MagDaemon.Strings(b.HomeNetworkPrefixes),
                ["ipv4"] = b.Ipv4HomeAddress is { } v4 ? $"{v4}/{b.Ipv4PrefixLength}" : null,
                ["state"] = b.State.ToString(),
                ["mag"] = b.ProxyCareOfAddress?.ToString(),
                ["expiresInSeconds"] = (long)(b.ExpiresAt - now).TotalSeconds,
                ["deleteInSeconds"] = b.DeleteAt is { } d ? (long)(d - now).TotalSeconds : null,
                ["preRegistered"] = b.TransientMag?.ToString(),
                ["preRegistrationExpiresInMs"] = b.TransientExpiresAt is { } t ? (long)(t - now).TotalMilliseconds : null,
                ["servingVmStopped"] = b.TransientMag is null ? null : b.ServingMagStopped,
                ["awaitingActivation"] = b.AwaitingActivation,
            });
        }
        return list;
    }

    private JsonArray TunnelsJson()
    {
        var list = new JsonArray();
        foreach (var t in _dp.Tunnels)
        {
            list.Add((JsonNode)new JsonObject
            {
                ["mag"] = t.Mag.ToString(),
                ["up"] = t.Up,
                ["references"] = _dp.Machine.TunnelReferences(t.Mag),
                ["inPackets"] = t.Counters.InPackets,
                ["inBytes"] = t.Counters.InBytes,
                ["outPackets"] = t.Counters.OutPackets,
                ["outBytes"] = t.Counters.OutBytes,
                ["drops"] = t.Counters.DroppedTotal,
            });
        }
        return list;
    }

    /// <summary>`policy.security`: the signalling policy's counters beside the policy store's.</summary>
    private JsonObject WithSecurity(JsonObject policy)
    {
        policy["security"] = SecureSignalling.StatsJson(_dp.Security);
        return policy;
    }

    private JsonObject StatsJson() => new()
    {
        ["protocol"] = CounterJson.ToJson(_dp.Machine.Counters),
        ["datapath"] = CounterJson.ToJson(_dp.Counters),
        ["bindingCache"] = _dp.Machine.BindingCacheCount,
        ["awaitingDeletion"] = _dp.Machine.EntriesAwaitingDeletion,
        ["tunnels"] = _dp.Machine.TunnelCount,
        ["routes"] = _dp.RouteCount,
        ["ipv4Routes"] = _dp.Ipv4RouteCount,
        ["ipv4HomeAddresses"] = _dp.Machine.Ipv4HomeAddressesAllocated,
        ["ipv4TunnelSocket"] = MagDaemon.SocketJson(_tunnel4.Counters),
        ["ipv4Tunnel"] = MagDaemon.Ipv4TunnelJson(_ipv4Sink, _dp.Ipv4Counters.Values.Sum(c => c.InPackets)),
        ["uplink"] = _tunnelUplink.ToJson(),
        ["tunnelSocket"] = MagDaemon.SocketJson(_tunnel.Counters),
        ["mobilitySocket"] = MagDaemon.SocketJson(_mobility.Counters),
        ["home"] = MagDaemon.SocketJson(_home.Counters),
        ["policy"] = WithSecurity(_policy.Counters.ToJson()),
        ["process"] = ProcessStats.ToJson(),
        ["bindingsTracked"] = _bindings.Count,
        ["prefixCounters"] = _dp.PrefixCounters.Count,
        ["pendingProfileLookups"] = _dp.Machine.PendingProfileLookups,
        ["ha"] = ReplicationJson(),
    };

    public void Dispose()
    {
        if (_replicator is { } replicator)
        {
            // The loop has stopped: hand the shard over now instead of making the standby wait for the lease,
            // then take the address down and withdraw it (the standby's announcement has replaced it already).
            var resign = replicator.ResignAsync(TimeSpan.FromSeconds(2));
            bool wasActive = resign.Wait(TimeSpan.FromSeconds(3)) && resign.Result;
            replicator.Dispose();
            RemoveLmaAddress();
            if (wasActive) AnnounceAsync("down").Wait(AnnounceTimeout + TimeSpan.FromSeconds(1));
        }
        foreach (var prefix in _kernelRoutes)
        {
            try { _netlink.DeleteRoute(prefix, _config.HomeInterface); } catch (NetlinkException) { }
        }
        _home.Dispose();
        _netlink.Dispose();
        _mobility.Dispose();
        _secure?.Dispose();
        _dp.Security.Dispose();
        _tunnelUplink.Dispose();
        _tunnel.Dispose();
        _tunnel4.Dispose();
        _epoll.Dispose();
        _work.Dispose();
        _policy.Dispose();
        _rxHome.Dispose();
        _rxTunnel.Dispose();
        _rxMobility.Dispose();
        _tx.Dispose();
    }
}
