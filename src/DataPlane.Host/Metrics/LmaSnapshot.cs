using DataPlane.Datapath;
using DataPlane.Host.Policy;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Host.Metrics;

/// <summary>Builds the LMA's snapshot on its packet loop: <see cref="Families.Lma"/> and <see cref="Families.Common"/>.</summary>
public static class LmaSnapshot
{
    private static readonly BindingAckStatus[] Statuses = Enum.GetValues<BindingAckStatus>();
    private static readonly BindingChange[] Changes = Enum.GetValues<BindingChange>();

    public static void Build(Snapshot s, LmaDatapath dp, BindingTracker bindings, PeerStates peers,
        IReadOnlyList<(string Name, PortCounters Counters)> sockets, PolicyCounters policy, CaptureTotals captures, Instant now,
        DataPlane.Host.Lma.Replication.ShardReplicator? replication = null)
    {
        if (replication is not null) Replication(s, replication, dp.Machine, now);
        var m = dp.Machine;
        bindings.Refresh(m.Bindings, now);
        foreach (var b in bindings.Bindings)
        {
            long inP = 0, inB = 0, outP = 0, outB = 0;
            foreach (var prefix in b.HomeNetworkPrefixes)
            {
                if (!dp.PrefixCounters.TryGetValue(prefix, out var c)) continue;
                inP += c.InPackets;
                inB += c.InBytes;
                outP += c.OutPackets;
                outB += c.OutBytes;
            }
            s.Add(Families.LmaBindingPackets.Name, inP, b.Labels, CommonSamples.Uplink);
            s.Add(Families.LmaBindingPackets.Name, outP, b.Labels, CommonSamples.Downlink);
            s.Add(Families.LmaBindingBytes.Name, inB, b.Labels, CommonSamples.Uplink);
            s.Add(Families.LmaBindingBytes.Name, outB, b.Labels, CommonSamples.Downlink);
            s.Add(Families.LmaBindingHandoffs.Name, b.Handoffs, b.Labels);
            bool active = b.Present && b.State == BindingCacheState.Active && b.Mag is not null;
            s.Add(Families.LmaBindingActive.Name, active ? 1 : 0, b.Labels, active ? b.Mag!.Value.ToString() : "");
        }
        s.Add(Families.LmaBindingsTracked.Name, bindings.Count);
        foreach (var b in m.Bindings)
        {
            if (b.Ipv4HomeAddress is not { } hoa || !dp.Ipv4Counters.TryGetValue(hoa, out var c4)) continue;
            string[] v4Labels = [b.MobileNodeIdentifier, hoa.ToString()];
            s.Add(Families.LmaBindingIpv4Packets.Name, c4.InPackets, v4Labels, CommonSamples.Uplink);
            s.Add(Families.LmaBindingIpv4Packets.Name, c4.OutPackets, v4Labels, CommonSamples.Downlink);
            s.Add(Families.LmaBindingIpv4Bytes.Name, c4.InBytes, v4Labels, CommonSamples.Uplink);
            s.Add(Families.LmaBindingIpv4Bytes.Name, c4.OutBytes, v4Labels, CommonSamples.Downlink);
        }
        s.Add(Families.LmaIpv4HomeAddresses.Name, m.Ipv4HomeAddressesAllocated, null, "allocated");
        s.Add(Families.LmaIpv4HomeAddresses.Name, m.Ipv4Pool?.Capacity ?? 0, null, "capacity");

        int awaiting = m.EntriesAwaitingDeletion;
        s.Add(Families.LmaBindingCache.Name, m.BindingCacheCount - awaiting, null, "active");
        s.Add(Families.LmaBindingCache.Name, awaiting, null, "awaiting_deletion");

        foreach (var t in dp.Tunnels)
        {
            peers.Known(t.Mag);
            string[] peer = [t.Mag.ToString()];
            CommonSamples.Tunnel(s, peer, t.Counters);
            s.Add(Families.TunnelUp.Name, t.Up ? 1 : 0, peer);
            s.Add(Families.TunnelBindings.Name, m.TunnelReferences(t.Mag), peer);
        }
        s.Add(Families.LmaTunnels.Name, m.TunnelCount);
        s.Add(Families.LmaRoutes.Name, dp.RouteCount);
        s.Add(Families.LmaPendingLookups.Name, m.PendingProfileLookups);
        s.Add(Families.LmaParked.Name, m.ParkedRegistrations);

        // RFC 6705: pairs held, and what it took to set them up and keep them.
        int established = m.LocalizedRoutingSessions.Count(r => r.Established);
        s.Add(Families.LmaLocalizedRoutingSessions.Name, established, null, "established");
        s.Add(Families.LmaLocalizedRoutingSessions.Name, m.LocalizedRoutingSessionCount - established, null, "setting_up");
        var lc = m.Counters;
        var lr = Families.LmaLocalizedRouting.Name;
        s.Add(lr, dp.Counters.TrafficObservations, null, "traffic_observations");
        s.Add(lr, lc.LrisSent.Total, null, "lris_sent");
        s.Add(lr, lc.LriRetransmissions, null, "lri_retransmissions");
        s.Add(lr, lc.LrisUnanswered, null, "lris_unanswered");
        s.Add(lr, lc.LrasUnmatched, null, "lras_unmatched");
        s.Add(lr, lc.LocalizedRoutingSessionsStarted, null, "sessions_started");
        s.Add(lr, lc.LocalizedRoutingSessionsEstablished, null, "sessions_established");
        s.Add(lr, lc.LocalizedRoutingRepairs, null, "repairs");
        s.Add(lr, lc.LocalizedRoutingSessionsRefusedFull, null, "refused_full");
        s.Add(lr, lc.LocalizedRoutingSetupsDeferred, null, "setups_deferred");
        foreach (var (reason, n) in ((ILabeledCounter)lc.LocalizedRoutingSessionsEnded).NonZeroByName())
            s.Add(lr, n, null, "ended_" + LabelValues.SnakeCase(reason));

        var c2 = m.Counters;
        s.Add(Families.LmaPbusReceived.Name, c2.PbusReceived);
        var o = Families.LmaPbus.Name;
        s.Add(o, c2.InitialRegistrations, null, "initial_registration");
        s.Add(o, c2.ReRegistrations, null, "re_registration");
        s.Add(o, c2.Handoffs, null, "handoff");
        s.Add(o, c2.Resumptions, null, "resumption");
        s.Add(o, c2.Deregistrations, null, "deregistration");
        s.Add(o, c2.LateDeregistrationsIgnored, null, "late_deregistration_ignored");
        s.Add(o, c2.DeregistrationsForUnknownEntry, null, "deregistration_unknown_entry");
        s.Add(o, c2.DuplicatePbus, null, "duplicate");
        s.Add(o, c2.RefreshesFromNonServingMag, null, "refresh_from_non_serving_mag");
        s.Add(o, c2.RegistrationsParked, null, "parked");
        s.Add(o, c2.ParkedResolvedByDeregistration, null, "parked_resolved");
        s.Add(o, c2.ParkedTimedOut, null, "parked_timed_out");
        s.Add(o, c2.PbusAwaitingProfile, null, "awaited_profile");
        long rejected = 0;
        foreach (var st in Statuses)
        {
            long n = c2.PbasSentByStatus[st];
            if ((byte)st >= 128) rejected += n;
            if (n > 0 || st == BindingAckStatus.Accepted)
            {
                var (code, name) = CommonSamples.Status(st);
                s.Add(Families.LmaPbasSent.Name, n, null, code, name);
            }
        }
        s.Add(o, rejected, null, "rejected");
        foreach (var ch in Changes) s.Add(Families.LmaBindingChanges.Name, bindings.Changes(ch), null, LabelValues.Of(ch));
        var l = Families.LmaProfileLookups.Name;
        s.Add(l, c2.ProfileLookups, null, "asked");
        s.Add(l, c2.ProfileLookupsDenied, null, "denied");
        s.Add(l, c2.ProfileLookupsFailed, null, "failed");
        s.Add(l, c2.ProfileLookupTimeouts, null, "timed_out");

        var v4 = Families.LmaIpv4.Name;
        s.Add(v4, c2.Ipv4HomeAddressesAssigned, null, "addresses_assigned");
        s.Add(v4, c2.Ipv4Refusals, null, "refusals");
        s.Add(v4, c2.Ipv4Extensions, null, "ipv4_extensions");
        s.Add(v4, c2.Ipv6Extensions, null, "ipv6_extensions");
        s.Add(v4, c2.Ipv4SelectiveDeregistrations, null, "ipv4_selective_deregistrations");
        s.Add(v4, c2.Ipv6SelectiveDeregistrations, null, "ipv6_selective_deregistrations");
        s.Add(v4, c2.FamiliesReleasedByOmission, null, "released_by_omission");
        CommonSamples.Heartbeat(s, c2.Heartbeat, peers);
        CommonSamples.Datapath(s, dp.Counters);
        CommonSamples.Security(s, dp.Security);
        foreach (var (name, counters) in sockets) CommonSamples.Socket(s, name, counters);
        CommonSamples.Policy(s, policy);
        CommonSamples.Process(s, m.RestartCounter, captures);
    }

