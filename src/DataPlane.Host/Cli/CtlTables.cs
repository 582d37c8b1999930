using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace DataPlane.Host.Cli;

/// <summary>
/// `dataplane ctl` answers as tables for people: chosen columns per command, durations and byte counts made
/// readable, counters grouped by section. `--json` prints the daemon's full answer instead (stable keys, for
/// scripts). Answers this does not know fall back to <see cref="TableWriter"/>.
/// </summary>
public static class CtlTables
{
    public static string Render(string command, JsonNode? node) => (command, node) switch
    {
        ("ports", JsonArray a) when a.Count > 0 => Ports(a),
        ("sessions", JsonArray a) when a.Count > 0 => Sessions(a),
        ("bindings", JsonArray a) when a.Count > 0 => a[0]?["state"] is not null ? LmaBindings(a) : MagBindings(a),
        ("tunnels", JsonArray a) when a.Count > 0 => Tunnels(a),
        ("vms", JsonArray a) when a.Count > 0 => Vms(a),
        ("sas", JsonArray a) when a.Count > 0 => Sas(a),
        ("routes", JsonArray a) when a.Count > 0 => a[0]?["leg"] is not null ? LmaRoutes(a) : MagRoutes(a),
        ("stats", JsonObject o) => Stats(o),
        _ => TableWriter.Render(node),
    };

    private static string Ports(JsonArray rows) => Table(
        ["NAME", "KIND", "LINK", "VM MAC", "MN-ID", "SESSION", "HNP", "IPV4", "RX", "TX", "DROPS", "AGE", "CAPTURES", "MIGRATION"],
        rows.OfType<JsonObject>().Select(p => new[]
        {
            S(p["name"]), S(p["kind"]), S(p["link"]), S(p["vmMac"]), S(p["nai"]), S(p["session"]), List(p["hnp"]), S(p["ipv4"]),
            N(p["rxPackets"]), N(p["txPackets"]), N(p["drops"]), Age(p["ageSeconds"]), Zero(p["captures"]), Handover(p["handover"]),
        }));

    /// <summary>A port's live-migration state: "buffering 12 (3 evicted)", "stopped", or "-".</summary>
    private static string Handover(JsonNode? h) => h is not JsonObject o ? "-" : S(o["mode"]) switch
    {
        "Buffering" or "Releasing" => $"buffering {N(o["bufferedPackets"])}{(o["evicted"]?.GetValue<long>() is > 0 ? $" ({N(o["evicted"])} evicted)" : "")}{(o["vmArrived"]?.GetValue<bool>() == true ? ", VM here" : "")}",
        var mode => mode.ToLowerInvariant(),
    };

    private static string Sessions(JsonArray rows) => Table(
        ["PORT", "MAC", "MN-ID", "STATE", "HNP", "IPV4", "LMA", "AGE", "LAST TRIGGER", "HANDOVERS", "HANDOVER ms", "FIRST DL ms"],
        rows.OfType<JsonObject>().Select(s => new[]
        {
            S(s["port"]), S(s["mac"]), S(s["nai"]), S(s["state"]) + (s["migration"] is { } m ? $" ({S(m)})" : ""), List(s["hnp"]), S(s["ipv4"]), S(s["lma"]), Age(s["ageSeconds"]),
            S(s["lastTrigger"] ?? s["trigger"]), N(s["handovers"]), Ms(s["lastHandover"]?["firstRaMs"]), Ms(s["lastHandover"]?["firstDownlinkMs"]),
        }));

    private static string MagBindings(JsonArray rows) => Table(
        ["MN-ID", "LMA", "HNP", "IPV4", "REGISTERED", "PENDING", "EXPIRES IN", "PORT"],
        rows.OfType<JsonObject>().Select(b => new[]
        {
            S(b["nai"]), S(b["lma"]), List(b["hnp"]), S(b["ipv4"]), YesNo(b["registered"]), S(b["pending"]), Age(b["expiresInSeconds"]), S(b["port"]),
        }));

    private static string LmaBindings(JsonArray rows) => Table(
        ["MN-ID", "HNP", "IPV4", "STATE", "MAG", "EXPIRES IN", "DELETED IN", "PRE-REGISTERED"],
        rows.OfType<JsonObject>().Select(b => new[]
        {
            S(b["nai"]), List(b["hnp"]), S(b["ipv4"]), S(b["state"]), S(b["mag"]), Age(b["expiresInSeconds"]), Age(b["deleteInSeconds"]),
            b["preRegistered"] is { } t ? $"{S(t)}{(b["servingVmStopped"]?.GetValue<bool>() == true ? " (source stopped)" : "")}"
                : b["awaitingActivation"]?.GetValue<bool>() == true ? "(MAG awaiting its VM)" : "-",
        }));

