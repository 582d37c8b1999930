using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using DataPlane.Linux;

namespace DataPlane.WanEmulator.Tests;

/// <summary>
/// Namespaces A, W and B (dptw&lt;pid&gt;x&lt;n&gt;-a/-w/-b), A and B on one /64, each joined by a veth pair to W,
/// where a <see cref="WanBridge"/> runs in-process (its sockets opened inside W). Torn down in Dispose
/// whatever happened; namespaces of dead test runs are removed first.
/// </summary>
internal sealed partial class BridgedPair : IDisposable
{
    private static int s_counter;
    private static readonly Lazy<int> s_janitor = new(RemoveStale);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread? _loop;
    public const string AddressA = "2001:db8:77::1";
    public const string AddressB = "2001:db8:77::2";

    public string Prefix { get; }
    public WanBridge Bridge { get; }

    public BridgedPair(LinkParameters parameters)
    {
        _ = s_janitor.Value;
        Prefix = $"dptw{Environment.ProcessId}x{Interlocked.Increment(ref s_counter)}";
        try
        {
            foreach (var r in new[] { "a", "w", "b" })
            {
                Ip("netns", "add", Ns(r));
                Ip("-n", Ns(r), "link", "set", "lo", "up");
            }
            Run("ip", "netns", "exec", Ns("w"), "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            foreach (var r in new[] { "a", "b" })
            {
                // Quiet hosts: no DAD or router solicitations mixed into what the tests count.
                Run("ip", "netns", "exec", Ns(r), "sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.default.router_solicitations=0");
                Ip("-n", Ns(r), "link", "add", "eth0", "type", "veth", "peer", "name", "w" + r, "netns", Ns("w"));
                Ip("-n", Ns(r), "addr", "add", (r == "a" ? AddressA : AddressB) + "/64", "dev", "eth0", "nodad");
                Ip("-n", Ns(r), "link", "set", "dev", "eth0", "up");
                Ip("-n", Ns("w"), "link", "set", "dev", "w" + r, "up");
            }
            foreach (var (ns, dev) in new[] { (Ns("a"), "eth0"), (Ns("b"), "eth0"), (Ns("w"), "wa"), (Ns("w"), "wb") }) WaitOperUp(ns, dev);
            Bridge = NetworkNamespace.Run(Ns("w"), () => new WanBridge("wa", "wb", parameters, new BridgeOptions()));
            _loop = new Thread(() => Bridge.Run(_stop.Token)) { IsBackground = true, Name = "bridge under test" };
            _loop.Start();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Ns(string role) => $"{Prefix}-{role}";

    /// <summary>Ping B from A; the RTTs in ms.</summary>
    public double[] Ping(int count, double intervalSeconds = 0.02)
    {
        var r = Run("ip", "netns", "exec", Ns("a"), "ping", "-6", "-c", count.ToString(CultureInfo.InvariantCulture), "-i",
            intervalSeconds.ToString(CultureInfo.InvariantCulture), "-W", "3", AddressB);
        return [.. TimeRegex().Matches(r).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
    }

    [GeneratedRegex(@"time=([\d.]+) ms")]
    private static partial Regex TimeRegex();

    /// <summary>How many frames A → B the loss model dropped during the last <see cref="UdpSequence"/> stream (its markers not counted).</summary>
    public long LostInLastSequence { get; private set; }

    /// <summary>Send <paramref name="count"/> numbered UDP datagrams A → B, <paramref name="spacing"/> apart; return the numbers B received, in order.</summary>
    public List<int> UdpSequence(int count, TimeSpan spacing, TimeSpan settle)
    {
        using var rx = NetworkNamespace.Run(Ns("b"), () =>
        {
            var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20 };
            s.Bind(new IPEndPoint(IPAddress.Parse(AddressB), 9000));
            return s;
        });
        using var tx = NetworkNamespace.Run(Ns("a"), () => new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp));
        var target = new IPEndPoint(IPAddress.Parse(AddressB), 9000);
        var got = new List<int>();
        var buffer = new byte[64];
        // A marker first, until one arrives (the link may lose some): B's address is resolved before the timed stream.
        rx.ReceiveTimeout = 200;
        for (int attempt = 0; ; attempt++)
        {
            tx.SendTo(BitConverter.GetBytes(-1), target);
            try
            {
                int n = rx.Receive(buffer);
                if (n == 4 && BitConverter.ToInt32(buffer) == -1) break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock && attempt < 50)
            {
            }
        }
        Thread.Sleep(300); // markers still in flight arrive and are dropped below
        rx.ReceiveTimeout = 1;
        try
        {
            while (true) rx.Receive(buffer);
        }
        catch (SocketException)
        {
        }
        long lostBefore = Bridge.AToB.Lost;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            while (sw.Elapsed < spacing * i) Thread.SpinWait(20);
            tx.SendTo(BitConverter.GetBytes(i), target);
        }
        rx.ReceiveTimeout = (int)settle.TotalMilliseconds;
        try
        {
            while (true)
            {
                int n = rx.Receive(buffer);
                if (n == 4 && BitConverter.ToInt32(buffer) >= 0) got.Add(BitConverter.ToInt32(buffer));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
        }
        LostInLastSequence = Bridge.AToB.Lost - lostBefore;
        return got;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop?.Join(TimeSpan.FromSeconds(5));
        Bridge?.Dispose();
        foreach (var r in new[] { "a", "w", "b" }) Shell("ip", "netns", "del", Ns(r));
    }

    private static void WaitOperUp(string ns, string dev)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(3))
        {
            if (Shell("ip", "-n", ns, "-o", "link", "show", "dev", dev).Stdout.Contains(" state UP ", StringComparison.Ordinal)) return;
            Thread.Sleep(10);
        }
        throw new TimeoutException($"{dev} in {ns} is not up");
    }

