using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>Which triggers a VM (or its hypervisor) emits; a set of flags.</summary>
[Flags]
public enum VmTriggers
{
    None = 0,
    HotplugOnline = 1,
    RouterSolicitation = 2,
    DadNeighborSolicitation = 4,
    Rarp = 8,
    UnsolicitedNeighborAdvertisement = 16,
    GratuitousArp = 32,
    /// <summary>A DHCPDISCOVER (an IPv4 guest configuring its address).</summary>
    Dhcp = 64,
    Boot = HotplugOnline | RouterSolicitation | DadNeighborSolicitation,
    /// <summary>An IPv4-only guest's boot: the hotplug script, then its DHCPDISCOVER.</summary>
    Ipv4Boot = HotplugOnline | Dhcp,
    /// <summary>QEMU's RARP and an IPv4 guest's gratuitous ARP after a live migration.</summary>
    Ipv4MigrationAnnounce = Rarp | GratuitousArp,
    /// <summary>What QEMU and a Linux guest send after a live migration, without the hotplug script.</summary>
    MigrationAnnounce = Rarp | UnsolicitedNeighborAdvertisement,
}

/// <summary>
/// A whole PMIPv6 domain in one process: an LMA, several MAG hosts, VMs, a policy store, MAG↔LMA
/// links, all on one <see cref="Simulation"/>. Operations (boot, migrate, shut down, restart the LMA,
/// break links) schedule events; <see cref="Simulation.RunFor"/> plays them.
/// </summary>
public sealed partial class PmipDomain
{
    public static Ipv6Address LmaAddress { get; } = Ipv6Address.Parse("2001:db8:0:1::1");
    public static Ipv6Prefix PoolPrefix { get; } = Ipv6Prefix.Parse("2001:db8:100::/48");

    private readonly List<SimMag> _mags = [];
    private readonly List<SimVm> _vms = [];
    private int _nextVmIndex;

    public PmipDomain(long seed, DomainOptions? options = null)
    {
        Options = options ?? new DomainOptions();
        Sim = new Simulation(seed);
        Tracker = new HandoverTracker(Sim);
        LmaPolicy = new InMemoryLmaPolicy { AllowUnknownMobileNodes = true };

        var magAddresses = Enumerable.Range(0, Options.MagCount).Select(MagAddress).ToArray();
        var authorized = magAddresses.Where((_, i) => !Options.UnauthorizedMags.Contains(i)).ToHashSet();
        var lmaOptions = new LmaOptions
        {
            LocalMobilityAnchorAddress = LmaAddress,
            AuthorizedMags = authorized,
            HomeNetworkPrefixPool = PoolPrefix,
            Ipv4HomeNetwork = Options.Ipv4Subnet is { } subnet ? Ipv4HomeNetwork.WithFirstHostAsRouter(subnet) : null,
            Heartbeat = new() { Interval = TimeSpan.FromSeconds(5) },
        };
        LmaPolicy.UnknownMobileNodeProfile = new LmaMobileNodeProfile([])
        {
            Ipv6Service = Options.Service != IpService.Ipv4Only,
            Ipv4Service = Options.Service != IpService.Ipv6Only,
        };
        ILmaPolicy lmaPolicy = LmaPolicy;
        if (Options.LmaProfileLookupDelay is not null) lmaPolicy = LmaProfileCache = new SimLmaProfileCache(LmaPolicy);
        Lma = new SimLma(this, Options.ConfigureLma?.Invoke(lmaOptions) ?? lmaOptions, lmaPolicy);

        if (Options.SignallingKeys) Security = new SimSecurity(Sim, LmaAddress, magAddresses);
        var rtt = Options.Uplink.Delay + Options.Uplink.Jitter + Options.Downlink.Delay + Options.Downlink.Jitter;
        for (int i = 0; i < Options.MagCount; i++)
        {
            var magOptions = MagOptions.RecommendedForMigration(magAddresses[i], rtt);
            magOptions = Options.ConfigureMag?.Invoke(magOptions) ?? magOptions;
            var offset = i < Options.MagClockOffsets.Count ? Options.MagClockOffsets[i] : TimeSpan.Zero;
            var mag = new SimMag(this, i, magAddresses[i], magOptions, offset);
            mag.Uplink = new SimLink(Sim, $"{mag.Name}→lma", Options.Uplink,
                (src, msg) => Lma.Deliver(new LmaEvent.MobilityMessageReceived(src, msg)), Options.ThroughWire, Security);
            Lma.Downlinks[mag.Address] = new SimLink(Sim, $"lma→{mag.Name}", Options.Downlink,
                (src, msg) => mag.Deliver(new MagEvent.MobilityMessageReceived(src, msg)), Options.ThroughWire, Security);
            _mags.Add(mag);
        }
    }

