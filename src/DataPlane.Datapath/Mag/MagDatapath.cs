using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// A MAG host's data path: the access ports (one VM each), the emulated point-to-point home link (unicast
/// RAs, NS/NA from the shared MAG MAC and link-local address, no layer-2 forwarding between ports, RA,
/// redirect, DHCP-server and source-address guards), encapsulation decisions towards the LMA and delivery
/// of decapsulated packets, with the <see cref="MobileAccessGateway"/> machine run inline: frames raise its
/// events, and its actions become frames and table updates in the same call.
/// <para>
/// The host's packet loop calls <see cref="FromPort"/> and <see cref="FromTunnel"/> per received frame and
/// acts on the <see cref="Verdict"/>, then after each batch sends what <see cref="ControlOutput"/> and
/// <see cref="Segments"/> hold, hands <see cref="HostActions"/> to the slow side (policy store, logs, metrics)
/// and clears all three. Everything else it learns (policy answers, PBAs from the MH socket, hotplug events,
/// timer deadlines) goes in through <see cref="Handle"/>, <see cref="ReceiveMobilityMessage"/>,
/// <see cref="PortOnline"/>/<see cref="PortOffline"/> and <see cref="Tick"/>.
/// </para>
/// <para>
/// Pure packet processing: no syscalls, threads or clocks (time is an argument), and no allocation per data
/// packet. Not thread-safe: one packet loop owns it.
/// </para>
/// </summary>
public sealed partial class MagDatapath
{
    private readonly MobileAccessGateway _mag;
    private readonly MagDatapathOptions _options;
    private readonly MacAddress _sharedMac;
    private readonly Ipv6Address _sharedLinkLocal;
    private readonly Ipv6Address _proxyCareOfAddress;
    private readonly Ipv6Address _errorSource;
    // The shared link-local address first, then the configured extra router addresses.
    private readonly Ipv6Address[] _routerAddresses;
    private readonly Ipv6Address[] _dnsServers;
    private AccessPort?[] _ports = new AccessPort?[16];
    private readonly PrefixTable<AccessPort> _prefixes = new();
    private readonly Dictionary<MacAddress, CounterBlock> _vmCounters = [];
    private readonly Dictionary<MacAddress, CounterBlock> _vm4Counters = [];
    // IPv4 home address → port, for packets from the tunnel (one address per VM: a dictionary, no prefix match).
    private readonly Dictionary<uint, AccessPort> _ipv4HomeAddresses = [];
    private readonly Dictionary<Ipv6Address, CounterBlock> _tunnelCounters = [];
    private readonly List<MagAction> _hostActions = [];
    private PrefixInformation[] _prefixScratch = new PrefixInformation[4];
    private readonly SignallingGate _signalling;
    /// <summary>The time of the event being handled, for the actions it produces.</summary>
    private Instant _now;
    private readonly DhcpServerSettings _dhcpSettings;

    /// <param name="machine">The MAG machine this data path drives; its options give the shared MAC and link-local address and the Proxy-CoA.</param>
    /// <param name="options">Validated here; throws <see cref="ProtocolOptionsException"/> naming a bad setting.</param>
    /// <param name="security">The RFC 5213 §4 policy for the Mobility Header (none: signalling in the clear).</param>
    public MagDatapath(MobileAccessGateway machine, MagDatapathOptions? options = null, SignallingSecurity? security = null)
    {
        _signalling = new SignallingGate(security ?? new SignallingSecurity(SignallingSecurityOptions.Disabled, new SplitMix64Random(0)));
        _mag = machine;
        _options = options ?? new MagDatapathOptions();
        _options.Validate(machine.Options);
        _sharedMac = machine.Options.SharedMacAddress;
        _sharedLinkLocal = machine.Options.SharedLinkLocalAddress;
        _proxyCareOfAddress = machine.Options.ProxyCareOfAddress;
        _errorSource = _options.IcmpErrorSource ?? _proxyCareOfAddress;
        _routerAddresses = [_sharedLinkLocal, .. _options.RouterAddresses];
        _localRouting = machine.Options.EnableMagLocalRouting;
        _dnsServers = [.. _options.DnsServers];
        // RFC 5844 §3.4.3: the Interface MTU option carries the tunnel MTU.
        _dhcpSettings = new DhcpServerSettings(_options.DhcpLeaseTime, [.. _options.DhcpDnsServers],
            _options.DhcpDomainName is { } domain ? OctetString.FromUtf8(domain) : null, (ushort)_options.TunnelMtu);
        ControlOutput = new ControlOutput(_options.ControlOutputCapacity);
        HandoverBuffers = new HandoverBufferPool(_options.HandoverBuffers, _options.HandoverBufferBytes, _options.HandoverBufferPackets);
        // A segment is at most an untagged Ethernet header plus a tunnel-MTU packet (bigger ones are
        // answered with Packet Too Big before segmenting); rounded up to a cache line.
        int slot = (_options.SegmentHeadroom + EthernetFrame.HeaderLength + _options.TunnelMtu + 63) & ~63;
        Segments = new SegmentPool(_options.SegmentPoolCapacity, slot, _options.SegmentHeadroom);
    }

