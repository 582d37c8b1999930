using System.Globalization;
using System.Text;
using dotnet_etcd;
using dotnet_etcd.interfaces;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client.Configuration;
using Mvccpb;

namespace DataPlane.Etcd;

/// <summary>The outcome of a conditional binding write.</summary>
public enum WriteOutcome : byte { Written, Conflict, NotLeader }

/// <param name="Current">With Conflict: the key's value now (null when absent), to recognise a retried write that had in fact committed.</param>
public readonly record struct WriteResult(WriteOutcome Outcome, long Revision, ReadOnlyMemory<byte>? Current = null);

public readonly record struct CampaignResult(bool Won, long LeaderRevision, long HolderLeaseId, string? Holder);

public readonly record struct LeaderInfo(long LeaseId, long CreateRevision, string Holder);

/// <summary>A key's change as the watch delivers it.</summary>
public readonly record struct KeyChange(bool IsDelete, string Key, ReadOnlyMemory<byte> Value, long ModRevision, long CreateRevision, long LeaseId);

public sealed class WatchCompactedException(long compactRevision)
    : Exception($"the store compacted revision {compactRevision} away before the watch could read it: a full resynchronisation is needed")
{
    public long CompactRevision { get; } = compactRevision;
}

/// <summary>
/// One LMA shard's view of etcd: the lease and leader key of its election, the conditional binding writes
/// (compare-and-swap on the key's revision <em>and</em> on this member's leader key, so a deposed active
/// cannot write), the restart counter, the snapshot read and the watch a standby keeps its copy warm with,
/// and the shard registry. Every request carries a deadline (<see cref="EtcdOptions.RequestTimeout"/>);
/// retrying is the caller's decision. Thread-safe (gRPC calls).
/// </summary>
public sealed class EtcdShardStore : IDisposable
{
    private readonly EtcdClient _client;
    private readonly IConnection _rpc;
    private readonly EtcdOptions _options;

