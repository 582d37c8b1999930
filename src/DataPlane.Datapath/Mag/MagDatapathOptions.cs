using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// Settings of a MAG's data path. The shared MAC and link-local address, the Proxy-CoA and the MTU
/// advertised in RAs are the protocol machine's (<see cref="MagOptions"/>): the data path reads them from
/// the <see cref="MobileAccessGateway"/> it is given, so the two cannot disagree.
/// </summary>
public sealed record MagDatapathOptions
{
    /// <summary>
    /// The largest inner packet that goes into the tunnel: the uplink's path MTU minus the 40-byte outer
    /// header (RFC 2473 §6.1). Larger packets are answered with ICMPv6 Packet Too Big. Default 1500 − 40.
    /// </summary>
    public int TunnelMtu { get; init; } = 1460;

    /// <summary>
    /// Source of the ICMPv6 errors sent to VMs (Time Exceeded, Packet Too Big). Null: the Proxy-CoA. A
    /// global address is better than the shared link-local one, since a guest may discard errors about
    /// off-link destinations that come from a link-local source.
    /// </summary>
    public Ipv6Address? IcmpErrorSource { get; init; }

    /// <summary>More addresses the MAG answers Neighbor Solicitations for, besides the shared link-local address (e.g. a global gateway address).</summary>
    public IReadOnlyList<Ipv6Address> RouterAddresses { get; init; } = [];

    /// <summary>
    /// How often at most a port reports that its VM is alive (<see cref="MagEvent.ReachabilityConfirmed"/>), or
    /// raises <see cref="AttachTrigger.FirstFrame"/> while it has no installed session, so the per-packet path
    /// stays cheap.
    /// </summary>
    public TimeSpan ActivityReportInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Control frames (RS, NS, NA, ARP announcements, RARP) a port passes to the machine; the rest are dropped as <see cref="DropReason.RateLimited"/>.</summary>
    public RateLimit ControlFrameRate { get; init; } = RateLimit.PerSecond(20, burst: 10);

    /// <summary>ICMPv6 errors sent per port (RFC 4443 §2.4(f) requires a limit).</summary>
    public RateLimit IcmpErrorRate { get; init; } = RateLimit.PerSecond(10, burst: 10);

    /// <summary>Cur Hop Limit advertised in RAs (RFC 4861 AdvCurHopLimit; 64 is the value RFC 1700 era hosts and Linux use).</summary>
    public byte RouterAdvertisementCurHopLimit { get; init; } = 64;

    /// <summary>Recursive DNS servers advertised in RAs (RFC 8106); empty sends no RDNSS option.</summary>
    public IReadOnlyList<Ipv6Address> DnsServers { get; init; } = [];

    /// <summary>
    /// The DHCP Server Identifier every MAG of the domain uses (RFC 5844 §3.4: "a fixed IPv4 address common in
    /// that Proxy Mobile IPv6 domain"), so a unicast RENEW after a migration reaches whichever MAG serves the VM
    /// now. Null (default): the VM's default router address from the PBA, which is just as stable (the same on
    /// every MAG). Set it the same on every MAG.
    /// </summary>
    public Ipv4Address? DhcpServerIdentifier { get; init; }

    /// <summary>The DHCP lease time (RFC 5844 §3.4.3: it need not match the binding lifetime); T1 = ½, T2 = ⅞ of it.</summary>
    public TimeSpan DhcpLeaseTime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>DNS servers in DHCP's option 6 (the same on every MAG, §3.4); empty sends none.</summary>
    public IReadOnlyList<Ipv4Address> DhcpDnsServers { get; init; } = [];

    /// <summary>DHCP's option 15 (domain name); null sends none.</summary>
    public string? DhcpDomainName { get; init; }

    /// <summary>Port numbers are indexes into a table of this size.</summary>
    public int MaxPorts { get; init; } = 4096;

    /// <summary>Control frames queued per batch before further ones are dropped (counted).</summary>
    public int ControlOutputCapacity { get; init; } = 256;

    /// <summary>Segments per batch (a 64 KB super-frame at MSS 1400 gives 47).</summary>
    public int SegmentPoolCapacity { get; init; } = 512;

    /// <summary>Free bytes in front of each segment, so the host can prepend an outer header in place.</summary>
    public int SegmentHeadroom { get; init; } = 64;

    /// <summary>
    /// A live migration's destination holds the VM's downlink until the VM resumes: at most this many bytes per VM
    /// (the oldest frames go first when full). Size it for the downlink rate × the hypervisor's stop: 4 MiB holds
    /// 32 ms of 1 Gbit/s.
    /// </summary>
    public int HandoverBufferBytes { get; init; } = 4 << 20;

    /// <summary>And at most this many frames per VM.</summary>
    public int HandoverBufferPackets { get; init; } = 4096;

