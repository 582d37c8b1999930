namespace DataPlane.Protocol.Security;

/// <summary>
/// Refuses key material that is plainly not random: what an operator types instead of generating (a repeated
/// byte, a short pattern, a counting sequence, a passphrase's ASCII). A manual key protects every binding of the
/// domain for as long as it is configured, and nothing in ESP would notice a guessable one. Each test is one a
/// uniformly random key fails with negligible probability (for 20 octets, the least we take, below 10⁻⁸).
/// </summary>
public static class KeyQuality
{
    /// <summary>Null when the key looks random; otherwise why not, worded to follow the key's name.</summary>
    public static string? Weakness(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty) return "is empty";
        Span<bool> seen = stackalloc bool[256];
        int distinct = 0;
        foreach (byte b in key)
        {
            if (!seen[b]) distinct++;
            seen[b] = true;
        }
        if (distinct == 1) return $"is one octet (0x{key[0]:x2}) repeated";
        for (int period = 1; period <= key.Length / 2; period++)
        {
            bool repeats = true;
            for (int i = period; i < key.Length && repeats; i++) repeats = key[i] == key[i - period];
            if (repeats) return $"repeats itself every {period} octets";
        }
        bool counting = true;
        int step = (byte)(key[1] - key[0]);
        for (int i = 2; i < key.Length && counting; i++) counting = (byte)(key[i] - key[i - 1]) == step;
        if (counting) return "is a counting sequence";
        bool text = true;
        foreach (byte b in key) text &= b is >= 0x20 and <= 0x7e;
        if (text) return "is printable ASCII: a passphrase, not random key material";
        if (distinct * 2 < key.Length) return $"has only {distinct} distinct octets in {key.Length}";
        return null;
    }
}
