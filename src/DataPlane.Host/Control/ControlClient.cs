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
}
