using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>A read-only snapshot of one session, for the control channel and tests.</summary>
public readonly record struct MagSessionView(
    PortId Port,
    MacAddress Mac,
    SessionState State,
    AttachTrigger Trigger,
    string? MobileNodeIdentifier,
    IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    Ipv6Address? LocalMobilityAnchor,
    Instant? BindingExpiresAt,
    Ipv6Address? VmLinkLocal,
    bool ForwardingInstalled,
    Ipv4Assignment? Ipv4 = null,
    MigrationPhase Migration = MigrationPhase.None);

/// <summary>Where a session is in a live migration (`ctl sessions`).</summary>
public enum MigrationPhase : byte
{
    None,
    /// <summary>Destination: the pre-registration PBU is out.</summary>
    PreRegistering,
    /// <summary>Destination: pre-registered, buffering the downlink, the VM not here yet.</summary>
    PreRegistered,
    /// <summary>Destination: the VM arrived; its buffer waits for the source's delivery marker.</summary>
    AwaitingMarker,
    /// <summary>Source: the VM stopped for the migration's last copy; downlink is no longer delivered here.</summary>
    VmStopped,
}

/// <summary>A read-only snapshot of one Binding Update List entry.</summary>
public readonly record struct BindingUpdateListView(
    string MobileNodeIdentifier,
    Ipv6Address LocalMobilityAnchor,
    IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    bool Registered,
    RegistrationKind? PendingTransaction,
    Instant? BindingExpiresAt,
    PortId? Port,
    Ipv4Assignment? Ipv4 = null);

/// <summary>A read-only snapshot of one direct (RFC 6705) route.</summary>
public readonly record struct LocalizedRouteView(
    long RouteId,
    PortId Port,
    string LocalMobileNodeIdentifier,
    string RemoteMobileNodeIdentifier,
    IReadOnlyList<Ipv6Prefix> RemotePrefixes,
    Ipv6Address RemoteMag,
    Ipv6Address LocalMobilityAnchor,
    bool Egress,
    Instant ExpiresAt,
    Instant? LastUsedAt,
    Ipv4Address? RemoteIpv4HomeAddress = null);
