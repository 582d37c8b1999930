using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Metrics;

/// <summary>Where a VM stands at this MAG, as exported (dataplane_vm_binding_state).</summary>
public enum VmState : byte
{
    AwaitingPolicy,
    Registering,
    Established,
    Failed,
    /// <summary>No session any more, but its Binding Update List entry is still there (a de-registration in flight).</summary>
    Deregistering,
    /// <summary>Neither session nor BUL entry: the VM left. Its series stay for the retention period, then go.</summary>
    Detached,
}

/// <summary>A VM seen in the MAG's state at a refresh: a session (on a port) and/or a BUL entry.</summary>
public readonly record struct VmPresence(MacAddress Mac, string? MobileNodeIdentifier, PortId? Port, string? PortName,
    IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes, VmState State);

/// <summary>Looks up when the first downlink packet reached the VM on a port since its session was installed.</summary>
public delegate bool FirstDeliveryLookup(PortId port, out Instant at);

/// <summary>
/// The MAG's per-VM record for metrics and `ctl sessions`/`ctl vms`, owned by the packet loop: identity (MN-ID,
/// MAC, port, HNP: the labels of its series), state, handover counts and the last handover's trigger and
/// timings, and the handover-latency observations waiting for the next scrape.
/// <para>
/// The label lifecycle lives here. A VM is tracked from its first session (or handover) on; each refresh
/// marks the VMs that still have a session or a Binding Update List entry. A VM with neither is
/// <see cref="VmState.Detached"/>, keeps its series (frozen) for <see cref="Retention"/> so the last values
/// are scraped, and is then forgotten: its series disappear from the next scrape. It comes back as a new
/// record (counts from zero, its data path byte counters where they were) if it attaches again. A VM whose
/// identity changes (a new port name after it came back on another vif, another HNP) keeps one record;
/// its series move to the new label set.
/// </para>
/// </summary>
public sealed class VmTracker
{
    /// <summary>A first downlink packet later than this after the attachment is not a handover latency (an idle VM).</summary>
    public static readonly TimeSpan FirstDownlinkWindow = TimeSpan.FromSeconds(10);

    private readonly Dictionary<MacAddress, Vm> _vms = [];
    private readonly List<HandoverObservation> _observations = [];
    private readonly int _maxObservations;
    private readonly Dictionary<string, Vm> _byMobileNode = new(StringComparer.Ordinal);
    private readonly HashSet<MacAddress> _seen = [];
    private readonly List<MacAddress> _forget = [];
    private int _awaitingDownlink;
    private int _awaitingUplink;

    public VmTracker(TimeSpan retention, int maxPendingObservations = 4096)
    {
        Retention = retention;
        _maxObservations = maxPendingObservations;
    }

    public TimeSpan Retention { get; }

    /// <summary>Called for each VM forgotten after the retention (the data path then drops its counters too).</summary>
    public Action<MacAddress>? Forgotten { get; set; }

    public int Count => _vms.Count;

    /// <summary>Observations dropped because nobody scraped for a long time (the queue is bounded).</summary>
    public long ObservationsDropped { get; private set; }

    public IEnumerable<Vm> Vms => _vms.Values;

    public bool TryGet(MacAddress mac, out Vm vm) => _vms.TryGetValue(mac, out vm!);

    /// <summary>A session is starting (or retrying) for this VM on this port: the start of its AGE.</summary>
    public void OnSessionStarting(MacAddress mac, PortId port, string portName, Instant now)
    {
        var vm = Get(mac, now);
        if (vm.SessionSince is null || vm.PortId != port) vm.SessionSince = now;
        vm.PortId = port;
        vm.SetIdentity(vm.MobileNodeIdentifier, portName, vm.HomeNetworkPrefixes);
        if (vm.State is VmState.Detached or VmState.Deregistering) vm.State = VmState.AwaitingPolicy;
        vm.LastPresentAt = now;
    }

    /// <summary>A session's first RA went out: one registration, and a handover if the VM came from another MAG (HI 3 or 4).</summary>
    public void OnHandover(MagAction.HandoverCompleted h, string portName, Instant now)
    {
        var vm = Get(h.Mac, now);
        vm.SessionSince ??= h.Timings.AttachSeen;
        vm.PortId = h.Port;
        vm.SetIdentity(h.MobileNodeIdentifier, portName, h.HomeNetworkPrefixes);
        vm.State = VmState.Established;
        vm.LastPresentAt = now;
        vm.Registrations++;
        if (IsHandover(h.HandoffIndicator)) vm.Handovers++;
        vm.LastTrigger = h.Trigger;
        vm.LastHandoffIndicator = h.HandoffIndicator;
        vm.LastTimings = h.Timings;
        vm.LastHandoverAt = now;
        vm.LastFirstDownlink = null;
        if (!vm.AwaitingFirstDownlink) _awaitingDownlink++;
        vm.AwaitingFirstDownlink = true;
        var t = h.Timings;
        if (t.PreRegistered is not null)
        {
            vm.LastFirstUplink = null;
            if (!vm.AwaitingFirstUplink) _awaitingUplink++;
            vm.AwaitingFirstUplink = true;
            // Pre-registered: the registration happened before the VM arrived; its round trip is a stage of its own,
            // and the handover proper runs from the VM's first frame to the release of its buffer.
            Observe("pre_registration", t.Registration);
            Observe("first_ra", t.FirstRouterAdvertisementSent - t.AttachSeen);
            Observe("release", t.Total);
            return;
        }
        Observe("policy", t.PolicyAnswered - t.AttachSeen);
        Observe("pba", t.PbaReceived - t.AttachSeen);
        Observe("first_ra", t.FirstRouterAdvertisementSent - t.AttachSeen);
    }

