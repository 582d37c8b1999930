using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;

namespace DataPlane.Simulation;

/// <summary>Where VMs' home network prefixes come from.</summary>
public enum PrefixSource
{
    /// <summary>Profiles name no prefix: MAGs send ::/0 and the LMA assigns from its pool.</summary>
    LmaPool,
    /// <summary>Each VM's profile (MAG policy store and LMA) names its /64.</summary>
    Profile,
}

/// <summary>Which IP versions the domain's VMs are served (RFC 5844 §3.2.2).</summary>
public enum IpService
{
    Ipv6Only,
    DualStack,
    Ipv4Only,
}

/// <summary>The shape of a simulated domain.</summary>
public sealed record DomainOptions
{
    public int MagCount { get; init; } = 2;

    /// <summary>MAG→LMA link.</summary>
    public LinkProfile Uplink { get; init; } = LinkProfile.Ideal(TimeSpan.FromMilliseconds(10));

    /// <summary>LMA→MAG link.</summary>
    public LinkProfile Downlink { get; init; } = LinkProfile.Ideal(TimeSpan.FromMilliseconds(10));

    /// <summary>VM↔MAG (a vif on the same host): near zero.</summary>
    public TimeSpan AccessDelay { get; init; } = TimeSpan.FromMicroseconds(20);

    /// <summary>Time for the policy store to answer.</summary>
    public TimeSpan PolicyDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    public PrefixSource Prefixes { get; init; } = PrefixSource.LmaPool;

    /// <summary>IP versions of the VMs' profiles (MAG and LMA alike); IPv4 needs the LMA's <see cref="Ipv4Subnet"/>.</summary>
    public IpService Service { get; init; } = IpService.Ipv6Only;

    /// <summary>The LMA's IPv4 home network (router: its first host); null: the LMA serves no IPv4.</summary>
    public Wire.Ipv4Prefix? Ipv4Subnet { get; init; } = Wire.Ipv4Prefix.Parse("10.200.0.0/24");

    /// <summary>IPv4 home addresses: from the LMA's pool (ALL_ZERO), or a static one per VM in its profile (10.200.0.100 + n).</summary>
    public PrefixSource Ipv4Addresses { get; init; } = PrefixSource.LmaPool;

    /// <summary>
    /// Null (default): the LMA's policy answers from memory. Set: the LMA's policy is an AAA stand-in that
    /// holds only the profiles it has looked up (a cache that never expires), and a look-up
    /// (RequestProfile → ProfileDecided) takes this long.
    /// </summary>
    public TimeSpan? LmaProfileLookupDelay { get; init; }

    /// <summary>Write every message to bytes and parse it back on each link.</summary>
    public bool ThroughWire { get; init; } = true;

    /// <summary>Adjust the MAG options (which start from <see cref="MagOptions.RecommendedForMigration"/> for the links' RTT).</summary>
    public Func<MagOptions, MagOptions>? ConfigureMag { get; init; }

    /// <summary>Adjust the LMA options.</summary>
    public Func<LmaOptions, LmaOptions>? ConfigureLma { get; init; }

    /// <summary>Per-MAG clock offsets (index → offset); missing entries are zero.</summary>
    public IReadOnlyList<TimeSpan> MagClockOffsets { get; init; } = [];

    /// <summary>
    /// Signalling in ESP with manual keys (RFC 5213 §4) on every MAG–LMA link (<see cref="PmipDomain.Security"/>):
    /// messages are sealed by the sender's SA database and opened by the receiver's, so duplicates die in the
    /// replay window and restarts exercise the persisted sequence state.
    /// </summary>
    public bool SignallingKeys { get; init; }

    /// <summary>MAGs (by index) left out of the LMA's authorised set.</summary>
    public IReadOnlySet<int> UnauthorizedMags { get; init; } = new HashSet<int>();
}
