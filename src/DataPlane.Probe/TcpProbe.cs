using System.Net;
using System.Net.Sockets;

namespace DataPlane.Probe;

/// <summary>
/// Reassembles the TCP survivability stream into messages and keeps the numbers the server reports:
/// message count, sequence continuity, the END marker, and the longest gap between the arrivals of
/// consecutive messages. Pure: bytes and arrival times go in, so it is tested with synthetic chunks.
/// </summary>
public sealed class TcpStreamAnalyzer
{
    private readonly byte[] _partial = new byte[TcpProbeMessage.Length];
    private int _partialLength;
    private long _lastArrivalNs = -1;

    public long Messages { get; private set; }
    public long Bytes { get; private set; }
    public long? LastSequence { get; private set; }
    public bool EndMarker { get; private set; }
    public bool Corrupt { get; private set; }
    public int SequenceErrors { get; private set; }
    public long LongestGapNs { get; private set; } = -1;
    public long? GapAfterSequence { get; private set; }
    public long GapStartNs { get; private set; }
    public long GapEndNs { get; private set; }
    public long MaxDelayNs { get; private set; } = -1;

    /// <summary>Feeds one <c>recv</c>'s bytes, all of which arrived at <paramref name="arrivalNs"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, long arrivalNs)
    {
        Bytes += data.Length;
        while (!data.IsEmpty && !Corrupt)
        {
            int take = Math.Min(TcpProbeMessage.Length - _partialLength, data.Length);
            data[..take].CopyTo(_partial.AsSpan(_partialLength));
            _partialLength += take;
            data = data[take..];
            if (_partialLength < TcpProbeMessage.Length) break;
            _partialLength = 0;
            OnMessage(_partial, arrivalNs);
        }
    }

    private void OnMessage(ReadOnlySpan<byte> message, long arrivalNs)
    {
        if (!TcpProbeMessage.TryRead(message, out var kind, out ulong seq, out long sentNs))
        {
            Corrupt = true;
            return;
        }
        if (kind == ProbeKind.TcpEnd)
        {
            EndMarker = true;
            return;
        }
        long expected = LastSequence is { } last ? last + 1 : 0;
        if ((long)seq != expected) SequenceErrors++;
        if (_lastArrivalNs >= 0)
        {
            long gap = arrivalNs - _lastArrivalNs;
            if (gap > LongestGapNs)
            {
                LongestGapNs = gap;
                GapAfterSequence = LastSequence;
                GapStartNs = _lastArrivalNs;
                GapEndNs = arrivalNs;
            }
        }
        MaxDelayNs = Math.Max(MaxDelayNs, arrivalNs - sentNs);
        _lastArrivalNs = arrivalNs;
        LastSequence = (long)seq;
        Messages++;
    }
}

public sealed record TcpServerOptions
{
    public IPAddress Bind { get; init; } = IPAddress.IPv6Any;
    public int Port { get; init; }
    public TimeSpan AcceptTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>No byte for this long counts as a lost session ("stalled"): TCP itself would keep retrying for many minutes.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Receive under SCHED_FIFO when permitted, so arrival times are not scheduling noise.</summary>
    public bool Realtime { get; init; } = true;
}

/// <summary>
/// The seed's TCP survivability server: accepts one connection and calls <c>recv</c> in a loop. The session
/// survived when the client's END marker arrives before <c>recv</c> returns 0 or fails.
/// </summary>
public sealed class TcpProbeServer : IDisposable
{
    private readonly Socket _listener;
    private readonly TcpServerOptions _options;

