namespace DataPlane.WanEmulator.Tests;

public sealed class DelayQueueTests
{
    [Fact]
    public void Frames_leave_by_departure_then_by_arrival()
    {
        var q = new DelayQueue<string>(2);
        q.Enqueue(30, "c");
        q.Enqueue(10, "a1");
        q.Enqueue(20, "b");
        q.Enqueue(10, "a2");
        Assert.Equal(10, q.NextDeparture);
        Assert.False(q.TryDequeueDue(9, out _, out _));
        var order = new List<string>();
        while (q.TryDequeueDue(100, out var s, out _)) order.Add(s);
        Assert.Equal(["a1", "a2", "b", "c"], order);
        Assert.Equal(long.MaxValue, q.NextDeparture);
    }

    [Fact]
    public void A_random_workload_comes_out_sorted_and_stable()
    {
        var random = new Random(11);
        var q = new DelayQueue<int>(4);
        var expected = new List<(long Departure, int Index)>();
        int index = 0;
        var got = new List<(long, int)>();
        for (int round = 0; round < 200; round++)
        {
            for (int k = random.Next(50); k > 0; k--)
            {
                long d = 1000 + random.Next(100);
                q.Enqueue(d, index);
                expected.Add((d, index));
                index++;
            }
            for (int k = random.Next(40); k > 0 && q.TryDequeueDue(long.MaxValue, out int i, out long d); k--) got.Add((d, i));
        }
        while (q.TryDequeueDue(long.MaxValue, out int i, out long d)) got.Add((d, i));
        // Each drained prefix is sorted; across rounds later arrivals may leave earlier (they were not there yet).
        Assert.Equal(expected.Count, got.Count);
        Assert.Equal(expected.Select(e => e.Index).Order(), got.Select(g => g.Item2).Order());
    }
}

public sealed class FrameArenaTests
{
    [Fact]
    public void Frames_are_placed_one_after_the_other_and_wrap_when_the_oldest_leave()
    {
        var a = new FrameArena(1000);
        Assert.True(a.TryAllocate(400, out long h1, out int o1));
        Assert.True(a.TryAllocate(400, out long h2, out int o2));
        Assert.Equal((0, 400), (o1, o2));
        Assert.False(a.TryAllocate(300, out _, out _));          // 200 left at the end, nothing freed at the start
        a.Free(h1);
        Assert.True(a.TryAllocate(300, out long h3, out int o3)); // wraps to the start, before the live frame at 400
        Assert.Equal(0, o3);
        Assert.False(a.TryAllocate(200, out _, out _));           // only [300, 400) is free now
        Assert.True(a.TryAllocate(100, out long h4, out int o4));
        Assert.Equal(300, o4);
        a.Free(h2);
        a.Free(h3);
        a.Free(h4);
        Assert.Equal(0, a.Count);
        Assert.Equal(0, a.BytesInUse);
        Assert.True(a.TryAllocate(1000, out _, out int whole));
        Assert.Equal(0, whole);
    }

    [Fact]
    public void A_frame_freed_out_of_order_waits_for_the_older_ones()
    {
        var a = new FrameArena(300);
        a.TryAllocate(100, out long h1, out _);
        a.TryAllocate(100, out long h2, out _);
        a.TryAllocate(100, out long h3, out _);
        a.Free(h2);
        Assert.Equal(3, a.Count);
        Assert.False(a.TryAllocate(50, out _, out _));
        a.Free(h1);
        Assert.Equal(1, a.Count); // h1 and h2 reclaimed together
        Assert.True(a.TryAllocate(200, out _, out int o));
        Assert.Equal(0, o);
        a.Free(h3);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Free(h3)); // freed and reclaimed: no longer a live frame
    }

    [Fact]
    public void Live_frames_never_overlap_under_a_random_reordering_workload()
    {
        var random = new Random(5);
        var a = new FrameArena(64 * 1024, initialRecords: 4);
        var live = new List<(long Handle, int Offset, int Length)>();
        int allocated = 0, refused = 0;
        for (int step = 0; step < 50_000; step++)
        {
            if (live.Count > 0 && random.NextDouble() < 0.5)
            {
                int k = random.Next(Math.Min(live.Count, 4)); // mostly the oldest, sometimes a younger one
                a.Free(live[k].Handle);
                live.RemoveAt(k);
            }
            else
            {
                int length = random.Next(1, 9000);
                if (a.TryAllocate(length, out long h, out int o))
                {
                    Assert.InRange(o, 0, a.Capacity - length);
                    foreach (var (_, lo, ll) in live) Assert.True(o + length <= lo || lo + ll <= o, "overlap");
                    live.Add((h, o, length));
                    allocated++;
                }
                else refused++;
            }
        }
        Assert.True(allocated > 10_000 && refused > 0, $"allocated {allocated}, refused {refused}");
    }
}
