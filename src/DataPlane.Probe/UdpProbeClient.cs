using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace DataPlane.Probe;

public sealed record UdpClientOptions
{
    public required IPEndPoint Target { get; init; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(10);
    /// <summary>Fixed run length; ignored with <see cref="UntilRecovered"/> and <see cref="UntilSettled"/>.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Stop at the first ack after a gap of at least <see cref="OutageIntervals"/> (or at <see cref="MaxDuration"/>).</summary>
    public bool UntilRecovered { get; init; }
    /// <summary>
    /// Stop once <see cref="EndMark"/> has been cancelled (the scenario is over: the migration finished) and a probe
    /// sent after that moment has been acknowledged (the service is back), or at <see cref="MaxDuration"/>. Unlike
    /// <see cref="UntilRecovered"/> it needs no outage threshold, so it measures an outage of any length, down to none.
    /// </summary>
    public bool UntilSettled { get; init; }
    /// <summary>With <see cref="UntilSettled"/>: cancelled when the scenario is over.</summary>
    public CancellationToken EndMark { get; init; }
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>An outage is a gap of at least this many intervals between acknowledged probes.</summary>
    public int OutageIntervals { get; init; } = 5;
    /// <summary>How long to keep listening for acks after the last probe.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(250);
    public int PacketSize { get; init; } = UdpProbeMessage.Length;
    public IPAddress? Bind { get; init; }
    /// <summary>Run the sender under SCHED_FIFO when permitted (see <see cref="RealtimeScheduling"/>).</summary>
    public bool Realtime { get; init; } = true;
    /// <summary>
    /// Called once, on the receive thread, when the first acknowledgement arrives: from then on the probe
    /// can see an outage, so a driver waits for this, not for a fixed time, before it starts a migration.
    /// </summary>
    public Action? OnFirstAck { get; init; }
}

/// <summary>
/// The seed's client: one probe per interval on a monotonic schedule, acknowledgements recorded by a
/// receive thread as they arrive. Returns the raw series; <see cref="ProbeAnalysis"/> does the arithmetic.
/// </summary>
public static class UdpProbeClient
{
    /// <summary>The longest run recorded (two longs per probe): 10⁷ probes is 28 hours at 10 ms.</summary>
    public const long MaxProbes = 10_000_000;

