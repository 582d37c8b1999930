using DataPlane.Wire;

namespace DataPlane.Protocol.Heartbeat;

/// <summary>
/// RFC 5847 heartbeat for a set of peers, sans-I/O: the owning machine adds and removes peers, forwards
/// received heartbeat messages, polls it when <see cref="NextDeadline"/> passes, and turns the
/// <see cref="HeartbeatSignal"/>s into its own actions. Used by both the MAG (peers: the LMAs it has
/// bindings with) and the LMA (peers: the MAGs it has tunnels to).
/// </summary>
public sealed class HeartbeatPeerTracker
{
    // A response to any of the last few requests proves the peer alive (it may simply be slow).
    private const uint AcceptedSequenceWindow = 16;

    private readonly HeartbeatOptions _options;
    private uint _localRestartCounter;
    private readonly IRandomSource _random;
    private readonly Dictionary<Ipv6Address, Peer> _peers = [];
    private readonly TimerQueue<Peer> _timers = new();

    public HeartbeatPeerTracker(HeartbeatOptions options, uint localRestartCounter, IRandomSource random)
    {
        _options = options;
        _localRestartCounter = localRestartCounter;
        _random = random;
    }

    public HeartbeatCounters Counters { get; } = new();

    /// <summary>
    /// The Restart Counter this side puts in its responses. An LMA standby that takes over a shard's state
    /// answers with the shard's counter, unchanged (RFC 5847 §5.1: state survived, so peers must not re-register).
    /// </summary>
    public uint LocalRestartCounter
    {
        get => _localRestartCounter;
        set => _localRestartCounter = value;
    }

    public int PeerCount => _peers.Count;

    public int PendingTimers => _timers.Count;

    public Instant? NextDeadline => _timers.NextDue;

    public bool IsTracking(Ipv6Address peer) => _peers.ContainsKey(peer);

    /// <summary>Null when the peer is not tracked; false once declared unreachable.</summary>
    public bool? IsReachable(Ipv6Address peer) => _peers.TryGetValue(peer, out var p) ? p.Reachable : null;

    /// <summary>The peer's last seen Restart Counter, if any response carried one.</summary>
    public uint? RestartCounterOf(Ipv6Address peer) => _peers.TryGetValue(peer, out var p) ? p.RestartCounter : null;

    /// <summary>Start heartbeating a peer (idempotent). The first request goes out at once, so the peer's
    /// restart counter is known before it matters.</summary>
    public void AddPeer(Ipv6Address address, Instant now)
    {
        if (!_options.Enabled || _peers.ContainsKey(address)) return;
        var peer = new Peer(address, (uint)_random.NextUInt64());
        _peers.Add(address, peer);
        _timers.Set(peer, now);
    }

    public void RemovePeer(Ipv6Address address)
    {
        if (_peers.Remove(address, out var peer)) _timers.Cancel(peer);
    }

    /// <summary>Send the requests that are due and count the misses.</summary>
    public void Poll(Instant now, List<HeartbeatSignal> output)
    {
        while (_timers.TryDequeueDue(now, out var peer))
        {
            if (peer.Outstanding)
            {
                peer.Missed++;
                Counters.Misses++;
                if (peer.Reachable && peer.Missed > _options.MissingHeartbeatsAllowed)
                {
                    peer.Reachable = false;
                    Counters.PeersDeclaredUnreachable++;
                    output.Add(new(HeartbeatSignalKind.PeerUnreachable, peer.Address));
                }
            }
            peer.LastSequence++;
            peer.Outstanding = true;
            Counters.RequestsSent++;
            output.Add(new(HeartbeatSignalKind.Send, peer.Address, new HeartbeatMessage(false, false, peer.LastSequence)));
            _timers.Set(peer, now + _options.Interval);
        }
    }

    /// <summary>Handle a heartbeat from <paramref name="source"/>: answer a request (when
    /// <paramref name="answerRequests"/>), or match a response and check its restart counter.</summary>
    public void OnMessage(Ipv6Address source, HeartbeatMessage message, bool answerRequests, List<HeartbeatSignal> output)
    {
        if (!message.IsResponse)
        {
            if (!answerRequests) return;
            Counters.RequestsAnswered++;
            var response = new HeartbeatMessage(true, false, message.Sequence)
            {
                Options = new MobilityOptionList([new RestartCounterOption(_localRestartCounter)]),
            };
            output.Add(new(HeartbeatSignalKind.Send, source, response));
            return;
        }
        if (!_peers.TryGetValue(source, out var peer) || peer.LastSequence - message.Sequence >= AcceptedSequenceWindow)
        {
            Counters.UnmatchedResponses++;
            return;
        }
        Counters.ResponsesReceived++;
        if (message.Sequence == peer.LastSequence) peer.Outstanding = false;
        peer.Missed = 0;
        if (!peer.Reachable)
        {
            peer.Reachable = true;
            Counters.PeersReachableAgain++;
            output.Add(new(HeartbeatSignalKind.PeerReachable, peer.Address));
        }
        if (message.RestartCounter is { } counter)
        {
            if (peer.RestartCounter is { } previous && previous != counter)
            {
                Counters.PeerRestartsDetected++;
                output.Add(new(HeartbeatSignalKind.PeerRestarted, peer.Address, null, previous, counter));
            }
            peer.RestartCounter = counter;
        }
    }

    private sealed class Peer(Ipv6Address address, uint initialSequence)
    {
        public Ipv6Address Address { get; } = address;
        public uint LastSequence = initialSequence;
        public bool Outstanding;
        public int Missed;
        public bool Reachable = true;
        public uint? RestartCounter;
    }
}
