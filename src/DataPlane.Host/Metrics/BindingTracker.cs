using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Host.Metrics;

/// <summary>
/// The LMA's per-binding record for metrics, owned by the packet loop: the binding's identity (MN-ID, HNP: its
/// series' labels), the MAG serving it, how it changed (from the machine's BindingChanged notifications), and
/// presence. The lifecycle is the MAG's VM rule: a binding gone from the cache keeps its series for the
/// retention, then they disappear.
/// </summary>
public sealed class BindingTracker(TimeSpan retention)
{
    private readonly Dictionary<string, Binding> _bindings = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<string> _forget = [];
    private readonly long[] _changes = new long[Enum.GetValues<BindingChange>().Length];

    public TimeSpan Retention { get; } = retention;

    public IEnumerable<Binding> Bindings => _bindings.Values;

    public int Count => _bindings.Count;

    /// <summary>BindingChanged notifications by kind, since start.</summary>
    public long Changes(BindingChange change) => _changes[(int)change];

    public void OnChanged(LmaAction.BindingChanged b, Instant now)
    {
        if ((int)b.Change < _changes.Length) _changes[(int)b.Change]++;
        var binding = Get(b.MobileNodeIdentifier, b.HomeNetworkPrefixes, now);
        binding.NoteIpv4(b.Ipv4HomeAddress);
        binding.LastPresentAt = now;
        switch (b.Change)
        {
            case BindingChange.Created:
                binding.Present = true;
                binding.Mag = b.ProxyCareOfAddress;
                break;
            case BindingChange.HandedOff:
            case BindingChange.Resumed:
                binding.Present = true;
                binding.Handoffs++;
                binding.Mag = b.ProxyCareOfAddress;
                break;
            case BindingChange.Deregistered:
                binding.Mag = null;
                break;
            case BindingChange.Deleted:
            case BindingChange.Expired:
                binding.Present = false;
                binding.Mag = null;
                break;
        }
    }

    /// <summary>The cache as it is now: present entries are refreshed, absent ones age out after the retention.</summary>
    public void Refresh(IEnumerable<BindingCacheView> cache, Instant now)
    {
        _seen.Clear();
        foreach (var e in cache)
        {
            var b = Get(e.MobileNodeIdentifier, e.HomeNetworkPrefixes, now);
            b.NoteIpv4(e.Ipv4HomeAddress);
            b.Present = true;
            b.State = e.State;
            b.Mag = e.ProxyCareOfAddress;
            b.LastPresentAt = now;
            _seen.Add(e.MobileNodeIdentifier);
        }
        _forget.Clear();
        foreach (var b in _bindings.Values)
        {
            if (_seen.Contains(b.MobileNodeIdentifier)) continue;
            if (b.Present)
            {
                b.Present = false;
                b.Mag = null;
                b.LastPresentAt = now;
            }
            else if (now - b.LastPresentAt >= Retention)
            {
                _forget.Add(b.MobileNodeIdentifier);
            }
        }
        foreach (var id in _forget)
        {
            if (!_bindings.Remove(id, out var gone)) continue;
            Forgotten?.Invoke(gone.HomeNetworkPrefixes);
            foreach (var a in gone.Ipv4HomeAddresses) Ipv4Forgotten?.Invoke(a);
        }
    }

    /// <summary>Called with the prefixes of each binding forgotten after the retention (the data path then drops their counters).</summary>
    public Action<IReadOnlyList<Ipv6Prefix>>? Forgotten { get; set; }

    /// <summary>Likewise for each IPv4 home address the forgotten binding held (RFC 5844).</summary>
    public Action<Ipv4Address>? Ipv4Forgotten { get; set; }

    private Binding Get(string mobileNodeIdentifier, IReadOnlyList<Ipv6Prefix> prefixes, Instant now)
    {
        if (!_bindings.TryGetValue(mobileNodeIdentifier, out var b))
        {
            b = new Binding(mobileNodeIdentifier) { LastPresentAt = now };
            _bindings.Add(mobileNodeIdentifier, b);
        }
        b.SetPrefixes(prefixes);
        return b;
    }

    public sealed class Binding(string mobileNodeIdentifier)
    {
        public string MobileNodeIdentifier { get; } = mobileNodeIdentifier;
        public Ipv6Prefix[] HomeNetworkPrefixes { get; private set; } = [];
        /// <summary>mn_id, hnp.</summary>
        public string[] Labels { get; private set; } = [mobileNodeIdentifier, ""];
        public bool Present { get; set; }
        public BindingCacheState State { get; set; }
        public Ipv6Address? Mag { get; set; }
        public long Handoffs { get; set; }
        public Instant LastPresentAt { get; set; }
        /// <summary>The IPv4 home addresses the binding has held (usually one), whose counters go when it is forgotten.</summary>
        public List<Ipv4Address> Ipv4HomeAddresses { get; } = [];

        internal void NoteIpv4(Ipv4Address? address)
        {
            if (address is { } a && !Ipv4HomeAddresses.Contains(a)) Ipv4HomeAddresses.Add(a);
        }

        internal void SetPrefixes(IReadOnlyList<Ipv6Prefix> prefixes)
        {
            if (prefixes.Count == 0 || prefixes.SequenceEqual(HomeNetworkPrefixes)) return;
            HomeNetworkPrefixes = [.. prefixes];
            Labels = [MobileNodeIdentifier, string.Join(",", prefixes)];
        }
    }
}
