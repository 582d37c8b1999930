using System.Diagnostics;
using System.Text;
using DataPlane.Protocol.Lma.Replication;

namespace DataPlane.Etcd.Tests;

/// <summary>The shard's etcd operations against a real etcd: one member, and a three-member cluster losing members.</summary>
public sealed class EtcdShardStoreTests(ITestOutputHelper output)
{
    private static int _shards;

    private static EtcdShardStore Store(LocalEtcd etcd, string shard, IReadOnlyList<Uri>? endpoints = null) =>
        new(new EtcdOptions { Endpoints = endpoints ?? etcd.Endpoints, SnapshotPageSize = 7, RequestTimeout = TimeSpan.FromSeconds(5) }, new ShardKeys("/dataplane-test/v1", shard)); // semantics, not speed: the first call also connects and JITs

    private static string NewShard() => $"s{Environment.ProcessId}x{Interlocked.Increment(ref _shards)}";

    private static byte[] Record(string mn, string hnp) => BindingRecordCodec.Encode(new BindingRecord
    {
        MobileNodeIdentifier = mn,
        HomeNetworkPrefixes = [Wire.Ipv6Prefix.Parse(hnp)],
        State = Protocol.Lma.BindingCacheState.Active,
        ProxyCareOfAddress = Wire.Ipv6Address.Parse("2001:db8::2"),
        LifetimeSeconds = 60,
    });

    [Fact]
    public async Task Writes_are_compare_and_swap_on_the_revision_and_fenced_by_the_leader_key()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        using var store = Store(etcd, NewShard());
        var ct = CancellationToken.None;
        var (lease, ttl) = await store.GrantLeaseAsync(TimeSpan.FromSeconds(1), ct);
        Assert.Equal(TimeSpan.FromSeconds(1), ttl); // the harness's election timeout allows a 1 s lease
        var won = await store.CampaignAsync(lease, "a", ct);
        Assert.True(won.Won);

        var created = await store.WriteBindingAsync("k1", Record("vm1", "2001:db8:1::/64"), 0, won.LeaderRevision, ct);
        Assert.Equal(WriteOutcome.Written, created.Outcome);
        // The same create again: the key exists now.
        var again = await store.WriteBindingAsync("k1", Record("vm1", "2001:db8:1::/64"), 0, won.LeaderRevision, ct);
        Assert.Equal(WriteOutcome.Conflict, again.Outcome);
        Assert.Equal(created.Revision, again.Revision);
        var updated = await store.WriteBindingAsync("k1", Record("vm1b", "2001:db8:1::/64"), created.Revision, won.LeaderRevision, ct);
        Assert.Equal(WriteOutcome.Written, updated.Outcome);
        Assert.True(updated.Revision > created.Revision);
        var stale = await store.WriteBindingAsync("k1", null, created.Revision, won.LeaderRevision, ct);
        Assert.Equal(WriteOutcome.Conflict, stale.Outcome);
        var deleted = await store.WriteBindingAsync("k1", null, updated.Revision, won.LeaderRevision, ct);
        Assert.Equal((WriteOutcome.Written, 0L), (deleted.Outcome, deleted.Revision));

        // A second member cannot win while the key is held, and cannot write with a made-up leader revision.
        var (lease2, _) = await store.GrantLeaseAsync(TimeSpan.FromSeconds(1), ct);
        Assert.False((await store.CampaignAsync(lease2, "b", ct)).Won);
        Assert.Equal(WriteOutcome.NotLeader, (await store.WriteBindingAsync("k2", Record("vm2", "2001:db8:2::/64"), 0, won.LeaderRevision + 1000, ct)).Outcome);

