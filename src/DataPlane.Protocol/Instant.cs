using System.Globalization;
using DataPlane.Wire;

namespace DataPlane.Protocol;

/// <summary>
/// A point in time: 100-ns ticks since 1970-01-01T00:00Z. The machines never read a clock; every call
/// is given the host's <c>now</c> as an <see cref="Instant"/>, which is what lets a simulation run them
/// on a virtual clock. Unix-epoch based so it converts directly to the PMIPv6 Timestamp option.
/// </summary>
public readonly record struct Instant(long Ticks) : IComparable<Instant>
{
    public static Instant UnixEpoch => default;

    public static Instant MaxValue => new(long.MaxValue);

    public static Instant FromUnixTime(TimeSpan sinceEpoch) => new(sinceEpoch.Ticks);

    /// <summary>For hosts converting their clock reading; the machines never call this themselves.</summary>
    public static Instant FromDateTime(DateTime utc) =>
        new(utc.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks);

    public static Instant FromPmipTimestamp(PmipTimestamp timestamp) => new(timestamp.ToUnixTime().Ticks);

    public TimeSpan SinceUnixEpoch => TimeSpan.FromTicks(Ticks);

    /// <summary>The value for a Timestamp option (RFC 5213 §8.8; 1/65536 s resolution, rounded down).</summary>
    public PmipTimestamp ToPmipTimestamp() => PmipTimestamp.FromUnixTime(SinceUnixEpoch);

    public DateTime ToDateTime() => new(DateTime.UnixEpoch.Ticks + Ticks, DateTimeKind.Utc);

    public static Instant operator +(Instant a, TimeSpan b) => new(a.Ticks + b.Ticks);
    public static Instant operator -(Instant a, TimeSpan b) => new(a.Ticks - b.Ticks);
    public static TimeSpan operator -(Instant a, Instant b) => TimeSpan.FromTicks(a.Ticks - b.Ticks);
    public static bool operator <(Instant a, Instant b) => a.Ticks < b.Ticks;
    public static bool operator >(Instant a, Instant b) => a.Ticks > b.Ticks;
    public static bool operator <=(Instant a, Instant b) => a.Ticks <= b.Ticks;
    public static bool operator >=(Instant a, Instant b) => a.Ticks >= b.Ticks;

    public static Instant Min(Instant a, Instant b) => a <= b ? a : b;
    public static Instant Max(Instant a, Instant b) => a >= b ? a : b;

    /// <summary>The earlier of two optional instants (null means "never").</summary>
    public static Instant? Earliest(Instant? a, Instant? b) =>
        a is null ? b : b is null ? a : Min(a.Value, b.Value);

    public int CompareTo(Instant other) => Ticks.CompareTo(other.Ticks);

    public override string ToString() => ToDateTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
}
