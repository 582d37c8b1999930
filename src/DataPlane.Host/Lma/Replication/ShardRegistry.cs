using System.Text.Json;
using System.Text.Json.Nodes;
using DataPlane.Wire;

namespace DataPlane.Host.Lma.Replication;

/// <summary>
/// The shards of a domain as registered in etcd (`{root}/shards/{shard}`: the LMA address and prefix pool). A shard
/// owns its address and its pool: a member whose shard would share either with another does not campaign.
/// </summary>
public static class ShardRegistry
{
    public static string Describe(Ipv6Address address, Ipv6Prefix? pool) => new JsonObject
    {
        ["address"] = address.ToString(),
        ["prefixPool"] = pool?.ToString(),
    }.ToJsonString();

    /// <summary>Why shard <paramref name="mine"/> conflicts with a registered one, or null. Unreadable entries are ignored.</summary>
    public static string? Conflict(string mine, Ipv6Address address, Ipv6Prefix? pool, IReadOnlyDictionary<string, string> shards)
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
        }
        return null;
    }
}
