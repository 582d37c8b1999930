using DataPlane.Datapath;
using DataPlane.Host.Configuration;
using DataPlane.Host.Policy;
using DataPlane.Host.Runtime;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Mag;

/// <summary>
/// The MAG daemon: one packet loop thread that owns the data path (and the MAG machine inside it), the
/// access ports, the Mobility Header socket and the IPv6-in-IPv6 socket. Other threads (control socket,
/// signals) hand it work through <see cref="LoopWork"/>; nothing else touches its state.
/// </summary>
public sealed partial class MagDaemon : DaemonRunner.IDaemon
{
    private const ulong MobilityToken = ulong.MaxValue - 1;
    private const ulong TunnelToken = ulong.MaxValue - 2;
    private const ulong WakeToken = ulong.MaxValue - 3;
    private const ulong EspToken = ulong.MaxValue - 4;
    private const ulong Tunnel4Token = ulong.MaxValue - 5;
    /// <summary>Batches read from one fd per wake-up before the others get a turn.</summary>
    private const int MaxBatchesPerWake = 4;

    private readonly MagConfig _config;
    private readonly ILogger _log;
    private readonly IPolicyStore _policy;
    private readonly DaemonClock _clock = new();
    private readonly MagDatapath _dp;
    private readonly Epoll _epoll = new(128);
    private readonly LoopWork _work = new();
    private readonly RawIpv6Socket _mobility;
    private readonly RawIpv6Socket _tunnel;
    /// <summary>The ESP socket and sequence state; null when no signalling keys are configured.</summary>
    private readonly SecureSignalling? _secure;
    /// <summary>RFC 5844's IPv4-over-IPv6 (next header 4): IPv4 packets of the VMs, both ways.</summary>
    private readonly RawIpv6Socket _tunnel4;
    private readonly Ipv4TunnelSink _ipv4Sink;
    private readonly int _batchSize;
    private readonly PacketBatch _rxPort;
    private readonly PacketBatch _rxTunnel;
    private readonly PacketBatch _rxMobility = new(16, 4096);
    /// <summary>Segments cut from super-frames are copied here to be sent; control output uses it between batches.</summary>
    private readonly PacketBatch _tx;
    private readonly TunnelOutput _uplink;
    /// <summary>The tunnel's send path (`dataplane.uplink`): the raw socket, or AF_PACKET with the raw socket as fallback.</summary>
    private readonly TunnelUplink _tunnelUplink;
    private readonly TunnelDelivery _delivery;
    /// <summary>Frames the data path routes from one VM to another on this MAG (EnableMAGLocalRouting).</summary>
    private readonly PortDelivery _localDelivery;
    private readonly Func<PacketBatch, int> _receiveRaw;
    private readonly Func<PacketBatch, int> _receiveRaw4;
    private readonly BusyPoll _busyPoll;
    private readonly EpollReady[] _ready = new EpollReady[128];
    private readonly Dictionary<int, OpenPort> _ports = [];
    private readonly Dictionary<string, OpenPort> _portsByName = new(StringComparer.Ordinal);
    private readonly List<MagAction> _hostActionScratch = [];
    private readonly Metrics.VmTracker _vms;
    private int _nextPortId = 1;
    private Instant _nextMaintenance;
    private volatile bool _stopping;

