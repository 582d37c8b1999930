using DataPlane.Wire;

namespace DataPlane.Protocol.Lma.Replication;

/// <summary>
/// What the store keeps of one binding cache entry: everything a standby needs to rebuild the entry
/// exactly as the active had it after its last <em>change</em> (creation, handoff, resumption,
/// de-registration). Lifetime refreshes are not in it: they stay in the active's memory, and a standby
/// that takes over grants every entry <see cref="LifetimeSeconds"/> afresh.
/// <para>
/// New fields are added as optional init properties with a default meaning "absent": the codec writes
/// only what is set and ignores names it does not know, so an older reader skips a newer field and a
/// newer reader reads an older record (issue 15's IPv4 home address went in this way, as "v4").
/// </para>
/// </summary>
public sealed record BindingRecord
{
    /// <summary>Format version written into every record; a reader refuses a record with a higher major version.</summary>
    public const int Version = 1;

    public required string MobileNodeIdentifier { get; init; }
    public OctetString? LinkLayerIdentifier { get; init; }
    public AccessTechnologyType AccessTechnologyType { get; init; }
    public required IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes { get; init; }
    /// <summary>The prefixes came from the LMA's pool (released when the entry is deleted).</summary>
    public bool PrefixesFromPool { get; init; }
    public BindingCacheState State { get; init; }
    /// <summary>The serving MAG (Active), null while awaiting deletion.</summary>
    public Ipv6Address? ProxyCareOfAddress { get; init; }
    public Ipv6Address? DeregisteredBy { get; init; }
    public Ipv6Address? MagLinkLocalAddress { get; init; }
    /// <summary>The lifetime granted by the last accepted registration, in seconds.</summary>
    public int LifetimeSeconds { get; init; }
    /// <summary>While awaiting deletion: when the hold-down ends (wall clock).</summary>
    public Instant? DeleteAt { get; init; }
    /// <summary>The last accepted PBU at the time of the change, for ordering (§5.5) and duplicate detection.</summary>
    public Ipv6Address? LastAcceptedFrom { get; init; }
    public ushort LastAcceptedSequence { get; init; }
    public PmipTimestamp? LastAcceptedTimestamp { get; init; }
    /// <summary>
    /// RFC 5844: the session's IPv4 home address, null without one. Its prefix length and default router are the
    /// shard's IPv4 home network's (configuration, the same on every member), so only the address is stored; the
    /// pool's state is exactly the set of these addresses, so a standby restores it by claiming each one.
    /// </summary>
    public Ipv4Address? Ipv4HomeAddress { get; init; }

    public bool Equals(BindingRecord? other) =>
        other is not null && MobileNodeIdentifier == other.MobileNodeIdentifier && LinkLayerIdentifier == other.LinkLayerIdentifier
        && AccessTechnologyType == other.AccessTechnologyType && HomeNetworkPrefixes.SequenceEqual(other.HomeNetworkPrefixes)
        && PrefixesFromPool == other.PrefixesFromPool && State == other.State && ProxyCareOfAddress == other.ProxyCareOfAddress
        && DeregisteredBy == other.DeregisteredBy && MagLinkLocalAddress == other.MagLinkLocalAddress
        && LifetimeSeconds == other.LifetimeSeconds && DeleteAt == other.DeleteAt && LastAcceptedFrom == other.LastAcceptedFrom
        && LastAcceptedSequence == other.LastAcceptedSequence && LastAcceptedTimestamp == other.LastAcceptedTimestamp
        && Ipv4HomeAddress == other.Ipv4HomeAddress;

    public override int GetHashCode() => HashCode.Combine(MobileNodeIdentifier, State, ProxyCareOfAddress, HomeNetworkPrefixes.Count);
}

/// <summary>A record as read from the store, with the store's modification revision of its key.</summary>
public readonly record struct StoredBinding(string Key, BindingRecord Record, long Revision);