    /// <summary>VMs that may be buffered at once (concurrent incoming migrations); one more is pre-registered without a buffer.</summary>
    public int HandoverBuffers { get; init; } = 16;

    /// <summary>
    /// For this long after the hypervisor reports a VM stopped for a migration's last copy, a frame from it was sent
    /// before it stopped: it is forwarded, but delivery to the VM does not resume for it. The frame and the stop notice
    /// race (the tap queue against QEMU's event, its listener and the control socket), so the MAG may read a frame the
    /// guest sent just before its STOP after it took the stop; resuming for it would deliver again, to a VM about to
    /// run elsewhere, what the destination delivers too. A frame after this means the migration failed and the VM runs
    /// here again (as the hypervisor's RESUME, `ctl port resumed`, says at once).
    /// </summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Throws <see cref="ProtocolOptionsException"/> naming the first bad setting.</summary>
    public void Validate(MagOptions machine)
    {
        const string p = "Datapath.Mag.";
        Require(TunnelMtu is >= Icmpv6Packet.MinimumMtu and <= ushort.MaxValue, p + nameof(TunnelMtu), $"must be within 1280..65535 (was {TunnelMtu})");
        Require(machine.AdvertisedMtu is null || machine.AdvertisedMtu <= (uint)TunnelMtu, p + nameof(TunnelMtu),
            $"is below the MTU the RAs advertise ({machine.AdvertisedMtu}): VMs would send packets the tunnel refuses");
        Require(IcmpErrorSource is null || (IcmpErrorSource.Value.IsUnicast && !IcmpErrorSource.Value.IsLinkLocal), p + nameof(IcmpErrorSource),
            "must be a global unicast address");
        Require(RouterAddresses.All(a => a.IsUnicast), p + nameof(RouterAddresses), "must be unicast addresses");
        Require(ActivityReportInterval > TimeSpan.Zero, p + nameof(ActivityReportInterval), "must be positive");
        Require(ControlFrameRate.IsValid, p + nameof(ControlFrameRate), "needs a positive interval and a burst of at least 1");
        Require(IcmpErrorRate.IsValid, p + nameof(IcmpErrorRate), "needs a positive interval and a burst of at least 1");
        Require(RouterAdvertisementCurHopLimit > 0, p + nameof(RouterAdvertisementCurHopLimit), "must be 1..255");
        Require(DnsServers.Count <= NdOption.MaxRecursiveDnsServers && DnsServers.All(a => a.IsUnicast), p + nameof(DnsServers),
            $"must be at most {NdOption.MaxRecursiveDnsServers} unicast addresses");
        Require(DhcpServerIdentifier is null || DhcpServerIdentifier.Value.IsUnicast, p + nameof(DhcpServerIdentifier), "must be a unicast IPv4 address");
        Require(DhcpLeaseTime >= TimeSpan.FromSeconds(60) && DhcpLeaseTime.TotalSeconds < uint.MaxValue, p + nameof(DhcpLeaseTime),
            $"must be at least 60 s (was {DhcpLeaseTime})");
        Require(DhcpDnsServers.Count <= 63 && DhcpDnsServers.All(a => a.IsUnicast), p + nameof(DhcpDnsServers), "must be at most 63 unicast IPv4 addresses");
        Require(DhcpDomainName is null || (DhcpDomainName.Length is > 0 and <= 255 && DhcpDomainName.All(c => c is > ' ' and < (char)127)),
            p + nameof(DhcpDomainName), "must be 1 to 255 printable ASCII characters");
        Require(MaxPorts is > 0 and <= 1 << 20, p + nameof(MaxPorts), "must be within 1..1048576");
        Require(ControlOutputCapacity > 0, p + nameof(ControlOutputCapacity), "must be positive");
        Require(SegmentPoolCapacity > 0, p + nameof(SegmentPoolCapacity), "must be positive");
        Require(SegmentHeadroom is >= 0 and <= 512, p + nameof(SegmentHeadroom), "must be within 0..512");
        Require(HandoverBufferBytes is >= 64 << 10 and <= 1 << 30, p + nameof(HandoverBufferBytes), "must be within 64 KiB..1 GiB");
        Require(HandoverBufferPackets is >= 16 and <= 1 << 20, p + nameof(HandoverBufferPackets), "must be within 16..1048576");
        Require(HandoverBuffers is >= 0 and <= 4096, p + nameof(HandoverBuffers), "must be within 0..4096");
        Require(StopGrace >= TimeSpan.Zero && StopGrace <= TimeSpan.FromSeconds(10), p + nameof(StopGrace), $"must be within 0..10 s (was {StopGrace})");
    }

    internal static void Require(bool condition, string key, string message)
    {
        if (!condition) throw new ProtocolOptionsException(key, message);
    }
}
