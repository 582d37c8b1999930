using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// The LMA's data path: the binding table (bound prefix → serving MAG, maintained from the machine's
/// RouteAdd/RouteRemove/TunnelUp/TunnelDown), packets from the home network (the TUN device the daemon
/// routes the HNP pool into) encapsulated to the serving MAG, and packets from the tunnels accepted into
/// the home network only when their inner source belongs to a prefix bound to the MAG they came from.
/// The <see cref="LocalMobilityAnchor"/> machine runs inline: <see cref="ReceiveMobilityMessage"/>,
/// <see cref="Handle"/> and <see cref="Tick"/> perform its actions at once.
/// <para>
/// The host's packet loop calls <see cref="FromHome"/> and <see cref="FromTunnel"/> per packet and acts on
/// the <see cref="Verdict"/>; after each batch it sends the <see cref="ControlOutput"/> (PBAs, heartbeats,
/// ICMPv6 errors for the home network), hands <see cref="HostActions"/> (BindingChanged, heartbeat
/// notifications) to logging and metrics, and clears both. No syscalls, clocks, threads or per-packet
/// allocation; not thread-safe.
/// </para>
/// </summary>
public sealed partial class LmaDatapath
{
    private readonly LocalMobilityAnchor _lma;
    private readonly LmaDatapathOptions _options;
    private readonly Ipv6Address _address;
    private readonly Ipv6Address _errorSource;
    private readonly PrefixTable<LmaRoute> _routes = new();
    private readonly Dictionary<Ipv6Address, LmaTunnel> _tunnels = [];
    private readonly Dictionary<Ipv6Prefix, CounterBlock> _prefixCounters = [];
    private readonly List<LmaAction> _hostActions = [];
    private RateLimiter _errorLimiter;
    private readonly SignallingGate _signalling;
    private readonly bool _observeTraffic;
    /// <summary>The time of the event being handled, for the actions it produces.</summary>
    private Instant _now;

    /// <param name="security">The RFC 5213 §4 policy for the Mobility Header (none: signalling in the clear).</param>
    public LmaDatapath(LocalMobilityAnchor machine, LmaDatapathOptions? options = null, SignallingSecurity? security = null)
    {
        _signalling = new SignallingGate(security ?? new SignallingSecurity(SignallingSecurityOptions.Disabled, new SplitMix64Random(0)));
        _lma = machine;
        _options = options ?? new LmaDatapathOptions();
        _options.Validate();
        _address = machine.Options.LocalMobilityAnchorAddress;
        _errorSource = _options.IcmpErrorSource ?? _address;
        _ipv4ErrorSource = _options.Ipv4IcmpErrorSource ?? machine.Options.Ipv4HomeNetwork?.DefaultRouter;
        _observeTraffic = machine.Options.LocalizedRouting.Enabled;
        ControlOutput = new ControlOutput(_options.ControlOutputCapacity);
        Segments = new SegmentPool(_options.SegmentPoolCapacity, (_options.SegmentHeadroom + _options.TunnelMtu + 63) & ~63, _options.SegmentHeadroom);
    }

    public LocalMobilityAnchor Machine => _lma;

    public LmaDatapathOptions Options => _options;

    /// <summary>PBAs and heartbeats for the MH socket, ICMPv6 errors for the home device, since the host last cleared it.</summary>
    public ControlOutput ControlOutput { get; }

    /// <summary>Segments cut from TCP super-packets from the home device since the host last cleared it.</summary>
    public SegmentPool Segments { get; }

    public DatapathCounters Counters { get; } = new();

    /// <summary>
    /// What the host's tunnel path to each MAG can take (TCP super-frames whole, partial checksums), asked per
    /// forwarded packet; null (the default): every super-packet is cut and every checksum completed here.
    /// </summary>
    public ITunnelOffloads? TunnelOffloads
    {
        get => _tunnelOffloads;
        set => _tunnelOffloads = value;
    }

    private ITunnelOffloads? _tunnelOffloads;

    /// <summary>The machine's notifications (BindingChanged, PeerUnreachable/Reachable/Restarted) for the host to log and clear.</summary>
    public IReadOnlyList<LmaAction> HostActions => _hostActions;

    public void ClearHostActions() => _hostActions.Clear();

    public Instant? NextDeadline => _lma.NextDeadline;

    public int RouteCount => _routes.Count;

    /// <summary>
    /// Per-prefix (per-VM) counters, kept after the prefix is unbound so they only grow while the binding may
    /// come back; <see cref="ForgetPrefix"/> drops them once the host's retention for the binding has passed.
    /// </summary>
    public IReadOnlyDictionary<Ipv6Prefix, CounterBlock> PrefixCounters => _prefixCounters;

    /// <summary>The binding is gone for good: drop the prefix's counters. False while a route still counts into them.</summary>
    public bool ForgetPrefix(Ipv6Prefix prefix) => !_routes.TryGetExact(prefix, out _) && _prefixCounters.Remove(prefix);

    public IEnumerable<LmaTunnelView> Tunnels => _tunnels.Values.Select(t => new LmaTunnelView(t.Mag, t.Up, t.Counters));

    public IEnumerable<LmaRouteView> Routes => _routes.Entries.Select(kv => new LmaRouteView(kv.Key, kv.Value.Mag, kv.Value.PrefixCounters));

