using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.WanEmulator;

/// <summary>
/// A VM's memory stream stood in for by one bulk TCP transfer, as a hypervisor's pre-copy sends the
/// guest's pages to the destination host: the sender writes an 8-byte length and that many bytes, the
/// receiver reads them all and answers with the 8-byte count it received, so the sender's elapsed time
/// covers delivery, not just its socket buffer. Socket buffers are left to the kernel's autotuning
/// (net.ipv4.tcp_rmem/wmem, maximum 6 MiB/4 MiB by default: the seed's hosts had the same), so the
/// bandwidth-delay product limits a long path as it did there.
/// </summary>
public static class BulkTransfer
{
    private const int ChunkBytes = 1 << 20;

    public sealed record SendResult(long Bytes, double ConnectMs, double TransferMs, double TotalMs)
    {
        public double MbitPerSecond => TransferMs <= 0 ? 0 : Bytes * 8 / (TransferMs / 1000.0) / 1e6;

        public string ToJson() => string.Create(CultureInfo.InvariantCulture,
            $"{{\"bytes\":{Bytes},\"connectMs\":{ConnectMs:F3},\"transferMs\":{TransferMs:F3},\"totalMs\":{TotalMs:F3},\"mbitPerSecond\":{MbitPerSecond:F1}}}");
    }

    /// <summary>Connect (retrying while the receiver is not yet listening), send, wait for the receiver's count.</summary>
    public static SendResult Send(IPEndPoint target, long bytes, TimeSpan connectTimeout, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        using var s = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        while (true)
        {
            try
            {
                s.Connect(target);
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.NetworkUnreachable or SocketError.HostUnreachable
                                             && total.Elapsed < connectTimeout && !ct.IsCancellationRequested)
            {
                Thread.Sleep(10);
            }
        }
        double connectMs = total.Elapsed.TotalMilliseconds;
        var transfer = Stopwatch.StartNew();
        var header = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(header, bytes);
        s.Send(header);
        var chunk = new byte[ChunkBytes];
        long left = bytes;
        while (left > 0)
        {
            ct.ThrowIfCancellationRequested();
            int n = s.Send(chunk, 0, (int)Math.Min(chunk.Length, left), SocketFlags.None);
            left -= n;
        }
        var ack = new byte[8];
        ReadExactly(s, ack);
        long received = BinaryPrimitives.ReadInt64BigEndian(ack);
        if (received != bytes) throw new IOException($"the receiver counted {received} bytes of {bytes}");
        double transferMs = transfer.Elapsed.TotalMilliseconds;
        return new SendResult(bytes, connectMs, transferMs, total.Elapsed.TotalMilliseconds);
    }

    /// <summary>Listen; serve <paramref name="connections"/> transfers one after the other (0 = until cancelled).</summary>
    public static void Receive(IPEndPoint bind, int connections, TimeSpan acceptTimeout, TextWriter output, CancellationToken ct)
    {
        using var listener = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (bind.AddressFamily == AddressFamily.InterNetworkV6) listener.DualMode = true;
        listener.Bind(bind);
        listener.Listen(4);
        output.WriteLine($"bulk-recv listening on {listener.LocalEndPoint}");
        output.Flush();
        using var reg = ct.Register(listener.Dispose);
        var buffer = new byte[ChunkBytes];
        for (int served = 0; connections == 0 || served < connections; served++)
        {
            var accept = listener.AcceptAsync(ct).AsTask();
            if (!accept.Wait(acceptTimeout)) throw new TimeoutException($"no connection within {acceptTimeout.TotalSeconds} s");
            using var c = accept.Result;
            var sw = Stopwatch.StartNew();
            var header = new byte[8];
            ReadExactly(c, header);
            long expected = BinaryPrimitives.ReadInt64BigEndian(header), got = 0;
            while (got < expected)
            {
                int n = c.Receive(buffer, 0, (int)Math.Min(buffer.Length, expected - got), SocketFlags.None);
                if (n == 0) break;
                got += n;
            }
            var ack = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(ack, got);
            c.Send(ack);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} bulk-recv {got} of {expected} bytes from {c.RemoteEndPoint} in {sw.Elapsed.TotalMilliseconds:F1} ms"));
            output.Flush();
        }
    }

    private static void ReadExactly(Socket s, byte[] buffer)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = s.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
            if (n == 0) throw new IOException("connection closed early");
            got += n;
        }
    }

    /// <summary>"256MB" / "256MiB" (both 2^20), "1GB", "4096KB", "1000000" (bytes).</summary>
    public static long ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        long unit = 1;
        foreach (var (suffix, mult) in new (string, long)[] { ("GIB", 1L << 30), ("GB", 1L << 30), ("MIB", 1L << 20), ("MB", 1L << 20), ("KIB", 1L << 10), ("KB", 1L << 10), ("B", 1) })
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                unit = mult;
                t = t[..^suffix.Length];
                break;
            }
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0)
            throw new UsageException($"'{text}' is not a size (like 256MB, 1GB, 4096KB, 1000000)");
        return (long)Math.Round(v * unit);
    }
}
