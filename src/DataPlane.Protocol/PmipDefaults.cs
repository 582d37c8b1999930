using DataPlane.Wire;

namespace DataPlane.Protocol;

/// <summary>Domain-wide constants shared by the MAG and LMA.</summary>
public static class PmipDefaults
{
    /// <summary>00-00-5E-00-52-13: the IANA MAC reserved for PMIPv6 (RFC 6543), used by every MAG on every access link.</summary>
    public static MacAddress SharedMagMacAddress { get; } = MacAddress.Parse("00:00:5e:00:52:13");

    /// <summary>fe80::200:5eff:fe00:5213, the link-local address derived from <see cref="SharedMagMacAddress"/>.</summary>
    public static Ipv6Address SharedMagLinkLocalAddress { get; } = Ipv6Address.LinkLocalFromMac(SharedMagMacAddress);

    /// <summary>The Binding Update lifetime field counts 4-second units (RFC 6275 §6.1.7), so this is the longest lifetime a PBU can carry.</summary>
    public static TimeSpan MaxWireLifetime { get; } = TimeSpan.FromSeconds(ushort.MaxValue * BindingUpdate.LifetimeUnitSeconds);

    /// <summary>A lifetime in the BU/BA's 4-second units, rounded down and clamped to the field.</summary>
    public static ushort ToLifetimeUnits(TimeSpan lifetime) =>
        (ushort)Math.Clamp(lifetime.Ticks / (TimeSpan.TicksPerSecond * BindingUpdate.LifetimeUnitSeconds), 0, ushort.MaxValue);
}
