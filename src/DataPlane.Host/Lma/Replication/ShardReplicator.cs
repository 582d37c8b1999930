using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using DataPlane.Etcd;
using DataPlane.Host.Runtime;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Lma.Replication;

/// <summary>
/// Carries out a shard's replication for one LMA daemon, off the packet loop: drives the
/// <see cref="ShardElection"/> (lease, renewals, campaign) against etcd, keeps the standby's
/// <see cref="BindingReplica"/> warm from a snapshot and the watch, performs a takeover or step-down through
/// <see cref="IShardHost"/>, and runs the machine's conditional binding writes, answering them in batches.
/// The packet loop never waits for any of it: writes are queued, answers are posted back.
/// </summary>
public sealed class ShardReplicator : IDisposable
{
    private static readonly TimeSpan WriteRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan WatchRetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(1);

    private readonly EtcdShardStore _store;
    private readonly ShardElection _election;
    private readonly BindingReplica _replica = new();
    private readonly IShardHost _host;
    private readonly ILogger _log;
    private readonly DaemonClock _clock;
    private readonly string _member;
    private readonly string _registration;
    private readonly Func<Dictionary<string, string>, string?> _checkRegistry;
    private readonly Channel<ElectionEvent> _events = Channel.CreateUnbounded<ElectionEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writeSlots;
    private readonly ConcurrentQueue<LmaEvent> _results = new();
    private readonly ConcurrentDictionary<long, long> _writeStarted = new();
    private readonly List<Task> _loops = [];
    private int _resultsPosted;
    private CancellationTokenSource _watchRestart = new();
    // The leader key's create revision while this member is active (the fencing compare of every write).
    private long _leaderRevision;
    private volatile bool _tracking = true;
    private volatile bool _needSnapshot = true;
    private volatile bool _resigning;

    public ShardReplicator(EtcdShardStore store, ElectionOptions election, string member, IShardHost host, DaemonClock clock, ILogger log,
        string registration, Func<Dictionary<string, string>, string?> checkRegistry)
    {
        _store = store;
        _election = new ShardElection(election);
        _member = member;
        _host = host;
        _clock = clock;
        _log = log;
        _registration = registration;
        _checkRegistry = checkRegistry;
        _writeSlots = new SemaphoreSlim(store.Options.MaxWritesInFlight);
    }

    public ReplicationStatus Status { get; } = new();

    public EtcdShardStore Store => _store;

    public void Start()
    {
        _loops.Add(Run("election", RegisterThenElectAsync));
        _loops.Add(Run("watch", WatchLoopAsync));
        _loops.Add(Run("status", StatusLoopAsync));
    }

    /// <summary>A loop that ends with an exception other than the stop is a bug: log it loudly, and never serve on without it.</summary>
    private Task Run(string name, Func<Task> loop) => Task.Run(async () =>
    {
        try
        {
            await loop();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        catch (Exception e)
        {
            _log.LogCritical("etcd: the {Loop} loop failed: {Error}", name, e);
            Status.LastError = $"{name} loop failed: {e.Message}";
            Raise(new ElectionEvent.Fenced($"the {name} loop failed"));
        }
    });

    // ---- election ---------------------------------------------------------------------------------------------

    private async Task RegisterThenElectAsync()
    {
        // A shard whose pools overlap another shard's must not serve: check (and register) before campaigning.
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var shards = await _store.ListShardsAsync(_stop.Token);
                if (_checkRegistry(shards) is { } conflict)
                {
                    Status.RegistryError = conflict;
                    _log.LogError("etcd: not campaigning: {Conflict}", conflict);
                    await Task.Delay(TimeSpan.FromSeconds(5), _stop.Token);
                    continue;
                }
                Status.RegistryError = null;
                await _store.RegisterShardAsync(_registration, _stop.Token);
                NoteSuccess();
                break;
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException && !_stop.IsCancellationRequested)
            {
                NoteFailure(e);
                await Task.Delay(WatchRetryDelay, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        await ElectionLoopAsync();
    }

    private async Task ElectionLoopAsync()
    {
        Perform(_election.Start(_clock.Now));
        var reader = _events.Reader;
        while (!_stop.IsCancellationRequested)
        {
            var now = _clock.Now;
            var wait = _election.NextDeadline is { } due ? due - now : TimeSpan.FromMilliseconds(100);
            if (wait > TimeSpan.FromMilliseconds(100)) wait = TimeSpan.FromMilliseconds(100);
            if (wait > TimeSpan.Zero)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(wait);
                try
                {
                    await reader.WaitToReadAsync(timeout.Token);
                }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested) { }
            }
            while (reader.TryRead(out var e)) Perform(_election.Handle(e, _clock.Now));
            Perform(_election.Tick(_clock.Now));
            Status.Role = _election.Role;
            Status.Leader = _election.Leader;
            Status.LeaseId = _election.LeaseId;
            Status.LeaseTtl = _election.GrantedTtl;
            Status.StepDowns = _election.StepDowns;
            Status.LastStepDownReason = _election.LastStepDownReason;
            Status.KeepAliveFailures = _election.KeepAliveFailures;
        }
    }

