namespace DataPlane.Protocol;

/// <summary>16-bit Binding Update sequence numbers compared modulo 2^16 (RFC 6275 §9.5.1).</summary>
public static class SequenceNumber
{
    /// <summary>Is <paramref name="candidate"/> newer than <paramref name="reference"/> (ahead by 1..32767)?</summary>
    public static bool IsNewer(ushort candidate, ushort reference) => (ushort)(candidate - reference) is > 0 and < 32768;

    /// <summary>Is <paramref name="value"/> within the inclusive window first..last (which may wrap)?</summary>
    public static bool InWindow(ushort value, ushort first, ushort last) =>
        (ushort)(value - first) <= (ushort)(last - first);
}
