using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>How a binding changed, for <see cref="LmaAction.BindingChanged"/>.</summary>
public enum BindingChange : byte
{
    Created,
    /// <summary>Re-pointed at another MAG while active (the handover).</summary>
    HandedOff,
    /// <summary>Taken over during the hold-down after a de-registration.</summary>
    Resumed,
    /// <summary>De-registered by its serving MAG; kept for MinDelayBeforeBceDelete.</summary>
    Deregistered,
    /// <summary>Deleted after the hold-down.</summary>
    Deleted,
    /// <summary>Deleted because its lifetime ran out.</summary>
    Expired,
    /// <summary>
    /// Still active, but its set of addresses changed (RFC 5844): IPv4 added to an IPv6 session or the other
    /// way round, a selective de-registration, or one family released after a handoff whose PBU did not ask for it.
    /// </summary>
    AddressesChanged,
    /// <summary>Another MAG pre-registered (a transient binding, RFC 6058): the serving MAG keeps it until the VM arrives there.</summary>
    PreRegistered,
    /// <summary>A pre-registration ended without the VM arriving (cancelled or expired).</summary>
    PreRegistrationEnded,
    /// <summary>The serving MAG reported that its VM stopped (a live migration's switchover).</summary>
    ServingVmStopped,
}

/// <summary>What the LMA asks its host to do, or tells it, as a closed hierarchy; performed in list order.</summary>
public abstract record LmaAction
{
    private LmaAction() { }

    /// <summary>Send a Mobility Header message (PBA, heartbeat) from the LMA's address.</summary>
    public sealed record SendMobilityMessage(Ipv6Address Source, Ipv6Address Destination, MobilityMessage Message) : LmaAction;

    /// <summary>Bring up the IPv6-in-IPv6 tunnel to this MAG (its first VM).</summary>
    public sealed record TunnelUp(Ipv6Address Mag) : LmaAction;

    /// <summary>Tear down the tunnel to this MAG (its last VM left).</summary>
    public sealed record TunnelDown(Ipv6Address Mag) : LmaAction;

    /// <summary>Forward this prefix into the tunnel to <paramref name="Mag"/>, replacing any route it had.</summary>
    public sealed record RouteAdd(Ipv6Prefix Prefix, Ipv6Address Mag) : LmaAction;

    /// <summary>Stop forwarding this prefix.</summary>
    public sealed record RouteRemove(Ipv6Prefix Prefix) : LmaAction;

    /// <summary>
    /// RFC 5844 §3.1.2.2: the IPv4 host route — forward this home address into the tunnel to <paramref name="Mag"/>
    /// (IPv4-over-IPv6, outer next header 4), replacing any route it had.
    /// </summary>
    public sealed record Ipv4RouteAdd(Ipv4Address HomeAddress, Ipv6Address Mag) : LmaAction;

    /// <summary>Stop forwarding this IPv4 home address.</summary>
    public sealed record Ipv4RouteRemove(Ipv4Address HomeAddress) : LmaAction;

    /// <summary>
    /// The prefix's second MAG during a live migration (a transient binding, RFC 6058), or none when
    /// <paramref name="Mag"/> is null: uplink from it is accepted as from the serving MAG; downlink is copied to it
    /// when <paramref name="CopyDownlink"/> (bicast), and still sent to the serving MAG only while
    /// <paramref name="ServingMagDownlink"/> (false once the serving MAG said its VM stopped). Applies to the route
    /// the last <see cref="RouteAdd"/> made; a later RouteAdd for the prefix starts without a second MAG.
    /// </summary>
    public sealed record RouteSecondary(Ipv6Prefix Prefix, Ipv6Address? Mag, bool CopyDownlink, bool ServingMagDownlink) : LmaAction;

    /// <summary>
    /// <see cref="RouteSecondary"/> for the entry's IPv4 home address (RFC 5844: one binding carries both families, so
    /// a pre-registered destination gets the IPv4 downlink as it gets the IPv6 one). Applies to the route the last
    /// <see cref="Ipv4RouteAdd"/> made.
    /// </summary>
    public sealed record Ipv4RouteSecondary(Ipv4Address HomeAddress, Ipv6Address? Mag, bool CopyDownlink, bool ServingMagDownlink) : LmaAction;

    /// <summary>
    /// Look up this mobile node's profile (the policy could not answer from memory) and answer with
    /// <see cref="LmaEvent.ProfileDecided"/> carrying the same id. One request per mobile node at a time:
    /// PBUs arriving meanwhile wait behind it, for at most <see cref="LmaOptions.ProfileLookupTimeout"/>.
    /// </summary>
    public sealed record RequestProfile(long RequestId, string MobileNodeIdentifier) : LmaAction;

    /// <summary>Notification for logs and metrics.</summary>
    public sealed record BindingChanged(string MobileNodeIdentifier, BindingChange Change, Ipv6Address? ProxyCareOfAddress,
        IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes, Ipv4Address? Ipv4HomeAddress = null) : LmaAction;

    /// <summary>
    /// An RFC 6705 pair was initiated, established (both MAGs route it directly), re-pointed after a handover, or ended
    /// (with the reason); notification for logs and metrics. The MAGs are those of each party's current leg.
    /// </summary>
    public sealed record LocalizedRoutingChanged(string MobileNodeA, Ipv6Address MagA, string MobileNodeB, Ipv6Address MagB,
        LocalizedRoutingChange Change, LocalizedRoutingSessionEnd? Reason) : LmaAction;

    /// <summary>Heartbeat: a MAG stopped answering (notification; its bindings stay until they expire).</summary>
    public sealed record PeerUnreachable(Ipv6Address Peer) : LmaAction;

    public sealed record PeerReachable(Ipv6Address Peer) : LmaAction;

    /// <summary>
    /// Write one binding cache entry to the replicated store (<see cref="LmaOptions.Persistence"/>): put
    /// <paramref name="Record"/> at <paramref name="Key"/> (or delete the key when it is null) only if the key's
    /// modification revision is still <paramref name="ExpectedRevision"/> (0: the key must be absent), and only
    /// while this LMA holds the shard's leadership. Answer with <see cref="LmaEvent.BindingStored"/> or
    /// <see cref="LmaEvent.BindingStoreFailed"/> carrying <paramref name="WriteId"/>. At most one write per key is
    /// in flight; the machine coalesces later changes into the next one.
    /// </summary>
    public sealed record StoreBinding(long WriteId, string Key, BindingRecord? Record, long ExpectedRevision) : LmaAction;

    /// <summary>A store write failed (notification): with Conflict or NotLeader this LMA is no longer the shard's writer and must step down.</summary>
    public sealed record StoreWriteFailed(string Key, BindingStoreFailure Failure) : LmaAction;

    /// <summary>Heartbeat: a MAG restarted (notification; it re-registers its VMs as they announce themselves).</summary>
    public sealed record PeerRestarted(Ipv6Address Peer, uint PreviousRestartCounter, uint RestartCounter) : LmaAction;
}
