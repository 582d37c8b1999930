using DataPlane.Protocol.Heartbeat;
using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// MAG settings. Defaults are the RFC values where the RFC has one (the safe choice when nothing is
/// known about the network); <see cref="RecommendedForMigration"/> gives the faster values we use for
/// VM migration. docs/protocol.md explains each choice.
/// </summary>
public sealed record MagOptions
{
    /// <summary>The MAG's Proxy Care-of Address: source of its PBUs, tunnel endpoint. Required.</summary>
    public Ipv6Address ProxyCareOfAddress { get; init; }

    /// <summary>Link-local address of every MAG on every access link (RFC 5213 §6.8, Link-local Address option).</summary>
    public Ipv6Address SharedLinkLocalAddress { get; init; } = PmipDefaults.SharedMagLinkLocalAddress;

    /// <summary>MAC of every MAG on every access link (RFC 6543's 00-00-5E-00-52-13).</summary>
    public MacAddress SharedMacAddress { get; init; } = PmipDefaults.SharedMagMacAddress;

    /// <summary>This MAG's RFC 5847 Restart Counter; the host persists it and increments it on every start.</summary>
    public uint RestartCounter { get; init; }

    /// <summary>Lifetime requested in PBUs (the LMA may grant less). Not an RFC default; 1 h.</summary>
    public TimeSpan BindingLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Refresh when this fraction of the granted lifetime has passed (minus up to 5% jitter to spread load).</summary>
    public double RefreshFraction { get; init; } = 0.75;