        // The leader's lease goes: its writes are refused from then on, and the other member wins.
        await store.RevokeLeaseAsync(lease, ct);
        Assert.Equal(WriteOutcome.NotLeader, (await store.WriteBindingAsync("k2", Record("vm2", "2001:db8:2::/64"), 0, won.LeaderRevision, ct)).Outcome);
        Assert.False(await store.PutRestartCounterAsync(9, won.LeaderRevision, ct));
        var b = await store.CampaignAsync(lease2, "b", ct);
        Assert.True(b.Won);
        Assert.True(await store.PutRestartCounterAsync(9, b.LeaderRevision, ct));
        Assert.Equal(9u, await store.GetRestartCounterAsync(ct));
    }

    [Fact]
    public async Task A_lease_that_is_not_renewed_expires_and_takes_the_leader_key_with_it()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        using var store = Store(etcd, NewShard());
        var ct = CancellationToken.None;
        var (lease, _) = await store.GrantLeaseAsync(TimeSpan.FromSeconds(1), ct);
        Assert.True((await store.CampaignAsync(lease, "a", ct)).Won);
        // Started before the renewal is sent: etcd receives it later and expires the lease no earlier than TTL after
        // that, so however the machine schedules us, the key cannot vanish before a TTL has passed on this watch.
        var sw = Stopwatch.StartNew();
        Assert.True(await store.KeepAliveAsync(lease, ct) > TimeSpan.Zero);
        while ((await store.GetLeaderAsync(ct)).Leader is not null)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "the leader key outlived its lease by far");
            await Task.Delay(20, ct);
        }
        output.WriteLine($"leader key gone {sw.ElapsedMilliseconds} ms after the last renewal (TTL 1 s; etcd checks expiry every 500 ms)");
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(990), $"expired after only {sw.ElapsedMilliseconds} ms"); // 10 ms for the clocks' granularity
        Assert.True(await store.KeepAliveAsync(lease, ct) <= TimeSpan.Zero);
    }

    [Fact]
    public async Task A_snapshot_reads_every_binding_in_pages_at_one_revision_and_the_watch_continues_from_it()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        using var store = Store(etcd, NewShard());
        var ct = CancellationToken.None;
        var (lease, _) = await store.GrantLeaseAsync(TimeSpan.FromSeconds(5), ct);
        var won = await store.CampaignAsync(lease, "a", ct);
        for (int i = 0; i < 50; i++)
            Assert.Equal(WriteOutcome.Written, (await store.WriteBindingAsync($"k{i:d2}", Record($"vm{i}", $"2001:db8:{i + 1:x}::/64"), 0, won.LeaderRevision, ct)).Outcome);
        var replica = new BindingReplica();
        long revision = await store.ReadBindingsAsync((k, v, r) => replica.Put(k, v.Span, r), ct);
        replica.Advance(revision);
        Assert.Equal(50, replica.Count);
        Assert.True(replica.TryGet("k07", out var k7));
        Assert.Equal("vm7", k7.Record.MobileNodeIdentifier);

        var seen = new List<KeyChange>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var created = new TaskCompletionSource();
        var watch = Task.Run(() => store.WatchAsync(revision + 1, c => { lock (seen) seen.Add(c); }, _ => { }, () => created.TrySetResult(), cts.Token), ct);
        await created.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
        var put = await store.WriteBindingAsync("k50", Record("vm50", "2001:db8:50::/64"), 0, won.LeaderRevision, ct);
        await store.WriteBindingAsync("k07", null, k7.Revision, won.LeaderRevision, ct);
        await store.RevokeLeaseAsync(lease, ct);
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            lock (seen) if (seen.Count >= 3) break;
            await Task.Delay(10, ct);
        }
        cts.Cancel();
        await Assert.ThrowsAnyAsync<Exception>(() => watch);
        lock (seen)
        {
            Assert.Collection(seen,
                c => Assert.Equal((false, store.Keys.Binding("k50"), put.Revision), (c.IsDelete, c.Key, c.ModRevision)),
                c => Assert.Equal((true, store.Keys.Binding("k07")), (c.IsDelete, c.Key)),
                c => Assert.Equal((true, store.Keys.Leader), (c.IsDelete, c.Key)));
        }
    }

    [Fact]
    public async Task Undecodable_records_are_counted_and_left_out_of_the_copy()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        using var store = Store(etcd, NewShard());
        var ct = CancellationToken.None;
        Assert.Equal(0, etcd.Etcdctl(["put", store.Keys.Binding("bad"), "{\"v\":1,\"mn\":\"x\"}"]).ExitCode);
        Assert.Equal(0, etcd.Etcdctl(["put", store.Keys.Binding("good"), Encoding.UTF8.GetString(Record("vm", "2001:db8:9::/64"))]).ExitCode);
        var replica = new BindingReplica();
        await store.ReadBindingsAsync((k, v, r) => replica.Put(k, v.Span, r), ct);
        Assert.Equal(1, replica.Count);
        Assert.Equal(1, replica.Undecodable);
        Assert.Contains("bad", replica.LastDecodeError);
    }

    [Fact]
    public async Task A_three_member_cluster_keeps_taking_writes_while_members_are_killed_and_restarted_one_at_a_time()
    {
        using var etcd = LocalEtcd.Start(3, output.WriteLine);
        using var store = Store(etcd, NewShard());
        var ct = CancellationToken.None;
        var (lease, _) = await store.GrantLeaseAsync(TimeSpan.FromSeconds(30), ct);
        var won = await store.CampaignAsync(lease, "a", ct);
        long revision = 0;
        int written = 0;
        for (int member = 0; member < 3; member++)
        {
            etcd.Kill(member);
            // Quorum (2 of 3) remains: writes go on after at most a Raft election.
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 10; i++)
            {
                while (true)
                {
                    try
                    {
                        var r = await store.WriteBindingAsync("k", Record($"vm{written}", "2001:db8:1::/64"), revision, won.LeaderRevision, ct);
                        Assert.Equal(WriteOutcome.Written, r.Outcome);
                        revision = r.Revision;
                        written++;
                        break;
                    }
                    catch (Grpc.Core.RpcException e)
                    {
                        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"no write for 20 s with member {member} down: {e.Status}");
                        await Task.Delay(50, ct);
                    }
                }
            }
            Assert.True(await RetryAsync(() => store.KeepAliveAsync(lease, ct)) > TimeSpan.Zero, "the lease did not survive the member's loss");
            etcd.Restart(member);
            etcd.WaitHealthy(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(30, written);
        Assert.Equal("a", (await store.GetLeaderAsync(ct)).Leader?.Holder);
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Grpc.Core.RpcException) when (sw.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }
        }
    }
}