    private static void Ip(params string[] args) => Run("ip", args);

    private static string Run(string file, params string[] args)
    {
        var r = Shell(file, args);
        if (r.Code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {r.Code}: {r.Stdout}{r.Stderr}");
        return r.Stdout;
    }

    internal static (int Code, string Stdout, string Stderr) Shell(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', args)}");
        }
        return (p.ExitCode, o.Result, e.Result);
    }

    /// <summary>dptw&lt;pid&gt;x… namespaces whose test process is gone.</summary>
    private static int RemoveStale()
    {
        int removed = 0;
        if (!Directory.Exists("/run/netns")) return 0;
        foreach (var f in Directory.GetFiles("/run/netns", "dptw*"))
        {
            var m = Regex.Match(Path.GetFileName(f), @"^dptw(\d+)x\d+-[awb]$");
            if (!m.Success || Directory.Exists($"/proc/{m.Groups[1].Value}")) continue;
            Shell("ip", "netns", "del", Path.GetFileName(f));
            removed++;
        }
        return removed;
    }
}

public sealed class BridgeNamespaceTests(ITestOutputHelper output)
{
    private static double Median(double[] v)
    {
        var s = v.Order().ToArray();
        return s[s.Length / 2];
    }

    [Fact]
    public void Ping_through_the_bridge_takes_the_configured_delay_each_way_and_a_new_delay_applies_at_once()
    {
        using var pair = new BridgedPair(new LinkParameters { DelayNs = 10_000_000 });
        var rtts = pair.Ping(20);
        output.WriteLine($"delay 10 ms each way: RTT median {Median(rtts)} ms, min {rtts.Min()}, max {rtts.Max()}; bridge A→B {pair.Bridge.AToB}");
        Assert.Equal(20, rtts.Length);
        AssertDelayAppliedOnce(rtts, 20.0);

        var control = new ControlServer(Path.Combine(Path.GetTempPath(), $"{pair.Prefix}.sock"), pair.Bridge);
        using (control)
        {
            Assert.StartsWith("delay=25ms", control.Handle("set delay=25ms"));
            Assert.Contains("\"sentFrames\"", control.Handle("stats"));
            Assert.StartsWith("error:", control.Handle("set delay=fast"));
        }
        rtts = pair.Ping(10);
        output.WriteLine($"delay 25 ms each way: RTT median {Median(rtts)} ms, min {rtts.Min()}");
        AssertDelayAppliedOnce(rtts, 50.0); // the new delay, at once
        Assert.Equal(0, pair.Bridge.AToB.Lost + pair.Bridge.AToB.NoBuffer + pair.Bridge.AToB.SendFailures);
    }

    /// <summary>
    /// No ping may come back before the emulated round trip (whatever the load); and the delay is applied once
    /// per direction, not twice and not the old one: the fastest of the pings is within 10 ms of it. A busy
    /// scheduler makes some pings late, never every one of them by 10 ms, so only the minimum is held to that.
    /// </summary>
    internal static void AssertDelayAppliedOnce(double[] rtts, double expectedRttMs)
    {
        Assert.NotEmpty(rtts);
        Assert.True(rtts.Min() >= expectedRttMs, $"a ping returned in {rtts.Min()} ms, before the emulated {expectedRttMs} ms");
        Assert.True(rtts.Min() < expectedRttMs + 10, $"the fastest ping took {rtts.Min()} ms for an emulated {expectedRttMs} ms");
    }

    [Fact]
    public void Jitter_much_larger_than_the_spacing_keeps_the_order_and_loses_nothing()
    {
        using var pair = new BridgedPair(new LinkParameters { DelayNs = 5_000_000, JitterNs = 3_000_000 });
        var got = pair.UdpSequence(2000, TimeSpan.FromMicroseconds(100), TimeSpan.FromSeconds(1));
        output.WriteLine($"received {got.Count} of 2000; bridge A→B: {pair.Bridge.AToB}");
        Assert.Equal(Enumerable.Range(0, 2000), got);
    }

    [Fact]
    public void Loss_drops_about_the_configured_share_and_the_survivors_stay_in_order()
    {
        using var pair = new BridgedPair(new LinkParameters { DelayNs = 1_000_000, LossProbability = 0.3 });
        var got = pair.UdpSequence(2000, TimeSpan.FromMicroseconds(100), TimeSpan.FromSeconds(1));
        output.WriteLine($"received {got.Count} of 2000; bridge A→B: {pair.Bridge.AToB}");
        // Every datagram the loss model did not drop arrived, in order; the model's own drops are
        // Binomial(2000, 0.3) (sd ≈ 20.5; ±5 sd, a statistical bound, not a timing one).
        Assert.Equal(2000, got.Count + pair.LostInLastSequence);
        Assert.InRange(pair.LostInLastSequence, 600 - 103, 600 + 103);
        Assert.Equal(got.Order(), got);
    }
}
