using System.Text.Json.Nodes;
using DataPlane.Host.Policy.Radius;

namespace DataPlane.Host.Policy;

/// <summary>Why a policy answer could not be had from the server (each is logged and counted; the failure policy then decides).</summary>
public enum PolicyFailure : byte
{
    None,
    /// <summary>No server answered within its timeout and retries (includes a wrong shared secret: the server drops our packets).</summary>
    ServerUnreachable,
    /// <summary>Answers came, but none had a valid Response Authenticator (wrong secret on our side, or spoofed).</summary>
    BadResponseAuthenticator,
    /// <summary>Answers came without the required Message-Authenticator.</summary>
    MissingMessageAuthenticator,
    /// <summary>Answers came with a Message-Authenticator that is wrong, malformed or repeated.</summary>
    BadMessageAuthenticator,
    /// <summary>Answers came that are not RADIUS packets (bad length, broken attributes, an unexpected code).</summary>
    MalformedPacket,
    /// <summary>A verified Access-Accept whose profile attributes are unusable (a broken prefix, a /96 HNP, a 5-octet IPv4 address).</summary>
    MalformedAttribute,
    /// <summary>The server answered with something we cannot follow (Access-Challenge).</summary>
    UnexpectedResponse,
    /// <summary>The request could not be sent (no route, socket error).</summary>
    SendFailed,
}

/// <summary>
/// The policy store's counters, shared by the backends (the file store uses the first few). Updated from the
/// look-up tasks' threads, so every field moves with Interlocked; read by `ctl stats` as the "policy" object.
/// </summary>
public sealed class PolicyCounters
{
    /// <summary>MAG decisions asked (RequestPolicy) and LMA profile look-ups asked.</summary>
    public long VmDecisions;
    public long LmaProfileLookups;
    public long Allowed;
    /// <summary>Refused by the policy itself: the file says no, or Access-Reject.</summary>
    public long Denied;
    public long CacheHits;
    public long CacheMisses;
    /// <summary>Failures answered from an expired cache entry (onFailure "cached").</summary>
    public long StaleAnswers;
    /// <summary>Failures admitted anyway (onFailure "allow").</summary>
    public long FailOpenAnswers;
    /// <summary>Failures that denied the VM (onFailure "deny", or "cached" with nothing cached).</summary>
    public long FailClosedDenials;
    public long Reloads;
    public long ReloadFailures;
    private readonly long[] _failures = new long[Enum.GetValues<PolicyFailure>().Length];

    // RADIUS exchanges.
    public long RadiusRequests;
    public long RadiusRetransmissions;
    public long RadiusAccepts;
    public long RadiusRejects;
    public long RadiusChallenges;
    /// <summary>A server gave no valid answer to a request within its retries.</summary>
    public long RadiusServerTimeouts;
    public long RadiusFailovers;
    public long RadiusSendErrors;
    private readonly long[] _discarded = new long[Enum.GetValues<RadiusPacketError>().Length];

    public void Failure(PolicyFailure reason) => Interlocked.Increment(ref _failures[(int)reason]);

    public long Failures(PolicyFailure reason) => Interlocked.Read(ref _failures[(int)reason]);

    public void Discarded(RadiusPacketError reason) => Interlocked.Increment(ref _discarded[(int)reason]);

    /// <summary>Responses silently discarded (RFC 2865 §3), by reason.</summary>
    public long DiscardedResponses(RadiusPacketError reason) => Interlocked.Read(ref _discarded[(int)reason]);

    public JsonObject ToJson()
    {
        var failures = new JsonObject();
        foreach (var r in Enum.GetValues<PolicyFailure>())
            if (r != PolicyFailure.None && Failures(r) is var n and > 0) failures[Camel(r.ToString())] = n;
        var discarded = new JsonObject();
        foreach (var r in Enum.GetValues<RadiusPacketError>())
            if (r != RadiusPacketError.None && DiscardedResponses(r) is var n and > 0) discarded[Camel(r.ToString())] = n;
        return new JsonObject
        {
            ["vmDecisions"] = Interlocked.Read(ref VmDecisions),
            ["lmaProfileLookups"] = Interlocked.Read(ref LmaProfileLookups),
            ["allowed"] = Interlocked.Read(ref Allowed),
            ["denied"] = Interlocked.Read(ref Denied),
            ["cacheHits"] = Interlocked.Read(ref CacheHits),
            ["cacheMisses"] = Interlocked.Read(ref CacheMisses),
            ["staleAnswers"] = Interlocked.Read(ref StaleAnswers),
            ["failOpenAnswers"] = Interlocked.Read(ref FailOpenAnswers),
            ["failClosedDenials"] = Interlocked.Read(ref FailClosedDenials),
            ["failures"] = failures,
            ["reloads"] = Interlocked.Read(ref Reloads),
            ["reloadFailures"] = Interlocked.Read(ref ReloadFailures),
            ["radius"] = new JsonObject
            {
                ["requests"] = Interlocked.Read(ref RadiusRequests),
                ["retransmissions"] = Interlocked.Read(ref RadiusRetransmissions),
                ["accepts"] = Interlocked.Read(ref RadiusAccepts),
                ["rejects"] = Interlocked.Read(ref RadiusRejects),
                ["challenges"] = Interlocked.Read(ref RadiusChallenges),
                ["serverTimeouts"] = Interlocked.Read(ref RadiusServerTimeouts),
                ["failovers"] = Interlocked.Read(ref RadiusFailovers),
                ["sendErrors"] = Interlocked.Read(ref RadiusSendErrors),
                ["discardedResponses"] = discarded,
            },
        };
    }

    private static string Camel(string s) => char.ToLowerInvariant(s[0]) + s[1..];
}
