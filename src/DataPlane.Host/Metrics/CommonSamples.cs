using DataPlane.Datapath;
using DataPlane.Host.Policy;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Heartbeat;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Host.Metrics;

/// <summary>The capture subsystem's totals, for the snapshot.</summary>
public readonly record struct CaptureTotals(int Active, long Captured, long Dropped);

/// <summary>Snapshot pieces both daemons share: data path totals, tunnels, heartbeat, sockets, policy. Run on the packet loop.</summary>
public static class CommonSamples
{
    internal static readonly DropReason[] DropReasons = Enum.GetValues<DropReason>();
    internal static readonly WireError[] WireErrors = Enum.GetValues<WireError>();
    internal static readonly ControlFrameKind[] ControlFrameKinds = Enum.GetValues<ControlFrameKind>();
    internal static readonly ControlMessageKind[] ControlMessageKinds = Enum.GetValues<ControlMessageKind>();
    internal static readonly PolicyFailure[] PolicyFailures = Enum.GetValues<PolicyFailure>();
    internal static readonly SecurityDropReason[] SecurityDropReasons = Enum.GetValues<SecurityDropReason>();

    public const string Rx = "rx", Tx = "tx", Uplink = "uplink", Downlink = "downlink";

    public static void Datapath(Snapshot s, DatapathCounters c)
    {
        s.Add(Families.DatapathFrames.Name, c.All.InPackets);
        Drops(s, Families.DatapathDrops.Name, null, c.All);
        foreach (var e in WireErrors)
            if (c.All.MalformedBy[e] is var n and > 0) s.Add(Families.DatapathMalformed.Name, n, null, LabelValues.Of(e));
        foreach (var k in ControlFrameKinds)
            if (c.All.Control[k] is var n and > 0) s.Add(Families.DatapathControlConsumed.Name, n, null, LabelValues.Of(k));
        foreach (var k in ControlMessageKinds)
            s.Add(Families.DatapathControlSent.Name, c.ControlSent[k], null, LabelValues.Of(k));
        var events = Families.DatapathEvents.Name;
        s.Add(events, c.ControlOutputOverflows, null, "control_output_overflows");
        s.Add(events, c.IcmpErrorsSuppressed, null, "icmp_errors_suppressed");
        s.Add(events, c.ChecksumsCompleted, null, "checksums_completed");
        s.Add(events, c.SuperFramesSegmented, null, "gso_superframes");
        s.Add(events, c.SegmentsProduced, null, "gso_segments");
        s.Add(events, c.SuperFramesForwarded, null, "gso_superframes_forwarded");
        s.Add(events, c.SuperFramesDelivered, null, "gso_superframes_delivered");
        s.Add(events, c.MobilityMessagesMalformed, null, "mobility_messages_malformed");
    }

