namespace DataPlane.Protocol;

/// <summary>An options object failed <c>Validate()</c>; <see cref="Key"/> names the offending setting.</summary>
public sealed class ProtocolOptionsException(string key, string message) : Exception($"{key}: {message}")
{
    public string Key { get; } = key;
}

internal static class Check
{
    public static void Positive(TimeSpan value, string key)
    {
        if (value <= TimeSpan.Zero) throw new ProtocolOptionsException(key, $"must be positive (was {value})");
    }

    public static void NotNegative(TimeSpan value, string key)
    {
        if (value < TimeSpan.Zero) throw new ProtocolOptionsException(key, $"must not be negative (was {value})");
    }

    public static void AtLeast(int value, int min, string key)
    {
        if (value < min) throw new ProtocolOptionsException(key, $"must be at least {min} (was {value})");
    }

    public static void That(bool condition, string key, string message)
    {
        if (!condition) throw new ProtocolOptionsException(key, message);
    }
}
