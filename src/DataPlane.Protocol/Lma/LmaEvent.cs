using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// What can happen to an LMA, as a closed hierarchy. Timers are not events: call
/// <see cref="LocalMobilityAnchor.Tick"/> when <see cref="LocalMobilityAnchor.NextDeadline"/> has passed.
/// </summary>
public abstract record LmaEvent
{
    private LmaEvent() { }

    /// <summary>A Mobility Header message (PBU, heartbeat) arrived from <paramref name="Source"/>.</summary>
    public sealed record MobilityMessageReceived(Ipv6Address Source, MobilityMessage Message) : LmaEvent;

    /// <summary>
    /// The data path carried a packet from a VM of <paramref name="SourcePrefix"/> to one of <paramref name="DestinationPrefix"/>,
    /// both bound here, between two MAGs (about once a second per source prefix at most): RFC 6705 localized routing may
    /// set up a direct route for the pair.
    /// </summary>
    public sealed record TrafficObserved(Ipv6Prefix SourcePrefix, Ipv6Prefix DestinationPrefix) : LmaEvent;

    /// <summary>
    /// As <see cref="TrafficObserved"/> for IPv4 (RFC 6705 §7): a packet from the VM whose IPv4 home address is
    /// <paramref name="Source"/> to the one whose home address is <paramref name="Destination"/>, both bound here, on two MAGs.
    /// </summary>
    public sealed record Ipv4TrafficObserved(Ipv4Address Source, Ipv4Address Destination) : LmaEvent;

    /// <summary>
    /// The host's answer to <see cref="LmaAction.RequestProfile"/>: the profile, or null. A null with
    /// <paramref name="LookupFailed"/> (the AAA server could not be asked, and the failure policy
    /// denies) refuses the waiting PBUs with 128, which the MAG retries; a plain null (the server said
    /// no) refuses them with 152, which it does not.
    /// </summary>
    public sealed record ProfileDecided(long RequestId, LmaMobileNodeProfile? Profile, bool LookupFailed = false) : LmaEvent;

    /// <summary>The store wrote <see cref="LmaAction.StoreBinding"/> <paramref name="WriteId"/>; the key's revision is now <paramref name="Revision"/> (0 after a delete).</summary>
    public sealed record BindingStored(long WriteId, long Revision) : LmaEvent;

    /// <summary>The store refused or could not do write <paramref name="WriteId"/>.</summary>
    public sealed record BindingStoreFailed(long WriteId, BindingStoreFailure Failure) : LmaEvent;
}

/// <summary>Why a store write failed.</summary>
public enum BindingStoreFailure : byte
{
    /// <summary>The key's revision was not the expected one: someone else wrote it.</summary>
    Conflict,
    /// <summary>This LMA no longer holds the shard's leadership (its lease expired or was revoked): fenced.</summary>
    NotLeader,
    /// <summary>The store did not answer in time (the host retries first; this is its final answer).</summary>
    Unavailable,
}
