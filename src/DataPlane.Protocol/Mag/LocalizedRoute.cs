using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// One direct route at the MAG (RFC 6705): the local VM's session, the remote party of the pair and the MAG serving
/// it, as the LMA's last LRI said. It lives inside the session (a session's end ends it) and has one timer, its expiry.
/// </summary>
internal sealed class LocalizedRoute(long id, AccessSession session, string localMobileNodeIdentifier, LocalizedRoutingParty remote,
    Ipv6Address remoteMag, Ipv6Address localMobilityAnchor)
{
    public long Id { get; } = id;
    public AccessSession Session { get; } = session;
    public string LocalMobileNodeIdentifier { get; } = localMobileNodeIdentifier;
    public LocalizedRoutingParty Remote = remote;
    public Ipv6Address RemoteMag = remoteMag;
    public Ipv6Address LocalMobilityAnchor { get; } = localMobilityAnchor;

    /// <summary>When the last accepted LRI (set-up, refresh, re-point) was answered, and for how long.</summary>
    public Instant GrantedAt;
    public TimeSpan GrantedLifetime;
    public Instant ExpiresAt;

    /// <summary>
    /// Packets of the local VM go straight to <see cref="RemoteMag"/>. A route starts (and is re-pointed) accepting the
    /// other MAG's packets only: the LMA confirms it with an LRI of another sequence number once the other MAG accepts
    /// ours too, so neither sends to a MAG not yet ready for it.
    /// </summary>
    public bool Egress;

    /// <summary>The sequence of the LRI that set the route up or re-pointed it (a retransmission of it confirms nothing).</summary>
    public ushort Sequence;

    /// <summary>When the data path last reported a packet over it; null until it does.</summary>
    public Instant? LastUsedAt;

    /// <summary>
    /// Idle: no packet over it during the last half of the lifetime it was granted (and it is at least that old). The
    /// LMA refreshes at three quarters of the lifetime, so a pair idle since shortly after its last refresh ends at the
    /// next one; a route only just set up is never idle, whatever an LRI arriving early says.
    /// </summary>
    public bool IsIdle(Instant now)
    {
        var window = GrantedLifetime / 2;
        return now - GrantedAt >= window && (LastUsedAt ?? GrantedAt) <= now - window;
    }
}
