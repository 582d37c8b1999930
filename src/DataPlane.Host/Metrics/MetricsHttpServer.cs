using System.Net;
using System.Net.Sockets;
using System.Text;
using DataPlane.Host.Configuration;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Metrics;

/// <summary>
/// The metrics endpoint: a deliberately small HTTP/1.1 server (GET /metrics, one request per connection)
/// on a plain socket. prometheus-net's own MetricServer uses HttpListener, which cannot listen on an IPv6
/// literal, and the MAGs' networks are IPv6; this one binds exactly the configured address, bounds what it
/// reads (8 KiB of request head, 5 s), serves at most a few connections at once, and never touches the
/// packet loop except through the snapshot request of <see cref="DaemonMetrics"/>.
/// </summary>
public sealed class MetricsHttpServer : IAsyncDisposable
{
    private const int MaxHeadBytes = 8192;
    private const int MaxConcurrent = 4;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(30);

    private readonly DaemonMetrics _metrics;
    private readonly ILogger _log;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(MaxConcurrent, MaxConcurrent);
    private Task? _acceptLoop;

    /// <summary>Binds at once (so a busy port fails the daemon's start, naming the key); <see cref="Start"/> serves.</summary>
    public MetricsHttpServer(IPEndPoint listen, DaemonMetrics metrics, ILogger log)
    {
        _metrics = metrics;
        _log = log;
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (listen.AddressFamily == AddressFamily.InterNetworkV6 && listen.Address.Equals(IPAddress.IPv6Any)) _listener.DualMode = true;
            _listener.Bind(listen);
            _listener.Listen(16);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public long Requests;

    public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.LogWarning("metrics: accept failed: {Error}", e.SocketErrorCode);
                continue;
            }
            if (!_slots.Wait(0))
            {
                // Too many scrapers at once: refuse rather than queue.
                client.Dispose();
                continue;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await ServeAsync(client).ConfigureAwait(false);
                }
                finally
                {
                    _slots.Release();
                }
            });
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: false);
            cts.CancelAfter(ReadTimeout);
            var head = await ReadHeadAsync(stream, cts.Token).ConfigureAwait(false);
            if (head is null) return;
            Interlocked.Increment(ref Requests);
            var requestLine = head.Split("\r\n", 2)[0].Split(' ');
            string method = requestLine.Length > 0 ? requestLine[0] : "";
            string path = requestLine.Length > 1 ? requestLine[1].Split('?', 2)[0] : "";
            cts.CancelAfter(ScrapeTimeout);
            if (method is not ("GET" or "HEAD"))
            {
                await RespondAsync(stream, "405 Method Not Allowed", "text/plain; charset=utf-8", "GET /metrics\n"u8.ToArray(), true, cts.Token).ConfigureAwait(false);
                return;
            }
            switch (path)
            {
                case "/metrics":
                    var body = await _metrics.ExportAsync(cts.Token).ConfigureAwait(false);
                    await RespondAsync(stream, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, method == "GET", cts.Token).ConfigureAwait(false);
                    break;
                case "/":
                    await RespondAsync(stream, "200 OK", "text/plain; charset=utf-8", "dataplane: metrics at /metrics\n"u8.ToArray(), method == "GET", cts.Token).ConfigureAwait(false);
                    break;
                default:
                    await RespondAsync(stream, "404 Not Found", "text/plain; charset=utf-8", "not found: try /metrics\n"u8.ToArray(), method == "GET", cts.Token).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The scraper went away or was too slow.
        }
        catch (Exception e)
        {
            _log.LogError(e, "metrics: scrape failed");
        }
    }

    /// <summary>The request line and headers, up to the blank line; null when the client sent nothing usable.</summary>
    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxHeadBytes];
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (n == 0) return null;
            filled += n;
            var text = Encoding.ASCII.GetString(buffer, 0, filled);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal) || text.Contains("\n\n", StringComparison.Ordinal)) return text;
        }
        return null;
    }

    private static async Task RespondAsync(NetworkStream stream, string status, string contentType, byte[] body, bool withBody, CancellationToken ct)
    {
        var head = $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct).ConfigureAwait(false);
        if (withBody) await stream.WriteAsync(body, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
        stream.Socket.Shutdown(SocketShutdown.Send);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        if (_acceptLoop is not null)
        {
            try
            {
                await _acceptLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }

    public override string ToString() => $"http://{MetricsConfig.Format(LocalEndPoint)}/metrics";
}
