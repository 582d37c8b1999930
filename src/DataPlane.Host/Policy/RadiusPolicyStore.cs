using DataPlane.Host.Configuration;
using DataPlane.Host.Policy.Radius;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Policy;

/// <summary>
/// The RADIUS backend. Each VM is authorised by an Access-Request whose User-Name is its MN identifier
/// (the NAI from naiFormat), with the asking daemon as the NAS (NAS-IPv6-Address, NAS-Identifier); the
/// Access-Accept's attributes are its profile. Accepted profiles are cached by NAI for cacheTtl, so a VM
/// that comes back within it (a migration back, a re-attachment) costs no round trip to the server. When no
/// valid answer can be had, the failure policy decides (deny by default), and the reason is logged and
/// counted. A cache hit answers at once; everything else runs on the thread pool.
/// </summary>
public sealed class RadiusPolicyStore : IPolicyStore
{
    private readonly RadiusPolicyConfig _config;
    private readonly RadiusClient _client;
    private readonly ProfileCache _cache;
    private readonly Ipv6Address _nasAddress;
    private readonly string _nasIdentifier;
    private readonly IReadOnlySet<Ipv6Address> _mags;
    private readonly ILogger _log;
    private volatile byte[]? _password;
    private RadiusPolicyConfig _secrets;

    /// <param name="nasAddress">The daemon's own address (Proxy-CoA, LMA address), unless the config names one.</param>
    /// <param name="authorizedMags">The LMA's list of MAGs (RADIUS is not asked about MAGs).</param>
    public RadiusPolicyStore(RadiusPolicyConfig config, Ipv6Address nasAddress, ILogger log, IReadOnlySet<Ipv6Address>? authorizedMags = null,
        TimeProvider? time = null)
    {
        _config = config;
        _secrets = config;
        _log = log;
        _nasAddress = config.NasIpv6Address ?? nasAddress;
        _nasIdentifier = config.NasIdentifier ?? Environment.MachineName;
        _mags = authorizedMags ?? new HashSet<Ipv6Address>();
        _password = config.Password;
        _cache = new ProfileCache(config.CacheTtl, config.OnFailure == RadiusFailurePolicy.Cached ? config.MaxStale : config.CacheTtl, time ?? TimeProvider.System);
        _client = new RadiusClient(config.Servers, Counters);
        _log.LogInformation("RADIUS policy: servers {Servers}, NAS {Nas} ({NasId}), User-Name {Format}, {Auth}, prefix from {Attr}, cache {Ttl}, on failure {OnFailure}",
            string.Join(", ", config.Servers.Select(s => s.EndPoint)), _nasAddress, _nasIdentifier, config.NaiFormat,
            config.Password is null ? "Service-Type Call-Check" : "User-Password", RadiusProfileReader.Name(config.PrefixAttribute),
            Durations.Format(config.CacheTtl), config.OnFailure.ToString().ToLowerInvariant());
    }

    public string Description => $"radius {string.Join(",", _config.Servers.Select(s => s.EndPoint))}";

    public PolicyCounters Counters { get; } = new();

    public ProfileCache Cache => _cache;

    // ---- MAG ------------------------------------------------------------------------------------

    public ValueTask<PolicyDecision> DecideAsync(MacAddress mac, string port, Ipv6Address? fallbackLma)
    {
        Interlocked.Increment(ref Counters.VmDecisions);
        var nai = NaiFormat.Expand(_config.NaiFormat, mac, port);
        if (_cache.TryGetFresh(nai, out var cached))
        {
            Interlocked.Increment(ref Counters.CacheHits);
            return new(VmDecision(nai, mac, cached, fallbackLma, "cached"));
        }
        Interlocked.Increment(ref Counters.CacheMisses);
        return new(Task.Run(() => DecideFromServerAsync(nai, mac, port, fallbackLma)));
    }