    /// <summary>HI 3 (between MAGs) or 4 (unknown: a migration announce for a VM whose prefix this MAG did not know).</summary>
    public static bool IsHandover(HandoffIndicator hi) =>
        hi is HandoffIndicator.HandoffBetweenMagsForSameInterface or HandoffIndicator.HandoffStateUnknown;

    /// <summary>
    /// Cheap enough for every maintenance pass: for VMs that completed a handover and have not had a downlink
    /// packet yet, ask the data path whether one was delivered, and observe "attachment seen → first downlink".
    /// </summary>
    public void CheckFirstDownlinks(Instant now, FirstDeliveryLookup lookup)
    {
        if (_awaitingDownlink == 0) return;
        foreach (var vm in _vms.Values)
        {
            if (!vm.AwaitingFirstDownlink) continue;
            var attach = vm.LastTimings!.Value.AttachSeen;
            if (vm.PortId is { } port && lookup(port, out var at) && at >= vm.LastTimings.Value.PbaReceived)
            {
                var latency = at - attach;
                if (latency <= FirstDownlinkWindow)
                {
                    vm.LastFirstDownlink = latency;
                    Observe("first_downlink", latency);
                }
                StopWaiting(vm);
            }
            else if (now - attach > FirstDownlinkWindow || vm.State != VmState.Established)
            {
                StopWaiting(vm);
            }
        }
    }

    /// <summary>
    /// For VMs whose last handover was a pre-registered arrival: once the data path saw the guest's first packet into
    /// the network, observe "arrival → first uplink" (how long the guest took to answer once it ran here) and tell
    /// <paramref name="seen"/> (the MAG logs it).
    /// </summary>
    /// <summary>VMs whose first packet after a pre-registered arrival is still awaited (0 almost always: a cheap check per batch).</summary>
    public int AwaitingFirstUplinks => _awaitingUplink;

    public void CheckFirstUplinks(Instant now, FirstDeliveryLookup lookup, Action<MacAddress, PortId, TimeSpan> seen)
    {
        if (_awaitingUplink == 0) return;
        foreach (var vm in _vms.Values)
        {
            if (!vm.AwaitingFirstUplink) continue;
            var attach = vm.LastTimings!.Value.AttachSeen;
            if (vm.PortId is { } port && lookup(port, out var at) && at >= attach)
            {
                var latency = at - attach;
                vm.LastFirstUplink = latency;
                Observe("first_uplink", latency);
                seen(vm.Mac, port, latency);
                vm.AwaitingFirstUplink = false;
                _awaitingUplink--;
            }
            else if (now - attach > FirstDownlinkWindow || vm.State != VmState.Established)
            {
                vm.AwaitingFirstUplink = false;
                _awaitingUplink--;
            }
        }
    }

    private void StopWaiting(Vm vm)
    {
        vm.AwaitingFirstDownlink = false;
        _awaitingDownlink--;
    }

