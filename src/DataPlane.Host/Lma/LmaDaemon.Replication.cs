using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using DataPlane.Etcd;
using DataPlane.Host.Lma.Replication;
using DataPlane.Linux;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Protocol.Security;
using DataPlane.Host.Runtime;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Lma;

/// <summary>
/// The LMA with an `etcd` section: its part of <see cref="IShardHost"/> (takeover and step-down on the packet
/// loop, the LMA address and its announcement) and the replication's ctl output. Without the section none of
/// this runs and the daemon is the in-memory LMA it always was.
/// </summary>
public sealed partial class LmaDaemon : IShardHost
{
    private static readonly TimeSpan AnnounceTimeout = TimeSpan.FromSeconds(10);
    private ShardReplicator? _replicator;
    private long _mobilityWhileNotActive;
    private uint _fileRestartCounter;
    // The ESP sequence state a takeover stores before serving (the packet loop's; null between takeovers).
    private Dictionary<SecurityStateKey, uint>? _pendingEspWrite;

    /// <summary>True while this LMA serves its address: always without etcd, only as the shard's active with it.</summary>
    private bool Serving => _replicator is null || _replicator.Status.Role == LmaRole.Active;

    private void StartReplication(uint fileRestartCounter)
    {
        if (_config.Etcd is not { } etcd) return;
        _fileRestartCounter = fileRestartCounter;
        // A predecessor killed while active left the address behind: a standby must not hold it.
        RemoveLmaAddress();
        var keys = new ShardKeys(etcd.Store.Root, etcd.Shard);
        var store = new EtcdShardStore(etcd.Store, keys);
        var registration = ShardRegistry.Describe(_config.Protocol.LocalMobilityAnchorAddress, _config.Protocol.HomeNetworkPrefixPool,
            _config.Protocol.Ipv4HomeNetwork?.Subnet);
        _replicator = new ShardReplicator(store, etcd.Election, etcd.Member, this, _clock, _log, registration, CheckRegistry);
        // With signalling keys the shard's ESP sequence state lives in etcd too: a standby taking over must continue
        // every SA past what this member sent (docs/high-availability.md, "ESP").
        var replicator = _replicator;
        _secure?.JoinShard(state => replicator.WriteEspSequences(Encoding.ASCII.GetBytes(SecureSignalling.FormatState(state)),
            ok => _work.Post(() =>
            {
                _secure.ShardWriteCompleted(state, ok);
                return true;
            })));
        _log.LogInformation("etcd: shard {Shard} as member {Member} at {Endpoints}, acknowledge {Mode}, lease TTL {Ttl} s; standby until elected",
            etcd.Shard, etcd.Member, string.Join(",", etcd.Store.Endpoints), etcd.Acknowledge == BindingPersistence.AcknowledgeAfterCommit ? "after-commit" : "async",
            etcd.Election.LeaseTtl.TotalSeconds);
        _replicator.Start();
    }

    /// <summary>Another shard with the same LMA address or an overlapping pool is a configuration error: do not serve.</summary>
    private string? CheckRegistry(Dictionary<string, string> shards) =>
        ShardRegistry.Conflict(_config.Etcd!.Shard, _config.Protocol.LocalMobilityAnchorAddress, _config.Protocol.HomeNetworkPrefixPool, shards,
            _config.Protocol.Ipv4HomeNetwork?.Subnet);

