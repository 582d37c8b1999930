using System.Net.Sockets;
using System.Text;

namespace DataPlane.Host.Control;

/// <summary>One request, one response, over a daemon's control socket (what `dataplane ctl` uses).</summary>
public static class ControlClient
{
    public static async Task<ControlResponse> SendAsync(string socketPath, ControlRequest request, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token);
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot reach the daemon at {socketPath}: {e.SocketErrorCode} (is it running? is this the right --socket?)", e);
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        await writer.WriteLineAsync(request.ToLine().AsMemory(), cts.Token);
        var reader = new StreamReader(stream, new UTF8Encoding(false));
        var line = await reader.ReadLineAsync(cts.Token) ?? throw new IOException($"the daemon at {socketPath} closed the connection without answering");
        return ControlResponse.Parse(line);
    }

    /// <summary>
    /// A streaming command (`capture`): the response line, then the open connection, whose stream carries what
    /// the daemon sends next. The caller disposes the socket (which ends the stream at the daemon).
    /// </summary>
    public static async Task<(ControlResponse Response, Socket Socket, NetworkStream Stream)> OpenStreamAsync(string socketPath,
        ControlRequest request, TimeSpan timeout, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token);
            }
            catch (SocketException e)
            {
                throw new IOException($"cannot reach the daemon at {socketPath}: {e.SocketErrorCode} (is it running? is this the right --socket?)", e);
            }
            var stream = new NetworkStream(socket, ownsSocket: false);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToLine() + "\n"), cts.Token);
            // Byte by byte up to the newline: whatever follows it belongs to the stream.
            var line = new List<byte>(256);
            var one = new byte[1];
            while (true)
            {
                int n = await stream.ReadAsync(one, cts.Token);
                if (n == 0) throw new IOException($"the daemon at {socketPath} closed the connection without answering");
                if (one[0] == (byte)'\n') break;
                if (line.Count >= ControlRequest.MaxLineBytes) throw new IOException("the daemon's answer line is too long");
                line.Add(one[0]);
            }
            return (ControlResponse.Parse(Encoding.UTF8.GetString([.. line])), socket, stream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