    private static string Tunnels(JsonArray rows)
    {
        bool lma = rows[0]?["mag"] is not null;
        return Table(
            lma ? ["MAG", "UP", "BINDINGS", "RX PKTS", "RX BYTES", "TX PKTS", "TX BYTES", "DROPS"] : ["LMA", "RX PKTS", "RX BYTES", "TX PKTS", "TX BYTES", "DROPS"],
            rows.OfType<JsonObject>().Select(t => lma
                ? new[] { S(t["mag"]), YesNo(t["up"]), N(t["references"]), N(t["inPackets"]), Bytes(t["inBytes"]), N(t["outPackets"]), Bytes(t["outBytes"]), N(t["drops"]) }
                : [S(t["lma"]), N(t["inPackets"]), Bytes(t["inBytes"]), N(t["outPackets"]), Bytes(t["outBytes"]), N(t["drops"])]));
    }

    private static string MagRoutes(JsonArray rows) => Table(
        ["PORT", "MN-ID", "TO MN-ID", "TO PREFIXES", "TO IPV4", "VIA MAG", "SENDING", "EXPIRES IN", "LAST USED"],
        rows.OfType<JsonObject>().Select(r => new[]
        {
            S(r["port"]), S(r["nai"]), S(r["remoteNai"]), List(r["remotePrefixes"]), r["remoteIpv4"] is null ? "-" : S(r["remoteIpv4"]), S(r["remoteMag"]), YesNo(r["egress"]),
            Age(r["expiresInSeconds"]), r["lastUsedSecondsAgo"] is null ? "never" : $"{S(r["lastUsedSecondsAgo"])}s ago",
        }));

    private static string LmaRoutes(JsonArray rows) => Table(
        ["MN-ID", "MAG", "LEG", "MN-ID", "MAG", "LEG", "ESTABLISHED", "EXPIRES IN"],
        rows.OfType<JsonObject>().Select(r => new[]
        {
            S(r["nai"]), S(r["mag"]), S(r["leg"]), S(r["remoteNai"]), S(r["remoteMag"]), S(r["remoteLeg"]), YesNo(r["established"]), Age(r["expiresInSeconds"]),
        }));

    private static string Sas(JsonArray rows) => Table(
        ["PEER", "NAME", "DIR", "SPI", "ALGORITHM", "STATE", "PACKETS", "SEQUENCE", "AUTH FAIL", "REPLAY", "LAST USED"],
        rows.OfType<JsonObject>().Select(a => new[]
        {
            S(a["peer"]), S(a["name"]), S(a["direction"]), S(a["spi"]), S(a["algorithm"]), S(a["state"]), S(a["packets"]), S(a["sequence"]),
            S(a["authenticationFailures"]), S(a["replayDrops"]), a["lastUsedSecondsAgo"] is null ? "never" : $"{S(a["lastUsedSecondsAgo"])}s ago",
        }));

    private static string Vms(JsonArray rows) => Table(
        ["MAC", "MN-ID", "PORT", "STATE", "HNP", "UP PKTS", "UP BYTES", "DOWN PKTS", "DOWN BYTES", "LOCAL UP/DOWN", "DIRECT UP/DOWN", "DROPS", "HANDOVERS", "LAST TRIGGER", "HANDOVER ms"],
        rows.OfType<JsonObject>().Select(v => new[]
        {
            S(v["mac"]), S(v["nai"]), S(v["port"]), S(v["state"]) + (v["goneSeconds"] is { } g ? $" ({Age(g)})" : ""), S(v["hnp"]),
            N(v["uplinkPackets"]), Bytes(v["uplinkBytes"]), N(v["downlinkPackets"]), Bytes(v["downlinkBytes"]),
            $"{N(v["localUplinkPackets"])}/{N(v["localDownlinkPackets"])}", $"{N(v["directUplinkPackets"])}/{N(v["directDownlinkPackets"])}", N(v["drops"]),
            N(v["handovers"]), S(v["lastTrigger"]), Ms(v["lastHandover"]?["firstRaMs"]),
        }));

    /// <summary>
    /// `ctl stats`: one block per section (protocol, datapath, policy, sockets…), a row per non-zero counter, a
    /// labelled counter as one row per label (<c>pbasByStatus  accepted  12</c>); plain numbers first.
    /// </summary>
    public static string Stats(JsonObject stats)
    {
        var sb = new StringBuilder();
        var top = new List<string[]>();
        foreach (var (key, value) in stats)
            if (value is JsonValue) top.Add([key, "", S(value)]);
        if (top.Count > 0) sb.Append(Table(["COUNTER", "", "VALUE"], top)).Append("\n\n");
        int hidden = 0;
        foreach (var (key, value) in stats)
        {
            if (value is not JsonObject section) continue;
            var rows = new List<string[]>();
            Walk(section, "", rows, ref hidden);
            if (rows.Count == 0) continue;
            sb.Append(Words(key).ToUpperInvariant()).Append('\n');
            sb.Append(Indent(Table(["COUNTER", "LABEL", "VALUE"], rows))).Append("\n\n");
        }
        if (hidden > 0) sb.Append(CultureInfo.InvariantCulture, $"({hidden} counters at zero not shown; --json has every value)");
        return sb.ToString().TrimEnd();
    }

