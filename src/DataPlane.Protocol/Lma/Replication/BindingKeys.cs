namespace DataPlane.Protocol.Lma.Replication;

/// <summary>
/// The store key of a binding cache entry, relative to its shard's binding prefix: the entry's identity in RFC 5213
/// §5.4.1 — MN-ID, access technology type and MN link-layer identifier — which is fixed for the entry's life and
/// unique in the cache. (Its addresses are not: since RFC 5844 a session gains and loses its IPv6 prefixes and
/// IPv4 home address while it lives, and an IPv4-only session has no prefix at all.) Written
/// "{MN-ID, URI-escaped}~{ATT}~{MN-LL-ID hex or -}", so the key has no extra "/" level and reads well in
/// `etcdctl get --prefix`.
/// </summary>
public static class BindingKeys
{
    internal static string Of(BindingCacheEntry entry) => Of(entry.MobileNodeIdentifier, entry.AccessTechnologyType, entry.LinkLayerIdentifier);

    public static string Of(BindingRecord record) => Of(record.MobileNodeIdentifier, record.AccessTechnologyType, record.LinkLayerIdentifier);

    private static string Of(string mobileNodeIdentifier, Wire.AccessTechnologyType att, Wire.OctetString? linkLayerIdentifier) =>
        $"{Uri.EscapeDataString(mobileNodeIdentifier)}~{(int)att}~{linkLayerIdentifier?.ToString() ?? "-"}";
}