    public MobileAccessGateway Machine => _mag;

    public MagDatapathOptions Options => _options;

    /// <summary>Control frames written since the host last cleared it (RAs, NAs, NUD probes, ICMPv6 errors, PBUs, heartbeats).</summary>
    public ControlOutput ControlOutput { get; }

    /// <summary>Segments cut from GSO super-frames since the host last cleared it.</summary>
    public SegmentPool Segments { get; }

    public DatapathCounters Counters { get; } = new();

    /// <summary>
    /// What the host's tunnel path to each LMA can take (TCP super-frames whole, partial checksums), asked per
    /// forwarded frame; null (the default): every super-frame is cut and every checksum completed here.
    /// </summary>
    public ITunnelOffloads? TunnelOffloads
    {
        get => _tunnelOffloads;
        set => _tunnelOffloads = value;
    }

    private ITunnelOffloads? _tunnelOffloads;

    /// <summary>
    /// The machine's actions the data path does not perform itself (RequestPolicy, SessionFailed,
    /// HandoverCompleted, heartbeat notifications), in order, for the host to act on and then clear.
    /// </summary>
    public IReadOnlyList<MagAction> HostActions => _hostActions;

    public void ClearHostActions() => _hostActions.Clear();

    /// <summary>When <see cref="Tick"/> must next be called (the machine's timers).</summary>
    public Instant? NextDeadline => _mag.NextDeadline;

    /// <summary>
    /// Per-VM counters by MAC, kept across sessions and ports so they only grow (Prometheus counters) while the VM
    /// is here or comes back; <see cref="ForgetVm"/> drops a VM's once the host is done with them, so the table
    /// holds the VMs present plus those gone for less than the host's retention, not every VM ever seen.
    /// </summary>
    public IReadOnlyDictionary<MacAddress, CounterBlock> VmCounters => _vmCounters;

    /// <summary>
    /// The VM is gone for good (the host's retention passed): drop its counters. False, and nothing dropped, while
    /// a session on some port still counts into them (the VM came back).
    /// </summary>
    public bool ForgetVm(MacAddress mac)
    {
        if (!_vmCounters.TryGetValue(mac, out var block)) return false;
        foreach (var port in _ports)
            if (port?.Session is { } s && ReferenceEquals(s.Vm, block)) return false;
        _vm4Counters.Remove(mac);
        return _vmCounters.Remove(mac);
    }

    /// <summary>Per-VM IPv4 counters by MAC (a subset of <see cref="VmCounters"/>), kept across sessions.</summary>
    public IReadOnlyDictionary<MacAddress, CounterBlock> VmIpv4Counters => _vm4Counters;

    /// <summary>Installed IPv4 home addresses.</summary>
    public int Ipv4HomeAddressCount => _ipv4HomeAddresses.Count;

    /// <summary>Which port serves this IPv4 home address?</summary>
    public bool TryLookupIpv4HomeAddress(Ipv4Address address, out PortId port)
    {
        bool found = _ipv4HomeAddresses.TryGetValue(address.Value, out var p);
        port = found ? p!.Id : default;
        return found;
    }

    /// <summary>Per-tunnel counters by peer: each LMA, and each MAG a direct (RFC 6705) route leads to.</summary>
    public IReadOnlyDictionary<Ipv6Address, CounterBlock> TunnelCounters => _tunnelCounters;

    /// <summary>Installed home network prefixes.</summary>
    public int PrefixCount => _prefixes.Count;

