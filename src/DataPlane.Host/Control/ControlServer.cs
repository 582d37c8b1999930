using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Control;

/// <summary>
/// The daemon's Unix-socket control channel. Root-only: the socket file is created mode 0600. Each
/// connection may send several request lines; each gets one response line. Garbage, oversized lines and
/// handler failures get an error response (or a closed connection) and never reach the packet loop's
/// state; the daemon carries on. The handler runs requests against the daemon (typically by posting them
/// to the packet loop and awaiting the answer).
/// </summary>
public sealed class ControlServer : IAsyncDisposable
{
    private readonly string _path;
    private readonly Func<ControlRequest, CancellationToken, Task<ControlResponse>> _handler;
    private readonly ILogger _log;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;

    public ControlServer(string path, Func<ControlRequest, CancellationToken, Task<ControlResponse>> handler, ILogger log)
    {
        _path = path;
        _handler = handler;
        _log = log;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        RemoveStaleSocket(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        // Bind with a restrictive umask-equivalent: create, then tighten before listening.
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(16);
    }

    public string SocketPath => _path;

    public long RequestsServed;
    public long RequestsRejected;

    public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

    /// <summary>A socket file left by a crashed daemon is removed; one with a live daemon behind it is an error.</summary>
    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path)) return;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
            return;
        }
        throw new InvalidOperationException($"control socket {path} is in use by a running daemon");
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.LogWarning("control: accept failed: {Error}", e.SocketErrorCode);
                continue;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 4096);
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                idle.CancelAfter(TimeSpan.FromSeconds(30));
                string? line = await ReadLineBoundedAsync(reader, idle.Token);
                if (line is null) return;
                ControlResponse response;
                var request = ControlRequest.TryParse(line, out var error);
                if (request is null)
                {
                    Interlocked.Increment(ref RequestsRejected);
                    response = ControlResponse.Failure($"bad request: {error}");
                }
                else
                {
                    try
                    {
                        response = await _handler(request, _stop.Token);
                        Interlocked.Increment(ref RequestsServed);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A bug in one command must not take the daemon down.
                        _log.LogError(e, "control: {Command} failed", request.Command);
                        response = ControlResponse.Failure($"{request.Command}: internal error: {e.Message}");
                    }
                }
                await writer.WriteLineAsync(response.ToLine());
                if (response.Continuation is { } streaming)
                {
                    // A streaming command owns the rest of the connection (it is closed when it ends).
                    await streaming(stream, client, _stop.Token);
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or InvalidDataException)
        {
            // Client went away, idled out or sent an oversized line: drop the connection only.
            if (e is InvalidDataException)
            {
                Interlocked.Increment(ref RequestsRejected);
                try { await writer.WriteLineAsync(ControlResponse.Failure(e.Message).ToLine()); } catch (IOException) { }
            }
        }
    }

    private static async Task<string?> ReadLineBoundedAsync(StreamReader reader, CancellationToken ct)
    {
        var sb = new StringBuilder();
        var one = new char[1];
        while (true)
        {
            int n = await reader.ReadAsync(one.AsMemory(), ct);
            if (n == 0) return sb.Length == 0 ? null : sb.ToString();
            if (one[0] == '\n') return sb.ToString().TrimEnd('\r');
            if (sb.Length >= ControlRequest.MaxLineBytes) throw new InvalidDataException($"request line longer than {ControlRequest.MaxLineBytes} bytes");
            sb.Append(one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        try { File.Delete(_path); } catch (IOException) { }
        _stop.Dispose();
    }
}