    public TcpProbeServer(TcpServerOptions options)
    {
        _options = options;
        _listener = new Socket(options.Bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (options.Bind.AddressFamily == AddressFamily.InterNetworkV6 && options.Bind.Equals(IPAddress.IPv6Any)) _listener.DualMode = true;
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(options.Bind, options.Port));
        _listener.Listen(1);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public TcpServerReport Run(CancellationToken cancellationToken)
    {
        var anchor = ClockAnchor.Now();
        Socket conn;
        try
        {
            using var acceptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            acceptCts.CancelAfter(_options.AcceptTimeout);
            conn = _listener.AcceptAsync(acceptCts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return new TcpServerReport { Outcome = "no-connection", Error = "no client connected" };
        }
        using var _ = conn;
        _listener.Close();
        return DedicatedThread.Run("tcp-receiver", _options.Realtime, _ => Receive(conn, anchor, cancellationToken));
    }

    private TcpServerReport Receive(Socket conn, ClockAnchor anchor, CancellationToken cancellationToken)
    {
        long acceptedNs = MonotonicClock.NowNs;
        string? peer = conn.RemoteEndPoint?.ToString();
        var analyzer = new TcpStreamAnalyzer();
        var buffer = new byte[65536];
        string outcome;
        string? error = null;
        conn.ReceiveTimeout = (int)Math.Clamp(_options.IdleTimeout.TotalMilliseconds, 1, int.MaxValue);
        using (cancellationToken.Register(() => conn.Close()))
        {
            while (true)
            {
                int n;
                try
                {
                    n = conn.Receive(buffer);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    outcome = analyzer.EndMarker ? "survived" : "stalled";
                    if (!analyzer.EndMarker) error = $"no data for {_options.IdleTimeout.TotalSeconds:0.###} s";
                    break;
                }
                catch (SocketException e)
                {
                    outcome = analyzer.EndMarker ? "survived" : "error";
                    if (!analyzer.EndMarker) error = $"recv failed: {e.SocketErrorCode} ({e.Message})";
                    break;
                }
                catch (ObjectDisposedException)
                {
                    outcome = analyzer.EndMarker ? "survived" : "error";
                    if (!analyzer.EndMarker) error = "interrupted";
                    break;
                }
                long now = MonotonicClock.NowNs;
                if (n == 0)
                {
                    outcome = analyzer.EndMarker ? "survived" : "closed";
                    if (!analyzer.EndMarker) error = "recv returned 0 before the END marker";
                    break;
                }
                analyzer.Feed(buffer.AsSpan(0, n), now);
                if (analyzer.Corrupt)
                {
                    outcome = "corrupt";
                    error = "bytes that are not probe messages";
                    break;
                }
            }
        }
        long endNs = MonotonicClock.NowNs;
        return new TcpServerReport
        {
            Outcome = outcome,
            Survived = outcome == "survived",
            Error = error,
            Peer = peer,
            AcceptedUnixMs = anchor.ToUnixMs(acceptedNs),
            Messages = analyzer.Messages,
            Bytes = analyzer.Bytes,
            LastSequence = analyzer.LastSequence,
            EndMarker = analyzer.EndMarker,
            SequenceErrors = analyzer.SequenceErrors,
            LongestGapMs = analyzer.LongestGapNs >= 0 ? MonotonicClock.NsToMs(analyzer.LongestGapNs) : null,
            GapAfterSeq = analyzer.GapAfterSequence,
            GapStartUnixMs = analyzer.LongestGapNs >= 0 ? anchor.ToUnixMs(analyzer.GapStartNs) : null,
            GapEndUnixMs = analyzer.LongestGapNs >= 0 ? anchor.ToUnixMs(analyzer.GapEndNs) : null,
            MaxDelaySameHostMs = analyzer.MaxDelayNs >= 0 ? MonotonicClock.NsToMs(analyzer.MaxDelayNs) : null,
            DurationMs = MonotonicClock.NsToMs(endNs - acceptedNs),
        };
    }

    public void Dispose() => _listener.Dispose();
}

public sealed record TcpClientOptions
{
    public required IPEndPoint Target { get; init; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(10);
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long to wait for the server to close after END before closing anyway.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public IPAddress? Bind { get; init; }
    public bool Realtime { get; init; } = true;
}

/// <summary>
/// The seed's TCP client (it runs in the VM): connects, sends a small message every interval for the
/// duration, then the END marker, then shuts down its side and waits for the server's close.
/// Nagle is off, so each message leaves when it is written.
/// </summary>
public static class TcpProbeClient
{
    public static TcpClientReport Run(TcpClientOptions o, CancellationToken cancellationToken)
    {
        long intervalNs = o.Interval.Ticks * 100;
        using var socket = new Socket(o.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (o.Bind is not null) socket.Bind(new IPEndPoint(o.Bind, 0));
        var anchor = ClockAnchor.Now();
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(o.ConnectTimeout);
            socket.ConnectAsync(o.Target, cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return new TcpClientReport { Target = o.Target.Address.ToString(), Port = o.Target.Port, Error = $"connect: {e.Message}" };
        }
        long connected = MonotonicClock.NowNs;
        var sends = new List<long>((int)Math.Min(1 << 20, o.Duration.Ticks * 100 / intervalNs + 2));
        var (error, resyncs, realtime) = DedicatedThread.Run("tcp-sender", o.Realtime, realtime =>
        {
            var (error, resyncs) = SendLoop(socket, o, intervalNs, sends, cancellationToken);
            return (error, resyncs, realtime);
        });
        var deltas = new List<long>(Math.Max(0, sends.Count - 1));
        for (int i = 1; i < sends.Count; i++) deltas.Add(sends[i] - sends[i - 1]);
        return new TcpClientReport
        {
            Target = o.Target.Address.ToString(),
            Port = o.Target.Port,
            Completed = error is null && !cancellationToken.IsCancellationRequested,
            Error = error ?? (cancellationToken.IsCancellationRequested ? "interrupted" : null),
            Sent = sends.Count,
            ConnectedUnixMs = anchor.ToUnixMs(connected),
            Intervals = new IntervalReport
            {
                TargetMs = MonotonicClock.NsToMs(intervalNs),
                Achieved = Summary.Of(deltas),
                LateSends = deltas.Count(d => d > intervalNs + 1_000_000),
                Resyncs = resyncs,
                Realtime = realtime,
            },
        };
    }

    private static (string? Error, int Resyncs) SendLoop(Socket socket, TcpClientOptions o, long intervalNs,
        List<long> sends, CancellationToken cancellationToken)
    {
        var message = new byte[TcpProbeMessage.Length];
        long start = MonotonicClock.NowNs;
        var pacer = new Pacer(intervalNs, start);
        long spanNs = o.Duration.Ticks * 100;
        string? error = null;
        ulong seq = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested && pacer.NextNs - start < spanNs)
            {
                long now = pacer.WaitNext(cancellationToken);
                if (now < 0) break;
                TcpProbeMessage.Write(message, ProbeKind.TcpData, seq, now);
                SendAll(socket, message);
                sends.Add(now);
                seq++;
            }
            TcpProbeMessage.Write(message, ProbeKind.TcpEnd, seq, MonotonicClock.NowNs);
            SendAll(socket, message);
            socket.Shutdown(SocketShutdown.Send);
            socket.ReceiveTimeout = (int)o.CloseTimeout.TotalMilliseconds;
            var sink = new byte[256];
            try
            {
                while (socket.Receive(sink) > 0) { }
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock) { }
        }
        catch (SocketException e)
        {
            error = $"send failed after {seq} messages: {e.SocketErrorCode} ({e.Message})";
        }
        return (error, pacer.Resyncs);
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty) data = data[socket.Send(data)..];
    }
}
