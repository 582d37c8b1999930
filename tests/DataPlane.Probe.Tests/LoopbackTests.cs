using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using DataPlane.Probe;
using Xunit.Abstractions;

namespace DataPlane.Probe.Tests;

[CollectionDefinition(nameof(Timing), DisableParallelization = true)]
public sealed class Timing;

/// <summary>
/// Responder and client over loopback, with an outage injected by pausing the responder (it drops
/// what arrives, as a VM in stop-and-copy loses it). The pause is a multiple of the interval and timed
/// by spinning, so the seed's downtime (a gap between acknowledged probes' send times) is the pause
/// plus one interval, give or take scheduling: the check is the brief's ±15 ms of the pause, plus the
/// exact bound [pause, pause + 2 intervals] against the pause as it really happened.
/// </summary>
[Collection(nameof(Timing))]
public class LoopbackTests(ITestOutputHelper output)
{
    private const long Ms = Synthetic.Ms;

    private static (UdpResponder Responder, Task Loop, CancellationTokenSource Stop) StartResponder()
    {
        var responder = new UdpResponder(IPAddress.IPv6Loopback, 0);
        var stop = new CancellationTokenSource();
        var loop = Task.Factory.StartNew(() => responder.Run(stop.Token), TaskCreationOptions.LongRunning);
        return (responder, loop, stop);
    }

    /// <summary>Pauses the responder from <paramref name="atNs"/> for <paramref name="pauseNs"/>; returns when it happened.</summary>
    private static Task<(long From, long To)> PauseAt(UdpResponder responder, long atNs, long pauseNs) =>
        Task.Factory.StartNew(() =>
        {
            RealtimeScheduling.TryEnterForCurrentThread(); // a LongRunning task has a thread of its own
            Pacer.WaitUntil(atNs, CancellationToken.None);
            responder.Paused = true;
            long from = MonotonicClock.NowNs;
            Pacer.WaitUntil(from + pauseNs, CancellationToken.None);
            responder.Paused = false;
            return (from, MonotonicClock.NowNs);
        }, TaskCreationOptions.LongRunning);

    [Theory]
    [InlineData(300)]
    [InlineData(120)]
    public async Task Downtime_measures_an_injected_outage_within_15_ms(int pauseMs)
    {
        var (responder, loop, stop) = StartResponder();
        try
        {
            long t0 = MonotonicClock.NowNs;
            var pause = PauseAt(responder, t0 + 400 * Ms, pauseMs * Ms);
            var series = UdpProbeClient.Run(new UdpClientOptions
            {
                Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
                Interval = TimeSpan.FromMilliseconds(10),
                Duration = TimeSpan.FromMilliseconds(400 + pauseMs + 400),
            }, CancellationToken.None, out _);
            var (from, to) = await pause;
            var r = ProbeAnalysis.Analyze(series, outageIntervals: 5);

            Assert.True(r.Outage, $"no outage seen: downtime {r.DowntimeMs} ms");
            double downtime = r.DowntimeMs!.Value;
            double actualPause = (to - from) / 1e6;
            output.WriteLine($"pause {pauseMs} ms (actual {actualPause:0.###}), downtime {downtime:0.###} ms, lost {r.Lost}, total {r.TotalMigrationTimeMs:0.###} ms, interval {r.Intervals!.Achieved}");
            Assert.InRange(downtime, pauseMs - 15, pauseMs + 15);
            Assert.InRange(downtime, actualPause - 1, actualPause + 20 + 1);
            Assert.InRange(r.Downtime!.LostInGap, pauseMs / 10 - 1, pauseMs / 10 + 1);
            Assert.Equal(r.Downtime.LostInGap, r.Lost);
            // Total migration time: from the first probe to the first ack after the outage (which ends at `to`).
            double expectedTotal = (to - series.SentNs[0]) / 1e6;
            Assert.InRange(r.TotalMigrationTimeMs!.Value, expectedTotal, expectedTotal + 20);
            Assert.Equal(0, responder.Malformed);
        }
        finally
        {
            stop.Cancel();
            await loop;
            responder.Dispose();
        }
    }

    [Fact]
    public async Task Until_recovered_stops_once_acks_resume_after_the_outage()
    {
        var (responder, loop, stop) = StartResponder();
        try
        {
            long t0 = MonotonicClock.NowNs;
            var pause = PauseAt(responder, t0 + 300 * Ms, 200 * Ms);
            var series = UdpProbeClient.Run(new UdpClientOptions
            {
                Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
                UntilRecovered = true,
                MaxDuration = TimeSpan.FromSeconds(10),
                Linger = TimeSpan.FromMilliseconds(100),
            }, CancellationToken.None, out bool recovered);
            var (_, to) = await pause;
            var r = ProbeAnalysis.Analyze(series, outageIntervals: 5);
            Assert.True(recovered);
            Assert.InRange(r.DowntimeMs!.Value, 185, 215);
            // It stopped within a few intervals of the first ack after the outage, far short of --max-duration.
            double lastSentAfterRecoveryMs = (series.SentNs[^1] - to) / 1e6;
            Assert.InRange(lastSentAfterRecoveryMs, 0, 50);
            Assert.Null(r.UnrecoveredOutageMs);
        }
        finally
        {
            stop.Cancel();
            await loop;
            responder.Dispose();
        }
    }