    private static void Walk(JsonObject o, string prefix, List<string[]> rows, ref int hidden)
    {
        foreach (var (key, value) in o)
        {
            var name = prefix.Length == 0 ? key : $"{prefix}.{key}";
            switch (value)
            {
                case JsonValue v:
                    if (v.TryGetValue(out long n) && n == 0) { hidden++; break; }
                    rows.Add([name, "", S(v)]);
                    break;
                case JsonObject child when child.Count > 0 && child.All(kv => kv.Value is JsonValue && kv.Key.Length > 0 && char.IsUpper(kv.Key[0])):
                    // A labelled counter (its labels are enum names): its non-zero entries.
                    foreach (var (label, count) in child) rows.Add([name, label, S(count)]);
                    break;
                case JsonObject child:
                    Walk(child, name, rows, ref hidden);
                    break;
            }
        }
    }

    /// <summary>"tunnelSocket" → "tunnel socket".</summary>
    private static string Words(string camel) => string.Concat(camel.Select((c, i) => i > 0 && char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : c.ToString()));

    private static string Indent(string table) => string.Join('\n', table.Split('\n').Select(l => "  " + l));

    /// <summary>Columns padded to their widest cell; right-aligned when every cell of the column is a number.</summary>
    public static string Table(string[] columns, IEnumerable<string[]> rows)
    {
        var cells = rows.ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        var numeric = columns.Select((_, i) => cells.Count > 0 && cells.All(r => r[i] == "-" || IsNumber(r[i]))).ToArray();
        var sb = new StringBuilder();
        sb.AppendJoin("  ", columns.Select((c, i) => numeric[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).Append('\n');
        foreach (var r in cells) sb.AppendJoin("  ", r.Select((v, i) => numeric[i] ? v.PadLeft(widths[i]) : v.PadRight(widths[i]))).Append('\n');
        return string.Join('\n', sb.ToString().TrimEnd('\n').Split('\n').Select(l => l.TrimEnd()));
    }

    private static bool IsNumber(string s) => s.Length > 0 && (char.IsDigit(s[0]) || s[0] == '-') && s.All(c => char.IsDigit(c) || c is '.' or ',' or '-' or ' ' or 'K' or 'M' or 'G' or 'T' or 'B' or 'i');

    private static string S(JsonNode? v) => v switch
    {
        null => "-",
        JsonValue s when s.TryGetValue(out string? str) => str.Length == 0 ? "-" : str,
        JsonValue b when b.TryGetValue(out bool flag) => flag ? "yes" : "no",
        JsonArray a => List(a),
        _ => v.ToJsonString(),
    };

    private static string List(JsonNode? v) => v is JsonArray a ? (a.Count == 0 ? "-" : string.Join(",", a.Select(S))) : S(v);

    private static string N(JsonNode? v) => v is JsonValue j && j.TryGetValue(out long n) ? n.ToString(CultureInfo.InvariantCulture) : S(v);

    private static string Zero(JsonNode? v) => v is JsonValue j && j.TryGetValue(out long n) && n == 0 ? "-" : N(v);

    private static string YesNo(JsonNode? v) => v is JsonValue j && j.TryGetValue(out bool b) ? (b ? "yes" : "no") : "-";

    private static string Ms(JsonNode? v) => v is JsonValue j && j.TryGetValue(out double d) ? d.ToString("0.0", CultureInfo.InvariantCulture) : "-";

    /// <summary>Seconds as 45s, 3m12s, 2h05m, 3d04h.</summary>
    public static string Age(JsonNode? v)
    {
        if (v is not JsonValue j || !j.TryGetValue(out long s)) return "-";
        if (s < 0) return "-";
        if (s < 60) return $"{s}s";
        if (s < 3600) return $"{s / 60}m{s % 60:00}s";
        if (s < 86400) return $"{s / 3600}h{s % 3600 / 60:00}m";
        return $"{s / 86400}d{s % 86400 / 3600:00}h";
    }

    /// <summary>Bytes as 512 B, 1.5 KiB, 12.0 MiB, 3.2 GiB.</summary>
    public static string Bytes(JsonNode? v)
    {
        if (v is not JsonValue j || !j.TryGetValue(out long b)) return "-";
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double x = b;
        int u = 0;
        while (x >= 1024 && u < units.Length - 1)
        {
            x /= 1024;
            u++;
        }
        return u == 0 ? $"{b} B" : string.Create(CultureInfo.InvariantCulture, $"{x:0.0} {units[u]}");
    }
}
