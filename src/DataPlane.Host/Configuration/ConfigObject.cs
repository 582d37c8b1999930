using System.Text.Json;
using DataPlane.Wire;

namespace DataPlane.Host.Configuration;

/// <summary>
/// A JSON object from a configuration file, read key by key. Every read records the key; <see cref="Done"/>
/// rejects any key that was not read, so a misspelt key is an error naming it rather than a silently
/// ignored setting. Errors carry the file and the full key path.
/// </summary>
public sealed class ConfigObject
{
    private readonly JsonElement _element;
    private readonly string _file;
    private readonly string _path;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private ConfigObject(JsonElement element, string file, string path)
    {
        _element = element;
        _file = file;
        _path = path;
    }

    /// <summary>Parse a file (comments and trailing commas allowed) whose root must be an object.</summary>
    public static ConfigObject Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read: {e.Message}");
        }
        return Parse(text, path);
    }

    public static ConfigObject Parse(string json, string file)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{file}: not valid JSON: {e.Message}");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new ConfigException($"{file}: the top level must be a JSON object");
        return new ConfigObject(doc.RootElement.Clone(), file, "");
    }

    /// <summary>The file this object came from, for messages.</summary>
    public string FileName => _file;

    private string Key(string name) => _path.Length == 0 ? name : $"{_path}.{name}";

    public ConfigException Error(string key, string reason) => new($"{_file}: {Key(key)}: {reason}");

    public ConfigException Error(string reason) => new($"{_file}: {(_path.Length == 0 ? "" : _path + ": ")}{reason}");

    private bool TryGet(string name, out JsonElement value)
    {
        _read.Add(name);
        return _element.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
    }

    public bool Has(string name) => _element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public string? OptionalString(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw Error(name, $"expected a string, got {Describe(v)}");
        return v.GetString()!;
    }

    public string RequiredString(string name) => OptionalString(name) ?? throw Error(name, "is required");

    public bool OptionalBool(string name, bool fallback)
    {
        if (!TryGet(name, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"expected true or false, got {Describe(v)}"),
        };
    }

    public long OptionalInteger(string name, long fallback, long min, long max)
    {
        if (!TryGet(name, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n)) throw Error(name, $"expected an integer, got {Describe(v)}");
        if (n < min || n > max) throw Error(name, $"{n} is out of range ({min}..{max})");
        return n;
    }

    public double OptionalNumber(string name, double fallback, double min, double max)
    {
        if (!TryGet(name, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number) throw Error(name, $"expected a number, got {Describe(v)}");
        double n = v.GetDouble();
        if (n < min || n > max) throw Error(name, $"{n} is out of range ({min}..{max})");
        return n;
    }

    public TimeSpan OptionalDuration(string name, TimeSpan fallback)
    {
        var s = OptionalString(name);
        if (s is null) return fallback;
        return Durations.TryParse(s, out var t) ? t : throw Error(name, $"\"{s}\" is not a duration (use 250ms, 1.5s, 2m, 1h, 7d)");
    }

    public Ipv6Address RequiredIpv6(string name) => OptionalIpv6(name) ?? throw Error(name, "is required");

    public Ipv6Address? OptionalIpv6(string name)
    {
        var s = OptionalString(name);
        if (s is null) return null;
        return Ipv6Address.TryParse(s, out var a) ? a : throw Error(name, $"\"{s}\" is not an IPv6 address");
    }

    public Ipv4Address? OptionalIpv4(string name)
    {
        var s = OptionalString(name);
        if (s is null) return null;
        return Ipv4Address.TryParse(s, out var a) ? a : throw Error(name, $"\"{s}\" is not an IPv4 address");
    }

    /// <summary>"10.200.0.0/24"; host bits past the length are an error naming the intended network.</summary>
    public Ipv4Prefix? OptionalIpv4Prefix(string name)
    {
        var s = OptionalString(name);
        if (s is null) return null;
        int slash = s.IndexOf('/');
        if (slash < 0 || !Ipv4Address.TryParse(s[..slash], out var address) || !int.TryParse(s[(slash + 1)..], out int length) || length is < 0 or > 32)
            throw Error(name, $"\"{s}\" is not an IPv4 prefix (address/length)");
        var p = new Ipv4Prefix(address, length);
        if (p.Address != address) throw Error(name, $"\"{s}\" has bits set past its length (did you mean {p}?)");
        return p;
    }

    /// <summary>"10.200.0.5" or "10.200.0.5/24": an IPv4 address with the prefix length of its network (0 when not given).</summary>
    public (Ipv4Address Address, byte PrefixLength)? OptionalIpv4WithLength(string name)
    {
        var s = OptionalString(name);
        if (s is null) return null;
        int slash = s.IndexOf('/');
        string text = slash < 0 ? s : s[..slash];
        int length = 0;
        if (!Ipv4Address.TryParse(text, out var address) || (slash >= 0 && (!int.TryParse(s[(slash + 1)..], out length) || length is < 1 or > 32)))
            throw Error(name, $"\"{s}\" is not an IPv4 address (a.b.c.d, or a.b.c.d/length)");
        if (!address.IsUnicast) throw Error(name, $"{address} is not a unicast IPv4 address");
        return (address, (byte)length);
    }

    public Ipv6Prefix? OptionalPrefix(string name)
    {
        var s = OptionalString(name);
        if (s is null) return null;
        if (!Ipv6Prefix.TryParse(s, out var p)) throw Error(name, $"\"{s}\" is not an IPv6 prefix (address/length)");
        if (p.Address != Ipv6Address.Parse(s[..s.IndexOf('/')])) throw Error(name, $"\"{s}\" has bits set past its length (did you mean {p}?)");
        return p;
    }

    public MacAddress? OptionalMac(string name)
    {
        var s = OptionalString(name);
        if (s is null) return null;
        return MacAddress.TryParse(s, out var m) ? m : throw Error(name, $"\"{s}\" is not a MAC address (aa:bb:cc:dd:ee:ff)");
    }

    public ConfigObject? OptionalObject(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Error(name, $"expected an object, got {Describe(v)}");
        return new ConfigObject(v, _file, Key(name));
    }

    /// <summary>An array of objects; each element's path is name[i].</summary>
    public IReadOnlyList<ConfigObject> OptionalObjectArray(string name)
    {
        if (!TryGet(name, out var v)) return [];
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"expected an array, got {Describe(v)}");
        var list = new List<ConfigObject>();
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) throw Error($"{name}[{i}]", $"expected an object, got {Describe(item)}");
            list.Add(new ConfigObject(item, _file, $"{Key(name)}[{i}]"));
            i++;
        }
        return list;
    }

    /// <summary>An array of strings, each converted by <paramref name="convert"/> (which returns null to reject).</summary>
    public IReadOnlyList<T> OptionalArray<T>(string name, Func<string, T?> convert, string what) where T : struct
    {
        if (!TryGet(name, out var v)) return [];
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"expected an array of {what}, got {Describe(v)}");
        var list = new List<T>();
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Error($"{name}[{i}]", $"expected {what}, got {Describe(item)}");
            var s = item.GetString()!;
            list.Add(convert(s) ?? throw Error($"{name}[{i}]", $"\"{s}\" is not {what}"));
            i++;
        }
        return list;
    }

    /// <summary>An array of non-empty strings.</summary>
    public IReadOnlyList<string> OptionalStringArray(string name)
    {
        if (!TryGet(name, out var v)) return [];
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"expected an array of strings, got {Describe(v)}");
        var list = new List<string>();
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(item.GetString())) throw Error($"{name}[{i}]", $"expected a non-empty string, got {Describe(item)}");
            list.Add(item.GetString()!);
            i++;
        }
        return list;
    }

    /// <summary>An array of integers, each within <paramref name="min"/>..<paramref name="max"/>.</summary>
    public IReadOnlyList<int> OptionalIntegerArray(string name, int min, int max)
    {
        if (!TryGet(name, out var v)) return [];
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"expected an array of integers, got {Describe(v)}");
        var list = new List<int>();
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int n)) throw Error($"{name}[{i}]", $"expected an integer, got {Describe(item)}");
            if (n < min || n > max) throw Error($"{name}[{i}]", $"{n} is out of range ({min}..{max})");
            list.Add(n);
            i++;
        }
        return list;
    }

    /// <summary>Reject keys nobody read (typos, settings from another version).</summary>
    public void Done()
    {
        foreach (var p in _element.EnumerateObject())
            if (!_read.Contains(p.Name))
                throw Error(p.Name, $"unknown key (known here: {string.Join(", ", _read.Order(StringComparer.Ordinal))})");
    }

    private static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"\"{v.GetString()}\"",
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => v.ValueKind.ToString().ToLowerInvariant(),
    };
}
