using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>One bi-directional tunnel per MAG, shared by all its VMs: reference counted by active entries.</summary>
internal sealed class TunnelTable
{
    private readonly Dictionary<Ipv6Address, int> _references = [];

    public int Count => _references.Count;

    public int ReferencesOf(Ipv6Address mag) => _references.GetValueOrDefault(mag);

    public IEnumerable<KeyValuePair<Ipv6Address, int>> All => _references;

    public void Clear() => _references.Clear();

    /// <summary>True when this is the tunnel's first user (bring it up).</summary>
    public bool Acquire(Ipv6Address mag) => CollectionsMarshalExtensions.IncrementAndGet(_references, mag) == 1;

    /// <summary>True when this was the last user (tear it down).</summary>
    public bool Release(Ipv6Address mag)
    {
        int left = CollectionsMarshalExtensions.DecrementAndGet(_references, mag);
        if (left > 0) return false;
        _references.Remove(mag);
        return left == 0;
    }
}
