using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.LmaScale;

/// <summary>PBUs as the MAGs send them, built ahead so that building them is not measured.</summary>
public static class Workload
{
    public static readonly Ipv6Address LmaAddress = Ipv6Address.Parse("2001:db8:0:1::1");
    public static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    public static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    /// <summary>A /40 of /64s: 2^24 slots, room for the million bindings of the memory run.</summary>
    public static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/40");

    public static LmaOptions Options(BindingPersistence mode) => new()
    {
        LocalMobilityAnchorAddress = LmaAddress,
        AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 },
        HomeNetworkPrefixPool = Pool,
        RestartCounter = 1,
        Persistence = mode,
        MaxBindingCacheEntries = 2_000_000,
        Heartbeat = new Protocol.Heartbeat.HeartbeatOptions { Enabled = false },
        // Every PBU in a phase carries the same timestamp base; the window must not refuse the later ones.
        TimestampValidityWindow = TimeSpan.FromHours(1),
    };

    public static string Nai(int vm) => $"vm{vm}@scale.dataplane.test";

    public static BindingUpdate Pbu(int vm, Instant now, ushort sequence, Ipv6Prefix? prefix, HandoffIndicator hi) =>
        new(sequence, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
        {
            Options = new MobilityOptionList(
            [
                new HomeNetworkPrefixOption(prefix ?? Ipv6Prefix.Unspecified),
                new HandoffIndicatorOption(hi),
                new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
                new TimestampOption(now.ToPmipTimestamp()),
                MobileNodeLinkLayerIdentifierOption.ForMac(MacAddress.FromUInt64(0x5254_0000_0000UL | (uint)vm)),
                MobileNodeIdentifierOption.ForNai(Nai(vm)),
            ]),
        };
}
