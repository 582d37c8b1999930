using System.Buffers;
using System.Globalization;
using System.Text.Json;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma.Replication;

/// <summary>
/// <see cref="BindingRecord"/> as compact JSON (readable with `etcdctl get`), written and read by hand
/// with <see cref="Utf8JsonWriter"/>/<see cref="Utf8JsonReader"/>: no reflection, so it is the same
/// under NativeAOT. Absent optional fields are omitted; unknown names are skipped (forward compatible).
/// A record that does not decode is a clear <see cref="FormatException"/>, never a half-built entry.
/// </summary>
public static class BindingRecordCodec
{
    public static byte[] Encode(BindingRecord r)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", BindingRecord.Version);
            w.WriteString("mn", r.MobileNodeIdentifier);
            if (r.LinkLayerIdentifier is { } ll) w.WriteString("ll", ll.ToString());
            w.WriteNumber("att", (int)r.AccessTechnologyType);
            w.WriteStartArray("hnp");
            foreach (var p in r.HomeNetworkPrefixes) w.WriteStringValue(p.ToString());
            w.WriteEndArray();
            if (r.PrefixesFromPool) w.WriteBoolean("pool", true);
            if (r.Ipv4HomeAddress is { } v4) w.WriteString("v4", v4.ToString());
            w.WriteString("state", r.State == BindingCacheState.Active ? "active" : "awaiting-deletion");
            if (r.ProxyCareOfAddress is { } mag) w.WriteString("mag", mag.ToString());
            if (r.DeregisteredBy is { } by) w.WriteString("deregBy", by.ToString());
            if (r.MagLinkLocalAddress is { } lla) w.WriteString("magLl", lla.ToString());
            w.WriteNumber("lifetime", r.LifetimeSeconds);
            if (r.DeleteAt is { } d) w.WriteNumber("deleteAtMs", d.Ticks / TimeSpan.TicksPerMillisecond);
            if (r.LastAcceptedFrom is { } from)
            {
                w.WriteString("lastFrom", from.ToString());
                w.WriteNumber("lastSeq", r.LastAcceptedSequence);
                if (r.LastAcceptedTimestamp is { } ts) w.WriteString("lastTs", ts.Raw.ToString("x", CultureInfo.InvariantCulture));
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static BindingRecord Decode(ReadOnlySpan<byte> json)
    {
        try
        {
            return DecodeCore(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"binding record is not valid JSON: {e.Message}", e);
        }
    }

    private static BindingRecord DecodeCore(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new FormatException("binding record is not a JSON object");
        int version = 0;
        string? mn = null;
        OctetString? ll = null;
        int att = 0;
        List<Ipv6Prefix>? hnps = null;
        bool pool = false;
        BindingCacheState? state = null;
        Ipv6Address? mag = null, deregBy = null, magLl = null, lastFrom = null;
        int lifetime = 0;
        Instant? deleteAt = null;
        ushort lastSeq = 0;
        PmipTimestamp? lastTs = null;
        Ipv4Address? v4 = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName) throw new FormatException("binding record: expected a property name");
            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "v": version = reader.GetInt32(); break;
                case "mn": mn = reader.GetString(); break;
                case "ll": ll = new OctetString(Convert.FromHexString(reader.GetString() ?? "")); break;
                case "att": att = reader.GetInt32(); break;
                case "hnp":
                    if (reader.TokenType != JsonTokenType.StartArray) throw new FormatException("binding record: \"hnp\" must be an array");
                    hnps = [];
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        hnps.Add(Ipv6Prefix.TryParse(reader.GetString(), out var p) ? p : throw new FormatException($"binding record: bad prefix {reader.GetString()}"));
                    break;
                case "pool": pool = reader.GetBoolean(); break;
                case "v4":
                    v4 = Ipv4Address.TryParse(reader.GetString(), out var a4) ? a4 : throw new FormatException("binding record: \"v4\" is not an IPv4 address");
                    break;
                case "state":
                    state = reader.GetString() switch
                    {
                        "active" => BindingCacheState.Active,
                        "awaiting-deletion" => BindingCacheState.AwaitingDeletion,
                        var s => throw new FormatException($"binding record: unknown state \"{s}\""),
                    };
                    break;
                case "mag": mag = Address(ref reader, name); break;
                case "deregBy": deregBy = Address(ref reader, name); break;
                case "magLl": magLl = Address(ref reader, name); break;
                case "lifetime": lifetime = reader.GetInt32(); break;
                case "deleteAtMs": deleteAt = new Instant(reader.GetInt64() * TimeSpan.TicksPerMillisecond); break;
                case "lastFrom": lastFrom = Address(ref reader, name); break;
                case "lastSeq": lastSeq = reader.GetUInt16(); break;
                case "lastTs":
                    lastTs = ulong.TryParse(reader.GetString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong raw)
                        ? new PmipTimestamp(raw) : throw new FormatException("binding record: bad \"lastTs\"");
                    break;
                default: reader.Skip(); break;
            }
        }
        if (version < 1 || version > BindingRecord.Version) throw new FormatException($"binding record version {version} is not one this LMA reads (1..{BindingRecord.Version})");
        if (string.IsNullOrEmpty(mn)) throw new FormatException("binding record has no \"mn\"");
        if (hnps is null) throw new FormatException("binding record has no \"hnp\"");
        if (hnps.Count == 0 && v4 is null) throw new FormatException("binding record has neither a home network prefix nor an IPv4 home address");
        if (state is not { } st) throw new FormatException("binding record has no \"state\"");
        if (st == BindingCacheState.Active && mag is null) throw new FormatException("active binding record has no \"mag\"");
        if (att is < 0 or > 255) throw new FormatException($"binding record: access technology type {att} out of range");
        if (lifetime < 0) throw new FormatException("binding record: negative lifetime");
        return new BindingRecord
        {
            MobileNodeIdentifier = mn,
            LinkLayerIdentifier = ll,
            AccessTechnologyType = (AccessTechnologyType)att,
            HomeNetworkPrefixes = hnps,
            PrefixesFromPool = pool,
            State = st,
            ProxyCareOfAddress = mag,
            DeregisteredBy = deregBy,
            MagLinkLocalAddress = magLl,
            LifetimeSeconds = lifetime,
            DeleteAt = deleteAt,
            LastAcceptedFrom = lastFrom,
            LastAcceptedSequence = lastSeq,
            LastAcceptedTimestamp = lastTs,
            Ipv4HomeAddress = v4,
        };
    }

    private static Ipv6Address Address(ref Utf8JsonReader reader, string name) =>
        Ipv6Address.TryParse(reader.GetString(), out var a) ? a : throw new FormatException($"binding record: \"{name}\" is not an IPv6 address");
}
