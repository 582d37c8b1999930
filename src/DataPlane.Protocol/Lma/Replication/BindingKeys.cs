namespace DataPlane.Protocol.Lma.Replication;

/// <summary>
/// The store key of a binding cache entry, relative to its shard's binding prefix: the entry's first home
/// network prefix, which is unique in the cache and fixed for the entry's life (written "2001:db8:1::-64",
/// so the key has no extra "/" level and reads well in `etcdctl get --prefix`). An entry without an IPv6
/// prefix (an IPv4-only session, issue 15) would be keyed by its IPv4 home address the same way.
/// </summary>
public static class BindingKeys
{
    internal static string Of(BindingCacheEntry entry) => OfRecord(entry.MobileNodeIdentifier, entry.HomeNetworkPrefixes);

    public static string Of(BindingRecord record) => OfRecord(record.MobileNodeIdentifier, record.HomeNetworkPrefixes);

    private static string OfRecord(string mobileNodeIdentifier, IReadOnlyList<Wire.Ipv6Prefix> prefixes) =>
        prefixes.Count > 0
            ? $"{prefixes[0].Address}-{prefixes[0].Length}"
            : "mn-" + Uri.EscapeDataString(mobileNodeIdentifier);
}