    /// <summary>
    /// The VMs the MAG holds now (sessions and BUL entries): update their state and identity; VMs not listed
    /// become Detached; Detached VMs older than the retention are forgotten (their series go).
    /// </summary>
    public void Refresh(IReadOnlyList<VmPresence> present, Instant now)
    {
        _seen.Clear();
        _byMobileNode.Clear();
        foreach (var vm in _vms.Values)
            if (vm.MobileNodeIdentifier.Length > 0) _byMobileNode[vm.MobileNodeIdentifier] = vm;
        foreach (var p in present)
        {
            Vm? vm;
            if (p.Port is null && p.State == VmState.Deregistering)
            {
                // A BUL entry without a session: it is the VM that had this MN-ID (if we still know it).
                if (p.MobileNodeIdentifier is null || !_byMobileNode.TryGetValue(p.MobileNodeIdentifier, out vm)) continue;
                if (_seen.Contains(vm.Mac)) continue; // it has a session too (on another port): that wins
            }
            else
            {
                vm = Get(p.Mac, now);
                if (p.Port is { } port)
                {
                    if (vm.PortId != port) vm.SessionSince = now;
                    vm.SessionSince ??= now;
                    vm.PortId = port;
                }
            }
            var hnp = p.HomeNetworkPrefixes.Count > 0 ? p.HomeNetworkPrefixes : vm.HomeNetworkPrefixes;
            vm.SetIdentity(p.MobileNodeIdentifier ?? vm.MobileNodeIdentifier, p.PortName ?? vm.PortName, hnp);
            vm.State = p.State;
            vm.LastPresentAt = now;
            _seen.Add(vm.Mac);
        }
        _forget.Clear();
        foreach (var vm in _vms.Values)
        {
            if (_seen.Contains(vm.Mac)) continue;
            if (vm.State != VmState.Detached)
            {
                vm.State = VmState.Detached;
                vm.SessionSince = null;
                vm.LastPresentAt = now;
            }
            else if (now - vm.LastPresentAt >= Retention)
            {
                _forget.Add(vm.Mac);
            }
        }
        foreach (var mac in _forget)
        {
            if (_vms.Remove(mac, out var gone))
            {
                if (gone.AwaitingFirstDownlink) _awaitingDownlink--;
                if (gone.AwaitingFirstUplink) _awaitingUplink--;
            }
            Forgotten?.Invoke(mac);
        }
    }

    /// <summary>Move the pending histogram observations into a snapshot.</summary>
    public void DrainObservations(List<HandoverObservation> into)
    {
        into.AddRange(_observations);
        _observations.Clear();
    }

    private void Observe(string stage, TimeSpan value)
    {
        if (value < TimeSpan.Zero) return;
        if (_observations.Count >= _maxObservations)
        {
            ObservationsDropped++;
            return;
        }
        _observations.Add(new HandoverObservation(stage, value.TotalSeconds));
    }

    private Vm Get(MacAddress mac, Instant now)
    {
        if (!_vms.TryGetValue(mac, out var vm))
        {
            vm = new Vm(mac) { LastPresentAt = now, State = VmState.AwaitingPolicy };
            _vms.Add(mac, vm);
        }
        return vm;
    }

    /// <summary>One VM's record. Read on the packet loop only (snapshots copy it).</summary>
    public sealed class Vm(MacAddress mac)
    {
        public MacAddress Mac { get; } = mac;
        public string MacText { get; } = mac.ToString();
        public string MobileNodeIdentifier { get; private set; } = "";
        public string PortName { get; private set; } = "";
        public IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes { get; private set; } = [];
        public string HomeNetworkPrefixText { get; private set; } = "";
        /// <summary>mn_id, mac, port, hnp: the labels of every series of this VM (a new array when one changes).</summary>
        public string[] Labels { get; private set; } = [];
        public VmState State { get; set; }
        public PortId? PortId { get; set; }
        public Instant? SessionSince { get; set; }
        public Instant LastPresentAt { get; set; }
        public long Registrations { get; set; }
        public long Handovers { get; set; }
        public AttachTrigger? LastTrigger { get; set; }
        public HandoffIndicator? LastHandoffIndicator { get; set; }
        public HandoverTimings? LastTimings { get; set; }
        public Instant LastHandoverAt { get; set; }
        /// <summary>Attachment seen → first downlink packet of the last handover, when one came within <see cref="FirstDownlinkWindow"/>.</summary>
        public TimeSpan? LastFirstDownlink { get; set; }
        public bool AwaitingFirstDownlink { get; set; }
        /// <summary>After a pre-registered arrival: the guest's first packet into the network, once seen.</summary>
        public TimeSpan? LastFirstUplink { get; set; }
        public bool AwaitingFirstUplink { get; set; }

        internal void SetIdentity(string mobileNodeIdentifier, string portName, IReadOnlyList<Ipv6Prefix> prefixes)
        {
            bool prefixesChanged = !SamePrefixes(prefixes, HomeNetworkPrefixes);
            if (!prefixesChanged && mobileNodeIdentifier == MobileNodeIdentifier && portName == PortName && Labels.Length > 0) return;
            MobileNodeIdentifier = mobileNodeIdentifier;
            PortName = portName;
            if (prefixesChanged)
            {
                HomeNetworkPrefixes = [.. prefixes];
                HomeNetworkPrefixText = string.Join(",", prefixes);
            }
            Labels = [MobileNodeIdentifier, MacText, PortName, HomeNetworkPrefixText];
        }

        private static bool SamePrefixes(IReadOnlyList<Ipv6Prefix> a, IReadOnlyList<Ipv6Prefix> b)
        {
            if (a.Count != b.Count) return false;
            for (int i = 0; i < a.Count; i++)
                if (a[i] != b[i]) return false;
            return true;
        }
    }
}
