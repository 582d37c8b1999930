using DataPlane.Protocol.Heartbeat;
using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>LMA settings; defaults are RFC 5213 §9.3's where it has one.</summary>
public sealed record LmaOptions
{
    /// <summary>The LMA's address: destination of PBUs, tunnel endpoint. Required.</summary>
    public Ipv6Address LocalMobilityAnchorAddress { get; init; }

    /// <summary>MAGs allowed to send PBUs (their Proxy-CoAs). <see cref="ILmaPolicy.IsMagAuthorized"/> may allow more.</summary>
    public IReadOnlySet<Ipv6Address> AuthorizedMags { get; init; } = new HashSet<Ipv6Address>();

    /// <summary>After a de-registration the entry is kept this long so the next MAG continues the same session. RFC 5213: 10 s.</summary>
    public TimeSpan MinDelayBeforeBceDelete { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>An ambiguous handoff (HI 4 and nothing that proves it is the same interface) waits this long for the old MAG's de-registration. RFC 5213: 1.5 s.</summary>
    public TimeSpan MaxDelayBeforeNewBceAssign { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Largest allowed difference between a PBU's timestamp and the LMA's clock. RFC 5213: 300 ms.</summary>
    public TimeSpan TimestampValidityWindow { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Upper bound on granted lifetimes.</summary>
    public TimeSpan MaxBindingLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Where HNPs come from when the profile names none and the PBU asks for ::/0; null: profiles only.</summary>
    public Ipv6Prefix? HomeNetworkPrefixPool { get; init; }

    /// <summary>
    /// The IPv4 home network (RFC 5844): the subnet IPv4 home addresses are allocated from and anchored in,
    /// and its default router. Null: no IPv4 service (PBUs with an IPv4 Home Address Request get 170).
    /// </summary>
    public Ipv4HomeNetwork? Ipv4HomeNetwork { get; init; }

    /// <summary>Length of each assigned HNP (64 for SLAAC).</summary>
    public int AssignedPrefixLength { get; init; } = 64;

    /// <summary>Refuse new entries beyond this many (status 130).</summary>
    public int MaxBindingCacheEntries { get; init; } = 1_000_000;

    /// <summary>Refuse ambiguous handoffs beyond this many waiting at once (status 130).</summary>
    public int MaxParkedRegistrations { get; init; } = 10_000;

    /// <summary>
    /// How long PBUs wait for the host's answer to <see cref="LmaAction.RequestProfile"/> (an asynchronous
    /// policy such as RADIUS) before they are refused with 128, which the MAG retries. The host's own
    /// look-up should give up first, so that its failure policy decides.
    /// </summary>
    public TimeSpan ProfileLookupTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Order PBUs without a Timestamp option by sequence number (RFC 5213 §5.5 allows either); false refuses them with 156.</summary>
    public bool AllowSequenceNumberOrdering { get; init; } = true;

    /// <summary>
    /// Whether binding changes go to a replicated store (the etcd section) and when the PBA of a change goes
    /// out: <see cref="BindingPersistence.None"/> keeps the cache in memory only (the embedded default).
    /// </summary>
    public BindingPersistence Persistence { get; init; } = BindingPersistence.None;

    /// <summary>RFC 5847 Restart Counter; the host persists it and increments it on every start.</summary>
    public uint RestartCounter { get; init; }

    /// <summary>RFC 5847 heartbeat towards the MAGs that have tunnels.</summary>
    public HeartbeatOptions Heartbeat { get; init; } = new();

    /// <summary>
    /// Mobility Header messages accepted per second from one MAG (and, together, from all unauthorised sources);
    /// more are dropped unanswered and counted (<see cref="LmaCounters.MessagesRateLimited"/>). The default covers a
    /// MAG re-registering thousands of VMs after an LMA restart within seconds (its retransmissions carry the rest).
    /// </summary>
    public int MaxMessagesPerMagPerSecond { get; init; } = 2000;

    /// <summary>Messages from one MAG accepted at once above the rate.</summary>
    public int MaxMessageBurstPerMag { get; init; } = 4000;

    /// <summary>RFC 6705: direct MAG–MAG routes for pairs of VMs bound here that talk across two MAGs.</summary>
    public LocalizedRoutingOptions LocalizedRouting { get; init; } = new();

    /// <summary>
    /// <summary>
    /// While a MAG holds a transient binding (a live migration's destination, pre-registered), copy every downlink
    /// packet to it as well (bicast), so that it has what was sent during the VM's stop when the VM resumes there.
    /// False: downlink moves to it only when the serving MAG reports the VM stopped.
    /// </summary>
    public bool Bicast { get; init; } = true;

    /// <summary>Upper bound on a transient binding's lifetime (the MAG refreshes it while it waits). RFC 6058's option carries at most 25.5 s.</summary>
    public TimeSpan MaxTransientLifetime { get; init; } = TransientBindingOption.MaxLifetime;

    /// <summary>Throws <see cref="ProtocolOptionsException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        const string p = "Lma.";
        var a = LocalMobilityAnchorAddress;
        Check.That(a.IsUnicast && !a.IsLinkLocal && a != Ipv6Address.Loopback, p + nameof(LocalMobilityAnchorAddress),
            $"must be a global unicast address (was {a})");
        Check.Positive(MinDelayBeforeBceDelete, p + nameof(MinDelayBeforeBceDelete));
        Check.Positive(MaxDelayBeforeNewBceAssign, p + nameof(MaxDelayBeforeNewBceAssign));
        Check.Positive(TimestampValidityWindow, p + nameof(TimestampValidityWindow));
        Check.That(MaxBindingLifetime >= TimeSpan.FromSeconds(4) && MaxBindingLifetime <= PmipDefaults.MaxWireLifetime,
            p + nameof(MaxBindingLifetime), $"must be between 4 s and {PmipDefaults.MaxWireLifetime}");
        Check.That(AssignedPrefixLength is >= 1 and <= 64, p + nameof(AssignedPrefixLength), "must be within 1..64");
        if (HomeNetworkPrefixPool is { } pool)
        {
            Check.That(pool.Length < AssignedPrefixLength && AssignedPrefixLength - pool.Length <= HomeNetworkPrefixPoolAllocator.MaxSlotBits,
                p + nameof(HomeNetworkPrefixPool),
                $"must be 1..{HomeNetworkPrefixPoolAllocator.MaxSlotBits} bits shorter than AssignedPrefixLength (was {pool})");
        }
        Ipv4HomeNetwork?.Validate(p + nameof(Ipv4HomeNetwork));
        Check.Positive(ProfileLookupTimeout, p + nameof(ProfileLookupTimeout));
        Check.AtLeast(MaxMessagesPerMagPerSecond, 1, p + nameof(MaxMessagesPerMagPerSecond));
        Check.AtLeast(MaxMessageBurstPerMag, 1, p + nameof(MaxMessageBurstPerMag));
        Check.AtLeast(MaxBindingCacheEntries, 1, p + nameof(MaxBindingCacheEntries));
        Check.AtLeast(MaxParkedRegistrations, 0, p + nameof(MaxParkedRegistrations));
        Heartbeat.Validate(p + nameof(Heartbeat) + ".");
        LocalizedRouting.Validate(p + nameof(LocalizedRouting) + ".");
        Check.That(MaxTransientLifetime >= TransientBindingOption.LifetimeUnit && MaxTransientLifetime <= TransientBindingOption.MaxLifetime,
            p + nameof(MaxTransientLifetime), $"must be between {TransientBindingOption.LifetimeUnit.TotalMilliseconds} ms and {TransientBindingOption.MaxLifetime.TotalSeconds} s");
    }
}

/// <summary>How binding cache changes are persisted (docs/high-availability.md measures both modes).</summary>
public enum BindingPersistence : byte
{
    /// <summary>In memory only: a restart loses the cache and the restart counter tells the MAGs to re-register.</summary>
    None,
    /// <summary>
    /// The PBA of a change goes out once the store has committed it: a MAG never holds an acknowledgement for
    /// state a standby would not have. Costs one store commit on the handover's critical path.
    /// </summary>
    AcknowledgeAfterCommit,
    /// <summary>
    /// The PBA goes out at once and the write follows: no added handover latency, but a failover within the
    /// write's latency can lose an acknowledged change, so a standby that takes over increments the restart
    /// counter (every MAG re-registers).
    /// </summary>
    AcknowledgeAsynchronously,
}
