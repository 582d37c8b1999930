using DataPlane.Host.Policy.Radius;

namespace DataPlane.Host.Policy;

/// <summary>
/// Accepted RADIUS profiles by NAI, each fresh for the TTL after the server's Access-Accept (never extended
/// by use, so a change on the server reaches every VM's next attachment within the TTL). Entries are kept
/// past the TTL, up to a "max stale" age, only for the "cached" failure policy. Thread-safe; bounded.
/// </summary>
public sealed class ProfileCache(TimeSpan ttl, TimeSpan maxStale, TimeProvider time, int capacity = 65_536)
{
    private readonly Dictionary<string, (RadiusProfile Profile, long StoredAt)> _entries = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    public TimeSpan Ttl => ttl;

    /// <summary>A profile stored less than the TTL ago.</summary>
    public bool TryGetFresh(string nai, out RadiusProfile profile) => TryGet(nai, ttl, out profile, out _);

    /// <summary>A profile stored at most <c>maxStale</c> ago (for the "cached" failure policy), with its age.</summary>
    public bool TryGetStale(string nai, out RadiusProfile profile, out TimeSpan age) => TryGet(nai, maxStale, out profile, out age);

    private bool TryGet(string nai, TimeSpan maxAge, out RadiusProfile profile, out TimeSpan age)
    {
        profile = null!;
        age = default;
        if (ttl <= TimeSpan.Zero) return false;
        lock (_lock)
        {
            if (!_entries.TryGetValue(nai, out var e)) return false;
            age = time.GetElapsedTime(e.StoredAt);
            if (age >= maxAge) return false;
            profile = e.Profile;
            return true;
        }
    }

    public void Store(string nai, RadiusProfile profile)
    {
        if (ttl <= TimeSpan.Zero) return;
        long now = time.GetTimestamp();
        lock (_lock)
        {
            if (_entries.Count >= capacity && !_entries.ContainsKey(nai))
            {
                // Full: drop what is past any use, then the oldest.
                foreach (var (k, v) in _entries.ToList())
                    if (time.GetElapsedTime(v.StoredAt) >= maxStale) _entries.Remove(k);
                if (_entries.Count >= capacity) _entries.Remove(_entries.MinBy(kv => kv.Value.StoredAt).Key);
            }
            _entries[nai] = (profile, now);
        }
    }

    /// <summary>The server said no: forget what it said before.</summary>
    public void Remove(string nai)
    {
        lock (_lock) _entries.Remove(nai);
    }

    public void Clear()
    {
        lock (_lock) _entries.Clear();
    }
}