    public DomainOptions Options { get; }

    /// <summary>With <see cref="DomainOptions.SignallingKeys"/>: every node's SA database; otherwise null.</summary>
    public SimSecurity? Security { get; }
    public Simulation Sim { get; }
    public SimLma Lma { get; }
    public IReadOnlyList<SimMag> Mags => _mags;
    public IReadOnlyList<SimVm> Vms => _vms;
    public SimPolicyStore Policy { get; } = new();
    public InMemoryLmaPolicy LmaPolicy { get; }

    /// <summary>With <see cref="DomainOptions.LmaProfileLookupDelay"/>: the LMA's view of the AAA server (what it has looked up).</summary>
    public SimLmaProfileCache? LmaProfileCache { get; }
    public HandoverTracker Tracker { get; }

    /// <summary>When links were last disturbed (profile changed); invariants allow time to recover from it.</summary>
    public Instant LastDisturbance { get; private set; }

    public static Ipv6Address MagAddress(int index) => new(0x2001_0db8_0000_0002UL, (ulong)index + 1);

    public static Ipv6Prefix ProfilePrefix(int vmIndex) => new(new Ipv6Address(0x2001_0db8_0200_0000UL | (uint)vmIndex, 0), 64);

    /// <summary>VM n's static IPv4 home address with <see cref="PrefixSource.Profile"/>: 10.200.0.100 + n.</summary>
    public static Ipv4Address ProfileIpv4Address(int vmIndex) => new(0x0AC8_0064u + (uint)vmIndex);

    public SimLink Downlink(SimMag mag) => Lma.Downlinks[mag.Address];

    /// <summary>Change both directions of a MAG's link to the LMA (a fault, or its end).</summary>
    public void SetLinks(SimMag mag, LinkProfile uplink, LinkProfile downlink)
    {
        mag.Uplink.Profile = uplink;
        Downlink(mag).Profile = downlink;
        LastDisturbance = Sim.Now;
    }

    /// <summary>A VM authorised in the policy store (and at the LMA), not yet booted.</summary>
    public SimVm AddVm()
    {
        // Not _vms.Count: Forget removes VMs, and a new VM must never take a live one's MAC and MN-ID.
        int n = _nextVmIndex++;
        var mac = MacAddress.FromUInt64(0x5254_0000_0000UL | (uint)n);
        var vm = new SimVm(n, mac, $"vm{n}@sim.dataplane.test", ipv6: Options.Service != IpService.Ipv4Only) { CurrentTime = () => Sim.Now };
        IReadOnlyList<Ipv6Prefix> prefixes = Options.Prefixes == PrefixSource.Profile ? [ProfilePrefix(n)] : [];
        bool ipv6 = Options.Service != IpService.Ipv4Only, ipv4 = Options.Service != IpService.Ipv6Only;
        Ipv4Address? fixedIpv4 = ipv4 && Options.Ipv4Addresses == PrefixSource.Profile ? ProfileIpv4Address(n) : null;
        Policy.Allow(mac, new VmProfile(vm.MobileNodeIdentifier, prefixes, LmaAddress, fixedIpv4)
        {
            Ipv6Service = ipv6, Ipv4Service = ipv4, Ipv4PrefixLength = Options.Ipv4Subnet?.Length ?? 0,
        });
        if (Options.Prefixes == PrefixSource.Profile || fixedIpv4 is not null)
            LmaPolicy.SetProfile(vm.MobileNodeIdentifier, new LmaMobileNodeProfile(prefixes) { Ipv6Service = ipv6, Ipv4Service = ipv4, Ipv4HomeAddress = fixedIpv4 });
        _vms.Add(vm);
        return vm;
    }

