using System.Text.Json;
using System.Text.Json.Nodes;
using DataPlane.Wire;

namespace DataPlane.Host.Lma.Replication;

/// <summary>
/// The shards of a domain as registered in etcd (`{root}/shards/{shard}`: the LMA address, prefix pool and IPv4 pool).
/// A shard owns its address and its pools: a member whose shard would share any with another does not campaign (two
/// shards with overlapping IPv4 pools would each hand out the same address).
/// </summary>
public static class ShardRegistry
{
    public static string Describe(Ipv6Address address, Ipv6Prefix? pool, Ipv4Prefix? ipv4Pool = null) => new JsonObject
    {
        ["address"] = address.ToString(),
        ["prefixPool"] = pool?.ToString(),
        ["ipv4Pool"] = ipv4Pool?.ToString(),
    }.ToJsonString();

    /// <summary>Why shard <paramref name="mine"/> conflicts with a registered one, or null. Unreadable entries are ignored.</summary>
    public static string? Conflict(string mine, Ipv6Address address, Ipv6Prefix? pool, IReadOnlyDictionary<string, string> shards, Ipv4Prefix? ipv4Pool = null)
    {
        foreach (var (name, json) in shards)
        {
            if (name == mine) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(json); } catch (JsonException) { continue; }
            if (node?["address"] is JsonValue a && a.TryGetValue(out string? text) && Ipv6Address.TryParse(text, out var other) && other == address)
                return $"shard \"{name}\" has the same LMA address {address}";
            if (pool is { } p && node?["prefixPool"] is JsonValue op && op.TryGetValue(out string? ptext) && Ipv6Prefix.TryParse(ptext, out var theirs)
                && (p.Contains(theirs.Address) || theirs.Contains(p.Address)))
                return $"shard \"{name}\" has prefix pool {theirs}, which overlaps this shard's {p}";
            if (ipv4Pool is { } v4 && node?["ipv4Pool"] is JsonValue o4 && o4.TryGetValue(out string? v4text) && Ipv4Prefix.TryParse(v4text, out var theirs4)
                && (v4.Contains(theirs4.Address) || theirs4.Contains(v4.Address)))
                return $"shard \"{name}\" has IPv4 pool {theirs4}, which overlaps this shard's {v4}";
        }
        return null;
    }
}
