using System.Net;
using System.Net.Sockets;
using DataPlane.Host.Configuration;

namespace DataPlane.Host.Policy.Radius;

/// <summary>
/// One server: a connected UDP socket, a receive loop, and the table of outstanding requests by identifier.
/// </summary>
internal sealed class RadiusServerChannel : IDisposable
{
    private readonly RadiusServerConfig _config;
    private readonly PolicyCounters _counters;
    private readonly Outstanding?[] _outstanding = new Outstanding?[256];
    private readonly SemaphoreSlim _identifiers = new(256, 256);
    private readonly object _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private int _nextIdentifier;

    public RadiusServerChannel(RadiusServerConfig config, PolicyCounters counters)
    {
        _config = config;
        _counters = counters;
        Secret = config.Secret;
        Name = config.EndPoint.ToString();
    }

    public string Name { get; }

    public volatile byte[] Secret;

    /// <summary>Environment.TickCount64 until which this server is tried after the others; 0 when alive.</summary>
    public long DeadUntil
    {
        get => Interlocked.Read(ref _deadUntil);
        set => Interlocked.Exchange(ref _deadUntil, value);
    }
    private long _deadUntil;

    public async Task<RadiusResult> ExchangeAsync(RadiusRequest request, CancellationToken ct)
    {
        Socket socket;
        try
        {
            socket = Socket();
        }
        catch (SocketException e)
        {
            Interlocked.Increment(ref _counters.RadiusSendErrors);
            return Failed(PolicyFailure.SendFailed, $"cannot open a socket to it: {e.Message}");
        }
        await _identifiers.WaitAsync(ct).ConfigureAwait(false);
        var secret = Secret;
        var outstanding = new Outstanding(RadiusPacket.NewRequestAuthenticator(), secret);
        byte identifier = Claim(outstanding);
        try
        {
            var packet = RadiusPacket.BuildAccessRequest(identifier, outstanding.RequestAuthenticator, request.Attributes, secret, request.Password);
            for (int attempt = 0; attempt <= _config.Retries; attempt++)
            {
                Interlocked.Increment(ref attempt == 0 ? ref _counters.RadiusRequests : ref _counters.RadiusRetransmissions);
                try
                {
                    await socket.SendAsync(packet, SocketFlags.None, ct).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    // ECONNREFUSED here is the ICMP port unreachable of an earlier try: the server is not running.
                    // Keep trying until our retries are spent, as for a lost packet.
                    Interlocked.Increment(ref _counters.RadiusSendErrors);
                    outstanding.SendError = e.Message;
                }
                try
                {
                    var response = await outstanding.Done.Task.WaitAsync(_config.Timeout, ct).ConfigureAwait(false);
                    return Answered(response);
                }
                catch (TimeoutException)
                {
                }
            }
            Interlocked.Increment(ref _counters.RadiusServerTimeouts);
            return NoValidAnswer(outstanding);
        }
        finally
        {
            Release(identifier);
        }
    }

    private RadiusResult Answered(byte[] response)
    {
        switch ((RadiusCode)response[0])
        {
            case RadiusCode.AccessAccept:
                Interlocked.Increment(ref _counters.RadiusAccepts);
                return new RadiusResult(RadiusOutcome.Accept, response, PolicyFailure.None, "Access-Accept", Name);
            case RadiusCode.AccessReject:
                Interlocked.Increment(ref _counters.RadiusRejects);
                return new RadiusResult(RadiusOutcome.Reject, response, PolicyFailure.None, "Access-Reject", Name);
            default:
                Interlocked.Increment(ref _counters.RadiusChallenges);
                return Failed(PolicyFailure.UnexpectedResponse, "answered with an Access-Challenge, which a MAC authorisation cannot follow");
        }
    }