    /// <summary>
    /// Drop an off VM from the harness (its policy entry and record), so a churn soak of many VMs measures the
    /// machines' memory rather than the harness's own per-VM bookkeeping.
    /// </summary>
    public void Forget(SimVm vm)
    {
        if (vm.State != VmState.Off) throw new InvalidOperationException($"{vm.Name} is {vm.State}");
        Policy.Forget(vm.Mac);
        Tracker.Forget(vm);
        _vms.Remove(vm);
    }

    /// <summary>Start the VM on a MAG: hotplug online, then its boot-time RS and DAD NS.</summary>
    public void Boot(SimVm vm, SimMag mag, VmTriggers triggers = VmTriggers.Boot)
    {
        if (vm.State != VmState.Off) throw new InvalidOperationException($"{vm.Name} is {vm.State}");
        vm.ForgetAddress();
        AttachAt(vm, mag, triggers);
    }

    /// <summary>Power the VM off: its port goes offline.</summary>
    public void Shutdown(SimVm vm)
    {
        if (vm.Mag is not { } mag) return;
        Tracker.Abandon(vm);
        // Paused in an old-MAG-first migration, the source port is already gone.
        if (mag.VmOn(vm.Port) == vm) DetachFrom(vm, mag, vm.Port, hotplug: true);
        vm.State = VmState.Off;
        vm.Mag = null;
    }

    /// <summary>
    /// Live-migrate: the VM pauses (stop-and-copy) for <paramref name="pause"/> and resumes on
    /// <paramref name="to"/>, which then sees <paramref name="triggers"/>. The source port goes away
    /// either before the pause (old MAG de-registers first) or <paramref name="sourceDetachDelay"/> after
    /// the resume (new MAG registers first); with <paramref name="sourceHotplug"/> false the source gets
    /// no hotplug event and must notice by NUD.
    /// </summary>
    public HandoverRecord Migrate(SimVm vm, SimMag to, MigrationOrder order, TimeSpan pause,
        VmTriggers triggers = VmTriggers.MigrationAnnounce, bool sourceHotplug = true, TimeSpan? sourceDetachDelay = null)
    {
        if (vm.State != VmState.Running || vm.Mag is not { } from) throw new InvalidOperationException($"{vm.Name} is not running");
        if (from == to) throw new ArgumentException("migrating to the same MAG", nameof(to));
        var record = new HandoverRecord(vm, from, to, order, Sim.Now) { PrefixBefore = vm.Prefix, Ipv4Before = vm.Ipv4Address };
        Tracker.Begin(record);
        var port = vm.Port;
        vm.State = VmState.Paused;
        // A shutdown during the pause cancels the rest of the migration.
        bool StillMigrating() => vm.State == VmState.Paused && vm.Mag == from;
        if (order == MigrationOrder.OldMagDeregistersFirst)
        {
            DetachFrom(vm, from, port, sourceHotplug);
            Sim.Schedule(pause, () => { if (StillMigrating()) AttachAt(vm, to, triggers); });
        }
        else
        {
            Sim.Schedule(pause, () =>
            {
                if (!StillMigrating()) return;
                AttachAt(vm, to, triggers);
                Sim.Schedule(sourceDetachDelay ?? TimeSpan.FromMilliseconds(50), () => DetachFrom(vm, from, port, sourceHotplug));
            });
        }
        return record;
    }

    /// <summary>Crash the LMA; it returns after <paramref name="downtime"/> with an empty cache.</summary>
    public void RestartLma(TimeSpan downtime) => Lma.Restart(downtime);

    /// <summary>Send a hand-made PBU from a MAG's address (for malformed-PBU tests); the PBA lands in that MAG's machine.</summary>
    public void InjectFromMag(SimMag mag, MobilityMessage message) => mag.Uplink.Send(mag.Address, LmaAddress, message);

    /// <summary>The LMA asks the AAA stand-in; the answer comes back after the delay (to the same LMA incarnation only).</summary>
    internal void RequestLmaProfile(LmaAction.RequestProfile request)
    {
        var profile = LmaPolicy.GetProfile(request.MobileNodeIdentifier);
        int incarnation = Lma.Restarts;
        Sim.Schedule(Options.LmaProfileLookupDelay ?? TimeSpan.Zero, () =>
        {
            if (Lma.Restarts != incarnation) return;
            LmaProfileCache?.Store(request.MobileNodeIdentifier, profile);
            Lma.Deliver(new LmaEvent.ProfileDecided(request.RequestId, profile));
        });
    }