    private async Task<PolicyDecision> DecideFromServerAsync(string nai, MacAddress mac, string port, Ipv6Address? fallbackLma)
    {
        var attributes = new List<RadiusAttribute>
        {
            RadiusAttribute.String(RadiusAttributeType.UserName, nai),
            // RFC 3580 §3.21's form of a MAC: the VM's identity as the MAG saw it on the port.
            RadiusAttribute.String(RadiusAttributeType.CallingStationId, mac.ToString().Replace(':', '-').ToUpperInvariant()),
            RadiusAttribute.String(RadiusAttributeType.NasPortId, port),
        };
        var answer = await AskAsync(nai, attributes).ConfigureAwait(false);
        return answer.Kind switch
        {
            AnswerKind.Profile => VmDecision(nai, mac, answer.Profile!, fallbackLma, answer.Note),
            AnswerKind.FailOpen => VmDecision(nai, mac, new RadiusProfile([], null, null), fallbackLma, answer.Note),
            _ => PolicyDecision.Deny(answer.Reason!),
        };
    }

    private PolicyDecision VmDecision(string nai, MacAddress mac, RadiusProfile p, Ipv6Address? fallbackLma, string how)
    {
        var lma = p.LocalMobilityAnchor ?? fallbackLma;
        if (lma is null)
        {
            Interlocked.Increment(ref Counters.Denied);
            return PolicyDecision.Deny($"no LMA for VM {mac} ({nai}): RADIUS sent no PMIP6-Home-LMA-IPv6-Address and the MAG config has no localMobilityAnchor");
        }
        Interlocked.Increment(ref Counters.Allowed);
        _log.LogDebug("{Nai} ({Mac}) allowed ({How}), HNP {Hnp}", nai, mac, how, p.HomeNetworkPrefixes.Count == 0 ? "from the LMA's pool" : string.Join(",", p.HomeNetworkPrefixes));
        return PolicyDecision.Allow(new VmProfile(nai, p.HomeNetworkPrefixes, lma.Value, p.Ipv4HomeAddress)
        {
            Ipv4Service = p.Ipv4Service, Ipv4PrefixLength = p.Ipv4PrefixLength,
        });
    }

    // ---- LMA ------------------------------------------------------------------------------------

    public bool IsMagAuthorized(Ipv6Address mag) => _mags.Contains(mag);

    public bool TryGetLmaProfile(string nai, out LmaMobileNodeProfile? profile)
    {
        profile = null;
        if (!_cache.TryGetFresh(nai, out var cached)) return false;
        Interlocked.Increment(ref Counters.LmaProfileLookups);
        Interlocked.Increment(ref Counters.CacheHits);
        Interlocked.Increment(ref Counters.Allowed);
        profile = ToLma(cached);
        return true;
    }

    public ValueTask<LmaProfileDecision> LookUpLmaProfileAsync(string nai)
    {
        Interlocked.Increment(ref Counters.LmaProfileLookups);
        Interlocked.Increment(ref Counters.CacheMisses);
        return new(Task.Run(async () =>
        {
            var answer = await AskAsync(nai, [RadiusAttribute.String(RadiusAttributeType.UserName, nai)]).ConfigureAwait(false);
            switch (answer.Kind)
            {
                case AnswerKind.Profile:
                    Interlocked.Increment(ref Counters.Allowed);
                    return LmaProfileDecision.Allow(ToLma(answer.Profile!));
                case AnswerKind.FailOpen:
                    Interlocked.Increment(ref Counters.Allowed);
                    return LmaProfileDecision.Allow(LmaMobileNodeProfile.FromPool);
                case AnswerKind.Denied:
                    return LmaProfileDecision.Deny(answer.Reason!);
                default:
                    return LmaProfileDecision.Failed(answer.Reason!);
            }
        }));
    }

    private static LmaMobileNodeProfile ToLma(RadiusProfile p) =>
        p.HomeNetworkPrefixes.Count == 0 && !p.Ipv4Service
            ? LmaMobileNodeProfile.FromPool
            : new LmaMobileNodeProfile(p.HomeNetworkPrefixes) { Ipv4Service = p.Ipv4Service, Ipv4HomeAddress = p.Ipv4HomeAddress };

    // ---- Both -----------------------------------------------------------------------------------

    private enum AnswerKind : byte { Profile, Denied, Failed, FailOpen }

    private readonly record struct Answer(AnswerKind Kind, RadiusProfile? Profile, string? Reason, string Note = "");

