using CsCheck;
using DataPlane.Protocol.Heartbeat;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

public class InstantTests
{
    [Fact]
    public void Arithmetic_and_pmip_timestamp_conversion()
    {
        var t = Instant.FromDateTime(new DateTime(2023, 11, 14, 22, 13, 20, DateTimeKind.Utc));
        Assert.Equal(1_700_000_000UL, t.ToPmipTimestamp().Seconds);
        Assert.Equal(TimeSpan.FromSeconds(1.5), (t + TimeSpan.FromSeconds(1.5)) - t);
        Assert.True(t < t + TimeSpan.FromTicks(1));
        var precise = t + TimeSpan.FromMilliseconds(123.456);
        var back = Instant.FromPmipTimestamp(precise.ToPmipTimestamp());
        Assert.InRange((precise - back).TotalMicroseconds, 0, 1_000_000.0 / 65536); // rounded down to 1/65536 s
        Assert.Equal("2023-11-14T22:13:20.0000000Z", t.ToString());
    }
}

public class TimerQueueTests
{
    private sealed class Target(int id) { public int Id { get; } = id; }

    private static readonly Instant T0 = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

    [Fact]
    public void Fires_in_due_order_ties_by_arming_order_and_honours_rearm_and_cancel()
    {
        var q = new TimerQueue<Target>();
        var a = new Target(1); var b = new Target(2); var c = new Target(3);
        q.Set(a, T0 + TimeSpan.FromSeconds(5));
        q.Set(b, T0 + TimeSpan.FromSeconds(2));
        q.Set(c, T0 + TimeSpan.FromSeconds(2));
        q.Set(a, T0 + TimeSpan.FromSeconds(1)); // re-armed earlier
        q.Cancel(b);
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), q.NextDue);
        var fired = new List<int>();
        while (q.TryDequeueDue(T0 + TimeSpan.FromSeconds(10), out var t)) fired.Add(t.Id);
        Assert.Equal([1, 3], fired);
        Assert.Equal(0, q.Count);
        Assert.Null(q.NextDue);
    }

    [Fact]
    public void Stale_entries_do_not_pile_up_when_timers_are_rearmed_far_more_often_than_they_fire() =>
        Gen.Select(Gen.Int[0, 49], Gen.Int[0, 1000], Gen.Bool).Array[1, 2000].Sample(ops =>
        {
            var targets = Enumerable.Range(0, 50).Select(i => new Target(i)).ToArray();
            var q = new TimerQueue<Target>();
            var armed = new Dictionary<int, Instant>();
            foreach (var (i, ms, cancel) in ops)
            {
                if (cancel) { q.Cancel(targets[i]); armed.Remove(i); }
                else { q.Set(targets[i], T0 + TimeSpan.FromMilliseconds(ms)); armed[i] = T0 + TimeSpan.FromMilliseconds(ms); }
                Assert.True(q.HeapEntries <= Math.Max(64, 2 * q.Count) + 1, $"{q.HeapEntries} heap entries for {q.Count} timers");
            }
            Assert.Equal(armed.Count, q.Count);
            var fired = new List<(int, Instant)>();
            while (q.TryDequeueDue(Instant.MaxValue, out var t)) fired.Add((t.Id, armed[t.Id]));
            Assert.Equal(armed.OrderBy(kv => kv.Value).Select(kv => kv.Value), fired.Select(f => f.Item2));
            Assert.Equal(armed.Keys.Order(), fired.Select(f => f.Item1).Order());
        }, iter: 200);
}

public class HeartbeatPeerTrackerTests
{
    private static readonly Ipv6Address Peer = Ipv6Address.Parse("2001:db8::1");
    private static readonly Instant T0 = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

    [Fact]
    public void Misses_beyond_the_allowance_declare_the_peer_unreachable_and_an_answer_brings_it_back()
    {
        var t = new HeartbeatPeerTracker(new HeartbeatOptions { Interval = TimeSpan.FromSeconds(10), MissingHeartbeatsAllowed = 2 }, 3, new SplitMix64Random(9));
        var output = new List<HeartbeatSignal>();
        t.AddPeer(Peer, T0);
        var now = T0;
        var unreachableAt = (Instant?)null;
        HeartbeatMessage? last = null;
        for (int i = 0; i < 5; i++)
        {
            output.Clear();
            t.Poll(now, output);
            last = output.Single(s => s.Kind == HeartbeatSignalKind.Send).Message;
            if (output.Any(s => s.Kind == HeartbeatSignalKind.PeerUnreachable)) unreachableAt ??= now;
            now += TimeSpan.FromSeconds(10);
        }
        // Requests at 0, 10, 20, 30: misses counted at 10, 20, 30 → the third exceeds 2.
        Assert.Equal(T0 + TimeSpan.FromSeconds(30), unreachableAt);
        Assert.False(t.IsReachable(Peer));
        output.Clear();
        t.OnMessage(Peer, new HeartbeatMessage(true, false, last!.Sequence) { Options = new MobilityOptionList([new RestartCounterOption(4)]) }, true, output);
        Assert.Equal([HeartbeatSignalKind.PeerReachable], output.Select(s => s.Kind));
        output.Clear();
        t.OnMessage(Peer, new HeartbeatMessage(true, false, last.Sequence) { Options = new MobilityOptionList([new RestartCounterOption(5)]) }, true, output);
        var restarted = Assert.Single(output);
        Assert.Equal((HeartbeatSignalKind.PeerRestarted, (uint?)4, (uint?)5), (restarted.Kind, restarted.PreviousRestartCounter, restarted.RestartCounter));
        output.Clear();
        t.OnMessage(Peer, new HeartbeatMessage(true, false, last.Sequence + 100), true, output);
        Assert.Equal(1, t.Counters.UnmatchedResponses);
        t.RemovePeer(Peer);
        Assert.Equal(0, t.PendingTimers);
    }

    [Fact]
    public void Disabled_tracker_still_answers_requests_but_sends_none()
    {
        var t = new HeartbeatPeerTracker(new HeartbeatOptions { Enabled = false }, 3, new SplitMix64Random(9));
        t.AddPeer(Peer, T0);
        Assert.Null(t.NextDeadline);
        var output = new List<HeartbeatSignal>();
        t.OnMessage(Peer, new HeartbeatMessage(false, false, 1), true, output);
        Assert.Equal(3u, Assert.Single(output).Message!.RestartCounter);
    }
}

public class HomeNetworkPrefixPoolAllocatorTests
{
    [Fact]
    public void Allocation_is_sticky_per_node_probes_past_collisions_and_releases()
    {
        var pool = new HomeNetworkPrefixPoolAllocator(Ipv6Prefix.Parse("2001:db8:100::/60"), 64);
        Assert.Equal(16, pool.Capacity);
        Assert.True(pool.TryAllocate("a@t", out var a));
        pool.Release(a);
        Assert.True(pool.TryAllocate("a@t", out var again));
        Assert.Equal(a, again);
        var all = new HashSet<Ipv6Prefix> { a };
        for (int i = 0; i < 15; i++)
        {
            Assert.True(pool.TryAllocate($"n{i}@t", out var p));
            Assert.True(all.Add(p), "unique");
            Assert.True(Ipv6Prefix.Parse("2001:db8:100::/60").Contains(p.Address));
        }
        Assert.False(pool.TryAllocate("full@t", out _));
        Assert.False(pool.TryClaim(a));
        pool.Release(a);
        Assert.True(pool.TryClaim(a));
        Assert.False(pool.Contains(Ipv6Prefix.Parse("2001:db8:200::/64")));
    }
}