    [Fact]
    public async Task Until_recovered_gives_up_at_max_duration()
    {
        var (responder, loop, stop) = StartResponder();
        try
        {
            var pause = PauseAt(responder, MonotonicClock.NowNs + 100 * Ms, 2_000 * Ms);
            var series = UdpProbeClient.Run(new UdpClientOptions
            {
                Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
                UntilRecovered = true,
                MaxDuration = TimeSpan.FromMilliseconds(500),
                Linger = TimeSpan.FromMilliseconds(50),
            }, CancellationToken.None, out bool recovered);
            Assert.False(recovered);
            Assert.Equal(50, series.Count);
            Assert.NotNull(ProbeAnalysis.Analyze(series, 5).UnrecoveredOutageMs);
            await pause;
        }
        finally
        {
            stop.Cancel();
            await loop;
            responder.Dispose();
        }
    }

    [Fact]
    public async Task The_cli_writes_the_report_as_json()
    {
        int port = FreeUdpPort();
        using var stop = new CancellationTokenSource();
        var responder = Task.Factory.StartNew(() => Cli.Run(["udp-responder", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "::1"],
            TextWriter.Null, TextWriter.Null, stop.Token), TaskCreationOptions.LongRunning);
        string json = Path.Combine(Path.GetTempPath(), $"probe-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        try
        {
            await Task.Delay(200);
            var stdout = new StringWriter();
            int rc = Cli.Run(["udp-client", "--target", "::1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--interval", "10ms", "--duration", "300ms", "--json", json, "--series"], stdout, TextWriter.Null, CancellationToken.None);
            Assert.Equal(Cli.ExitOk, rc);
            Assert.Contains("service downtime", stdout.ToString());
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            Assert.Equal(30, root.GetProperty("sent").GetInt32());
            Assert.Equal(30, root.GetProperty("acked").GetInt32());
            Assert.False(root.GetProperty("outage").GetBoolean());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("totalMigrationTimeMs").ValueKind);
            Assert.Equal(30, root.GetProperty("series").GetArrayLength());
            Assert.True(root.GetProperty("intervals").GetProperty("achieved").GetProperty("meanMs").GetDouble() is > 9 and < 11);
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(Cli.ExitOk, await responder);
            File.Delete(json);
        }
    }

    [Fact]
    public async Task A_tcp_session_that_runs_to_its_end_marker_survived()
    {
        using var server = new TcpProbeServer(new TcpServerOptions { Bind = IPAddress.IPv6Loopback, Port = 0, AcceptTimeout = TimeSpan.FromSeconds(10) });
        var serverRun = Task.Factory.StartNew(() => server.Run(CancellationToken.None), TaskCreationOptions.LongRunning);
        var client = TcpProbeClient.Run(new TcpClientOptions
        {
            Target = new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port),
            Duration = TimeSpan.FromMilliseconds(500),
        }, CancellationToken.None);
        var report = await serverRun;
        Assert.True(client.Completed, client.Error);
        Assert.Equal(50, client.Sent);
        Assert.True(report.Survived, report.Error);
        Assert.Equal("survived", report.Outcome);
        Assert.Equal(50, report.Messages);
        Assert.True(report.EndMarker);
        Assert.Equal(0, report.SequenceErrors);
        Assert.InRange(report.LongestGapMs!.Value, 5, 100);
    }

    [Fact]
    public async Task A_tcp_session_closed_before_its_end_marker_was_lost()
    {
        using var server = new TcpProbeServer(new TcpServerOptions { Bind = IPAddress.IPv6Loopback, Port = 0, AcceptTimeout = TimeSpan.FromSeconds(10) });
        var serverRun = Task.Factory.StartNew(() => server.Run(CancellationToken.None), TaskCreationOptions.LongRunning);
        using (var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp))
        {
            s.Connect(IPAddress.IPv6Loopback, server.LocalEndPoint.Port);
            var m = new byte[TcpProbeMessage.Length];
            TcpProbeMessage.Write(m, ProbeKind.TcpData, 0, MonotonicClock.NowNs);
            s.Send(m);
        }
        var report = await serverRun;
        Assert.False(report.Survived);
        Assert.Equal("closed", report.Outcome);
        Assert.Equal(1, report.Messages);
    }

    [Fact]
    public async Task A_reset_tcp_session_was_lost()
    {
        using var server = new TcpProbeServer(new TcpServerOptions { Bind = IPAddress.IPv6Loopback, Port = 0, AcceptTimeout = TimeSpan.FromSeconds(10) });
        var serverRun = Task.Factory.StartNew(() => server.Run(CancellationToken.None), TaskCreationOptions.LongRunning);
        using (var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp))
        {
            s.Connect(IPAddress.IPv6Loopback, server.LocalEndPoint.Port);
            s.LingerState = new LingerOption(true, 0); // close → RST
        }
        var report = await serverRun;
        Assert.False(report.Survived);
        Assert.Contains(report.Outcome, new[] { "error", "closed" });
    }

    private static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