    // ---- Events from the host -------------------------------------------------------------------

    /// <summary>Give the machine an event (a policy answer, a hotplug event…) and perform its actions.</summary>
    public void Handle(MagEvent e, Instant now) => Raise(e, now);

    /// <summary>Run the machine's due timers and perform their actions (RAs, NUD probes, PBU retransmissions…).</summary>
    public void Tick(Instant now)
    {
        _now = now;
        ExecuteAll(_mag.Tick(now));
    }

    /// <summary>The signalling security policy (SAs, counters, the state the host persists).</summary>
    public SignallingSecurity Security => _signalling.Security;

    /// <summary>
    /// A Mobility Header from the uplink's raw MH socket (without its IPv6 header). False, counted, when it
    /// does not parse or its checksum does not verify for <paramref name="source"/> → <paramref name="destination"/>.
    /// </summary>
    public bool ReceiveMobilityMessage(ReadOnlySpan<byte> mobilityHeader, Ipv6Address source, Ipv6Address destination, Instant now,
        bool verifyChecksum = true)
    {
        if (!_signalling.TryAcceptPlaintext(source)) return false;
        if (ControlMessages.ParseMobilityMessage(mobilityHeader, source, destination, verifyChecksum) is not { } message)
        {
            Counters.MobilityMessagesMalformed++;
            return false;
        }
        Raise(new MagEvent.MobilityMessageReceived(source, message), now);
        return true;
    }

    /// <summary>
    /// An ESP packet from the uplink's raw protocol-50 socket (without its IPv6 header), opened in place. False,
    /// counted by reason in <see cref="Security"/>, when the policy refuses it.
    /// </summary>
    public bool ReceiveEsp(Span<byte> packet, Ipv6Address source, Ipv6Address destination, Instant now)
    {
        if (_signalling.TryOpen(packet, source, destination, now, Counters) is not { } message) return false;
        Raise(new MagEvent.MobilityMessageReceived(source, message), now);
        return true;
    }

    private void Raise(MagEvent e, Instant now)
    {
        _now = now;
        ExecuteAll(_mag.Handle(e, now));
    }

    /// <summary>Perform the machine's actions in order; those that are the host's are queued on <see cref="HostActions"/>.</summary>
    private void ExecuteAll(IReadOnlyList<MagAction> actions)
    {
        // An index loop: foreach over the interface would box an enumerator per call.
        for (int i = 0; i < actions.Count; i++)
        {
            var action = actions[i];
            if (!Execute(action)) _hostActions.Add(action);
        }
    }

    // ---- Ports ----------------------------------------------------------------------------------

