using System.Net;
using System.Net.Sockets;
using DataPlane.Host.Configuration;
using DataPlane.Host.Policy.Radius;

namespace DataPlane.Host.Tests.Radius;

/// <summary>
/// A scripted RADIUS server on loopback, for the client's failure cases a real server will not produce
/// (forged or unsigned answers, broken attributes). <see cref="Respond"/> sees each request and returns the
/// datagrams to send back (none: stay silent).
/// </summary>
public sealed class FakeRadiusServer : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private int _requests;

    public FakeRadiusServer(Func<Request, IEnumerable<byte[]>> respond)
    {
        Respond = respond;
        _socket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _ = Task.Run(Loop);
    }

    public sealed record Request(byte[] Packet, string Secret)
    {
        public byte Identifier => Packet[1];
        public byte[] Authenticator => Packet[4..20];
        public string? UserName => Attribute(RadiusAttributeType.UserName) is { } v ? System.Text.Encoding.UTF8.GetString(v) : null;

        public byte[]? Attribute(RadiusAttributeType type)
        {
            var reader = new RadiusAttributeReader(Packet);
            while (reader.MoveNext()) if (reader.Type == type) return reader.Value.ToArray();
            return null;
        }

        /// <summary>A correctly signed answer.</summary>
        public byte[] Answer(RadiusCode code, byte[]? attributes = null, SignMode mode = SignMode.Correct) =>
            RadiusTestPackets.Sign(code, Identifier, Authenticator, attributes ?? [], Secret, mode);
    }

    public Func<Request, IEnumerable<byte[]>> Respond { get; set; }
    public string Secret { get; set; } = "s3cret";
    public IPEndPoint EndPoint { get; }
    public int Requests => Volatile.Read(ref _requests);
    public List<byte[]> Received { get; } = [];

    public RadiusServerConfig Config(TimeSpan? timeout = null, int retries = 1, string? secret = null) =>
        new(EndPoint, System.Text.Encoding.UTF8.GetBytes(secret ?? Secret), null, timeout ?? TimeSpan.FromSeconds(1), retries);

    private async Task Loop()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var packet = buffer[..r.ReceivedBytes];
            Interlocked.Increment(ref _requests);
            lock (Received) Received.Add(packet);
            foreach (var answer in Respond(new Request(packet, Secret)))
                await _socket.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
    }
}
