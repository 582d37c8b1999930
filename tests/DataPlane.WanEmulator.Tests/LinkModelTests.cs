namespace DataPlane.WanEmulator.Tests;

/// <summary>The link model and its queue on virtual time: frames in, departure times out, no I/O.</summary>
public sealed class LinkModelTests
{
    private const long Ms = 1_000_000;

    /// <summary>Feed arrivals (time, length) through a model and a queue; return (arrival index, departure) in leaving order.</summary>
    private static List<(int Index, long Departure)> Simulate(LinkModel model, IReadOnlyList<(long At, int Length)> arrivals, out int lost, out int overLimit)
    {
        var queue = new DelayQueue<int>();
        var left = new List<(int, long)>();
        lost = overLimit = 0;
        for (int i = 0; i < arrivals.Count; i++)
        {
            var (at, length) = arrivals[i];
            // Everything due before this arrival has left (virtual time moves forward only).
            while (queue.TryDequeueDue(at, out int j, out long d)) left.Add((j, d));
            switch (model.Admit(at, length, queue.Count, out long departure))
            {
                case Admission.Queued:
                    Assert.True(departure >= at, "a frame never leaves before it arrived");
                    queue.Enqueue(departure, i);
                    break;
                case Admission.Lost: lost++; break;
                case Admission.OverLimit: overLimit++; break;
            }
        }
        while (queue.TryDequeueDue(long.MaxValue, out int j, out long d)) left.Add((j, d));
        return left;
    }

    private static List<(long, int)> Stream(int count, long spacing, int length = 100, long start = 1000 * Ms) =>
        Enumerable.Range(0, count).Select(i => (start + i * spacing, length)).ToList();

    [Fact]
    public void Every_frame_leaves_exactly_the_delay_after_it_arrived_and_in_order()
    {
        var model = new LinkModel(new LinkParameters { DelayNs = 40 * Ms }, seed: 1);
        var arrivals = Stream(1000, 137_000);
        var left = Simulate(model, arrivals, out int lost, out _);
        Assert.Equal(0, lost);
        Assert.Equal(Enumerable.Range(0, 1000), left.Select(l => l.Index));
        foreach (var (i, d) in left) Assert.Equal(arrivals[i].Item1 + 40 * Ms, d);
    }

    [Fact]
    public void Zero_delay_passes_frames_at_once_in_arrival_order_even_at_the_same_instant()
    {
        var model = new LinkModel(LinkParameters.Default, seed: 1);
        var arrivals = Enumerable.Range(0, 64).Select(_ => (5 * Ms, 1500)).ToList(); // one receive batch
        var left = Simulate(model, arrivals, out _, out _);
        Assert.Equal(Enumerable.Range(0, 64), left.Select(l => l.Index));
        Assert.All(left, l => Assert.Equal(5 * Ms, l.Departure));
    }

    [Fact]
    public void Jitter_stays_within_its_bounds_and_does_not_reorder_by_default()
    {
        var p = new LinkParameters { DelayNs = 20 * Ms, JitterNs = 5 * Ms };
        var arrivals = Stream(5000, 100_000); // every 0.1 ms: jitter of ±5 ms would reorder plenty
        var left = Simulate(new LinkModel(p, seed: 7), arrivals, out _, out _);
        Assert.Equal(Enumerable.Range(0, 5000), left.Select(l => l.Index));
        long previous = 0;
        foreach (var (i, d) in left)
        {
            long delay = d - arrivals[i].Item1;
            Assert.InRange(delay, 15 * Ms, 25 * Ms); // clamping to the previous departure only ever raises it within the window
            Assert.True(d >= previous);
            previous = d;
        }
    }

    [Fact]
    public void With_reordering_allowed_jitter_reorders_and_each_delay_is_uniform_around_the_mean()
    {
        var p = new LinkParameters { DelayNs = 20 * Ms, JitterNs = 5 * Ms, AllowReorder = true };
        var arrivals = Stream(20_000, 100_000);
        var left = Simulate(new LinkModel(p, seed: 7), arrivals, out _, out _);
        Assert.Equal(20_000, left.Count);
        int inversions = left.Zip(left.Skip(1)).Count(pair => pair.First.Index > pair.Second.Index);
        Assert.True(inversions > 1000, $"only {inversions} reorderings");
        var delays = left.Select(l => (double)(l.Departure - arrivals[l.Index].Item1) / Ms).ToArray();
        Assert.All(delays, d => Assert.InRange(d, 15, 25));
        Assert.InRange(delays.Average(), 19.9, 20.1);
        // Uniform on [15, 25]: standard deviation 10/√12 ≈ 2.89 ms.
        double sd = Math.Sqrt(delays.Sum(d => (d - delays.Average()) * (d - delays.Average())) / (delays.Length - 1));
        Assert.InRange(sd, 2.8, 3.0);
    }

    [Fact]
    public void Loss_drops_about_the_configured_share_reproducibly()
    {
        var p = new LinkParameters { DelayNs = 1 * Ms, LossProbability = 0.1 };
        var arrivals = Stream(100_000, 10_000);
        Simulate(new LinkModel(p, seed: 3), arrivals, out int lost, out _);
        Simulate(new LinkModel(p, seed: 3), arrivals, out int again, out _);
        Assert.Equal(lost, again);
        // Binomial(100000, 0.1): sd ≈ 95; ±5 sd.
        Assert.InRange(lost, 10_000 - 475, 10_000 + 475);
    }

