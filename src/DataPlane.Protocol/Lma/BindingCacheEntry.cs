using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

public enum BindingCacheState : byte
{
    /// <summary>Served by a MAG; routes and tunnel installed.</summary>
    Active,
    /// <summary>De-registered by its MAG; kept for MinDelayBeforeBceDelete so the next MAG can take it over.</summary>
    AwaitingDeletion,
}

/// <summary>
/// The LMA's Binding Cache entry for one mobile node interface (RFC 5213 §5.1), with RFC 5844 §3.1.1's
/// extensions: the IPv4 home address with its subnet mask, and the IPv4 default router address. One entry holds
/// the session's IPv6 prefixes and its IPv4 home address (§3.1.2.2); either set may be empty (an IPv4-only or
/// IPv6-only node, or after a selective de-registration), never both while the entry is active. The address
/// sets change only through <see cref="BindingCache"/>, which indexes them.
/// </summary>
internal sealed partial class BindingCacheEntry(string mobileNodeIdentifier, OctetString? linkLayerIdentifier,
    AccessTechnologyType accessTechnologyType, Ipv6Prefix[] prefixes, bool prefixesFromPool)
{
    public string MobileNodeIdentifier { get; } = mobileNodeIdentifier;
    public OctetString? LinkLayerIdentifier { get; } = linkLayerIdentifier;
    public AccessTechnologyType AccessTechnologyType { get; } = accessTechnologyType;
    public Ipv6Prefix[] HomeNetworkPrefixes { get; internal set; } = prefixes;
    public bool PrefixesFromPool { get; internal set; } = prefixesFromPool;

    /// <summary>RFC 5844 §3.1.1: the IPv4 home address registered for the interface; null when none.</summary>
    public Ipv4Address? Ipv4HomeAddress { get; internal set; }
    /// <summary>The home address's subnet-mask length (the IPv4 home network's).</summary>
    public byte Ipv4PrefixLength { get; internal set; }
    /// <summary>RFC 5844 §3.1.1: the IPv4 default router address assigned to the mobile node.</summary>
    public Ipv4Address Ipv4DefaultRouter { get; internal set; }

    public BindingCacheState State = BindingCacheState.AwaitingDeletion;
    /// <summary>The serving MAG; null while awaiting deletion.</summary>
    public Ipv6Address? ProxyCareOfAddress;
    /// <summary>The MAG that de-registered it (while awaiting deletion), to tell its duplicates from late de-registrations.</summary>
    public Ipv6Address? DeregisteredBy;
    public Ipv6Address? MagLinkLocalAddress;
    public Instant ExpiresAt;
    public Instant DeleteAt;

    // Last accepted PBU, for ordering (timestamps, or per-MAG sequence numbers) and duplicate detection.
    public PmipTimestamp? LastAcceptedTimestamp;
    public ushort LastAcceptedSequence;
    public Ipv6Address LastAcceptedFrom;
    public bool HasAcceptedPbu;

    public List<ParkedRegistration>? Parked;

    /// <summary>The lifetime granted by the last accepted registration (persisted, so a standby grants it again).</summary>
    public TimeSpan GrantedLifetime;

    // Replication (LmaOptions.Persistence): see LocalMobilityAnchor.Persistence.cs.
    /// <summary>The store's modification revision of <see cref="StoreKey"/> as last written or read; 0: absent.</summary>
    public long StoreRevision;
    /// <summary>The write in flight for this entry (0: none).</summary>
    public long StoreWriteId;
    /// <summary>Changed since the write in flight (or waiting for the key to be free): write again when it completes.</summary>
    public bool StoreDirty;
    /// <summary>Removed from the cache: its last write is a delete.</summary>
    public bool Removed;
    /// <summary>PBAs waiting for a write (with AcknowledgeAfterCommit): those covered by the write in flight, then the rest.</summary>
    public List<PendingAcknowledgement>? AcksCoveredByWrite;
    public List<PendingAcknowledgement>? AcksAwaitingWrite;

    public Instant NextDue => TransientMag is null ? OwnDue : Instant.Min(OwnDue, TransientExpiresAt);

    private Instant OwnDue => State == BindingCacheState.Active ? ExpiresAt : DeleteAt;

    public bool Matches(OctetString? linkLayerIdentifier) =>
        linkLayerIdentifier is not { } l || (LinkLayerIdentifier is { } mine && mine == l);
}

/// <summary>An ambiguous handoff (HI 4) waiting for the serving MAG's de-registration.</summary>
internal sealed class ParkedRegistration(Ipv6Address source, BindingUpdate pbu, BindingCacheEntry entry, LmaMobileNodeProfile profile, Instant deadline)
{
    public Ipv6Address Source { get; } = source;
    public BindingUpdate Pbu { get; } = pbu;
    public BindingCacheEntry Entry { get; } = entry;
    public LmaMobileNodeProfile Profile { get; } = profile;
    public Instant Deadline { get; } = deadline;
}

/// <summary>A PBA that goes out once the store has the state it acknowledges.</summary>
internal readonly record struct PendingAcknowledgement(Ipv6Address Destination, BindingAcknowledgement Pba, BindingAckStatus Status);