    /// <summary>The signalling security policy: drops by reason (every reason, so alerts see zeros), messages, per-SA packets.</summary>
    public static void Security(Snapshot s, SignallingSecurity security)
    {
        if (!security.Enabled) return;
        var c = security.Counters;
        foreach (var r in SecurityDropReasons) s.Add(Families.SecurityDrops.Name, c.Drops[r], null, LabelValues.Of(r));
        s.Add(Families.SecurityMessages.Name, c.Protected, null, "protected");
        s.Add(Families.SecurityMessages.Name, c.Accepted, null, "accepted");
        foreach (var sa in security.Associations)
            s.Add(Families.SecuritySaPackets.Name, sa.Packets, [sa.Peer.ToString(), sa.Spi.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                sa.Direction == SaDirection.Inbound ? "in" : "out");
    }

    /// <summary>Non-zero drop reasons of a block, as one family with a reason label after <paramref name="labels"/>.</summary>
    public static void Drops(Snapshot s, string family, string[]? labels, CounterBlock block)
    {
        foreach (var r in DropReasons)
            if (r != DropReason.None && block.Drops[r] is var n and > 0) s.Add(family, n, labels, LabelValues.Of(r));
    }

    public static void Tunnel(Snapshot s, string[] peer, CounterBlock c)
    {
        s.Add(Families.TunnelPackets.Name, c.InPackets, peer, Rx);
        s.Add(Families.TunnelPackets.Name, c.OutPackets, peer, Tx);
        s.Add(Families.TunnelBytes.Name, c.InBytes, peer, Rx);
        s.Add(Families.TunnelBytes.Name, c.OutBytes, peer, Tx);
        Drops(s, Families.TunnelDrops.Name, peer, c);
    }

    public static void Heartbeat(Snapshot s, HeartbeatCounters c, PeerStates peers)
    {
        foreach (var p in peers.Peers)
        {
            s.Add(Families.HeartbeatReachable.Name, p.Reachable ? 1 : 0, p.Labels);
            s.Add(Families.HeartbeatRestarts.Name, p.Restarts, p.Labels);
        }
        var m = Families.HeartbeatMessages.Name;
        s.Add(m, c.RequestsSent, null, "requests_sent");
        s.Add(m, c.ResponsesReceived, null, "responses_received");
        s.Add(m, c.RequestsAnswered, null, "requests_answered");
        s.Add(m, c.UnmatchedResponses, null, "unmatched_responses");
        s.Add(Families.HeartbeatMisses.Name, c.Misses);
    }

    /// <summary>What each interface of the packet uplink does with super-frames and GRO.</summary>
    public static void UplinkPaths(Snapshot s, IReadOnlyList<Runtime.UplinkInterface> interfaces)
    {
        foreach (var i in interfaces)
        {
            string[] label = [i.Name];
            s.Add(Families.UplinkSuperFrames.Name, i.CarriesSuperFrames ? 1 : 0, label);
            if (i.Gro is { } gro) s.Add(Families.UplinkGro.Name, gro.GroActive ? 1 : 0, label);
        }
    }

    public static void Socket(Snapshot s, string name, PortCounters c)
    {
        s.Add(Families.SocketPackets.Name, c.RxPackets, null, name, Rx);
        s.Add(Families.SocketPackets.Name, c.TxPackets, null, name, Tx);
        s.Add(Families.SocketErrors.Name, c.TxErrors, null, name, "tx_error");
        s.Add(Families.SocketErrors.Name, c.TxWouldBlock, null, name, "tx_would_block");
    }

    public static void Policy(Snapshot s, PolicyCounters c)
    {
        var a = Families.PolicyAnswers.Name;
        s.Add(a, Interlocked.Read(ref c.Allowed), null, "allowed");
        s.Add(a, Interlocked.Read(ref c.Denied), null, "denied");
        s.Add(a, Interlocked.Read(ref c.StaleAnswers), null, "stale");
        s.Add(a, Interlocked.Read(ref c.FailOpenAnswers), null, "fail_open");
        s.Add(a, Interlocked.Read(ref c.FailClosedDenials), null, "fail_closed");
        s.Add(Families.PolicyCache.Name, Interlocked.Read(ref c.CacheHits), null, "hit");
        s.Add(Families.PolicyCache.Name, Interlocked.Read(ref c.CacheMisses), null, "miss");
        foreach (var r in PolicyFailures)
            if (r != PolicyFailure.None && c.Failures(r) is var n and > 0) s.Add(Families.PolicyFailures.Name, n, null, LabelValues.Of(r));
        var r2 = Families.PolicyRadius.Name;
        s.Add(r2, Interlocked.Read(ref c.RadiusRequests), null, "requests");
        s.Add(r2, Interlocked.Read(ref c.RadiusRetransmissions), null, "retransmissions");
        s.Add(r2, Interlocked.Read(ref c.RadiusAccepts), null, "accepts");
        s.Add(r2, Interlocked.Read(ref c.RadiusRejects), null, "rejects");
        s.Add(r2, Interlocked.Read(ref c.RadiusChallenges), null, "challenges");
        s.Add(r2, Interlocked.Read(ref c.RadiusServerTimeouts), null, "server_timeouts");
        s.Add(r2, Interlocked.Read(ref c.RadiusFailovers), null, "failovers");
        s.Add(r2, Interlocked.Read(ref c.RadiusSendErrors), null, "send_errors");
        s.Add(Families.PolicyReloads.Name, Interlocked.Read(ref c.Reloads), null, "ok");
        s.Add(Families.PolicyReloads.Name, Interlocked.Read(ref c.ReloadFailures), null, "failed");
    }

    public static void Process(Snapshot s, uint restartCounter, CaptureTotals captures)
    {
        s.Add(Families.RestartCounter.Name, restartCounter);
        s.Add(Families.CapturesActive.Name, captures.Active);
        s.Add(Families.CaptureFrames.Name, captures.Captured, null, "captured");
        s.Add(Families.CaptureFrames.Name, captures.Dropped, null, "dropped");
    }

    /// <summary>A PBA status as (code, name) labels.</summary>
    public static (string Code, string Name) Status(BindingAckStatus status) => StatusLabels.Get(status);

    private static class StatusLabels
    {
        private static readonly Dictionary<BindingAckStatus, (string, string)> Cache = [];

        public static (string, string) Get(BindingAckStatus status)
        {
            lock (Cache)
            {
                if (!Cache.TryGetValue(status, out var v))
                    Cache[status] = v = (((byte)status).ToString(System.Globalization.CultureInfo.InvariantCulture), LabelValues.Of(status));
                return v;
            }
        }
    }
}