    public MagDaemon(MagConfig config, IPolicyStore policy, uint restartCounter, ILogger log)
    {
        _config = config;
        _log = log;
        _policy = policy;
        _vms = new Metrics.VmTracker(config.Metrics.VmRetention);
        var tuning = config.Dataplane;
        _batchSize = tuning.BatchSize;
        _rxPort = new PacketBatch(_batchSize, 65536 + 256);
        // A tunnel slot holds a whole super-frame: one that crossed the tunnel whole, one the interface's GRO merged
        // (even on the raw socket), or the one receive offload merges segments into.
        _rxTunnel = new PacketBatch(_batchSize, TunnelDelivery.SuperFrameSlot);
        _tx = new PacketBatch(_batchSize, 16384);
        _delivery = new TunnelDelivery(EthernetFrame.HeaderLength, tuning.ReceiveOffload, _batchSize);
        _busyPoll = new BusyPoll(tuning.BusyPollMicroseconds);
        _localDelivery = new PortDelivery(this);
        var options = config.Protocol with { RestartCounter = restartCounter };
        var machine = new MobileAccessGateway(options, new SplitMix64Random((ulong)Environment.TickCount64 ^ (ulong)Environment.ProcessId));
        var coa = options.ProxyCareOfAddress;
        var (security, secure) = SecureSignalling.Open(config.Security, coa, log);
        _secure = secure;
        _dp = new MagDatapath(machine, config.Datapath, security);
        // A VM gone for longer than the retention: its series went, its counters go too (bounded state under churn).
        _vms.Forgotten = mac => _dp.ForgetVm(mac);
        _mobility = RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Mobility, LocalAddress = coa });
        // Kept open for the daemon's lifetime: with no protocol-41 socket the kernel answers tunnelled
        // packets with Parameter Problem (docs in DataPlane.Linux).
        _tunnel = RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = coa, HopLimit = 64, ReceiveBufferBytes = tuning.SocketBufferBytes, SendBufferBytes = tuning.SocketBufferBytes });
        // Likewise for next header 4, which no kernel tunnel module handles here either.
        _tunnel4 = RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.IpInIp, LocalAddress = coa, HopLimit = 64, ReceiveBufferBytes = tuning.SocketBufferBytes, SendBufferBytes = tuning.SocketBufferBytes });
        _tunnelUplink = new TunnelUplink(_tunnel, tuning.Uplink, coa, tuning.SocketBufferBytes, log, TunnelPath.For(tuning));
        _tunnelUplink.ReceiverOpened += AddTunnelReceiver;
        _receiveRaw = _tunnelUplink.ReceiveRaw;
        // The protocol-4 socket gets the same copies as the protocol-41 one where no receiver keeps them off.
        _receiveRaw4 = batch => _tunnelUplink.DiscardDuplicates(batch, _tunnel4.Receive(batch));
        if (tuning.Uplink == UplinkKind.Packet) _dp.TunnelOffloads = _tunnelUplink;
        _ipv4Sink = new Ipv4TunnelSink(new CapturingUplinkSink(_tunnelUplink, coa, () => _uplinkCaptures, () => CaptureMicros),
            new RawTunnelSink(_tunnel4, coa, () => _uplinkCaptures, () => CaptureMicros),
            tuning.Uplink == UplinkKind.Packet ? _tunnelUplink : null, config.TunnelMtu);
        _uplink = new TunnelOutput(_ipv4Sink, _tx);
        _epoll.Add(_mobility.Fd, MobilityToken);
        _epoll.Add(_tunnel.Fd, TunnelToken);
        _epoll.Add(_tunnel4.Fd, Tunnel4Token);
        _epoll.Add(_work.Wake.Fd, WakeToken);
        if (_secure is not null) _epoll.Add(_secure.Fd, EspToken);
    }

    public MagDatapath Datapath => _dp;

    /// <summary>SIGHUP: the policy, and the signalling keys (on the loop thread, which owns them).</summary>
    public string? ReloadPolicy()
    {
        var error = _policy.Reload();
        if (_secure is { } secure) error ??= _work.Post(secure.Reload).GetAwaiter().GetResult();
        return error;
    }

    /// <summary>Attach the ports the configuration lists (on the loop thread, before it runs).</summary>
    public void AttachConfiguredPorts()
    {
        foreach (var p in _config.Ports)
        {
            var error = AddPort(p.Name, p.Mac, p.Kind);
            if (error is not null) throw new ConfigException($"{_config.File}: ports: {error}");
        }
    }

    /// <summary>Run the packet loop on the calling thread until <see cref="Stop"/>.</summary>
    public void Run()
    {
        LoopThread.Pin(_config.Dataplane, _config.File, _log);
        _log.LogInformation("running, Proxy-CoA {Coa}, tunnel MTU {Mtu}, restart counter {Counter}, batch {Batch}, receive offload {Gro}, busy-poll {BusyPoll} us, uplink {Uplink}, tunnel offload {TunnelOffload}, DHCP server identifier {ServerId}",
            _config.Protocol.ProxyCareOfAddress, _config.TunnelMtu, _dp.Machine.Options.RestartCounter, _batchSize,
            _config.Dataplane.ReceiveOffload ? "on" : "off", _config.Dataplane.BusyPollMicroseconds,
            _config.Dataplane.Uplink.ToString().ToLowerInvariant(), _config.Dataplane.TunnelOffload ? "on" : "off",
            _config.Datapath.DhcpServerIdentifier?.ToString() ?? "each VM's default router");
        while (!_stopping)
        {
            var now = _clock.Now;
            var timeout = _dp.NextDeadline is { } due ? Clamp(due - now) : TimeSpan.FromSeconds(1);
            int n = _epoll.Wait(_ready, _busyPoll.Timeout(timeout));
            _busyPoll.Woke(n);
            now = _clock.Now;
            for (int i = 0; i < n; i++)
            {
                var r = _ready[i];
                switch (r.Token)
                {
                    case MobilityToken: ReceiveMobility(now); break;
                    case TunnelToken: ReceiveTunnel(_receiveRaw, now); break;
                    case Tunnel4Token: ReceiveTunnel(_receiveRaw4, now); break;
                    case EspToken: ReceiveEsp(now); break;
                    case WakeToken: _work.RunPending(); break;
                    default:
                        if (TryReceiveFromTunnelReceiver(r.Token, now)) break;
                        if (_ports.TryGetValue((int)r.Token, out var port)) ReceivePort(port, now);
                        break;
                }
            }
            now = _clock.Now;
            if (_dp.NextDeadline is { } d && d <= now) _dp.Tick(now);
            if (now >= _nextMaintenance) Maintain(now);
            AfterBatch(now);
            // After the host actions: a new peer's path (its receiver above all) is set up before its traffic arrives.
            if (_tunnelUplink.RefreshDue) _tunnelUplink.Refresh(UplinkPeers());
        }
    }

    /// <summary>
    /// Once a second: a port whose link went down may since have been deleted or moved to another
    /// namespace without a hotplug call; ask the kernel (a syscall per port that is not up).
    /// </summary>
    private void Maintain(Instant now)
    {
        _nextMaintenance = now + TimeSpan.FromSeconds(1);
        MaintainObservability(now);
        _secure?.Maintain(now);
        foreach (var port in _ports.Values.ToList())
        {
            // A TAP we created cannot vanish under us (its fd keeps it; a read says EBADFD if it is deleted),
            // and its netdev may legitimately live in another namespace (handed to a VM).
            if (port.Kind == PortKind.Tap) continue;
            if (port.Device.LinkState != PortLinkState.Up && port.Device.RefreshLinkState() == PortLinkState.Removed)
                PortVanished(port, now);
        }
    }

    private static TimeSpan Clamp(TimeSpan t) =>
        t < TimeSpan.Zero ? TimeSpan.Zero : t > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : t;

    public void Stop()
    {
        _stopping = true;
        _work.Wake.Signal();
    }

    /// <summary>Queue work for the loop thread (control commands).</summary>
    public Task<T> OnLoop<T>(Func<T> work) => _work.Post(work);

    public void Dispose()
    {
        foreach (var p in _ports.Values) p.Device.Dispose();
        _ports.Clear();
        _mobility.Dispose();
        _secure?.Dispose();
        _dp.Security.Dispose();
        _tunnelUplink.Dispose();
        _tunnel.Dispose();
        _tunnel4.Dispose();
        _epoll.Dispose();
        _work.Dispose();
        _policy.Dispose();
        _rxPort.Dispose();
        _rxTunnel.Dispose();
        _rxMobility.Dispose();
        _tx.Dispose();
    }

    /// <summary>An access port the loop reads: its device and the data path's id for it.</summary>
    private sealed class OpenPort(PortId id, string name, IPacketPort device, PortKind kind, MacAddress? mac, int batchSize)
    {
        public PortId Id { get; } = id;
        public string Name { get; } = name;
        public IPacketPort Device { get; } = device;
        public PortKind Kind { get; } = kind;
        public MacAddress? ConfiguredMac { get; } = mac;
        public DateTime AttachedAt { get; } = DateTime.UtcNow;
        /// <summary>Slots of the tunnel batch waiting to be sent to this port.</summary>
        public int[] Pending { get; } = new int[batchSize];
        public int PendingCount;
        /// <summary>Captures of this port (`ctl capture`); null while there are none.</summary>
        public Capture.CaptureTap[]? Captures;
    }
}
