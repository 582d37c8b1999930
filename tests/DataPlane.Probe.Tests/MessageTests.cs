using System.Buffers.Binary;
using System.Text;
using DataPlane.Probe;

namespace DataPlane.Probe.Tests;

public class UdpProbeMessageTests
{
    [Fact]
    public void The_responder_turns_a_probe_into_an_ack_with_the_sequence_incremented_and_timestamps_echoed()
    {
        var p = new byte[64];
        UdpProbeMessage.WriteProbe(p, runId: 0xABCD, sequence: 41, clientMonotonicNs: 123_456_789, clientUnixNs: 987_654_321);
        Assert.Equal("DATAPLANE-PROBE", Encoding.ASCII.GetString(p, 0, 15));
        Assert.True(UdpProbeMessage.TryMakeAck(p, responderMonotonicNs: 555));
        Assert.True(UdpProbeMessage.TryReadAck(p, out uint run, out ulong seq, out long ts));
        Assert.Equal(0xABCDu, run);
        Assert.Equal(42ul, seq);
        Assert.Equal(123_456_789, ts);
        Assert.Equal(987_654_321, BinaryPrimitives.ReadInt64BigEndian(p.AsSpan(UdpProbeMessage.ClientUnixOffset)));
        Assert.Equal(555, BinaryPrimitives.ReadInt64BigEndian(p.AsSpan(UdpProbeMessage.ResponderMonotonicOffset)));
    }

    [Fact]
    public void Anything_else_is_neither_reflected_nor_taken_for_an_ack()
    {
        var p = new byte[UdpProbeMessage.Length];
        UdpProbeMessage.WriteProbe(p, 1, 1, 1, 1);
        Assert.False(UdpProbeMessage.TryReadAck(p, out _, out _, out _)); // a probe is not an ack
        Assert.True(UdpProbeMessage.TryMakeAck(p, 0));
        Assert.False(UdpProbeMessage.TryMakeAck(p, 0)); // an ack is not reflected again
        var shortPacket = p.AsSpan(0, UdpProbeMessage.Length - 1).ToArray();
        Assert.False(UdpProbeMessage.TryReadAck(shortPacket, out _, out _, out _));
        p[0] ^= 1;
        Assert.False(UdpProbeMessage.TryReadAck(p, out _, out _, out _));
    }
}

public class TcpStreamAnalyzerTests
{
    private const long Ms = Synthetic.Ms;

    private static byte[] Message(ProbeKind kind, ulong seq, long sentNs = 0)
    {
        var m = new byte[TcpProbeMessage.Length];
        TcpProbeMessage.Write(m, kind, seq, sentNs);
        return m;
    }

    [Fact]
    public void Messages_split_across_recv_calls_are_reassembled_and_the_longest_gap_found()
    {
        var a = new TcpStreamAnalyzer();
        var stream = Enumerable.Range(0, 5).SelectMany(i => Message(ProbeKind.TcpData, (ulong)i, i * 10 * Ms)).Concat(Message(ProbeKind.TcpEnd, 5)).ToArray();
        a.Feed(stream.AsSpan(0, 40), 1 * Ms);    // #0 complete, #1 partial
        a.Feed(stream.AsSpan(40, 24), 11 * Ms);  // #1 completes
        a.Feed(stream.AsSpan(64, 32), 321 * Ms); // #2 after a 310 ms stall
        a.Feed(stream.AsSpan(96), 322 * Ms);     // #3, #4 and END together
        Assert.Equal(5, a.Messages);
        Assert.Equal(4L, a.LastSequence);
        Assert.True(a.EndMarker);
        Assert.False(a.Corrupt);
        Assert.Equal(0, a.SequenceErrors);
        Assert.Equal(310 * Ms, a.LongestGapNs);
        Assert.Equal(1L, a.GapAfterSequence);
        Assert.Equal(stream.Length, a.Bytes);
        Assert.Equal(301 * Ms, a.MaxDelayNs); // #2 sent at 20 ms, arrived at 321 ms
    }

    [Fact]
    public void Garbage_marks_the_stream_corrupt_and_a_skipped_sequence_is_counted()
    {
        var a = new TcpStreamAnalyzer();
        a.Feed(Message(ProbeKind.TcpData, 0), 0);
        a.Feed(Message(ProbeKind.TcpData, 2), 1);
        Assert.Equal(1, a.SequenceErrors);
        a.Feed(new byte[TcpProbeMessage.Length], 2);
        Assert.True(a.Corrupt);
        Assert.False(a.EndMarker);
    }
}

public class ArgumentsTests
{
    [Theory]
    [InlineData("10ms", 10.0)]
    [InlineData("1.5s", 1500.0)]
    [InlineData("250us", 0.25)]
    [InlineData("2m", 120_000.0)]
    public void Durations_need_a_unit(string text, double ms) =>
        Assert.Equal(ms, Arguments.ParseDuration(text).TotalMilliseconds, 6);

    [Theory]
    [InlineData("10")]
    [InlineData("-1ms")]
    [InlineData("0s")]
    [InlineData("ms")]
    public void Bad_durations_are_usage_errors(string text) =>
        Assert.Throws<UsageException>(() => Arguments.ParseDuration(text));

    [Fact]
    public void Options_take_both_spellings_and_unknown_ones_are_rejected()
    {
        var a = new Arguments(["--port", "7", "--interval=5ms", "--series"], ["port", "interval"], ["series"]);
        Assert.Equal(7, a.Port());
        Assert.Equal(5.0, a.Duration("interval", default).TotalMilliseconds);
        Assert.True(a.Has("series"));
        Assert.Throws<UsageException>(() => new Arguments(["--bogus"], ["port"], []));
        Assert.Throws<UsageException>(() => new Arguments(["--port"], ["port"], []));
        Assert.Throws<UsageException>(() => new Arguments(["stray"], ["port"], []));
    }

    [Fact]
    public void The_cli_reports_usage_errors_with_exit_code_64()
    {
        var err = new StringWriter();
        Assert.Equal(Cli.ExitUsage, Cli.Run(["udp-client", "--port", "9"], TextWriter.Null, err, CancellationToken.None));
        Assert.Contains("--target is required", err.ToString());
        Assert.Equal(Cli.ExitUsage, Cli.Run(["udp-client", "--target", "::1", "--port", "9", "--duration", "1s", "--until-recovered"], TextWriter.Null, TextWriter.Null, CancellationToken.None));
        Assert.Equal(Cli.ExitUsage, Cli.Run(["udp-client", "--target", "::1", "--port", "9", "--duration", "1s", "--until-settled"], TextWriter.Null, TextWriter.Null, CancellationToken.None));
        Assert.Equal(Cli.ExitUsage, Cli.Run(["udp-client", "--target", "::1", "--port", "9", "--until-recovered", "--until-settled"], TextWriter.Null, TextWriter.Null, CancellationToken.None));
        Assert.Equal(Cli.ExitUsage, Cli.Run(["frobnicate"], TextWriter.Null, TextWriter.Null, CancellationToken.None));
        Assert.Equal(Cli.ExitOk, Cli.Run(["--help"], TextWriter.Null, TextWriter.Null, CancellationToken.None));
    }
}
