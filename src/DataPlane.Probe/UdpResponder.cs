using System.Net;
using System.Net.Sockets;

namespace DataPlane.Probe;

/// <summary>
/// The seed's server side: reflects each probe with its sequence number incremented and the client's
/// timestamps echoed. <see cref="Paused"/> makes it drop what arrives, as a VM in stop-and-copy does
/// (the probes are lost, not queued), which is how the tests inject an outage of known length.
/// </summary>
public sealed class UdpResponder : IDisposable
{
    private readonly Socket _socket;
    private long _received, _reflected, _dropped, _malformed;
    private long _firstDroppedSequence = -1, _lastDroppedSequence = -1;
    private volatile bool _paused;

    public UdpResponder(IPAddress bind, int port)
    {
        _socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (bind.AddressFamily == AddressFamily.InterNetworkV6 && bind.Equals(IPAddress.IPv6Any)) _socket.DualMode = true;
        _socket.ReceiveBufferSize = 1 << 20;
        _socket.Bind(new IPEndPoint(bind, port));
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public bool Paused { get => _paused; set => _paused = value; }

    public long Received => Interlocked.Read(ref _received);
    public long Reflected => Interlocked.Read(ref _reflected);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>
    /// The sequence numbers of the first and the last probe dropped while paused (−1 when none was): the
    /// outage as the "VM" saw it, which a test can hold the client's own account of the gap against.
    /// </summary>
    public (long First, long Last) DroppedSequences => (Interlocked.Read(ref _firstDroppedSequence), Interlocked.Read(ref _lastDroppedSequence));

    /// <summary>Reflects probes until cancelled, on a thread of its own (SCHED_FIFO when <paramref name="realtime"/> and permitted).</summary>
    public void Run(CancellationToken cancellationToken, bool realtime = true) =>
        DedicatedThread.Run("udp-responder", realtime, _ => Loop(cancellationToken));

    private bool Loop(CancellationToken cancellationToken)
    {
        var buffer = new byte[65536];
        EndPoint from = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        using var reg = cancellationToken.Register(() => _socket.Close());
        while (!cancellationToken.IsCancellationRequested)
        {
            int n;
            try
            {
                n = _socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
            }
            catch (ObjectDisposedException) { break; }
            catch (SocketException) when (cancellationToken.IsCancellationRequested) { break; }
            catch (SocketException) { continue; } // e.g. an ICMP error for an earlier reply
            long now = MonotonicClock.NowNs;
            Interlocked.Increment(ref _received);
            if (_paused)
            {
                Interlocked.Increment(ref _dropped);
                if (UdpProbeMessage.TryReadProbeSequence(buffer.AsSpan(0, n), out ulong dropped))
                {
                    Interlocked.CompareExchange(ref _firstDroppedSequence, (long)dropped, -1);
                    Interlocked.Exchange(ref _lastDroppedSequence, (long)dropped);
                }
                continue;
            }
            var packet = buffer.AsSpan(0, n);
            if (!UdpProbeMessage.TryMakeAck(packet, now))
            {
                Interlocked.Increment(ref _malformed);
                continue;
            }
            try
            {
                _socket.SendTo(packet, SocketFlags.None, from);
                Interlocked.Increment(ref _reflected);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { break; }
        }
        return true;
    }

    public void Dispose() => _socket.Dispose();
}
