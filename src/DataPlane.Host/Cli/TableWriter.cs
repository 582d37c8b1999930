using System.Text;
using System.Text.Json.Nodes;

namespace DataPlane.Host.Cli;

/// <summary>
/// Renders a control answer for people: an array of objects becomes a table (nested objects flattened to
/// a.b columns, arrays joined with commas), an object becomes key: value lines.
/// </summary>
public static class TableWriter
{
    public static string Render(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return "ok";
            case JsonArray a when a.Count == 0:
                return "(none)";
            case JsonArray a when a.All(x => x is JsonObject):
                return Table(a.Cast<JsonObject>().Select(Flatten).ToList());
            case JsonObject o:
                var flat = Flatten(o);
                int w = flat.Count == 0 ? 0 : flat.Max(kv => kv.Key.Length);
                return string.Join('\n', flat.Select(kv => $"{kv.Key.PadRight(w)}  {kv.Value}"));
            default:
                return Scalar(node);
        }
    }

    private static string Table(List<List<KeyValuePair<string, string>>> rows)
    {
        var columns = new List<string>();
        foreach (var r in rows)
            foreach (var kv in r)
                if (!columns.Contains(kv.Key)) columns.Add(kv.Key);
        var cells = rows.Select(r => columns.Select(c => r.FirstOrDefault(kv => kv.Key == c).Value ?? "-").ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        sb.AppendJoin("  ", columns.Select((c, i) => c.ToUpperInvariant().PadRight(widths[i]))).Append('\n');
        foreach (var r in cells) sb.AppendJoin("  ", r.Select((v, i) => v.PadRight(widths[i]))).Append('\n');
        return sb.ToString().TrimEnd();
    }

    private static List<KeyValuePair<string, string>> Flatten(JsonObject o)
    {
        var list = new List<KeyValuePair<string, string>>();
        Walk(o, "", list);
        return list;
    }

    private static void Walk(JsonObject o, string prefix, List<KeyValuePair<string, string>> into)
    {
        foreach (var (k, v) in o)
        {
            var key = prefix.Length == 0 ? k : $"{prefix}.{k}";
            if (v is JsonObject child) Walk(child, key, into);
            else into.Add(new(key, Scalar(v)));
        }
    }

    private static string Scalar(JsonNode? v) => v switch
    {
        null => "-",
        JsonArray a => a.Count == 0 ? "-" : string.Join(",", a.Select(Scalar)),
        JsonValue s when s.TryGetValue(out string? str) => str,
        _ => v.ToJsonString(),
    };
}
