using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// The binding cache with the look-ups of RFC 5213 §5.4.1 — by home network prefix, and by MN-ID + access
/// technology type + MN link-layer identifier — and RFC 5844 §3.1.2.7's by IPv4 home address. A mobile node
/// almost always has one entry, so the MN-ID index holds that entry itself and a list only for the rare node
/// with several (a million lists of one would cost ~90 MB).
/// </summary>
internal sealed class BindingCache
{
    private readonly Dictionary<Ipv6Prefix, BindingCacheEntry> _byPrefix = [];
    private readonly Dictionary<Ipv4Address, BindingCacheEntry> _byIpv4 = [];
    // Value: a BindingCacheEntry, or a List<BindingCacheEntry> of two or more.
    private readonly Dictionary<string, object> _byMobileNode = new(StringComparer.Ordinal);

    public int Count { get; private set; }

    public IEnumerable<BindingCacheEntry> Entries
    {
        get
        {
            foreach (var v in _byMobileNode.Values)
            {
                if (v is BindingCacheEntry e) yield return e;
                else foreach (var x in (List<BindingCacheEntry>)v) yield return x;
            }
        }
    }

    public BindingCacheEntry? FindByPrefix(Ipv6Prefix prefix) => _byPrefix.GetValueOrDefault(prefix);

    /// <summary>§5.4.1.2: the entry of this MN on this access technology, matching the MN-LL-ID when one is given.</summary>
    public BindingCacheEntry? FindByMobileNode(string mobileNodeIdentifier, AccessTechnologyType att, OctetString? linkLayerIdentifier)
    {
        if (!_byMobileNode.TryGetValue(mobileNodeIdentifier, out var v)) return null;
        if (v is BindingCacheEntry single) return single.AccessTechnologyType == att && single.Matches(linkLayerIdentifier) ? single : null;
        foreach (var e in (List<BindingCacheEntry>)v)
            if (e.AccessTechnologyType == att && e.Matches(linkLayerIdentifier)) return e;
        return null;
    }

    public BindingCacheEntry? FindFirstByMobileNode(string mobileNodeIdentifier) =>
        _byMobileNode.TryGetValue(mobileNodeIdentifier, out var v) ? v as BindingCacheEntry ?? ((List<BindingCacheEntry>)v)[0] : null;

    public bool IsPrefixInUse(Ipv6Prefix prefix) => _byPrefix.ContainsKey(prefix);

    /// <summary>§3.1.2.7: the entry holding this IPv4 home address.</summary>
    public BindingCacheEntry? FindByIpv4HomeAddress(Ipv4Address address) => _byIpv4.GetValueOrDefault(address);

    /// <summary>Replace the entry's prefixes (an extension, a selective de-registration, a release after handoff).</summary>
    public void SetPrefixes(BindingCacheEntry entry, Ipv6Prefix[] prefixes, bool fromPool)
    {
        foreach (var p in entry.HomeNetworkPrefixes) _byPrefix.Remove(p);
        entry.HomeNetworkPrefixes = prefixes;
        entry.PrefixesFromPool = fromPool;
        foreach (var p in prefixes) _byPrefix.Add(p, entry);
    }

    /// <summary>Set or clear (null) the entry's IPv4 home address.</summary>
    public void SetIpv4HomeAddress(BindingCacheEntry entry, Ipv4Address? address, byte prefixLength, Ipv4Address defaultRouter)
    {
        if (entry.Ipv4HomeAddress is { } old) _byIpv4.Remove(old);
        entry.Ipv4HomeAddress = address;
        entry.Ipv4PrefixLength = address is null ? (byte)0 : prefixLength;
        entry.Ipv4DefaultRouter = address is null ? default : defaultRouter;
        if (address is { } a) _byIpv4.Add(a, entry);
    }

    public void Add(BindingCacheEntry entry)
    {
        foreach (var p in entry.HomeNetworkPrefixes) _byPrefix.Add(p, entry);
        if (entry.Ipv4HomeAddress is { } v4) _byIpv4.Add(v4, entry);
        if (!_byMobileNode.TryGetValue(entry.MobileNodeIdentifier, out var v)) _byMobileNode.Add(entry.MobileNodeIdentifier, entry);
        else if (v is BindingCacheEntry first) _byMobileNode[entry.MobileNodeIdentifier] = new List<BindingCacheEntry>(2) { first, entry };
        else ((List<BindingCacheEntry>)v).Add(entry);
        Count++;
    }

    public void Remove(BindingCacheEntry entry)
    {
        foreach (var p in entry.HomeNetworkPrefixes) _byPrefix.Remove(p);
        if (entry.Ipv4HomeAddress is { } v4) _byIpv4.Remove(v4);
        if (_byMobileNode.TryGetValue(entry.MobileNodeIdentifier, out var v))
        {
            if (v == entry) _byMobileNode.Remove(entry.MobileNodeIdentifier);
            else if (v is List<BindingCacheEntry> list)
            {
                list.Remove(entry);
                if (list.Count == 1) _byMobileNode[entry.MobileNodeIdentifier] = list[0];
            }
        }
        Count--;
    }
}
