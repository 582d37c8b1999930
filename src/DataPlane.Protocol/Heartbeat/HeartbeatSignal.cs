using DataPlane.Wire;

namespace DataPlane.Protocol.Heartbeat;

public enum HeartbeatSignalKind : byte
{
    /// <summary>Send <see cref="HeartbeatSignal.Message"/> to the peer.</summary>
    Send,
    /// <summary>More than MissingHeartbeatsAllowed consecutive requests went unanswered.</summary>
    PeerUnreachable,
    /// <summary>An unreachable peer answered again.</summary>
    PeerReachable,
    /// <summary>The peer's Restart Counter changed: it lost its state (RFC 5847 §3.2).</summary>
    PeerRestarted,
}

/// <summary>What the tracker asks its machine to do or tell; the machine turns it into its own action.</summary>
public readonly record struct HeartbeatSignal(
    HeartbeatSignalKind Kind,
    Ipv6Address Peer,
    HeartbeatMessage? Message = null,
    uint? PreviousRestartCounter = null,
    uint? RestartCounter = null);