    private RadiusResult NoValidAnswer(Outstanding o)
    {
        string tries = $"{_config.Retries + 1} tries, {DataPlane.Host.Configuration.Durations.Format(_config.Timeout)} each";
        if (o.Discarded == 0)
            return Failed(PolicyFailure.ServerUnreachable,
                $"no answer ({tries}{(o.SendError is { } e ? $"; last send error: {e}" : "")}; a wrong shared secret looks like this too: the server drops our requests)");
        var reason = o.LastDiscard switch
        {
            RadiusPacketError.BadResponseAuthenticator => PolicyFailure.BadResponseAuthenticator,
            RadiusPacketError.MissingMessageAuthenticator => PolicyFailure.MissingMessageAuthenticator,
            RadiusPacketError.BadMessageAuthenticator or RadiusPacketError.MalformedMessageAuthenticator => PolicyFailure.BadMessageAuthenticator,
            _ => PolicyFailure.MalformedPacket,
        };
        return Failed(reason, $"no valid answer ({tries}): {o.Discarded} response(s) discarded, the last for {Describe(o.LastDiscard)}");
    }

    public static string Describe(RadiusPacketError e) => e switch
    {
        RadiusPacketError.Truncated => "being shorter than a RADIUS header",
        RadiusPacketError.BadLength => "a bad Length field",
        RadiusPacketError.BadAttribute => "a malformed attribute",
        RadiusPacketError.UnexpectedCode => "an unexpected code",
        RadiusPacketError.BadResponseAuthenticator => "a bad Response Authenticator (is the shared secret the same on both sides?)",
        RadiusPacketError.MissingMessageAuthenticator => "having no Message-Authenticator (required; FreeRADIUS before 3.2.5 adds it only when told to)",
        RadiusPacketError.MalformedMessageAuthenticator => "a malformed or repeated Message-Authenticator",
        RadiusPacketError.BadMessageAuthenticator => "a bad Message-Authenticator",
        _ => e.ToString(),
    };

    private RadiusResult Failed(PolicyFailure failure, string detail) => new(RadiusOutcome.Failed, null, failure, detail, Name);

    private Socket Socket()
    {
        lock (_lock)
        {
            if (_socket is not null) return _socket;
            var socket = new Socket(_config.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Connect(_config.EndPoint);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            _socket = socket;
            _ = Task.Run(() => ReceiveLoop(socket));
            return socket;
        }
    }

    private byte Claim(Outstanding o)
    {
        lock (_lock)
        {
            // Round robin, so an identifier is reused as late as possible (RFC 5080 §2.2.2).
            for (int i = 0; i < 256; i++)
            {
                int id = (_nextIdentifier + i) & 0xFF;
                if (_outstanding[id] is not null) continue;
                _outstanding[id] = o;
                _nextIdentifier = id + 1;
                return (byte)id;
            }
        }
        throw new InvalidOperationException("no free RADIUS identifier although the semaphore granted one");
    }

    private void Release(byte identifier)
    {
        lock (_lock) _outstanding[identifier] = null;
        _identifiers.Release();
    }

    private async Task ReceiveLoop(Socket socket)
    {
        var buffer = new byte[RadiusPacket.MaxLength + 1];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP errors (port unreachable) surface here on a connected socket; the request's timeout handles them.
                continue;
            }
            OnDatagram(buffer.AsSpan(0, n));
        }
    }

    private void OnDatagram(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < RadiusPacket.HeaderLength)
        {
            _counters.Discarded(RadiusPacketError.Truncated);
            return;
        }
        Outstanding? o;
        lock (_lock) o = _outstanding[datagram[1]];
        if (o is null)
        {
            _counters.Discarded(RadiusPacketError.UnknownIdentifier);
            return;
        }
        var error = RadiusPacket.VerifyResponse(datagram, o.RequestAuthenticator, o.Secret);
        if (error != RadiusPacketError.None)
        {
            _counters.Discarded(error);
            lock (_lock)
            {
                o.Discarded++;
                o.LastDiscard = error;
            }
            return;
        }
        RadiusPacket.CheckStructure(datagram, out int length);
        o.Done.TrySetResult(datagram[..length].ToArray());
    }

    public void Dispose()
    {
        _stop.Cancel();
        lock (_lock) _socket?.Dispose();
    }

    private sealed class Outstanding(byte[] requestAuthenticator, byte[] secret)
    {
        public byte[] RequestAuthenticator { get; } = requestAuthenticator;
        public byte[] Secret { get; } = secret;
        public TaskCompletionSource<byte[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Discarded;
        public RadiusPacketError LastDiscard;
        public string? SendError;
    }
}