    /// <summary>Add an access port. <paramref name="vmMac"/> when the hotplug script knows it; otherwise the first frame teaches it.</summary>
    public void AddPort(PortId id, string name, MacAddress? vmMac = null)
    {
        if ((uint)id.Value >= (uint)_options.MaxPorts)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"port numbers are 0..{_options.MaxPorts - 1}");
        if (vmMac is { } mac && (!mac.IsUnicast || mac.IsZero || mac == _sharedMac))
            throw new ArgumentException($"{mac} cannot be a VM's MAC", nameof(vmMac));
        if (id.Value >= _ports.Length) Array.Resize(ref _ports, Math.Min(_options.MaxPorts, Math.Max(id.Value + 1, _ports.Length * 2)));
        if (_ports[id.Value] is not null) throw new InvalidOperationException($"{id} already exists");
        _ports[id.Value] = new AccessPort(id, name, vmMac);
    }

    /// <summary>The port is gone: the machine detaches its VM (de-registering it) and the port's tables go.</summary>
    public bool RemovePort(PortId id, Instant now)
    {
        if (FindPort(id) is not { } port) return false;
        Raise(new MagEvent.PortDetached(id, DetachReason.PortRemoved), now);
        Uninstall(port);
        port.DirectRoutes = [];
        _ports[id.Value] = null;
        return true;
    }

    /// <summary>
    /// The hotplug path says the VM's interface is there. What happens depends on what the caller knows
    /// (<see cref="PortOnlineKind"/>): by default nothing yet — a hypervisor plugs the interface in before
    /// the VM runs there, both when it boots and when it is the destination of a live migration (Xen's vif
    /// "online" and QEMU's ifup come when the destination is created, i.e. when the migration STARTS, while
    /// the VM still runs on the source: registering then pulls its traffic here for the whole pre-copy and
    /// strands it if the migration fails — observed with a real QEMU guest, docs/real-guest.md). The VM's
    /// first frame registers it instead (RaiseTrigger). Returns false for an unknown port, or for
    /// <see cref="PortOnlineKind.VmRunning"/> when the VM's MAC is not known yet (its first frame will do).
    /// </summary>
    public bool PortOnline(PortId id, Instant now, PortOnlineKind kind = PortOnlineKind.AwaitVm)
    {
        if (FindPort(id) is not { } port) return false;
        switch (kind)
        {
            case PortOnlineKind.IncomingMigration:
                port.AwaitingMigratedVm = true;
                // With the VM's MAC known the machine can register it ahead of its arrival (pre-registration).
                if (port.HasVmMac && port.Session is null) Raise(new MagEvent.IncomingMigration(port.Id, port.VmMac), now);
                return true;
            case PortOnlineKind.VmRunning:
                if (!port.HasVmMac) return false;
                RaiseTrigger(port, AttachTrigger.HotplugOnline, null, now);
                return true;
            default:
                return true;
        }
    }

    /// <summary>The hotplug script says the VM's interface went down: detach at once.</summary>
    public bool PortOffline(PortId id, Instant now)
    {
        if (FindPort(id) is not { } port) return false;
        Raise(new MagEvent.PortDetached(id, DetachReason.HotplugOffline), now);
        port.ForgetLearnedMac();
        return true;
    }

    public bool TryGetPort(PortId id, out MagPortView view)
    {
        if (FindPort(id) is not { } port)
        {
            view = default;
            return false;
        }
        view = ToView(port);
        return true;
    }

    public IEnumerable<MagPortView> Ports => _ports.OfType<AccessPort>().Select(ToView);

    /// <summary>Which port serves <paramref name="address"/> (longest installed prefix)?</summary>
    public bool TryLookupPrefix(Ipv6Address address, out PortId port)
    {
        bool found = _prefixes.TryLookup(address, out var p);
        port = found ? p!.Id : default;
        return found;
    }

    private static MagPortView ToView(AccessPort p) => new(p.Id, p.Name, p.HasVmMac ? p.VmMac : null, p.ConfiguredMac is not null,
        p.Session?.HomeNetworkPrefixes ?? [], p.Session?.LocalMobilityAnchor, p.Counters, p.Session?.Ipv4);

    private AccessPort? FindPort(PortId id) => (uint)id.Value < (uint)_ports.Length ? _ports[id.Value] : null;

    // ---- Counting -------------------------------------------------------------------------------

    /// <summary>A drop seen on a port whose sender is not (known to be) the port's VM.</summary>
    private Verdict DropOnPort(AccessPort port, DropReason reason, WireError error = WireError.None)
    {
        Counters.All.CountDrop(reason, error);
        port.Counters.CountDrop(reason, error);
        return Verdict.Drop(reason, error);
    }

    /// <summary>A drop of a frame from the port's VM: counted for the VM too when it has a session.</summary>
    private Verdict DropFromVm(AccessPort port, DropReason reason, WireError error = WireError.None)
    {
        port.Session?.Vm.CountDrop(reason, error);
        return DropOnPort(port, reason, error);
    }

    private Verdict Consume(AccessPort port, ControlFrameKind kind)
    {
        Counters.All.Control.Increment(kind);
        port.Counters.Control.Increment(kind);
        port.Session?.Vm.Control.Increment(kind);
        return Verdict.Consumed;
    }

    private CounterBlock VmBlock(MacAddress mac)
    {
        if (!_vmCounters.TryGetValue(mac, out var block)) _vmCounters.Add(mac, block = new CounterBlock());
        return block;
    }

    private CounterBlock Vm4Block(MacAddress mac)
    {
        if (!_vm4Counters.TryGetValue(mac, out var block)) _vm4Counters.Add(mac, block = new CounterBlock());
        return block;
    }

    private CounterBlock TunnelBlock(Ipv6Address lma)
    {
        if (!_tunnelCounters.TryGetValue(lma, out var block)) _tunnelCounters.Add(lma, block = new CounterBlock());
        return block;
    }
}