    [Fact]
    public void Without_loss_no_random_number_is_drawn_so_jitter_does_not_depend_on_the_loss_setting()
    {
        var a = new LinkModel(new LinkParameters { DelayNs = 10 * Ms, JitterNs = 2 * Ms, AllowReorder = true }, seed: 5);
        var b = new LinkModel(new LinkParameters { DelayNs = 10 * Ms, JitterNs = 2 * Ms, AllowReorder = true, LossProbability = 0 }, seed: 5);
        for (int i = 0; i < 100; i++)
        {
            a.Admit(i * Ms, 100, 0, out long da);
            b.Admit(i * Ms, 100, 0, out long db);
            Assert.Equal(da, db);
        }
    }

    [Fact]
    public void A_rate_serialises_frames_back_to_back_and_then_adds_the_delay()
    {
        // 1500 bytes at 12 Mbit/s take exactly 1 ms.
        var p = new LinkParameters { DelayNs = 10 * Ms, RateBitsPerSecond = 12_000_000 };
        var burst = Enumerable.Range(0, 10).Select(_ => (100 * Ms, 1500)).ToList();
        var left = Simulate(new LinkModel(p, seed: 1), burst, out _, out _);
        Assert.Equal(Enumerable.Range(0, 10), left.Select(l => l.Index));
        for (int k = 0; k < 10; k++) Assert.Equal(100 * Ms + (k + 1) * Ms + 10 * Ms, left[k].Departure);

        // A stream slower than the rate is not held back beyond one serialisation time.
        var slow = Stream(100, 2 * Ms, 1500);
        var left2 = Simulate(new LinkModel(p, seed: 1), slow, out _, out _);
        foreach (var (i, d) in left2) Assert.Equal(slow[i].Item1 + 1 * Ms + 10 * Ms, d);
    }

    [Fact]
    public void A_rate_limited_long_stream_is_carried_at_the_rate()
    {
        var p = new LinkParameters { RateBitsPerSecond = 1_000_000_000 };
        var arrivals = Stream(10_000, 1000, 1500); // offered at 12 Gbit/s
        var left = Simulate(new LinkModel(p, seed: 1), arrivals, out _, out _);
        double seconds = (left[^1].Departure - arrivals[0].Item1) / 1e9;
        double gbit = 10_000 * 1500 * 8 / seconds / 1e9;
        Assert.InRange(gbit, 0.999, 1.001);
    }

    [Fact]
    public void The_limit_refuses_frames_while_the_link_holds_that_many()
    {
        var p = new LinkParameters { DelayNs = 10 * Ms, LimitPackets = 50 };
        var arrivals = Stream(200, 10_000); // 200 frames within 2 ms, each held 10 ms
        var left = Simulate(new LinkModel(p, seed: 1), arrivals, out _, out int over);
        Assert.Equal(50, left.Count);
        Assert.Equal(150, over);
        Assert.Equal(Enumerable.Range(0, 50), left.Select(l => l.Index));
    }

    [Fact]
    public void A_new_delay_applies_to_later_frames_and_a_shorter_one_never_lets_them_overtake()
    {
        var model = new LinkModel(new LinkParameters { DelayNs = 50 * Ms }, seed: 1);
        model.Admit(0, 100, 0, out long first);
        model.Parameters = new LinkParameters { DelayNs = 10 * Ms };
        model.Admit(1 * Ms, 100, 1, out long second);
        model.Admit(60 * Ms, 100, 0, out long third);
        Assert.Equal(50 * Ms, first);
        Assert.Equal(50 * Ms, second);     // would be 11 ms: order is kept
        Assert.Equal(70 * Ms, third);      // the new delay, once nothing is ahead of it
    }

    [Theory]
    [InlineData("7.5ms", 7_500_000L)]
    [InlineData("40ms", 40_000_000L)]
    [InlineData("250us", 250_000L)]
    [InlineData("1.5s", 1_500_000_000L)]
    [InlineData("0", 0L)]
    public void Durations_parse(string text, long ns) => Assert.Equal(ns, LinkParameters.ParseDurationNs(text));

    [Theory]
    [InlineData("1gbit", 1_000_000_000L)]
    [InlineData("100mbit", 100_000_000L)]
    [InlineData("512kbit", 512_000L)]
    [InlineData("unlimited", 0L)]
    public void Rates_parse(string text, long bps) => Assert.Equal(bps, LinkParameters.ParseRate(text));

    [Fact]
    public void Settings_print_and_parse_back()
    {
        var p = LinkParameters.Default.With("delay", "22.5ms").With("jitter", "1ms").With("loss", "0.5%").With("rate", "1gbit").With("limit", "1000").With("reorder", "yes");
        Assert.Equal("delay=22500us jitter=1ms loss=0.5% rate=1gbit limit=1000 reorder=yes", p.ToString());
        var q = p.ToString().Split(' ').Select(kv => kv.Split('=')).Aggregate(LinkParameters.Default, (acc, kv) => acc.With(kv[0], kv[1]));
        Assert.Equal(p, q);
        Assert.Throws<UsageException>(() => LinkParameters.Default.With("delay", "10"));
        Assert.Throws<UsageException>(() => LinkParameters.Default.With("loss", "101%"));
        Assert.Throws<UsageException>(() => LinkParameters.Default.With("colour", "red"));
    }
}
