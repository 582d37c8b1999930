using System.Net;
using DataPlane.Host.Configuration;

namespace DataPlane.Host.Policy.Radius;

/// <summary>How an exchange ended: an authenticated Access-Accept or Access-Reject, or a failure with its reason.</summary>
public enum RadiusOutcome : byte
{
    Accept,
    Reject,
    Failed,
}

/// <param name="Packet">The verified response (Accept or Reject), cut to its declared length.</param>
/// <param name="Server">The server that answered, or the last one tried.</param>
public sealed record RadiusResult(RadiusOutcome Outcome, byte[]? Packet, PolicyFailure Failure, string Detail, string Server);

/// <summary>What to ask: the attributes (Message-Authenticator is added) and, optionally, a password for User-Password.</summary>
public sealed record RadiusRequest(IReadOnlyList<RadiusAttribute> Attributes, byte[]? Password = null);

/// <summary>
/// A RADIUS authentication client (RFC 2865) for several servers with fail-over. Each server has its own
/// connected UDP socket, so the kernel only hands us datagrams from that server's address and port, and
/// its own 256 identifiers: one outstanding request per identifier, a request waits for a free one.
/// A request goes to the first server that is not marked dead (in configured order), is retransmitted
/// unchanged (same identifier and Request Authenticator, RFC 5080 §2.2.1) every timeout up to its
/// retries, then moves to the next server with a new identifier and authenticator. A server that gave no
/// valid answer is tried last for <see cref="DeadTime"/>. Responses that fail any check are discarded and
/// counted, and the request keeps waiting: a forged answer cannot end it early.
/// All of it runs on the thread pool; callers never block.
/// </summary>
public sealed class RadiusClient : IDisposable
{
    /// <summary>How long a server that failed a request is tried after the others.</summary>
    public static readonly TimeSpan DeadTime = TimeSpan.FromSeconds(30);

    private readonly RadiusServerChannel[] _servers;
    private readonly PolicyCounters _counters;

    public RadiusClient(IReadOnlyList<RadiusServerConfig> servers, PolicyCounters counters)
    {
        if (servers.Count == 0) throw new ArgumentException("at least one RADIUS server is needed", nameof(servers));
        _counters = counters;
        _servers = [.. servers.Select(s => new RadiusServerChannel(s, counters))];
    }

    /// <summary>Replace the shared secrets (after re-reading secret files), server by server in configured order.</summary>
    public void UpdateSecrets(IReadOnlyList<byte[]> secrets)
    {
        for (int i = 0; i < _servers.Length && i < secrets.Count; i++) _servers[i].Secret = secrets[i];
    }

    public async Task<RadiusResult> AuthenticateAsync(RadiusRequest request, CancellationToken ct = default)
    {
        long now = Environment.TickCount64;
        // Live servers first, in configured order; then the dead ones, least recently failed first.
        var order = _servers.Where(s => s.DeadUntil <= now).Concat(_servers.Where(s => s.DeadUntil > now).OrderBy(s => s.DeadUntil)).ToArray();
        var problems = new List<string>();
        RadiusResult? last = null;
        for (int i = 0; i < order.Length; i++)
        {
            var server = order[i];
            if (i > 0) Interlocked.Increment(ref _counters.RadiusFailovers);
            var result = await server.ExchangeAsync(request, ct).ConfigureAwait(false);
            if (result.Outcome != RadiusOutcome.Failed)
            {
                server.DeadUntil = 0;
                return result;
            }
            server.DeadUntil = Environment.TickCount64 + (long)DeadTime.TotalMilliseconds;
            problems.Add($"{result.Server}: {result.Detail}");
            last = result;
        }
        return last! with { Detail = string.Join("; ", problems) };
    }

    public void Dispose()
    {
        foreach (var s in _servers) s.Dispose();
    }
}
