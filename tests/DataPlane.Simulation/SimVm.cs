using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Simulation;

public enum VmState
{
    Off,
    Running,
    /// <summary>Stop-and-copy: neither host runs it.</summary>
    Paused,
}

/// <summary>An RA as the VM saw it.</summary>
public sealed record ReceivedRouterAdvertisement(Instant At, string Mag, MacAddress SourceMac, Ipv6Address SourceLinkLocal,
    Ipv6Address Destination, IReadOnlyList<Ipv6Prefix> Prefixes, TimeSpan ValidLifetime, TimeSpan RouterLifetime);

/// <summary>
/// A guest as the network sees it: boots (RS, DAD NS), answers NUD probes while running, and does
/// SLAAC from the RAs it receives: it keeps its address while the advertised prefix stays the same.
/// </summary>
public sealed class SimVm
{
    internal SimVm(int index, MacAddress mac, string mobileNodeIdentifier, bool ipv6 = true)
    {
        HasIpv6 = ipv6;
        Index = index;
        Mac = mac;
        MobileNodeIdentifier = mobileNodeIdentifier;
        LinkLocal = Ipv6Address.LinkLocalFromMac(mac);
    }

    public int Index { get; }
    public string Name => $"vm{Index}";
    public MacAddress Mac { get; }
    public Ipv6Address LinkLocal { get; }
    /// <summary>The guest runs IPv6 (answers NS); an IPv4-only guest does not.</summary>
    public bool HasIpv6 { get; }

    /// <summary>The IPv4 address its DHCP client holds (from the MAG's DHCP server), once it has one.</summary>
    public Ipv4Address? Ipv4Address { get; private set; }
    /// <summary>Times its IPv4 address changed while it ran (a migration that broke it).</summary>
    public int Ipv4AddressChanges { get; private set; }
    public List<string> Ipv4AddressChangeLog { get; } = [];
    public string MobileNodeIdentifier { get; }

    public VmState State { get; internal set; }

    public SimMag? Mag
    {
        get => _mag;
        internal set
        {
            if (_mag != value) Locations.Add((CurrentTime?.Invoke() ?? default, value));
            _mag = value;
        }
    }

    private SimMag? _mag;

    /// <summary>Where the VM was and since when (the MAG it runs on or is paused at; null when off): the ground truth the invariants judge paths by.</summary>
    public List<(Instant Since, SimMag? Mag)> Locations { get; } = [];

    internal Func<Instant>? CurrentTime { get; set; }

    /// <summary>Was the VM on <paramref name="mag"/> at some instant within [<paramref name="from"/>, <paramref name="to"/>]?</summary>
    public bool WasOn(SimMag mag, Instant from, Instant to)
    {
        for (int i = Locations.Count - 1; i >= 0; i--)
        {
            var (since, where) = Locations[i];
            var until = i + 1 < Locations.Count ? Locations[i + 1].Since : Instant.MaxValue;
            if (where == mag && since <= to && until >= from) return true;
            if (until < from) break;
        }
        return false;
    }
    public PortId Port { get; internal set; }
    /// <summary>When it last started running on its current MAG.</summary>
    public Instant AttachedSince { get; internal set; }

    /// <summary>The prefix of its SLAAC address, once it has one.</summary>
    public Ipv6Prefix? Prefix { get; private set; }
    public Instant AddressValidUntil { get; private set; }
    /// <summary>Times an RA made it move to a different prefix without a reboot (a migration that broke its address).</summary>
    public int AddressChanges { get; private set; }
    public int RouterAdvertisementsReceived { get; private set; }
    /// <summary>When and how its address changed without a reboot.</summary>
    public List<string> AddressChangeLog { get; } = [];
    public int NudProbesAnswered { get; internal set; }
    public ReceivedRouterAdvertisement? LastRouterAdvertisement { get; private set; }

    /// <summary>Every RA received, when not null (opt-in).</summary>
    public List<ReceivedRouterAdvertisement>? RouterAdvertisementLog { get; set; }

    /// <summary>A (re)booted guest configures its address from scratch: only changes while it runs count.</summary>
    internal void ForgetAddress()
    {
        Prefix = null;
        AddressValidUntil = default;
        Ipv4Address = null;
    }

    internal void OnIpv4Address(SimMag mag, Ipv4Assignment assignment, Instant now)
    {
        if (Ipv4Address is { } old && old != assignment.HomeAddress)
        {
            Ipv4AddressChanges++;
            Ipv4AddressChangeLog.Add($"{now} on {mag.Name}: {old} → {assignment.HomeAddress}");
        }
        Ipv4Address = assignment.HomeAddress;
    }

    internal void OnIpv4Released() => Ipv4Address = null;

    public bool HasValidAddress(Instant now) => Prefix is not null && now < AddressValidUntil;

    internal void OnRouterAdvertisement(SimMag mag, MagAction.SendRouterAdvertisement ra, Instant now)
    {
        RouterAdvertisementsReceived++;
        var received = new ReceivedRouterAdvertisement(now, mag.Name, ra.SourceMac, ra.SourceLinkLocal, ra.Destination, ra.Prefixes,
            ra.ValidLifetime, ra.RouterLifetime);
        LastRouterAdvertisement = received;
        RouterAdvertisementLog?.Add(received);
        if (ra.Prefixes.Count == 0) return;
        if (Prefix is { } current && ra.Prefixes.Contains(current))
        {
            AddressValidUntil = now + ra.ValidLifetime;
            return;
        }
        if (Prefix is not null)
        {
            AddressChanges++;
            AddressChangeLog.Add($"{now} on {mag.Name}: {Prefix} → {ra.Prefixes[0]}");
        }
        Prefix = ra.Prefixes[0];
        AddressValidUntil = now + ra.ValidLifetime;
    }
}