    /// <summary>Wait before the first retransmission of a first registration. RFC 5213 §6.9.4 InitialBindackTimeoutFirstReg: 1.5 s.</summary>
    public TimeSpan InitialBindackTimeoutFirstReg { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Same for refreshes and de-registrations. RFC 6275 §13 INITIAL_BINDACK_TIMEOUT: 1 s.</summary>
    public TimeSpan InitialBindackTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The doubling stops here. RFC 6275 §13 MAX_BINDACK_TIMEOUT: 32 s.</summary>
    public TimeSpan MaxBindackTimeout { get; init; } = TimeSpan.FromSeconds(32);

    /// <summary>PBUs sent per transaction (first + retransmissions) before giving up. RFC 6275 sets no limit; 6 spans ~1 min with the RFC timeouts.</summary>
    public int MaxPbuTransmissions { get; init; } = 6;

    /// <summary>Send the Timestamp option (RFC 5213 §5.5). Off makes the LMA order PBUs by sequence number.</summary>
    public bool SendTimestamp { get; init; } = true;

    /// <summary>Shortest time between periodic RAs to one VM. RFC 4861 MinRtrAdvInterval default: 0.33 × Max.</summary>
    public TimeSpan MinRtrAdvInterval { get; init; } = TimeSpan.FromSeconds(200);

    /// <summary>Longest time between periodic RAs to one VM (uniformly jittered between Min and Max). RFC 4861 default 600 s.</summary>
    public TimeSpan MaxRtrAdvInterval { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>Router Lifetime in RAs (capped by the binding's remaining lifetime). RFC 4861 AdvDefaultLifetime 3 × Max = 1800 s.</summary>
    public TimeSpan RouterLifetime { get; init; } = TimeSpan.FromSeconds(1800);

    /// <summary>Preferred lifetime cap for the HNPs (valid lifetime is the binding's remaining lifetime). RFC 4861 AdvPreferredLifetime 7 days.</summary>
    public TimeSpan PreferredLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>MTU option in RAs: the tunnel MTU (path MTU − 40, RFC 2473). Null omits it.</summary>
    public uint? AdvertisedMtu { get; init; } = 1460;

    /// <summary>Minimum time between solicited RAs to one VM; RSs arriving faster are counted and dropped (a hostile VM may flood RS).</summary>
    public TimeSpan RouterSolicitationMinInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Minimum time since the last accepted registration before a migration announce on an established session re-registers.</summary>
    public TimeSpan AnnounceReregistrationMinInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>After this long without a reachability confirmation, NUD starts probing. RFC 4861 REACHABLE_TIME: 30 s.</summary>
    public TimeSpan NudReachableTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time between NUD probes. RFC 4861 RETRANS_TIMER: 1 s.</summary>
    public TimeSpan NudProbeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Unanswered probes before the VM is declared detached. RFC 4861 MAX_UNICAST_SOLICIT: 3.</summary>
    public int NudMaxProbes { get; init; } = 3;

    /// <summary>How long to wait for the policy store before failing the attempt (and retrying).</summary>
    public TimeSpan PolicyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>First retry delay after a retryable failure; doubles per consecutive failure.</summary>
    public TimeSpan FailedSessionRetryInitial { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on the retry delay.</summary>
    public TimeSpan FailedSessionRetryMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>After a non-retryable failure (denied, 129, 154, 155…), triggers from the VM are ignored this long.</summary>
    public TimeSpan RejectedSessionHoldOff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>RFC 5847 heartbeat towards the LMAs this MAG has bindings with.</summary>
    public HeartbeatOptions Heartbeat { get; init; } = new();

    /// <summary>
    /// RFC 5213 §6.10.3 EnableMAGLocalRouting: traffic between two VMs attached to this MAG is routed here instead of
    /// through the LMA. The RFC's default is off (§9.2), for operators who need every packet to pass the LMA; ours is
    /// on, because the traffic of a cloud is mostly VM to VM and the trip through a distant LMA is what makes it slow
    /// (docs/protocol.md, "Optimized routing"). The data path reads it.
    /// </summary>
    public bool EnableMagLocalRouting { get; init; } = true;

    /// <summary>Take part in RFC 6705 localized routing when the LMA initiates it (LRIs answered 0); off answers 128.</summary>
    public bool LocalizedRouting { get; init; } = true;

    /// <summary>Longest lifetime granted to an LRI (an infinite or longer request gets this).</summary>
    public TimeSpan MaxLocalizedRoutingLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Direct routes held at once; LRIs beyond are refused (128), so a confused LMA cannot grow our memory without bound.</summary>
    public int MaxLocalizedRoutes { get; init; } = 65_536;

    /// <summary>
    /// Register a live migration's VM ahead of its arrival when its destination port is plugged in (`port add
    /// --incoming` with the MAC): a transient binding (RFC 6058), its downlink buffered here, so that the VM's arrival
    /// costs no round trip to the LMA. Off: the VM's first frame registers it, as without pre-registration.
    /// </summary>
    public bool PreRegistration { get; init; } = true;

    /// <summary>Lifetime asked for the transient binding; it is refreshed at half of what the LMA grants while the VM has not arrived. At most 25.5 s (RFC 6058).</summary>
    public TimeSpan TransientLifetime { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A pre-registered VM that has not arrived after this long is given up (its port stays, awaiting it).</summary>
    public TimeSpan PreRegistrationTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a VM that arrived waits for the source's delivery marker before its buffer is released without it
    /// (then what arrived before the VM is dropped: the source may have delivered it). Null: the pre-registration's own
    /// PBU→PBA round trip plus 10 ms, since the marker crosses MAG→LMA→MAG.
    /// </summary>
    public TimeSpan? EndMarkerWait { get; init; }

    /// <summary>
    /// Faster values for live migration, where the whole handover should cost one MAG–LMA round trip:
    /// the first retransmission a little after the worst expected RTT instead of 1.5 s, a 4 s cap so a
    /// lost PBA during an outage costs seconds rather than half a minute, more tries to cover the same
    /// span, and heartbeats every 5 s so an LMA restart is noticed quickly.
    /// </summary>
    public static MagOptions RecommendedForMigration(Ipv6Address proxyCareOfAddress, TimeSpan worstRoundTrip)
    {
        var first = worstRoundTrip + worstRoundTrip / 4 + TimeSpan.FromMilliseconds(20);
        return new MagOptions
        {
            ProxyCareOfAddress = proxyCareOfAddress,
            InitialBindackTimeoutFirstReg = first,
            InitialBindackTimeout = first,
            MaxBindackTimeout = TimeSpan.FromSeconds(4),
            MaxPbuTransmissions = 10,
            FailedSessionRetryMax = TimeSpan.FromSeconds(30),
            Heartbeat = new HeartbeatOptions { Interval = TimeSpan.FromSeconds(5), MissingHeartbeatsAllowed = 3 },
        };
    }

    /// <summary>Throws <see cref="ProtocolOptionsException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        const string p = "Mag.";
        Check.That(ProxyCareOfAddress.IsUnicast && !ProxyCareOfAddress.IsLinkLocal && ProxyCareOfAddress != Ipv6Address.Loopback,
            p + nameof(ProxyCareOfAddress), $"must be a global unicast address (was {ProxyCareOfAddress})");
        Check.That(SharedLinkLocalAddress.IsLinkLocal, p + nameof(SharedLinkLocalAddress), $"must be link-local (was {SharedLinkLocalAddress})");
        Check.That(SharedMacAddress.IsUnicast && !SharedMacAddress.IsZero, p + nameof(SharedMacAddress), $"must be a unicast MAC (was {SharedMacAddress})");
        Check.That(BindingLifetime >= TimeSpan.FromSeconds(8) && BindingLifetime <= PmipDefaults.MaxWireLifetime,
            p + nameof(BindingLifetime), $"must be between 8 s and {PmipDefaults.MaxWireLifetime} (was {BindingLifetime})");
        Check.That(RefreshFraction is >= 0.1 and <= 0.95, p + nameof(RefreshFraction), $"must be within 0.1..0.95 (was {RefreshFraction})");
        Check.Positive(InitialBindackTimeoutFirstReg, p + nameof(InitialBindackTimeoutFirstReg));
        Check.Positive(InitialBindackTimeout, p + nameof(InitialBindackTimeout));
        Check.That(MaxBindackTimeout >= InitialBindackTimeout && MaxBindackTimeout >= InitialBindackTimeoutFirstReg,
            p + nameof(MaxBindackTimeout), "must not be shorter than the initial timeouts");
        Check.AtLeast(MaxPbuTransmissions, 1, p + nameof(MaxPbuTransmissions));
        Check.Positive(MinRtrAdvInterval, p + nameof(MinRtrAdvInterval));
        Check.That(MaxRtrAdvInterval >= MinRtrAdvInterval, p + nameof(MaxRtrAdvInterval), "must not be shorter than MinRtrAdvInterval");
        // An RA must land between a refresh and the old expiry, or the VM's prefix would lapse.
        Check.That(MaxRtrAdvInterval < BindingLifetime * (1 - RefreshFraction), p + nameof(MaxRtrAdvInterval),
            $"must be shorter than the part of the lifetime left at refresh ({BindingLifetime * (1 - RefreshFraction)})");
        Check.That(RouterLifetime >= TimeSpan.Zero && RouterLifetime <= TimeSpan.FromSeconds(9000), p + nameof(RouterLifetime),
            "must be within 0..9000 s (RFC 4861)");
        Check.Positive(PreferredLifetime, p + nameof(PreferredLifetime));
        Check.That(AdvertisedMtu is null or >= 1280, p + nameof(AdvertisedMtu), "must be at least 1280 (the IPv6 minimum)");
        Check.NotNegative(RouterSolicitationMinInterval, p + nameof(RouterSolicitationMinInterval));
        Check.NotNegative(AnnounceReregistrationMinInterval, p + nameof(AnnounceReregistrationMinInterval));
        Check.Positive(NudReachableTime, p + nameof(NudReachableTime));
        Check.Positive(NudProbeInterval, p + nameof(NudProbeInterval));
        Check.AtLeast(NudMaxProbes, 1, p + nameof(NudMaxProbes));
        Check.Positive(PolicyTimeout, p + nameof(PolicyTimeout));
        Check.Positive(FailedSessionRetryInitial, p + nameof(FailedSessionRetryInitial));
        Check.That(FailedSessionRetryMax >= FailedSessionRetryInitial, p + nameof(FailedSessionRetryMax), "must not be shorter than FailedSessionRetryInitial");
        Check.NotNegative(RejectedSessionHoldOff, p + nameof(RejectedSessionHoldOff));
        Heartbeat.Validate(p + nameof(Heartbeat) + ".");
        Check.That(MaxLocalizedRoutingLifetime >= TimeSpan.FromSeconds(1) && MaxLocalizedRoutingLifetime <= TimeSpan.FromSeconds(0xFFFE),
            p + nameof(MaxLocalizedRoutingLifetime), "must be within 1 s..65534 s");
        Check.AtLeast(MaxLocalizedRoutes, 0, p + nameof(MaxLocalizedRoutes));
        Check.That(TransientLifetime >= TimeSpan.FromSeconds(1) && TransientLifetime <= TransientBindingOption.MaxLifetime,
            p + nameof(TransientLifetime), $"must be between 1 s and {TransientBindingOption.MaxLifetime.TotalSeconds} s (RFC 6058)");
        Check.Positive(PreRegistrationTimeout, p + nameof(PreRegistrationTimeout));
        Check.That(EndMarkerWait is null || (EndMarkerWait >= TimeSpan.Zero && EndMarkerWait <= TimeSpan.FromSeconds(10)),
            p + nameof(EndMarkerWait), "must be within 0..10 s");
    }
}
