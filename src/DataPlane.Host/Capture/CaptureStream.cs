using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace DataPlane.Host.Capture;

/// <summary>
/// How a capture travels over the control connection once the daemon has accepted the `capture` request (its
/// one JSON response line names the link type): a sequence of frames <c>[kind:1][length:4, little-endian][body]</c>.
/// <list type="bullet">
/// <item><c>R</c> a record: <c>[µs since the Unix epoch:8][direction:1][frame bytes]</c>;</item>
/// <item><c>S</c> progress, a JSON object {"captured", "dropped"} about once a second while nothing else flows;</item>
/// <item><c>E</c> the end, the same JSON plus "reason"; the daemon then closes the connection.</item>
/// </list>
/// The client writes the records as pcap. Closing the connection ends the capture at the daemon.
/// </summary>
public static class CaptureStream
{
    public const byte Record = (byte)'R';
    public const byte Progress = (byte)'S';
    public const byte End = (byte)'E';
    public const int FrameHeaderLength = 5;
    public const int RecordHeaderLength = 9;
    /// <summary>Larger frames are a protocol error (the largest record is a 64 KiB GSO frame).</summary>
    public const int MaxFrameLength = 1 << 20;

    public static JsonObject Stats(CaptureTap tap, long sent) => new()
    {
        ["captured"] = sent,
        ["dropped"] = tap.Ring.Dropped,
    };

    /// <summary>
    /// The control connection's continuation for a started capture: pump the tap until it ends, then hand it
    /// back to the packet loop (<paramref name="post"/>) to be stopped there, where the taps are owned. A daemon
    /// already gone has nothing left to stop.
    /// </summary>
    public static Func<Stream, Socket, CancellationToken, Task> StreamThenStop(CaptureTap tap, long maxRecords, Action<Action> post, Action<CaptureTap> stop) =>
        async (stream, socket, ct) =>
        {
            try
            {
                await PumpAsync(tap, stream, socket, maxRecords, ct);
            }
            finally
            {
                try
                {
                    post(() => stop(tap));
                }
                catch (ObjectDisposedException)
                {
                    // The daemon is gone.
                }
            }
        };

    /// <summary>
    /// The daemon's writer: drain <paramref name="tap"/>'s ring into <paramref name="stream"/> until
    /// <paramref name="maxRecords"/> (0: no limit) were sent, the client closes the connection, or the daemon
    /// stops. A slow client only slows this task; the ring in front of it drops.
    /// </summary>
    public static async Task PumpAsync(CaptureTap tap, Stream stream, Socket? socket, long maxRecords, CancellationToken ct)
    {
        var header = new byte[FrameHeaderLength + RecordHeaderLength];
        var buffered = new BufferedStream(stream, 64 * 1024);
        long sent = 0;
        string reason = "stopped";
        var lastProgress = DateTime.UtcNow;
        try
        {
            while (true)
            {
                if (ct.IsCancellationRequested) { reason = "daemon stopping"; break; }
                int batch = 0;
                while (batch < 512 && tap.Ring.TryRead(out var r))
                {
                    header[0] = Record;
                    BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(1), RecordHeaderLength + r.Data.Count);
                    BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(FrameHeaderLength), r.UnixMicros);
                    header[FrameHeaderLength + 8] = (byte)r.Direction;
                    await buffered.WriteAsync(header, ct).ConfigureAwait(false);
                    await buffered.WriteAsync(r.Data.AsMemory(), ct).ConfigureAwait(false);
                    tap.Ring.Release();
                    sent++;
                    batch++;
                    if (maxRecords > 0 && sent >= maxRecords) break;
                }
                if (maxRecords > 0 && sent >= maxRecords) { reason = "count reached"; break; }
                if (batch > 0)
                {
                    await buffered.FlushAsync(ct).ConfigureAwait(false);
                    continue;
                }
                if (DateTime.UtcNow - lastProgress >= TimeSpan.FromSeconds(1))
                {
                    await WriteJsonAsync(buffered, Progress, Stats(tap, sent), ct).ConfigureAwait(false);
                    await buffered.FlushAsync(ct).ConfigureAwait(false);
                    lastProgress = DateTime.UtcNow;
                }
                if (socket is not null && ClientClosed(socket)) { reason = "client closed"; return; }
                await Task.Delay(10, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            reason = "daemon stopping";
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            return; // the client went away
        }
        try
        {
            var end = Stats(tap, sent);
            end["reason"] = reason;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteJsonAsync(buffered, End, end, timeout.Token).ConfigureAwait(false);
            await buffered.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    /// <summary>The client sends nothing after its request: readable with nothing to read means it closed.</summary>
    private static bool ClientClosed(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    private static async Task WriteJsonAsync(Stream stream, byte kind, JsonObject body, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        var header = new byte[FrameHeaderLength];
        header[0] = kind;
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(1), bytes.Length);
        await stream.WriteAsync(header, ct).ConfigureAwait(false);
        await stream.WriteAsync(bytes, ct).ConfigureAwait(false);
    }

    /// <summary>The client's reader: the next frame, or null at the end of the stream.</summary>
    public static async Task<(byte Kind, byte[] Body)?> ReadFrameAsync(Stream stream, CancellationToken ct)
    {
        var header = new byte[FrameHeaderLength];
        if (!await ReadExactlyOrEndAsync(stream, header, ct).ConfigureAwait(false)) return null;
        int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(1));
        if (length < 0 || length > MaxFrameLength) throw new InvalidDataException($"capture stream: frame of {length} bytes");
        var body = new byte[length];
        if (!await ReadExactlyOrEndAsync(stream, body, ct).ConfigureAwait(false)) throw new EndOfStreamException("capture stream: truncated frame");
        return (header[0], body);
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, CancellationToken ct)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (filled == 0) return false;
                throw new EndOfStreamException("capture stream: truncated frame");
            }
            filled += n;
        }
        return true;
    }
}
