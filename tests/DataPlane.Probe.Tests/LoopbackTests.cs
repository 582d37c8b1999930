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
/// what arrives, as a VM in stop-and-copy loses it). The responder records which probes it dropped, so
/// each test holds the client's account of the outage (which probes were lost, which acknowledged probes
/// bound the gap) against what really happened, exactly. How closely the gap's length matches the pause
/// in milliseconds depends on how punctually both threads ran: the client reports that itself (achieved
/// intervals, late sends, resyncs), the output shows it, and no assertion depends on it, so a loaded
/// machine cannot fail these tests (the arithmetic's accuracy is pinned by ProbeAnalysisTests).
/// </summary>
[Collection(nameof(Timing))]
public class LoopbackTests(ITestOutputHelper output)
{
    private const long Ms = Synthetic.Ms;

    /// <summary>An in-process responder on a free loopback port, answering on a thread of its own until disposed.</summary>
    private sealed class RunningResponder : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public RunningResponder()
        {
            Responder = new UdpResponder(IPAddress.IPv6Loopback, 0);
            _loop = Task.Factory.StartNew(() => Responder.Run(_stop.Token), TaskCreationOptions.LongRunning);
        }

        public UdpResponder Responder { get; }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            Responder.Dispose();
            _stop.Dispose();
        }
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

    /// <summary>
    /// The probe's outage is the responder's: exactly the probes it dropped are lost, they are one run, and
    /// the gap the downtime is measured over is bounded by the probes just before and just after that run.
    /// </summary>
    private static void AssertOutageIsWhatTheResponderDropped(UdpResponder responder, ProbeSeries series, UdpProbeReport r)
    {
        var (first, last) = responder.DroppedSequences;
        Assert.True(first > 0, "the paused responder dropped no probe (or only the very first one)");
        Assert.Equal(last - first + 1, responder.Dropped);   // one contiguous run of probes
        Assert.Equal(responder.Dropped, r.Lost);              // nothing else lost on loopback
        Assert.Equal(r.Lost, r.Downtime!.LostInGap);
        Assert.Equal(first - 1, r.Downtime.LastAckedBeforeSeq);
        Assert.Equal(last + 1, r.Downtime.FirstAckedAfterSeq);
        Assert.Equal((series.SentNs[last + 1] - series.SentNs[first - 1]) / 1e6, r.DowntimeMs!.Value, 6);
        Assert.Equal(0, responder.Malformed);
    }

    [Theory]
    [InlineData(300)]
    [InlineData(120)]
    public async Task Downtime_is_the_gap_around_the_probes_a_paused_responder_dropped(int pauseMs)
    {
        await using var running = new RunningResponder();
        var responder = running.Responder;
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
        output.WriteLine($"pause {pauseMs} ms (actual {(to - from) / 1e6:0.###}), downtime {r.DowntimeMs:0.###} ms, lost {r.Lost}, " +
            $"total {r.TotalMigrationTimeMs:0.###} ms, interval {r.Intervals!.Achieved}, late sends {r.Intervals.LateSends}, resyncs {r.Intervals.Resyncs}");

        AssertOutageIsWhatTheResponderDropped(responder, series, r);
        // Total migration time runs from the first probe to the arrival of the first ack after the gap.
        double expectedTotal = (series.AckNs[r.Downtime!.FirstAckedAfterSeq] - series.SentNs[0]) / 1e6;
        if (r.Outage) Assert.Equal(expectedTotal, r.TotalMigrationTimeMs!.Value, 6);
        else Assert.Null(r.TotalMigrationTimeMs);
    }

    [Fact]
    public async Task Until_recovered_stops_once_acks_resume_after_the_outage()
    {
        await using var running = new RunningResponder();
        var responder = running.Responder;
        long t0 = MonotonicClock.NowNs;
        var pause = PauseAt(responder, t0 + 300 * Ms, 200 * Ms);
        var options = new UdpClientOptions
        {
            Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
            UntilRecovered = true,
            MaxDuration = TimeSpan.FromSeconds(10),
            Linger = TimeSpan.FromMilliseconds(100),
        };
        var series = UdpProbeClient.Run(options, CancellationToken.None, out bool recovered);
        await pause;
        var r = ProbeAnalysis.Analyze(series, outageIntervals: 5);
        output.WriteLine($"downtime {r.DowntimeMs:0.###} ms, {series.Count} probes, interval {r.Intervals!.Achieved}, resyncs {r.Intervals.Resyncs}");
        Assert.True(recovered);
        Assert.True(r.Outage);
        Assert.Null(r.UnrecoveredOutageMs);
        AssertOutageIsWhatTheResponderDropped(responder, series, r);
        // It stopped after the recovery instead of running to --max-duration: a 10 ms pacer never sends
        // faster than its interval, so 10 s would take 1000 probes.
        Assert.True(series.Count < 500, $"{series.Count} probes: the client ran on towards --max-duration");
    }

    /// <summary>
    /// Pauses the responder from <paramref name="atNs"/> until it has dropped <paramref name="probes"/> probes, so
    /// that an outage certainly happens however the scheduler treats either thread, and is only as long as that.
    /// </summary>
    private static Task PauseForProbes(UdpResponder responder, long atNs, int probes) =>
        Task.Factory.StartNew(() =>
        {
            RealtimeScheduling.TryEnterForCurrentThread();
            Pacer.WaitUntil(atNs, CancellationToken.None);
            long before = responder.Dropped;
            responder.Paused = true;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (responder.Dropped < before + probes && DateTime.UtcNow < deadline) Pacer.WaitUntil(MonotonicClock.NowNs + 200_000, CancellationToken.None);
            responder.Paused = false;
        }, TaskCreationOptions.LongRunning);

    /// <summary>
    /// The issue-16 case: an outage shorter than the outage threshold (here two probes, a 30 ms gap against a 45 ms
    /// threshold) never ends --until-recovered, but --until-settled stops once the scenario is over and a probe sent
    /// after that came back, and measures the short outage exactly as the responder caused it.
    /// </summary>
    [Fact]
    public async Task Until_settled_measures_an_outage_below_the_threshold_and_stops()
    {
        await using var running = new RunningResponder();
        var responder = running.Responder;
        using var end = new CancellationTokenSource();
        var pause = PauseForProbes(responder, MonotonicClock.NowNs + 300 * Ms, probes: 2);
        var mark = pause.ContinueWith(_ => end.Cancel(), TaskScheduler.Default);
        var series = UdpProbeClient.Run(new UdpClientOptions
        {
            Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
            UntilSettled = true,
            EndMark = end.Token,
            MaxDuration = TimeSpan.FromSeconds(20),
            Linger = TimeSpan.FromMilliseconds(100),
        }, CancellationToken.None, out bool settled);
        await mark;
        var r = ProbeAnalysis.Analyze(series, outageIntervals: 5);
        output.WriteLine($"downtime {r.DowntimeMs:0.###} ms (outage by the threshold: {r.Outage}), {series.Count} probes, settled {r.SettledAfterMarkMs:0.###} ms after the mark, interval {r.Intervals!.Achieved}, resyncs {r.Intervals.Resyncs}");
        Assert.True(settled);
        Assert.NotNull(series.EndMarkNs);
        Assert.True(series.SentNs[(int)series.SettledSeq!.Value] > series.EndMarkNs!.Value);
        AssertOutageIsWhatTheResponderDropped(responder, series, r);
        Assert.Equal(2, r.Lost);
        // It stopped by itself long before --max-duration (2000 slots of 10 ms).
        Assert.True(series.Count < 1000, $"{series.Count} probes: the client ran on towards --max-duration");
    }

    [Fact]
    public async Task Until_settled_without_any_outage_stops_after_the_mark()
    {
        await using var running = new RunningResponder();
        var responder = running.Responder;
        using var end = new CancellationTokenSource();
        end.CancelAfter(300);
        var series = UdpProbeClient.Run(new UdpClientOptions
        {
            Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
            UntilSettled = true,
            EndMark = end.Token,
            MaxDuration = TimeSpan.FromSeconds(20),
            Linger = TimeSpan.FromMilliseconds(50),
        }, CancellationToken.None, out bool settled);
        var r = ProbeAnalysis.Analyze(series, outageIntervals: 5);
        Assert.True(settled);
        Assert.Equal(0, r.Lost);
        Assert.Equal(responder.Reflected, r.Acked);
        Assert.NotNull(r.SettledAfterMarkMs);
        Assert.True(series.Count < 1000, $"{series.Count} probes: the client ran on towards --max-duration");
    }

    [Fact]
    public async Task Until_settled_gives_up_at_max_duration_when_nothing_comes_back_after_the_mark()
    {
        await using var running = new RunningResponder();
        var responder = running.Responder;
        using var end = new CancellationTokenSource();
        responder.Paused = true; // nothing is ever answered
        end.Cancel();
        var series = UdpProbeClient.Run(new UdpClientOptions
        {
            Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
            UntilSettled = true,
            EndMark = end.Token,
            MaxDuration = TimeSpan.FromMilliseconds(300),
            Linger = TimeSpan.FromMilliseconds(50),
        }, CancellationToken.None, out bool settled);
        Assert.False(settled);
        Assert.Null(series.SettledSeq);
        Assert.InRange(series.Count, 1, 30);
    }

    /// <summary>`dataplane-probe udp-responder` on a free loopback port, answering once this returns; ends when <paramref name="stop"/> is cancelled.</summary>
    private static (Task<int> Responder, int Port) StartCliResponder(CancellationTokenSource stop)
    {
        int port = FreeUdpPort();
        var responder = Task.Factory.StartNew(() => Cli.Run(["udp-responder", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "::1"],
            TextWriter.Null, TextWriter.Null, stop.Token), TaskCreationOptions.LongRunning);
        try
        {
            WaitForResponder(port);
        }
        catch
        {
            stop.Cancel(); // the responder goes with the failed test
            throw;
        }
        return (responder, port);
    }

    [Fact]
    public async Task The_cli_until_settled_reads_the_end_mark_from_standard_input()
    {
        using var stop = new CancellationTokenSource();
        var (responder, port) = StartCliResponder(stop);
        string json = Path.Combine(Path.GetTempPath(), $"probe-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        try
        {
            var stderr = new StringWriter();
            // Input that says "end" at once: the run settles on the first acknowledged probe.
            int rc = Cli.Run(["udp-client", "--target", "::1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--until-settled", "--max-duration", "20s", "--json", json, "--quiet"], TextWriter.Null, stderr, CancellationToken.None,
                new StringReader("noise\n" + Cli.EndMarkLine + "\n"));
            Assert.Equal(Cli.ExitOk, rc);
            Assert.Contains(Cli.FirstAckLine, stderr.ToString());
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            Assert.Equal("until-settled", root.GetProperty("mode").GetString());
            Assert.True(root.GetProperty("recoveredBeforeStop").GetBoolean());
            Assert.Equal(JsonValueKind.Number, root.GetProperty("endMarkUnixMs").ValueKind);
            Assert.InRange(root.GetProperty("sent").GetInt32(), 1, 1999);
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(Cli.ExitOk, await responder);
            File.Delete(json);
        }
    }

    [Fact]
    public async Task Until_recovered_gives_up_at_max_duration()
    {
        await using var running = new RunningResponder();
        var responder = running.Responder;
        var pause = PauseAt(responder, MonotonicClock.NowNs + 100 * Ms, 2_000 * Ms);
        var series = UdpProbeClient.Run(new UdpClientOptions
        {
            Target = new IPEndPoint(IPAddress.IPv6Loopback, responder.LocalEndPoint.Port),
            UntilRecovered = true,
            MaxDuration = TimeSpan.FromMilliseconds(500),
            Linger = TimeSpan.FromMilliseconds(50),
        }, CancellationToken.None, out bool recovered);
        Assert.False(recovered);
        // 500 ms of 10 ms slots: never more than 50 probes (a pacer that missed a slot skips it).
        Assert.InRange(series.Count, 1, 50);
        Assert.NotNull(ProbeAnalysis.Analyze(series, 5).UnrecoveredOutageMs);
        await pause;
    }

    [Fact]
    public async Task The_cli_writes_the_report_as_json()
    {
        using var stop = new CancellationTokenSource();
        var (responder, port) = StartCliResponder(stop);
        string json = Path.Combine(Path.GetTempPath(), $"probe-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        try
        {
            var stdout = new StringWriter();
            int rc = Cli.Run(["udp-client", "--target", "::1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--interval", "10ms", "--duration", "300ms", "--json", json, "--series"], stdout, TextWriter.Null, CancellationToken.None);
            Assert.Equal(Cli.ExitOk, rc);
            Assert.Contains("service downtime", stdout.ToString());
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            // 300 ms of 10 ms slots: at most 30 probes (fewer only if the pacer had to skip a slot, which it reports).
            int sent = root.GetProperty("sent").GetInt32();
            var intervals = root.GetProperty("intervals");
            Assert.InRange(sent, 1, 30);
            if (intervals.GetProperty("resyncs").GetInt32() == 0) Assert.Equal(30, sent);
            Assert.InRange(root.GetProperty("acked").GetInt32(), 1, sent);
            Assert.Equal(sent, root.GetProperty("series").GetArrayLength());
            Assert.Equal(10, intervals.GetProperty("targetMs").GetDouble());
            bool outage = root.GetProperty("outage").GetBoolean();
            Assert.Equal(outage ? JsonValueKind.Number : JsonValueKind.Null, root.GetProperty("totalMigrationTimeMs").ValueKind);
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
        // 500 ms of 10 ms slots: 50 messages, fewer only when the pacer had to skip a slot (a stalled
        // scheduler), which it reports as a resync. Whatever was sent arrived, in order, then the marker.
        Assert.InRange(client.Sent, 1, 50);
        if (client.Intervals!.Resyncs == 0) Assert.Equal(50, client.Sent);
        Assert.True(report.Survived, report.Error);
        Assert.Equal("survived", report.Outcome);
        Assert.Equal(client.Sent, report.Messages);
        Assert.True(report.EndMarker);
        Assert.Equal(0, report.SequenceErrors);
        Assert.NotNull(report.LongestGapMs);
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

    /// <summary>Waits until something answers probes on <paramref name="port"/>, instead of sleeping and hoping.</summary>
    private static void WaitForResponder(int port)
    {
        using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        s.Connect(IPAddress.IPv6Loopback, port);
        s.ReceiveTimeout = 100;
        var probe = new byte[UdpProbeMessage.Length];
        var reply = new byte[256];
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            UdpProbeMessage.WriteProbe(probe, 0, 0, 0, 0);
            try
            {
                s.Send(probe);
                if (s.Receive(reply) > 0) return;
            }
            catch (SocketException) { } // not bound yet (port unreachable) or no answer yet
        }
        Assert.Fail($"no udp-responder answered on port {port} within 10 s");
    }

    private static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
