using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// The binding cache with the two look-ups of RFC 5213 §5.4.1: by home network prefix, and by
/// MN-ID + access technology type + MN link-layer identifier.
/// </summary>
internal sealed class BindingCache
{
    private readonly Dictionary<Ipv6Prefix, BindingCacheEntry> _byPrefix = [];
    private readonly Dictionary<string, List<BindingCacheEntry>> _byMobileNode = new(StringComparer.Ordinal);

    public int Count { get; private set; }

    public IEnumerable<BindingCacheEntry> Entries => _byMobileNode.Values.SelectMany(l => l);

    public BindingCacheEntry? FindByPrefix(Ipv6Prefix prefix) => _byPrefix.GetValueOrDefault(prefix);

    /// <summary>§5.4.1.2: the entry of this MN on this access technology, matching the MN-LL-ID when one is given.</summary>
    public BindingCacheEntry? FindByMobileNode(string mobileNodeIdentifier, AccessTechnologyType att, OctetString? linkLayerIdentifier)
    {
        if (!_byMobileNode.TryGetValue(mobileNodeIdentifier, out var list)) return null;
        foreach (var e in list)
            if (e.AccessTechnologyType == att && e.Matches(linkLayerIdentifier)) return e;
        return null;
    }

    public BindingCacheEntry? FindFirstByMobileNode(string mobileNodeIdentifier) =>
        _byMobileNode.TryGetValue(mobileNodeIdentifier, out var list) ? list[0] : null;

    public bool IsPrefixInUse(Ipv6Prefix prefix) => _byPrefix.ContainsKey(prefix);

    public void Add(BindingCacheEntry entry)
    {
        foreach (var p in entry.HomeNetworkPrefixes) _byPrefix.Add(p, entry);
        if (!_byMobileNode.TryGetValue(entry.MobileNodeIdentifier, out var list))
            _byMobileNode.Add(entry.MobileNodeIdentifier, list = new List<BindingCacheEntry>(1));
        list.Add(entry);
        Count++;
    }

    public void Remove(BindingCacheEntry entry)
    {
        foreach (var p in entry.HomeNetworkPrefixes) _byPrefix.Remove(p);
        if (_byMobileNode.TryGetValue(entry.MobileNodeIdentifier, out var list))
        {
            list.Remove(entry);
            if (list.Count == 0) _byMobileNode.Remove(entry.MobileNodeIdentifier);
        }
        Count--;
    }
}