    /// <summary>The replication families, for an LMA with an etcd section.</summary>
    public static void Replication(Snapshot s, DataPlane.Host.Lma.Replication.ShardReplicator r, LocalMobilityAnchor m, Instant now)
    {
        var st = r.Status;
        foreach (var role in Enum.GetValues<DataPlane.Protocol.Lma.Replication.LmaRole>())
            s.Add(Families.LmaRole.Name, st.Role == role ? 1 : 0, null, r.Store.Keys.Shard, Lma.LmaDaemon.RoleName(role));
        s.Add(Families.LmaEtcdUp.Name, Lma.LmaDaemon.EtcdHealthy(st, now) ? 1 : 0);
        s.Add(Families.LmaEtcdErrors.Name, Interlocked.Read(ref st.Errors));
        s.Add(Families.LmaReplicationLag.Name, st.Role == DataPlane.Protocol.Lma.Replication.LmaRole.Active ? 0 : Math.Max(0, st.StoreRevision - st.ReplicaRevision));
        s.Add(Families.LmaReplicationWritesInFlight.Name, Interlocked.Read(ref st.WritesInFlight));
        s.Add(Families.LmaReplicationOldestWrite.Name, r.OldestWriteInFlight().TotalSeconds);
        var w = Families.LmaReplicationWrites.Name;
        s.Add(w, Interlocked.Read(ref st.WritesCommitted), null, "committed");
        s.Add(w, Interlocked.Read(ref st.WritesFailed), null, "failed");
        s.Add(w, Interlocked.Read(ref st.WriteConflicts), null, "conflict");
        s.Add(w, Interlocked.Read(ref st.WriteRetries), null, "retried");
        s.Add(Families.LmaPbasAwaitingCommit.Name, m.AcknowledgementsAwaitingCommit);
        s.Add(Families.LmaTakeovers.Name, st.Takeovers);
        s.Add(Families.LmaStepDowns.Name, st.StepDowns);
        if (st.LastTakeover is { } t)
        {
            s.Add(Families.LmaLastTakeoverTimestamp.Name, t.At.SinceUnixEpoch.TotalSeconds);
            s.Add(Families.LmaLastTakeoverDuration.Name, t.Duration.TotalSeconds);
            s.Add(Families.LmaLastTakeoverBindings.Name, t.Bindings);
        }
    }
}