    public EtcdShardStore(EtcdOptions options, ShardKeys keys)
    {
        if (options.Endpoints.Count == 0) throw new ArgumentException("no etcd endpoints", nameof(options));
        _options = options;
        Keys = keys;
        var endpoints = string.Join(",", options.Endpoints.Select(u => u.GetLeftPart(UriPartial.Authority)));
        _client = new EtcdClient(endpoints, configureChannelOptions: o =>
        {
            // No transparent retries (dotnet-etcd's default waits up to seconds): every caller here has its own
            // deadline and decides itself. Round robin over the members; a dead connection is noticed by
            // HTTP/2 pings within a second or two rather than the default 30 s.
            o.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
            // A deadline is an RpcException (DeadlineExceeded) like any other failure, not an OperationCanceledException.
            o.ThrowOperationCanceledOnCancellation = false;
            o.HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = options.DialTimeout,
                KeepAlivePingDelay = TimeSpan.FromSeconds(1),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(1),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                EnableMultipleHttp2Connections = true,
            };
        });
        _rpc = _client.GetConnection();
    }

    public ShardKeys Keys { get; }

    public EtcdOptions Options => _options;

    private DateTime Deadline => DateTime.UtcNow + _options.RequestTimeout;

    // ---- election ---------------------------------------------------------------------------------------------

    public async Task<(long LeaseId, TimeSpan Ttl)> GrantLeaseAsync(TimeSpan ttl, CancellationToken ct)
    {
        var r = await _rpc.LeaseClient.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)Math.Ceiling(ttl.TotalSeconds) },
            deadline: Deadline, cancellationToken: ct);
        if (!string.IsNullOrEmpty(r.Error)) throw new InvalidOperationException("lease grant refused: " + r.Error);
        return (r.ID, TimeSpan.FromSeconds(r.TTL));
    }

    /// <summary>One renewal; the remaining TTL the store grants (zero or less: the lease is gone).</summary>
    public async Task<TimeSpan> KeepAliveAsync(long leaseId, CancellationToken ct)
    {
        using var call = _rpc.LeaseClient.LeaseKeepAlive(deadline: Deadline, cancellationToken: ct);
        await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = leaseId }, ct);
        if (!await call.ResponseStream.MoveNext(ct)) throw new RpcException(new Status(StatusCode.Unavailable, "lease keep-alive stream closed"));
        var ttl = call.ResponseStream.Current.TTL;
        await call.RequestStream.CompleteAsync();
        return TimeSpan.FromSeconds(ttl);
    }

    /// <summary>Revoke a lease (its keys go with it). <paramref name="deadline"/>: the request's own, instead of <see cref="EtcdOptions.RequestTimeout"/>.</summary>
    public async Task RevokeLeaseAsync(long leaseId, CancellationToken ct, DateTime? deadline = null) =>
        await _rpc.LeaseClient.LeaseRevokeAsync(new LeaseRevokeRequest { ID = leaseId }, deadline: deadline ?? Deadline, cancellationToken: ct);

    /// <summary>Create the leader key under <paramref name="leaseId"/> if nobody holds it (etcd's election recipe).</summary>
    public async Task<CampaignResult> CampaignAsync(long leaseId, string member, CancellationToken ct)
    {
        var leader = ShardKeys.Bytes(Keys.Leader);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = leader, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = leader, Value = ByteString.CopyFromUtf8(member), Lease = leaseId } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = leader } });
        var r = await _rpc.KVClient.TxnAsync(txn, deadline: Deadline, cancellationToken: ct);
        if (r.Succeeded) return new CampaignResult(true, r.Header.Revision, leaseId, member);
        var kv = r.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        return new CampaignResult(false, kv?.CreateRevision ?? 0, kv?.Lease ?? 0, kv?.Value.ToStringUtf8());
    }

    public async Task<(LeaderInfo? Leader, long Revision)> GetLeaderAsync(CancellationToken ct)
    {
        var r = await _rpc.KVClient.RangeAsync(new RangeRequest { Key = ShardKeys.Bytes(Keys.Leader) }, deadline: Deadline, cancellationToken: ct);
        var kv = r.Kvs.FirstOrDefault();
        return (kv is null ? null : new LeaderInfo(kv.Lease, kv.CreateRevision, kv.Value.ToStringUtf8()), r.Header.Revision);
    }

    // ---- state ------------------------------------------------------------------------------------------------

    private Compare StillLeader(long leaderRevision) => new()
    {
        Key = ShardKeys.Bytes(Keys.Leader),
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Equal,
        CreateRevision = leaderRevision,
    };

    /// <summary>
    /// Put (or delete, when <paramref name="value"/> is null) a binding only if its key is still at
    /// <paramref name="expectedRevision"/> (0: absent) and this member still holds the leader key it created at
    /// <paramref name="leaderRevision"/>. One transaction, so the check and the write are atomic.
    /// </summary>
    public async Task<WriteResult> WriteBindingAsync(string key, byte[]? value, long expectedRevision, long leaderRevision, CancellationToken ct)
    {
        var k = ShardKeys.Bytes(Keys.Binding(key));
        var txn = new TxnRequest();
        txn.Compare.Add(StillLeader(leaderRevision));
        txn.Compare.Add(new Compare { Key = k, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = expectedRevision });
        txn.Success.Add(value is null
            ? new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = k } }
            : new RequestOp { RequestPut = new PutRequest { Key = k, Value = ByteString.CopyFrom(value) } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = ShardKeys.Bytes(Keys.Leader), KeysOnly = true } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = k } });
        var r = await _rpc.KVClient.TxnAsync(txn, deadline: Deadline, cancellationToken: ct);
        if (r.Succeeded) return new WriteResult(WriteOutcome.Written, value is null ? 0 : r.Header.Revision);
        var leader = r.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        if (leader is null || leader.CreateRevision != leaderRevision) return new WriteResult(WriteOutcome.NotLeader, 0);
        var current = r.Responses[1].ResponseRange.Kvs.FirstOrDefault();
        return new WriteResult(WriteOutcome.Conflict, current?.ModRevision ?? 0, current?.Value.Memory);
    }

    public async Task<uint?> GetRestartCounterAsync(CancellationToken ct)
    {
        var r = await _rpc.KVClient.RangeAsync(new RangeRequest { Key = ShardKeys.Bytes(Keys.RestartCounter) }, deadline: Deadline, cancellationToken: ct);
        var kv = r.Kvs.FirstOrDefault();
        if (kv is null) return null;
        return uint.TryParse(kv.Value.ToStringUtf8(), NumberStyles.None, CultureInfo.InvariantCulture, out var c)
            ? c : throw new FormatException($"{Keys.RestartCounter}: \"{kv.Value.ToStringUtf8()}\" is not a restart counter");
    }

    /// <summary>Store the shard's restart counter, only while this member holds the leader key. False when it does not.</summary>
    public async Task<bool> PutRestartCounterAsync(uint counter, long leaderRevision, CancellationToken ct)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(StillLeader(leaderRevision));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ShardKeys.Bytes(Keys.RestartCounter), Value = ByteString.CopyFromUtf8(counter.ToString(CultureInfo.InvariantCulture)) } });
        var r = await _rpc.KVClient.TxnAsync(txn, deadline: Deadline, cancellationToken: ct);
        return r.Succeeded;
    }

    /// <summary>The shard's ESP sequence state as stored (null: none yet).</summary>
    public async Task<byte[]?> GetEspSequencesAsync(CancellationToken ct)
    {
        var r = await _rpc.KVClient.RangeAsync(new RangeRequest { Key = ShardKeys.Bytes(Keys.EspSequences) }, deadline: Deadline, cancellationToken: ct);
        return r.Kvs.FirstOrDefault()?.Value.ToByteArray();
    }

    /// <summary>Store the shard's ESP sequence state, only while this member holds the leader key. False when it does not.</summary>
    public async Task<bool> PutEspSequencesAsync(byte[] value, long leaderRevision, CancellationToken ct)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(StillLeader(leaderRevision));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ShardKeys.Bytes(Keys.EspSequences), Value = ByteString.CopyFrom(value) } });
        var r = await _rpc.KVClient.TxnAsync(txn, deadline: Deadline, cancellationToken: ct);
        return r.Succeeded;
    }

    /// <summary>
    /// Every binding of the shard, paged, all pages at one revision (the first page's), so the result is a
    /// consistent snapshot. The watch continues from <c>Revision + 1</c>.
    /// </summary>
    public async Task<long> ReadBindingsAsync(Action<string, ReadOnlyMemory<byte>, long> onRecord, CancellationToken ct)
    {
        var prefix = Keys.BindingPrefix;
        var end = ShardKeys.PrefixEnd(prefix);
        var from = ShardKeys.Bytes(prefix);
        long revision = 0;
        while (true)
        {
            var req = new RangeRequest { Key = from, RangeEnd = end, Limit = _options.SnapshotPageSize, Revision = revision };
            var r = await _rpc.KVClient.RangeAsync(req, deadline: DateTime.UtcNow + _options.RequestTimeout * 10, cancellationToken: ct);
            if (revision == 0) revision = r.Header.Revision;
            foreach (var kv in r.Kvs) onRecord(kv.Key.ToStringUtf8()[prefix.Length..], kv.Value.Memory, kv.ModRevision);
            if (!r.More || r.Kvs.Count == 0) return revision;
            // Next page: the key just after the last one.
            var last = r.Kvs[^1].Key.ToByteArray();
            from = ByteString.CopyFrom([.. last, 0]);
        }
    }

    /// <summary>
    /// Watch the shard's keys from <paramref name="fromRevision"/> until cancelled or the stream fails (the caller
    /// reconnects from the last revision it saw + 1). Progress notifications advance <paramref name="onProgress"/>.
    /// Throws <see cref="WatchCompactedException"/> when the revision is gone (resynchronise from a snapshot).
    /// </summary>
    public async Task WatchAsync(long fromRevision, Action<KeyChange> onChange, Action<long> onProgress, Action onCreated, CancellationToken ct)
    {
        using var call = _rpc.WatchClient.Watch(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ShardKeys.Bytes(Keys.ShardPrefix),
                RangeEnd = ShardKeys.PrefixEnd(Keys.ShardPrefix),
                StartRevision = fromRevision,
                ProgressNotify = true,
            },
        }, ct);
        while (await call.ResponseStream.MoveNext(ct))
        {
            var r = call.ResponseStream.Current;
            if (r.CompactRevision > 0) throw new WatchCompactedException(r.CompactRevision);
            if (r.Canceled) throw new RpcException(new Status(StatusCode.Aborted, "watch cancelled by the server: " + r.CancelReason));
            if (r.Created) onCreated();
            foreach (var e in r.Events)
            {
                var kv = e.Kv;
                onChange(new KeyChange(e.Type == Event.Types.EventType.Delete, kv.Key.ToStringUtf8(), kv.Value.Memory, kv.ModRevision, kv.CreateRevision, kv.Lease));
            }
            if (r.Events.Count == 0 && r.Header is { } h) onProgress(h.Revision);
        }
        throw new RpcException(new Status(StatusCode.Unavailable, "watch stream closed"));
    }

    // ---- health and registry ----------------------------------------------------------------------------------

    /// <summary>The answering member's view: its raft leader and the cluster's current revision.</summary>
    public async Task<(ulong RaftLeader, long Revision, string Version)> StatusAsync(CancellationToken ct)
    {
        var r = await _rpc.MaintenanceClient.StatusAsync(new StatusRequest(), deadline: Deadline, cancellationToken: ct);
        return (r.Leader, r.Header.Revision, r.Version);
    }

    /// <summary>Every registered shard's description (JSON written by <see cref="RegisterShardAsync"/>), by shard name.</summary>
    public async Task<Dictionary<string, string>> ListShardsAsync(CancellationToken ct)
    {
        var r = await _rpc.KVClient.RangeAsync(new RangeRequest { Key = ShardKeys.Bytes(Keys.RegistryPrefix), RangeEnd = ShardKeys.PrefixEnd(Keys.RegistryPrefix) },
            deadline: Deadline, cancellationToken: ct);
        return r.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8()[Keys.RegistryPrefix.Length..], kv => kv.Value.ToStringUtf8(), StringComparer.Ordinal);
    }

    public async Task RegisterShardAsync(string description, CancellationToken ct) =>
        await _rpc.KVClient.PutAsync(new PutRequest { Key = ShardKeys.Bytes(Keys.Registry), Value = ByteString.CopyFrom(Encoding.UTF8.GetBytes(description)) },
            deadline: Deadline, cancellationToken: ct);

    public void Dispose() => _client.Dispose();
}