    public static ProbeSeries Run(UdpClientOptions o, CancellationToken cancellationToken, out bool recovered)
    {
        long intervalNs = o.Interval.Ticks * 100;
        if (intervalNs <= 0) throw new ArgumentException("interval must be positive");
        if (o.UntilRecovered && o.UntilSettled) throw new ArgumentException("until-recovered and until-settled exclude each other");
        var span = o.UntilRecovered || o.UntilSettled ? o.MaxDuration : o.Duration;
        long spanNs = span.Ticks * 100;
        if (spanNs / intervalNs > MaxProbes) throw new ArgumentException($"more than {MaxProbes} probes: lengthen the interval or shorten the run");
        int capacity = (int)(spanNs / intervalNs + 2);
        var sentNs = new long[capacity];
        var ackNs = new long[capacity];
        Array.Fill(ackNs, -1L);
        int sentCount = 0;
        long duplicates = 0, unexpected = 0, socketErrors = 0, otherSource = 0;
        uint runId = (uint)RandomNumberGenerator.GetInt32(int.MaxValue);
        var detector = new OutageDetector(intervalNs, o.OutageIntervals);
        int recoveredFlag = 0;
        // Until-settled: the mark's time (monotonic, 0 until the scenario says it is over) and the first probe sent
        // after it that came back.
        long markNs = 0;
        long settledSeq = -1;
        using var markRegistration = o.UntilSettled ? o.EndMark.Register(() => Interlocked.CompareExchange(ref markNs, MonotonicClock.NowNs, 0)) : default;

        using var socket = new Socket(o.Target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 1 << 20;
        // Not connected: a multihomed responder (a router, or a VM with several addresses) may answer from
        // another address than the one probed, and its acks still count. The run id and the echoed send
        // time tell our acks from anything else.
        var any = o.Target.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        socket.Bind(new IPEndPoint(o.Bind ?? any, 0));
        socket.ReceiveTimeout = 50;

        using var receiverStop = new CancellationTokenSource();
        var receiver = new Thread(() =>
        {
            if (o.Realtime) RealtimeScheduling.TryEnterForCurrentThread();
            bool firstAckSeen = false;
            var buffer = new byte[65536];
            EndPoint from = new IPEndPoint(any, 0);
            while (!receiverStop.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock) { continue; }
                catch (SocketException) { Interlocked.Increment(ref socketErrors); continue; }
                catch (ObjectDisposedException) { break; }
                long now = MonotonicClock.NowNs;
                if (!UdpProbeMessage.TryReadAck(buffer.AsSpan(0, n), out uint rid, out ulong ackSeq, out long echoedNs) || rid != runId || ackSeq == 0)
                {
                    unexpected++;
                    continue;
                }
                long seq = (long)(ackSeq - 1);
                if (seq >= Volatile.Read(ref sentCount) || sentNs[seq] != echoedNs)
                {
                    unexpected++;
                    continue;
                }
                if (ackNs[seq] >= 0)
                {
                    duplicates++;
                    continue;
                }
                ackNs[seq] = now;
                if (!firstAckSeen)
                {
                    firstAckSeen = true;
                    o.OnFirstAck?.Invoke();
                }
                if (!((IPEndPoint)from).Address.Equals(o.Target.Address)) otherSource++;
                if (detector.OnAck(seq, sentNs[seq]) && o.UntilRecovered) Volatile.Write(ref recoveredFlag, 1);
                if (o.UntilSettled && Interlocked.Read(ref markNs) is long mark and > 0 && sentNs[seq] > mark && settledSeq < 0)
                {
                    settledSeq = seq;
                    Volatile.Write(ref recoveredFlag, 1);
                }
            }
        })
        { IsBackground = true, Name = "probe-receiver" };
        receiver.Start();

        var packet = new byte[Math.Max(o.PacketSize, UdpProbeMessage.Length)];
        var anchor = ClockAnchor.Now();
        var (pacer, realtime) = DedicatedThread.Run("probe-sender", o.Realtime, realtime =>
        {
            long start = MonotonicClock.NowNs;
            var pacer = new Pacer(intervalNs, start);
            bool stopWhenDone = o.UntilRecovered || o.UntilSettled;
            while (sentCount < capacity && !cancellationToken.IsCancellationRequested)
            {
                if (stopWhenDone && Volatile.Read(ref recoveredFlag) != 0) break;
                if (pacer.NextNs - start >= spanNs) break;
                long now = pacer.WaitNext(cancellationToken);
                if (now < 0) break;
                if (stopWhenDone && Volatile.Read(ref recoveredFlag) != 0) break;
                int seq = sentCount;
                sentNs[seq] = now;
                UdpProbeMessage.WriteProbe(packet, runId, (ulong)seq, now, anchor.ToUnixNs(now));
                Volatile.Write(ref sentCount, seq + 1);
                try
                {
                    socket.SendTo(packet, SocketFlags.None, o.Target);
                }
                catch (SocketException)
                {
                    // No route during the outage (say): the probe is lost.
                    Interlocked.Increment(ref socketErrors);
                }
            }
            return (pacer, realtime);
        });

        Pacer.WaitUntil(MonotonicClock.NowNs + o.Linger.Ticks * 100, CancellationToken.None);
        receiverStop.Cancel();
        receiver.Join();

        recovered = o.UntilSettled ? settledSeq >= 0 : detector.Recovered;
        int count = sentCount;
        long mark = Interlocked.Read(ref markNs);
        return new ProbeSeries
        {
            IntervalNs = intervalNs,
            SentNs = sentNs[..count],
            AckNs = ackNs[..count],
            Anchor = anchor,
            DuplicateAcks = duplicates,
            UnexpectedPackets = unexpected,
            SocketErrors = Interlocked.Read(ref socketErrors),
            AcksFromOtherAddress = otherSource,
            Resyncs = pacer.Resyncs,
            Realtime = realtime,
            EndMarkNs = mark > 0 ? mark : null,
            SettledSeq = settledSeq >= 0 ? settledSeq : null,
        };
    }
}
