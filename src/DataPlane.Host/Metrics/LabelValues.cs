using System.Collections.Concurrent;
using System.Text;

namespace DataPlane.Host.Metrics;

/// <summary>
/// Enum members as Prometheus label values: <c>SpoofedSource</c> → <c>spoofed_source</c>. Cached per value, so
/// building a snapshot on the packet loop does not allocate a string per counter once every value has been
/// seen.
/// </summary>
public static class LabelValues
{
    private static class PerEnum<TEnum> where TEnum : struct, Enum
    {
        public static readonly ConcurrentDictionary<TEnum, string> Names = new();
    }

    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum =>
        PerEnum<TEnum>.Names.GetOrAdd(value, static v => SnakeCase(v.ToString()));

    /// <summary>"SpoofedSource" → "spoofed_source", "PBUs" → "pbus", "Ipv4NotServed" → "ipv4_not_served"; a number stays a number.</summary>
    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                bool prevLower = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                bool nextLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                bool prevUpper = i > 0 && char.IsUpper(name[i - 1]);
                if (i > 0 && (prevLower || (prevUpper && nextLower))) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
