namespace DataPlane.Protocol.Heartbeat;

/// <summary>Heartbeat counters, embedded in each machine's counters.</summary>
public sealed class HeartbeatCounters
{
    public long RequestsSent;
    public long ResponsesReceived;
    public long RequestsAnswered;
    public long Misses;
    public long PeersDeclaredUnreachable;
    public long PeersReachableAgain;
    public long PeerRestartsDetected;
    /// <summary>Responses whose sequence matched no recent request (late beyond the window, or forged).</summary>
    public long UnmatchedResponses;
}
