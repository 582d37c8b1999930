using DataPlane.Host.Configuration;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Policy;

/// <summary>
/// The embedded policy store: the policy file, validated at start (a bad file stops the daemon with the
/// entry and field named) and reloaded on request (SIGHUP, `dataplane ctl policy reload`). A bad reload
/// keeps the old policy and says why; sessions are never dropped by a reload — the new policy applies to
/// the next decision. Every answer is from memory, so it completes synchronously.
/// </summary>
public sealed class FilePolicyStore : IPolicyStore, ILmaPolicy
{
    private readonly string _path;
    private readonly ILogger _log;
    private volatile PolicySnapshot _current;
    private readonly Ipv6Address? _anchor;

    /// <param name="anchor">On an LMA, its own address: VMs the policy anchors at another LMA get no profile here.</param>
    public FilePolicyStore(string path, ILogger log, Ipv6Address? anchor = null)
    {
        _path = path;
        _log = log;
        _anchor = anchor;
        _current = PolicyFile.Load(path);
        _log.LogInformation("loaded {Path}: {Vms} VMs, defaults.allowed={Allowed}", path, _current.Vms.Count, _current.Defaults.Allowed);
    }

    public PolicySnapshot Current => _current;

    public string Description => $"file {_path}";

    public PolicyCounters Counters { get; } = new();

    /// <summary>Re-read the file; on error keep the old policy. Returns null on success, else the reason.</summary>
    public string? Reload()
    {
        try
        {
            var next = PolicyFile.Load(_path);
            _current = next;
            Interlocked.Increment(ref Counters.Reloads);
            _log.LogInformation("reloaded {Path}: {Vms} VMs", _path, next.Vms.Count);
            return null;
        }
        catch (ConfigException e)
        {
            Interlocked.Increment(ref Counters.ReloadFailures);
            _log.LogError("reload failed, keeping the previous policy: {Reason}", e.Message);
            return e.Message;
        }
    }

    public PolicyDecision Decide(MacAddress mac, string port, Ipv6Address? fallbackLma)
    {
        Interlocked.Increment(ref Counters.VmDecisions);
        var d = _current.Decide(mac, port, fallbackLma);
        Interlocked.Increment(ref d.Profile is null ? ref Counters.Denied : ref Counters.Allowed);
        return d;
    }

    public ValueTask<PolicyDecision> DecideAsync(MacAddress mac, string port, Ipv6Address? fallbackLma) => new(Decide(mac, port, fallbackLma));

    public bool IsMagAuthorized(Ipv6Address mag) => _current.IsMagAuthorized(mag);

    public bool IsReservedIpv4HomeAddress(Ipv4Address address) => _current.IsReservedIpv4HomeAddress(address);

    public LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier)
    {
        Interlocked.Increment(ref Counters.LmaProfileLookups);
        var p = _current.GetLmaProfile(mobileNodeIdentifier, _anchor);
        Interlocked.Increment(ref p is null ? ref Counters.Denied : ref Counters.Allowed);
        return p;
    }

    public bool TryGetLmaProfile(string nai, out LmaMobileNodeProfile? profile)
    {
        profile = GetProfile(nai);
        return true;
    }

    public ValueTask<LmaProfileDecision> LookUpLmaProfileAsync(string nai) =>
        new(GetProfile(nai) is { } p ? LmaProfileDecision.Allow(p) : LmaProfileDecision.Deny($"{nai} is not allowed by {_path}"));

    public void Dispose()
    {
    }
}
