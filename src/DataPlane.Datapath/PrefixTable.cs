using System.Diagnostics.CodeAnalysis;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// Longest-prefix match from IPv6 prefixes to values, optimised for home network prefixes, which are
/// /64 in practice: those live in a dictionary keyed by the upper 64 bits (one hash look-up per
/// packet). Prefixes of any other length are kept in a short list scanned longest first, so they are
/// still matched correctly (a /72 inside a /64 wins, a /56 only catches what no /64 does).
/// Look-ups allocate nothing. Not thread-safe: owned by one packet loop.
/// </summary>
public sealed class PrefixTable<TValue> where TValue : class
{
    private const int FastLength = 64;

    private readonly Dictionary<ulong, TValue> _slash64 = [];
    // Everything not /64, longest first; rare, so a scan is fine.
    private readonly List<KeyValuePair<Ipv6Prefix, TValue>> _other = [];
    // How many entries of _other are longer than /64 (they come first and are checked before the dictionary).
    private int _longer;

    public int Count => _slash64.Count + _other.Count;

    /// <summary>Map <paramref name="prefix"/> to <paramref name="value"/>, replacing what it had.</summary>
    public void Set(Ipv6Prefix prefix, TValue value)
    {
        if (prefix.Length == FastLength)
        {
            _slash64[prefix.Address.High] = value;
            return;
        }
        int i = IndexOf(prefix);
        if (i >= 0)
        {
            _other[i] = new(prefix, value);
            return;
        }
        int at = 0;
        while (at < _other.Count && _other[at].Key.Length >= prefix.Length) at++;
        _other.Insert(at, new(prefix, value));
        if (prefix.Length > FastLength) _longer++;
    }

    /// <summary>Remove the prefix; with <paramref name="onlyIf"/>, only while it still maps to that value (a newer owner keeps it).</summary>
    public bool Remove(Ipv6Prefix prefix, TValue? onlyIf = null)
    {
        if (prefix.Length == FastLength)
        {
            if (!_slash64.TryGetValue(prefix.Address.High, out var current) || (onlyIf is not null && !ReferenceEquals(current, onlyIf))) return false;
            return _slash64.Remove(prefix.Address.High);
        }
        int i = IndexOf(prefix);
        if (i < 0 || (onlyIf is not null && !ReferenceEquals(_other[i].Value, onlyIf))) return false;
        _other.RemoveAt(i);
        if (prefix.Length > FastLength) _longer--;
        return true;
    }

    public bool TryGetExact(Ipv6Prefix prefix, [MaybeNullWhen(false)] out TValue value)
    {
        if (prefix.Length == FastLength) return _slash64.TryGetValue(prefix.Address.High, out value);
        int i = IndexOf(prefix);
        value = i >= 0 ? _other[i].Value : null;
        return i >= 0;
    }

    /// <summary>The value of the longest prefix containing <paramref name="address"/>.</summary>
    public bool TryLookup(Ipv6Address address, [MaybeNullWhen(false)] out TValue value)
    {
        for (int i = 0; i < _longer; i++)
        {
            if (_other[i].Key.Contains(address))
            {
                value = _other[i].Value;
                return true;
            }
        }
        if (_slash64.TryGetValue(address.High, out value)) return true;
        for (int i = _longer; i < _other.Count; i++)
        {
            if (_other[i].Key.Contains(address))
            {
                value = _other[i].Value;
                return true;
            }
        }
        value = null;
        return false;
    }

    /// <summary>Every entry (for the control channel and metrics; allocates).</summary>
    public IEnumerable<KeyValuePair<Ipv6Prefix, TValue>> Entries =>
        _slash64.Select(kv => new KeyValuePair<Ipv6Prefix, TValue>(new Ipv6Prefix(new Ipv6Address(kv.Key, 0), FastLength), kv.Value))
            .Concat(_other);

    private int IndexOf(Ipv6Prefix prefix)
    {
        for (int i = 0; i < _other.Count; i++)
            if (_other[i].Key == prefix) return i;
        return -1;
    }
}