    private void Raise(ElectionEvent e) => _events.Writer.TryWrite(e);

    private void Perform(IReadOnlyList<ElectionAction> actions)
    {
        foreach (var action in actions.ToArray())
        {
            switch (action)
            {
                case ElectionAction.GrantLease g:
                    var requestedAt = _clock.Now;
                    Fire(async ct =>
                    {
                        var (id, ttl) = await _store.GrantLeaseAsync(g.Ttl, ct);
                        _log.LogInformation("etcd: lease {Lease:x} granted, TTL {Ttl} s", id, ttl.TotalSeconds);
                        Raise(new ElectionEvent.LeaseGranted(id, ttl, requestedAt));
                    }, e => Raise(new ElectionEvent.LeaseRequestFailed(e.Message)));
                    break;
                case ElectionAction.SendKeepAlive k:
                    Fire(async ct => Raise(new ElectionEvent.KeepAliveAnswered(k.LeaseId, await _store.KeepAliveAsync(k.LeaseId, ct), k.SentAt)),
                        e => Raise(new ElectionEvent.KeepAliveFailed(k.LeaseId, e.Message)));
                    break;
                case ElectionAction.Campaign c:
                    Fire(async ct =>
                    {
                        var r = await _store.CampaignAsync(c.LeaseId, _member, ct);
                        if (!r.Won && r.HolderLeaseId == c.LeaseId)
                            _log.LogInformation("etcd: the leader key of shard {Shard} is already under our lease {Lease:x} (created at revision {Revision} by a campaign whose answer was lost)",
                                _store.Keys.Shard, c.LeaseId, r.LeaderRevision);
                        Raise(new ElectionEvent.CampaignAnswered(r.Won, r.LeaderRevision, r.Holder, r.HolderLeaseId));
                    }, e => Raise(new ElectionEvent.CampaignFailed(e.Message)));
                    break;
                case ElectionAction.BecomeActive b:
                    // The machine decided the key is ours (won, or found under our lease): fence our writes with it.
                    Interlocked.Exchange(ref _leaderRevision, b.LeaderRevision);
                    _ = Task.Run(() => TakeOverAsync(b.LeaderRevision));
                    break;
                case ElectionAction.StepDown s:
                    // At shutdown the packet loop has stopped: the daemon takes the address down itself.
                    if (!_resigning) _ = Task.Run(() => StepDownAsync(s.Reason));
                    break;
                case ElectionAction.RevokeLease r:
                    Fire(async ct => await _store.RevokeLeaseAsync(r.LeaseId, ct), _ => { });
                    break;
            }
        }
    }

