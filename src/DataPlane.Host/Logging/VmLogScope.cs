using System.Collections;

namespace DataPlane.Host.Logging;

/// <summary>
/// A log scope naming a VM: every line written inside it ends with <c>mn_id=… mac=… port=…</c> (the line
/// logger appends scopes as key=value pairs; a structured logger sees the fields), so `grep mac=52:54:00:00:00:01`
/// finds every line about that VM. Missing parts are left out.
/// </summary>
public sealed class VmLogScope(string? mobileNodeIdentifier, string? mac, string? port) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _fields = Build(mobileNodeIdentifier, mac, port);

    private static KeyValuePair<string, object?>[] Build(string? mnId, string? mac, string? port)
    {
        var list = new List<KeyValuePair<string, object?>>(3);
        if (!string.IsNullOrEmpty(mnId)) list.Add(new("mn_id", mnId));
        if (!string.IsNullOrEmpty(mac)) list.Add(new("mac", mac));
        if (!string.IsNullOrEmpty(port)) list.Add(new("port", port));
        return [.. list];
    }

    public KeyValuePair<string, object?> this[int index] => _fields[index];

    public int Count => _fields.Length;

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(' ', _fields.Select(f => $"{f.Key}={f.Value}"));
}

/// <summary>A log scope naming an LMA binding: <c>mn_id=… hnp=… mag=…</c>.</summary>
public sealed class BindingLogScope(string mobileNodeIdentifier, string? hnp, string? mag) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _fields =
    [
        new("mn_id", mobileNodeIdentifier),
        .. string.IsNullOrEmpty(hnp) ? Array.Empty<KeyValuePair<string, object?>>() : [new("hnp", hnp)],
        .. string.IsNullOrEmpty(mag) ? Array.Empty<KeyValuePair<string, object?>>() : [new("mag", mag)],
    ];

    public KeyValuePair<string, object?> this[int index] => _fields[index];

    public int Count => _fields.Length;

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(' ', _fields.Select(f => $"{f.Key}={f.Value}"));
}