    /// <summary>The MAG serving <paramref name="address"/>'s prefix.</summary>
    public bool TryLookupRoute(Ipv6Address address, out Ipv6Address mag)
    {
        bool found = _routes.TryLookup(address, out var route);
        mag = found ? route!.Mag : default;
        return found;
    }

    public bool TryGetTunnel(Ipv6Address mag, out LmaTunnelView view)
    {
        bool found = _tunnels.TryGetValue(mag, out var t);
        view = found ? new LmaTunnelView(t!.Mag, t.Up, t.Counters) : default;
        return found;
    }

    // ---- Events from the host -------------------------------------------------------------------

    public void Handle(LmaEvent e, Instant now)
    {
        _now = now;
        ExecuteAll(_lma.Handle(e, now));
    }

    public void Tick(Instant now)
    {
        _now = now;
        ExecuteAll(_lma.Tick(now));
    }

    /// <summary>The signalling security policy (SAs, counters, the state the host persists).</summary>
    public SignallingSecurity Security => _signalling.Security;

    /// <summary>
    /// An ESP packet from the raw protocol-50 socket (without its IPv6 header), opened in place. False, counted
    /// by reason in <see cref="Security"/>, when the policy refuses it.
    /// </summary>
    public bool ReceiveEsp(Span<byte> packet, Ipv6Address source, Ipv6Address destination, Instant now)
    {
        if (_signalling.TryOpen(packet, source, destination, now, Counters) is not { } message) return false;
        Handle(new LmaEvent.MobilityMessageReceived(source, message), now);
        return true;
    }

    /// <summary>Perform actions the host got from the machine directly (a takeover or step-down).</summary>
    public void Perform(IReadOnlyList<LmaAction> actions) => ExecuteAll(actions);

    /// <summary>A Mobility Header (PBU, heartbeat) from the raw MH socket; false, counted, when it does not parse or verify.</summary>
    public bool ReceiveMobilityMessage(ReadOnlySpan<byte> mobilityHeader, Ipv6Address source, Ipv6Address destination, Instant now,
        bool verifyChecksum = true)
    {
        if (!_signalling.TryAcceptPlaintext(source)) return false;
        if (ControlMessages.ParseMobilityMessage(mobilityHeader, source, destination, verifyChecksum) is not { } message)
        {
            Counters.MobilityMessagesMalformed++;
            return false;
        }
        Handle(new LmaEvent.MobilityMessageReceived(source, message), now);
        return true;
    }

    private void ExecuteAll(IReadOnlyList<LmaAction> actions)
    {
        for (int i = 0; i < actions.Count; i++)
        {
            var action = actions[i];
            if (!Execute(action)) _hostActions.Add(action);
        }
    }

    /// <summary>
    /// Perform one of the machine's actions: Mobility Header messages onto the <see cref="ControlOutput"/>,
    /// tunnels and routes into the tables. False for the notifications, which are the host's.
    /// </summary>
    public bool Execute(LmaAction action)
    {
        switch (action)
        {
            case LmaAction.SendMobilityMessage send:
                _signalling.Write(ControlOutput, Counters, send.Source, send.Destination, send.Message, _now);
                break;
            case LmaAction.TunnelUp up:
                Tunnel(up.Mag).Up = true;
                break;
            case LmaAction.TunnelDown down:
                if (_tunnels.TryGetValue(down.Mag, out var tunnel)) tunnel.Up = false;
                break;
            case LmaAction.RouteAdd add:
                // Replaces any route for the prefix: this is the handover moving it to the new MAG.
                _routes.Set(add.Prefix, new LmaRoute(add.Prefix, Tunnel(add.Mag), PrefixBlock(add.Prefix)));
                break;
            case LmaAction.RouteRemove remove:
                _routes.Remove(remove.Prefix);
                break;
            case LmaAction.Ipv4RouteAdd add4:
                // RFC 5844 §3.1.2.2: the IPv4 host route; replaces any (the handover moving it).
                _ipv4Routes[add4.HomeAddress.Value] = new LmaIpv4Route(add4.HomeAddress, Tunnel(add4.Mag), Ipv4Block(add4.HomeAddress));
                break;
            case LmaAction.Ipv4RouteRemove remove4:
                _ipv4Routes.Remove(remove4.HomeAddress.Value);
                break;
            case LmaAction.RouteSecondary secondary:
                SetSecondary(secondary);
                break;
            case LmaAction.Ipv4RouteSecondary secondary4:
                SetSecondary(secondary4);
                break;
            default:
                Counters.ActionsForHost++;
                return false;
        }
        Counters.ActionsExecuted++;
        return true;
    }

    private LmaTunnel Tunnel(Ipv6Address mag)
    {
        if (!_tunnels.TryGetValue(mag, out var tunnel)) _tunnels.Add(mag, tunnel = new LmaTunnel(mag));
        return tunnel;
    }

    private CounterBlock PrefixBlock(Ipv6Prefix prefix)
    {
        if (!_prefixCounters.TryGetValue(prefix, out var block)) _prefixCounters.Add(prefix, block = new CounterBlock());
        return block;
    }

    private Verdict Drop(CounterBlock? block, DropReason reason, WireError error = WireError.None)
    {
        Counters.All.CountDrop(reason, error);
        block?.CountDrop(reason, error);
        return Verdict.Drop(reason, error);
    }
}