    /// <summary>
    /// Run one store request on the thread pool; failures go to <paramref name="failed"/> and the health status. Every
    /// failure, whatever its type: the election machine waits for an answer to each request it made (a campaign stays
    /// outstanding until answered), so an exception that escaped here would leave it waiting for good. The first
    /// failure after a success is logged, so that a member stuck short of a role says why.
    /// </summary>
    private void Fire(Func<CancellationToken, Task> request, Action<Exception> failed)
    {
        _ = Task.Run(async () =>
        {
            try
            {
                await request(_stop.Token);
                NoteSuccess();
            }
            catch (Exception e)
            {
                if (_stop.IsCancellationRequested) return;
                NoteFailure(e);
                if (Status.ConsecutiveFailures == 1)
                    _log.LogWarning("etcd: a request failed ({Type}: {Error}); retrying", e.GetType().Name, Status.LastError);
                failed(e);
            }
        });
    }

    private async Task TakeOverAsync(long leaderRevision)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Every write of the previous active is older than our leader key: wait until the copy has it all.
            var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
            while (_replica.Revision < leaderRevision || _needSnapshot)
            {
                if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"the watch did not reach revision {leaderRevision} within 10 s (at {_replica.Revision})");
                await Task.Delay(5, _stop.Token);
            }
            uint stored = await _store.GetRestartCounterAsync(_stop.Token) ?? 0;
            var espSequences = await _store.GetEspSequencesAsync(_stop.Token);
            List<StoredBinding> records;
            lock (_replica)
            {
                _tracking = false;
                records = [.. _replica.Records];
                _replica.Clear();
                _replica.Advance(leaderRevision);
            }
            var (counter, espWrite) = await _host.TakeOverAsync(records, stored, espSequences);
            if (counter != stored && !await _store.PutRestartCounterAsync(counter, leaderRevision, _stop.Token))
                throw new InvalidOperationException("lost the leader key while storing the restart counter");
            // Our ESP sequences start past everything the previous active could have sent; store ours, a block
            // ahead, before the first message goes out (ReplicatedSequenceState).
            if (espWrite is not null && !await _store.PutEspSequencesAsync(espWrite, leaderRevision, _stop.Token))
                throw new InvalidOperationException("lost the leader key while storing the ESP sequence state");
            await _host.BringUpAsync();
            var took = Stopwatch.GetElapsedTime(started);
            Status.LastTakeover = new TakeoverRecord(_clock.Now, took, records.Count, stored, counter, Status.Leader);
            Status.Takeovers++;
            _log.LogWarning("etcd: ACTIVE for shard {Shard}: {Count} bindings installed in {Ms:0.0} ms, restart counter {Counter}{Changed}",
                _store.Keys.Shard, records.Count, took.TotalMilliseconds, counter, counter == stored ? " (unchanged: MAGs keep their bindings)" : $" (was {stored}: MAGs re-register)");
            Raise(new ElectionEvent.TakeoverCompleted());
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            _log.LogError("etcd: takeover failed: {Error}", e.Message);
            Raise(new ElectionEvent.TakeoverFailed(e.Message));
        }
    }

    private async Task StepDownAsync(string reason)
    {
        Interlocked.Exchange(ref _leaderRevision, 0);
        _log.LogWarning("etcd: stepping down from shard {Shard}: {Reason}", _store.Keys.Shard, reason);
        try
        {
            await _host.StepDownAsync(reason);
        }
        catch (Exception e)
        {
            _log.LogError("etcd: step-down: {Error}", e.Message);
        }
        // Standby again: rebuild the copy from a fresh snapshot.
        _needSnapshot = true;
        _tracking = true;
        _watchRestart.Cancel();
    }

    /// <summary>The machine was refused a write for leadership: step down now rather than at the lease's end.</summary>
    public void Fenced(string reason) => Raise(new ElectionEvent.Fenced(reason));

    /// <summary>
    /// Orderly shutdown, after the packet loop has stopped: stop the election and revoke the lease, so a standby
    /// takes over now instead of when the lease runs out. True when this member was serving (the caller then
    /// removes the address and withdraws the announcement itself: the loop no longer runs).
    /// </summary>
    public async Task<bool> ResignAsync(TimeSpan timeout)
    {
        var wasActive = Status.Role is LmaRole.Active or LmaRole.TakingOver;
        long lease = _election.LeaseId;
        _resigning = true;
        Raise(new ElectionEvent.Resign());
        Interlocked.Exchange(ref _leaderRevision, 0);
        if (lease == 0) return wasActive;
        // The whole of the shutdown's time for it, not one request's deadline: a slow etcd (a stalled fsync, a loaded
        // host) would otherwise leave the standby waiting out the lease. Retried across members until then.
        var until = DateTime.UtcNow + timeout;
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            try
            {
                await _store.RevokeLeaseAsync(lease, cts.Token, until);
                _log.LogInformation("etcd: lease {Lease:x} revoked{Handover}", lease, wasActive ? ": a standby takes over now" : "");
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                _log.LogInformation("etcd: lease {Lease:x} had already expired", lease);
                break;
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                if (DateTime.UtcNow + TimeSpan.FromMilliseconds(100) < until && e is RpcException { StatusCode: not StatusCode.DeadlineExceeded })
                {
                    await Task.Delay(100, CancellationToken.None); // another member, or the same one back
                    continue;
                }
                _log.LogWarning("etcd: could not revoke the lease at shutdown within {Timeout} s ({Error}); a standby takes over when it expires",
                    timeout.TotalSeconds, e.Message);
                break;
            }
        }
        return wasActive;
    }

    // ---- the standby's copy -----------------------------------------------------------------------------------

    private async Task WatchLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var restart = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            _watchRestart = restart;
            try
            {
                if (_needSnapshot)
                {
                    long revision;
                    var count = 0;
                    lock (_replica) _replica.Clear();
                    revision = await _store.ReadBindingsAsync((key, value, modRevision) =>
                    {
                        count++;
                        if (!_tracking) return;
                        lock (_replica) _replica.Put(key, value.Span, modRevision);
                    }, restart.Token);
                    var (leader, leaderReadAt) = await _store.GetLeaderAsync(restart.Token);
                    lock (_replica) _replica.Advance(revision);
                    _needSnapshot = false;
                    NoteSuccess();
                    Raise(new ElectionEvent.LeaderObserved(leader?.LeaseId, leader?.Holder, leaderReadAt));
                    _log.LogInformation("etcd: snapshot of shard {Shard} at revision {Revision}: {Count} bindings; leader {Leader}",
                        _store.Keys.Shard, revision, count, leader?.Holder ?? "none");
                }
                Status.WatchConnected = false;
                await _store.WatchAsync(_replica.Revision + 1, OnChange, OnProgress, () => Status.WatchConnected = true, restart.Token);
            }
            catch (WatchCompactedException e)
            {
                _log.LogWarning("etcd: {Error}", e.Message);
                _needSnapshot = true;
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException or IOException)
            {
                Status.WatchConnected = false;
                if (_stop.IsCancellationRequested) return;
                if (!restart.IsCancellationRequested) NoteFailure(e);
                await Task.Delay(WatchRetryDelay, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            finally
            {
                restart.Dispose();
            }
        }
    }

    private void OnChange(KeyChange c)
    {
        Status.LastWatchEvent = _clock.Now;
        if (c.Key == _store.Keys.Leader)
        {
            Raise(new ElectionEvent.LeaderObserved(c.IsDelete ? null : c.LeaseId, c.IsDelete ? null : System.Text.Encoding.UTF8.GetString(c.Value.Span), c.ModRevision));
        }
        else if (_tracking && c.Key.StartsWith(_store.Keys.BindingPrefix, StringComparison.Ordinal))
        {
            var key = c.Key[_store.Keys.BindingPrefix.Length..];
            lock (_replica)
            {
                if (c.IsDelete) _replica.Delete(key, c.ModRevision);
                else _replica.Put(key, c.Value.Span, c.ModRevision);
            }
            return;
        }
        lock (_replica) _replica.Advance(c.ModRevision);
    }

    private void OnProgress(long revision)
    {
        Status.LastWatchEvent = _clock.Now;
        lock (_replica) _replica.Advance(revision);
    }

    private async Task StatusLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var (raftLeader, revision, version) = await _store.StatusAsync(_stop.Token);
                Status.StoreRevision = revision;
                Status.StoreVersion = version;
                Status.RaftLeader = raftLeader;
                NoteSuccess();
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                if (_stop.IsCancellationRequested) return;
                NoteFailure(e);
            }
            lock (_replica)
            {
                Status.ReplicaRevision = _replica.Revision;
                Status.ReplicaBindings = _replica.Count;
                Status.ReplicaUndecodable = _replica.Undecodable;
            }
            await Task.Delay(StatusInterval, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void NoteSuccess()
    {
        Status.LastContact = _clock.Now;
        Status.ConsecutiveFailures = 0;
    }

    private void NoteFailure(Exception e)
    {
        Status.LastError = e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message;
        Status.LastErrorAt = _clock.Now;
        Interlocked.Increment(ref Status.Errors);
        Status.ConsecutiveFailures++;
    }

    // ---- the active's writes ----------------------------------------------------------------------------------

    /// <summary>
    /// Store the active's ESP sequence state (called on the packet loop; returns at once). <paramref name="done"/> gets
    /// true once etcd committed it under our leader key, false if it did not (not the leader any more, or etcd
    /// unreachable within the request deadline: the caller retries with newer state later).
    /// </summary>
    public void WriteEspSequences(byte[] value, Action<bool> done)
    {
        long leaderRevision = Interlocked.Read(ref _leaderRevision);
        _ = Task.Run(async () =>
        {
            bool ok = false;
            try
            {
                ok = leaderRevision != 0 && await _store.PutEspSequencesAsync(value, leaderRevision, _stop.Token);
                NoteSuccess();
            }
            catch (Exception e)
            {
                // Whatever failed, the caller must hear of it, or its state would wait for this write forever.
                if (!_stop.IsCancellationRequested) NoteFailure(e);
            }
            done(ok);
        });
    }

    /// <summary>Queue one of the machine's writes (called on the packet loop; returns at once).</summary>
    public void Write(LmaAction.StoreBinding w)
    {
        long leaderRevision = Interlocked.Read(ref _leaderRevision);
        var value = w.Record is null ? null : BindingRecordCodec.Encode(w.Record);
        _writeStarted[w.WriteId] = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref Status.WritesInFlight);
        _ = Task.Run(async () =>
        {
            LmaEvent result;
            await _writeSlots.WaitAsync(_stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                result = await WriteWithRetryAsync(w, value, leaderRevision);
            }
            finally
            {
                _writeSlots.Release();
            }
            Complete(w.WriteId, result);
        });
    }

    private async Task<LmaEvent> WriteWithRetryAsync(LmaAction.StoreBinding w, byte[]? value, long leaderRevision)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (leaderRevision == 0 || Interlocked.Read(ref _leaderRevision) != leaderRevision || _stop.IsCancellationRequested)
                return new LmaEvent.BindingStoreFailed(w.WriteId, BindingStoreFailure.NotLeader);
            try
            {
                var r = await _store.WriteBindingAsync(w.Key, value, w.ExpectedRevision, leaderRevision, _stop.Token);
                NoteSuccess();
                switch (r.Outcome)
                {
                    case WriteOutcome.Written:
                        return new LmaEvent.BindingStored(w.WriteId, r.Revision);
                    case WriteOutcome.NotLeader:
                        return new LmaEvent.BindingStoreFailed(w.WriteId, BindingStoreFailure.NotLeader);
                    default:
                        // A retry after an unanswered attempt that had in fact committed finds our own value.
                        if (attempt > 0 && (value is null ? r.Current is null : r.Current is { } cur && cur.Span.SequenceEqual(value)))
                            return new LmaEvent.BindingStored(w.WriteId, value is null ? 0 : r.Revision);
                        Interlocked.Increment(ref Status.WriteConflicts);
                        _log.LogError("etcd: write of {Key} refused: its revision is {Now}, expected {Expected}", w.Key, r.Revision, w.ExpectedRevision);
                        return new LmaEvent.BindingStoreFailed(w.WriteId, BindingStoreFailure.Conflict);
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException && !_stop.IsCancellationRequested)
            {
                NoteFailure(e);
                Interlocked.Increment(ref Status.WriteRetries);
                await Task.Delay(WriteRetryDelay).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private void Complete(long writeId, LmaEvent result)
    {
        if (_writeStarted.TryRemove(writeId, out long started))
        {
            var us = (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            Interlocked.Add(ref Status.WriteMicrosTotal, us);
            long max;
            while (us > (max = Interlocked.Read(ref Status.WriteMicrosMax)) && Interlocked.CompareExchange(ref Status.WriteMicrosMax, us, max) != max) { }
        }
        Interlocked.Decrement(ref Status.WritesInFlight);
        if (result is LmaEvent.BindingStored) Interlocked.Increment(ref Status.WritesCommitted);
        else Interlocked.Increment(ref Status.WritesFailed);
        _results.Enqueue(result);
        // One post to the loop per burst of answers, not one per answer.
        if (Interlocked.Exchange(ref _resultsPosted, 1) == 0) _host.StoreResults(DrainResults());
    }

    private IReadOnlyList<LmaEvent> DrainResults() => new DeferredResults(this);

    /// <summary>Drained when the loop reads it, so answers that arrive until then ride along.</summary>
    private sealed class DeferredResults(ShardReplicator owner) : IReadOnlyList<LmaEvent>
    {
        private List<LmaEvent>? _items;
        private List<LmaEvent> Items
        {
            get
            {
                if (_items is not null) return _items;
                Interlocked.Exchange(ref owner._resultsPosted, 0);
                _items = [];
                while (owner._results.TryDequeue(out var e)) _items.Add(e);
                return _items;
            }
        }
        public LmaEvent this[int index] => Items[index];
        public int Count => Items.Count;
        public IEnumerator<LmaEvent> GetEnumerator() => Items.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>The age of the oldest write in flight (the active's replication lag).</summary>
    public TimeSpan OldestWriteInFlight()
    {
        long oldest = long.MaxValue;
        foreach (var (_, t) in _writeStarted) oldest = Math.Min(oldest, t);
        return oldest == long.MaxValue ? TimeSpan.Zero : Stopwatch.GetElapsedTime(oldest);
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll([.. _loops], TimeSpan.FromSeconds(2));
        }
        catch (AggregateException) { }
        _store.Dispose();
    }
}

public sealed record TakeoverRecord(Instant At, TimeSpan Duration, int Bindings, uint StoredRestartCounter, uint RestartCounter, string? PreviousLeader);

/// <summary>What ctl and the metrics show of replication (written by the replicator's tasks, read anywhere).</summary>
public sealed class ReplicationStatus
{
    public volatile LmaRole Role;
    public volatile string? Leader;
    public long LeaseId;
    public TimeSpan LeaseTtl;
    public long StepDowns;
    public volatile string? LastStepDownReason;
    public long KeepAliveFailures;
    public long Takeovers;
    public volatile TakeoverRecord? LastTakeover;
    public volatile string? RegistryError;
    // etcd health
    public Instant LastContact;
    public volatile string? LastError;
    public Instant LastErrorAt;
    public long Errors;
    public int ConsecutiveFailures;
    public long StoreRevision;
    public volatile string? StoreVersion;
    public ulong RaftLeader;
    // the standby's copy
    public volatile bool WatchConnected;
    public Instant LastWatchEvent;
    public long ReplicaRevision;
    public int ReplicaBindings;
    public long ReplicaUndecodable;
    // the active's writes
    public long WritesInFlight;
    public long WritesCommitted;
    public long WritesFailed;
    public long WriteConflicts;
    public long WriteRetries;
    public long WriteMicrosTotal;
    public long WriteMicrosMax;
}