    /// <summary>One Access-Request with the common attributes added; the answer after the failure policy. Never throws.</summary>
    private async Task<Answer> AskAsync(string nai, List<RadiusAttribute> attributes)
    {
        RadiusResult result;
        try
        {
            var password = _password;
            if (password is null) attributes.Insert(1, RadiusAttribute.Integer(RadiusAttributeType.ServiceType, (uint)RadiusServiceType.CallCheck));
            attributes.Add(RadiusAttribute.Ipv6Address(RadiusAttributeType.NasIpv6Address, _nasAddress));
            attributes.Add(RadiusAttribute.String(RadiusAttributeType.NasIdentifier, _nasIdentifier));
            attributes.Add(RadiusAttribute.Integer(RadiusAttributeType.NasPortType, (uint)RadiusNasPortType.Virtual));
            result = await _client.AuthenticateAsync(new RadiusRequest(attributes, password)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            result = new RadiusResult(RadiusOutcome.Failed, null, PolicyFailure.SendFailed, e.Message, Description);
        }

        switch (result.Outcome)
        {
            case RadiusOutcome.Accept:
                if (RadiusProfileReader.TryRead(result.Packet, _config.PrefixAttribute, out var profile, out var problem))
                {
                    _cache.Store(nai, profile);
                    return new Answer(AnswerKind.Profile, profile, null, $"Access-Accept from {result.Server}");
                }
                return Failure(nai, PolicyFailure.MalformedAttribute, $"{result.Server} accepted {nai} but its answer is unusable: {problem}");
            case RadiusOutcome.Reject:
                _cache.Remove(nai);
                Interlocked.Increment(ref Counters.Denied);
                var message = RadiusProfileReader.ReplyMessage(result.Packet);
                var reason = $"RADIUS server {result.Server} rejected {nai} (Access-Reject{(message is null ? "" : $": \"{message}\"")})";
                _log.LogWarning("{Reason}", reason);
                return new Answer(AnswerKind.Denied, null, reason);
            default:
                return Failure(nai, result.Failure, $"no usable RADIUS answer for {nai}: {result.Detail}");
        }
    }

    /// <summary>The failure policy: deny (default), the last accepted profile up to maxStale old, or admit with a pool prefix.</summary>
    private Answer Failure(string nai, PolicyFailure failure, string detail)
    {
        Counters.Failure(failure);
        switch (_config.OnFailure)
        {
            case RadiusFailurePolicy.Cached when _cache.TryGetStale(nai, out var stale, out var age):
                Interlocked.Increment(ref Counters.StaleAnswers);
                _log.LogWarning("{Detail} [{Failure}]; onFailure cached: using the profile accepted {Age} ago", detail, failure, Durations.Format(TimeSpan.FromSeconds(Math.Round(age.TotalSeconds))));
                return new Answer(AnswerKind.Profile, stale, null, "stale cache");
            case RadiusFailurePolicy.Allow:
                Interlocked.Increment(ref Counters.FailOpenAnswers);
                _log.LogWarning("{Detail} [{Failure}]; onFailure allow: admitting {Nai} with a pool prefix", detail, failure, nai);
                return new Answer(AnswerKind.FailOpen, null, null, "fail open");
            default:
                Interlocked.Increment(ref Counters.FailClosedDenials);
                _log.LogWarning("{Detail} [{Failure}]; not admitted (onFailure {Policy})", detail, failure, _config.OnFailure.ToString().ToLowerInvariant());
                return new Answer(AnswerKind.Failed, null, $"{detail} [{failure}]");
        }
    }

    /// <summary>Drop every cached answer and re-read the secret and password files; on a bad file keep the old ones.</summary>
    public string? Reload()
    {
        try
        {
            var next = _secrets.ReloadSecrets();
            _client.UpdateSecrets([.. next.Servers.Select(s => s.Secret)]);
            _password = next.Password;
            _secrets = next;
        }
        catch (ConfigException e)
        {
            Interlocked.Increment(ref Counters.ReloadFailures);
            _log.LogError("policy reload failed, keeping the previous secrets: {Reason}", e.Message);
            return e.Message;
        }
        int dropped = _cache.Count;
        _cache.Clear();
        Interlocked.Increment(ref Counters.Reloads);
        _log.LogInformation("policy reloaded: {Dropped} cached RADIUS answers dropped, secrets re-read", dropped);
        return null;
    }

    public void Dispose() => _client.Dispose();
}
