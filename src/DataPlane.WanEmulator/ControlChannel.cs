using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.WanEmulator;

/// <summary>
/// A Unix stream socket through which a running emulator is queried and retuned: one request line per
/// connection, one answer. Requests: <c>get</c> (the settings), <c>set key=value …</c> (delay, jitter,
/// loss, rate, limit, reorder; the rest stay), <c>stats</c> (JSON counters of both directions). Served on
/// a background thread of normal priority, never on the forwarding thread.
/// </summary>
public sealed class ControlServer : IDisposable
{
    private readonly Socket _listener;
    private readonly WanBridge _bridge;
    private readonly string _path;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public ControlServer(string path, WanBridge bridge)
    {
        _path = path;
        _bridge = bridge;
        if (File.Exists(path)) File.Delete(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(8);
        _thread = new Thread(Serve) { IsBackground = true, Name = "wan control" };
        _thread.Start();
    }

    private void Serve()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            using (client)
            {
                try
                {
                    client.ReceiveTimeout = 5000;
                    string request = ReadLine(client);
                    string answer = Handle(request);
                    client.Send(Encoding.UTF8.GetBytes(answer + "\n"));
                }
                catch (SocketException)
                {
                }
            }
        }
    }

    private static string ReadLine(Socket s)
    {
        var buffer = new byte[4096];
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Receive(buffer, total, buffer.Length - total, SocketFlags.None);
            if (n == 0) break;
            total += n;
            if (Array.IndexOf(buffer, (byte)'\n', 0, total) >= 0) break;
        }
        return Encoding.UTF8.GetString(buffer, 0, total).Split('\n')[0].Trim();
    }

    public string Handle(string request)
    {
        var words = request.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return "error: empty request";
        try
        {
            switch (words[0])
            {
                case "get":
                    return _bridge.Parameters.ToString();
                case "set":
                    var p = _bridge.Parameters;
                    foreach (var w in words.Skip(1))
                    {
                        int eq = w.IndexOf('=', StringComparison.Ordinal);
                        if (eq <= 0) throw new UsageException($"'{w}' is not key=value");
                        p = p.With(w[..eq], w[(eq + 1)..]);
                    }
                    _bridge.Update(p);
                    return p.ToString();
                case "stats":
                    return StatsJson(_bridge);
                default:
                    return $"error: unknown request '{words[0]}' (get, set key=value…, stats)";
            }
        }
        catch (UsageException e)
        {
            return "error: " + e.Message;
        }
    }

    public static string StatsJson(WanBridge b) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"a\":\"{b.InterfaceA}\",\"b\":\"{b.InterfaceB}\",\"parameters\":\"{b.Parameters}\",\"realtime\":{(b.RunningRealtime ? "true" : "false")},\"spinCapped\":{b.SpinCapped},\"aToB\":{b.AToB.ToJson()},\"bToA\":{b.BToA.ToJson()}}}");

    public void Dispose()
    {
        _stopping = true;
        _listener.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Send one request to a running emulator and return its answer.</summary>
    public static string Request(string path, string request)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(path));
        s.Send(Encoding.UTF8.GetBytes(request + "\n"));
        s.Shutdown(SocketShutdown.Send);
        var sb = new StringBuilder();
        var buffer = new byte[8192];
        int n;
        while ((n = s.Receive(buffer)) > 0) sb.Append(Encoding.UTF8.GetString(buffer, 0, n));
        return sb.ToString().TrimEnd('\n');
    }
}