    Task<TakeoverResult> IShardHost.TakeOverAsync(IReadOnlyList<StoredBinding> records, uint storedRestartCounter, byte[]? storedEspSequences) => _work.Post(() =>
    {
        // ESP first: a bad stored state is an error before anything is installed (the takeover fails, we stay standby).
        byte[]? espWrite = null;
        if (_secure is { } secure)
        {
            var stored = storedEspSequences is null ? null
                : SecureSignalling.ParseState(Encoding.ASCII.GetString(storedEspSequences).Split('\n'), $"etcd key {_replicator!.Store.Keys.EspSequences}");
            _pendingEspWrite = secure.TakeOverShard(stored);
            espWrite = Encoding.ASCII.GetBytes(SecureSignalling.FormatState(_pendingEspWrite));
        }
        var now = _clock.Now;
        // Nothing in the store yet: a new shard (or a store that lost its data). Start from this host's own
        // counter file, which went up at this start, so the MAGs see a counter they have not seen.
        var actions = _dp.Machine.TakeOver(records, storedRestartCounter != 0 ? storedRestartCounter : _fileRestartCounter, now, out uint counter);
        _dp.Perform(actions);
        foreach (var b in _dp.Machine.Bindings)
            if (b.State == BindingCacheState.Active) UpdateKernelRoutes(new LmaAction.BindingChanged(b.MobileNodeIdentifier, BindingChange.Created, b.ProxyCareOfAddress, b.HomeNetworkPrefixes, b.Ipv4HomeAddress));
        if (_dp.Machine.Counters.RecordsRejected > 0) _log.LogError("etcd: {Rejected} stored bindings conflicted and were not installed", _dp.Machine.Counters.RecordsRejected);
        return new TakeoverResult(counter, espWrite);
    });

    async Task IShardHost.BringUpAsync()
    {
        var etcd = _config.Etcd!;
        var address = _config.Protocol.LocalMobilityAnchorAddress;
        await _work.Post(() =>
        {
            // The replicator stored the takeover's ESP sequence state: we may send.
            if (_pendingEspWrite is { } esp) _secure?.ShardWriteCompleted(esp, committed: true);
            _pendingEspWrite = null;
            try
            {
                _netlink.AddAddress(etcd.AddressInterface, address, 128, noDad: true);
            }
            catch (NetlinkException e) when (e.Errno == 17) { } // EEXIST: already there
            return true;
        });
        _log.LogInformation("etcd: LMA address {Address} up on {Interface}", address, etcd.AddressInterface);
        await AnnounceAsync("up");
    }

    async Task IShardHost.StepDownAsync(string reason)
    {
        await _work.Post(() =>
        {
            _dp.Perform(_dp.Machine.Relinquish());
            _secure?.LeaveShard();
            _pendingEspWrite = null;
            foreach (var prefix in _kernelRoutes)
            {
                try { _netlink.DeleteRoute(prefix, _config.HomeInterface); } catch (NetlinkException) { }
            }
            _kernelRoutes.Clear();
            RemoveLmaAddress();
            return true;
        });
        await AnnounceAsync("down");
    }

    void IShardHost.StoreResults(IReadOnlyList<LmaEvent> results) => _work.Post(() =>
    {
        var now = _clock.Now;
        foreach (var e in results) _dp.Handle(e, now);
    });

    private void RemoveLmaAddress()
    {
        if (_config.Etcd is not { } etcd) return;
        try
        {
            _netlink.DeleteAddress(etcd.AddressInterface, _config.Protocol.LocalMobilityAnchorAddress, 128);
            _log.LogInformation("etcd: LMA address {Address} removed from {Interface}", _config.Protocol.LocalMobilityAnchorAddress, etcd.AddressInterface);
        }
        catch (NetlinkException) { } // not there
    }

