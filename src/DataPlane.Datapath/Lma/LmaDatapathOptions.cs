using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>Settings of the LMA's data path. Its own address is the machine's (<see cref="Protocol.Lma.LmaOptions.LocalMobilityAnchorAddress"/>).</summary>
public sealed record LmaDatapathOptions
{
    /// <summary>The largest inner packet sent into a tunnel: path MTU minus the 40-byte outer header (RFC 2473 §6.1). Default 1500 − 40.</summary>
    public int TunnelMtu { get; init; } = 1460;

    /// <summary>Source of the ICMPv6 errors sent towards the home network. Null: the LMA's address.</summary>
    public Ipv6Address? IcmpErrorSource { get; init; }

    /// <summary>
    /// Source of the ICMP (IPv4) errors sent towards the home network (Time Exceeded, Fragmentation Needed, Host
    /// Unreachable). Null: the IPv4 home network's default router address; with neither, none are sent.
    /// </summary>
    public Wire.Ipv4Address? Ipv4IcmpErrorSource { get; init; }

    /// <summary>ICMPv6 errors sent towards the home network in total (RFC 4443 §2.4(f)).</summary>
    public RateLimit IcmpErrorRate { get; init; } = RateLimit.PerSecond(100, burst: 20);

    /// <summary>Answer packets for an unbound prefix with Destination Unreachable (address unreachable), rate-limited.</summary>
    public bool SendDestinationUnreachable { get; init; } = true;

    /// <summary>Control frames queued per batch before further ones are dropped (counted).</summary>
    public int ControlOutputCapacity { get; init; } = 256;

    /// <summary>Segments per batch, for TCP super-packets from a TUN device with IFF_VNET_HDR.</summary>
    public int SegmentPoolCapacity { get; init; } = 512;

    /// <summary>Free bytes in front of each segment, so the host can prepend an outer header in place.</summary>
    public int SegmentHeadroom { get; init; } = 64;

    /// <summary>
    /// How often at most a VM's traffic to another VM on another MAG is reported to the machine (RFC 6705 may route the
    /// pair MAG to MAG), per source prefix: the per-packet cost is one comparison.
    /// </summary>
    public TimeSpan TrafficObservationInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="Protocol.ProtocolOptionsException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        const string p = "Datapath.Lma.";
        MagDatapathOptions.Require(TunnelMtu is >= Icmpv6Packet.MinimumMtu and <= ushort.MaxValue, p + nameof(TunnelMtu),
            $"must be within 1280..65535 (was {TunnelMtu})");
        MagDatapathOptions.Require(IcmpErrorSource is null || (IcmpErrorSource.Value.IsUnicast && !IcmpErrorSource.Value.IsLinkLocal),
            p + nameof(IcmpErrorSource), "must be a global unicast address");
        MagDatapathOptions.Require(Ipv4IcmpErrorSource is null || Ipv4IcmpErrorSource.Value.IsUnicast, p + nameof(Ipv4IcmpErrorSource),
            "must be a unicast IPv4 address");
        MagDatapathOptions.Require(IcmpErrorRate.IsValid, p + nameof(IcmpErrorRate), "needs a positive interval and a burst of at least 1");
        MagDatapathOptions.Require(ControlOutputCapacity > 0, p + nameof(ControlOutputCapacity), "must be positive");
        MagDatapathOptions.Require(SegmentPoolCapacity > 0, p + nameof(SegmentPoolCapacity), "must be positive");
        MagDatapathOptions.Require(SegmentHeadroom is >= 0 and <= 512, p + nameof(SegmentHeadroom), "must be within 0..512");
        MagDatapathOptions.Require(TrafficObservationInterval > TimeSpan.Zero, p + nameof(TrafficObservationInterval), "must be positive");
    }
}