    internal void RequestPolicy(SimMag mag, MagAction.RequestPolicy request)
    {
        Policy.Requests++;
        if (Policy.Unresponsive) return;
        var profile = Policy.Lookup(request.Mac);
        Sim.Schedule(Policy.Delay + Options.PolicyDelay, () =>
            mag.Deliver(new MagEvent.PolicyDecided(request.RequestId, profile, profile is null ? "denied by the policy store" : null)));
    }

    private void AttachAt(SimVm vm, SimMag mag, VmTriggers triggers)
    {
        vm.Port = mag.Plug(vm);
        vm.Mag = mag;
        vm.State = VmState.Running;
        vm.AttachedSince = Sim.Now;
        var port = vm.Port;
        var access = Options.AccessDelay;
        void Trigger(VmTriggers flag, AttachTrigger kind, Ipv6Address? ll, TimeSpan after)
        {
            if ((triggers & flag) == 0) return;
            Sim.Schedule(access + after, () =>
            {
                if (vm.Mag == mag && vm.Port == port) mag.Deliver(new MagEvent.AttachmentDetected(port, kind, vm.Mac, ll));
            });
        }
        // Order as seen on a real host: the hotplug script, then the hypervisor's RARP, then the guest.
        Trigger(VmTriggers.HotplugOnline, AttachTrigger.HotplugOnline, null, TimeSpan.Zero);
        Trigger(VmTriggers.Rarp, AttachTrigger.Rarp, null, TimeSpan.FromMicroseconds(100));
        Trigger(VmTriggers.UnsolicitedNeighborAdvertisement, AttachTrigger.UnsolicitedNeighborAdvertisement, vm.LinkLocal, TimeSpan.FromMicroseconds(200));
        Trigger(VmTriggers.GratuitousArp, AttachTrigger.GratuitousArp, null, TimeSpan.FromMicroseconds(300));
        Trigger(VmTriggers.RouterSolicitation, AttachTrigger.RouterSolicitation, vm.LinkLocal, TimeSpan.FromMilliseconds(1));
        Trigger(VmTriggers.DadNeighborSolicitation, AttachTrigger.DadNeighborSolicitation, vm.LinkLocal, TimeSpan.FromMilliseconds(2));
        Trigger(VmTriggers.Dhcp, AttachTrigger.Dhcp, null, TimeSpan.FromMilliseconds(3));
    }

    private void DetachFrom(SimVm vm, SimMag mag, PortId port, bool hotplug)
    {
        mag.Unplug(port);
        if (hotplug)
            Sim.Schedule(Options.AccessDelay, () => mag.Deliver(new MagEvent.PortDetached(port, DetachReason.HotplugOffline)));
    }

    /// <summary>The VM's DHCP client releases its address (DHCPRELEASE), as the data path reports it to the MAG.</summary>
    public void ReleaseIpv4(SimVm vm)
    {
        if (vm.Mag is not { } mag) return;
        var port = vm.Port;
        Sim.Schedule(Options.AccessDelay, () => mag.Deliver(new MagEvent.Ipv4AddressReleased(port)));
        vm.OnIpv4Released();
    }

    /// <summary>The VM's DHCP client asks for an address (a DISCOVER on an established session), as the data path reports it.</summary>
    public void RequestIpv4(SimVm vm)
    {
        if (vm.Mag is not { } mag) return;
        var port = vm.Port;
        Sim.Schedule(Options.AccessDelay, () => mag.Deliver(new MagEvent.Ipv4AddressRequested(port)));
    }

    /// <summary>Have the VM (or its hypervisor) send one trigger frame to its current MAG now, e.g. an RS.</summary>
    public void SendTrigger(SimVm vm, AttachTrigger trigger = AttachTrigger.RouterSolicitation)
    {
        if (vm.Mag is not { } mag) return;
        var port = vm.Port;
        Ipv6Address? ll = trigger is AttachTrigger.Rarp or AttachTrigger.GratuitousArp or AttachTrigger.HotplugOnline or AttachTrigger.Dhcp
            or AttachTrigger.ArpRequest ? null : vm.LinkLocal;
        Sim.Schedule(Options.AccessDelay, () => mag.Deliver(new MagEvent.AttachmentDetected(port, trigger, vm.Mac, ll)));
    }
}