    /// <summary>The routing daemon's part (or the testbed's route move): `announceCommand up|down ADDRESS [POOL]`.</summary>
    private async Task AnnounceAsync(string direction)
    {
        var command = _config.Etcd!.AnnounceCommand;
        if (command.Count == 0) return;
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(direction);
        psi.ArgumentList.Add(_config.Protocol.LocalMobilityAnchorAddress.ToString());
        if (_config.Protocol.HomeNetworkPrefixPool is { } pool) psi.ArgumentList.Add(pool.ToString());
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            using var cts = new CancellationTokenSource(AnnounceTimeout);
            await p.WaitForExitAsync(cts.Token);
            if (p.ExitCode != 0) _log.LogError("etcd: announce {Direction}: {Command} exited {Code}: {Error}", direction, command[0], p.ExitCode, (await stderr).Trim());
            else _log.LogInformation("etcd: announced {Direction}", direction);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or OperationCanceledException or InvalidOperationException)
        {
            _log.LogError("etcd: announce {Direction}: {Command}: {Error}", direction, command[0], e.Message);
        }
    }

    private JsonObject ReplicationJson()
    {
        if (_replicator is not { } r) return new JsonObject { ["enabled"] = false };
        var s = r.Status;
        var now = _clock.Now;
        var m = _dp.Machine;
        var etcd = _config.Etcd!;
        long lag = s.Role == LmaRole.Active ? 0 : Math.Max(0, s.StoreRevision - s.ReplicaRevision);
        return new JsonObject
        {
            ["enabled"] = true,
            ["shard"] = etcd.Shard,
            ["member"] = etcd.Member,
            ["role"] = RoleName(s.Role),
            ["leader"] = s.Leader,
            ["acknowledge"] = etcd.Acknowledge == BindingPersistence.AcknowledgeAfterCommit ? "after-commit" : "async",
            ["restartCounter"] = m.RestartCounter,
            ["lease"] = new JsonObject { ["id"] = s.LeaseId.ToString("x"), ["ttlSeconds"] = s.LeaseTtl.TotalSeconds, ["keepAliveFailures"] = s.KeepAliveFailures },
            ["etcd"] = new JsonObject
            {
                ["endpoints"] = new JsonArray([.. etcd.Store.Endpoints.Select(e => (JsonNode)JsonValue.Create(e.ToString())!)]),
                ["healthy"] = EtcdHealthy(s, now),
                ["secondsSinceContact"] = s.LastContact.Ticks == 0 ? null : Math.Round((now - s.LastContact).TotalSeconds, 3),
                ["revision"] = s.StoreRevision,
                ["version"] = s.StoreVersion,
                ["errors"] = s.Errors,
                ["lastError"] = s.LastError,
                ["registryError"] = s.RegistryError,
            },
            ["replication"] = new JsonObject
            {
                ["lagRevisions"] = lag,
                ["watchConnected"] = s.WatchConnected,
                ["replicaBindings"] = s.ReplicaBindings,
                ["replicaUndecodable"] = s.ReplicaUndecodable,
                ["writesInFlight"] = Interlocked.Read(ref s.WritesInFlight),
                ["oldestWriteSeconds"] = Math.Round(r.OldestWriteInFlight().TotalSeconds, 4),
                ["writesCommitted"] = Interlocked.Read(ref s.WritesCommitted),
                ["writesFailed"] = Interlocked.Read(ref s.WritesFailed),
                ["writeConflicts"] = Interlocked.Read(ref s.WriteConflicts),
                ["writeRetries"] = Interlocked.Read(ref s.WriteRetries),
                ["meanWriteMs"] = s.WritesCommitted == 0 ? 0 : Math.Round(Interlocked.Read(ref s.WriteMicrosTotal) / 1000.0 / Math.Max(1, s.WritesCommitted + s.WritesFailed), 3),
                ["maxWriteMs"] = Interlocked.Read(ref s.WriteMicrosMax) / 1000.0,
                ["pbasAwaitingCommit"] = m.AcknowledgementsAwaitingCommit,
                ["pbusWhileNotActive"] = _mobilityWhileNotActive,
            },
            ["takeovers"] = s.Takeovers,
            ["stepDowns"] = s.StepDowns,
            ["lastStepDownReason"] = s.LastStepDownReason,
            ["lastTakeover"] = s.LastTakeover is { } t ? new JsonObject
            {
                ["at"] = t.At.ToString(),
                ["secondsAgo"] = Math.Round((now - t.At).TotalSeconds, 1),
                ["durationMs"] = Math.Round(t.Duration.TotalMilliseconds, 2),
                ["bindings"] = t.Bindings,
                ["previousLeader"] = t.PreviousLeader,
                ["storedRestartCounter"] = t.StoredRestartCounter,
                ["restartCounter"] = t.RestartCounter,
            } : null,
        };
    }

    internal static string RoleName(LmaRole role) => role switch
    {
        LmaRole.Active => "active",
        LmaRole.Standby => "standby",
        LmaRole.TakingOver => "taking_over",
        _ => "unelected",
    };

    /// <summary>etcd answered within the last lease TTL (at least 2 s) and the last request did not fail.</summary>
    internal static bool EtcdHealthy(ReplicationStatus s, Protocol.Instant now)
    {
        var window = s.LeaseTtl > TimeSpan.FromSeconds(2) ? s.LeaseTtl : TimeSpan.FromSeconds(2);
        return s.LastContact.Ticks != 0 && now - s.LastContact <= window && s.ConsecutiveFailures == 0;
    }
}
