namespace DataPlane.Wire.Tests;

/// <summary>RFC 5844 signalling and the IPv4 access link's frames, made only by our builders, for the tshark judge.</summary>
internal static class Ipv4JudgeFrames
{
    public static readonly Ipv4Address Hoa = Ipv4Address.Parse("10.200.0.5");
    public static readonly Ipv4Address Router = Ipv4Address.Parse("10.200.0.1");
    public static readonly Ipv4Address Client = Ipv4Address.Parse("198.51.100.20");

    /// <summary>An IPv4-only VM's PBU: an ALL_ZERO Request and no Home Network Prefix option (RFC 5844 §3.2.3.1).</summary>
    public static BindingUpdate Ipv4OnlyPbu() => new(2, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
    {
        Options = new([
            Ipv4HomeAddressRequestOption.AllZero,
            new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            new TimestampOption(new PmipTimestamp(0x00006553f1008000)),
            MobileNodeLinkLayerIdentifierOption.ForMac(JudgeFrames.VmMac),
            new LinkLocalAddressOption(JudgeFrames.SharedLinkLocal),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
        ]),
    };

    /// <summary>A dual-stack refresh: the HNP and exactly one Request with the assigned address (§3.2.3.3).</summary>
    public static BindingUpdate DualStackRefresh() => new(3, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
    {
        Options = new([
            new HomeNetworkPrefixOption(JudgeFrames.Hnp),
            new Ipv4HomeAddressRequestOption(24, Hoa),
            new HandoffIndicatorOption(HandoffIndicator.HandoffStateNotChanged),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
        ]),
    };

    /// <summary>A PBA with the Reply (and, when accepted, the DRA and DHCP Support Mode S = 1: §3.1.2.6).</summary>
    public static BindingAcknowledgement Pba(BindingAckStatus status, Ipv4HomeAddressReplyStatus reply, Ipv4Address address, byte prefixLength)
    {
        var options = new List<MobilityOption>
        {
            new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
            new Ipv4HomeAddressReplyOption(reply, prefixLength, address),
        };
        if (status == BindingAckStatus.Accepted)
        {
            options.Add(new Ipv4DefaultRouterAddressOption(Router));
            options.Add(new Ipv4DhcpSupportModeOption(ServerMode: true));
        }
        return new BindingAcknowledgement(status, BindingAckFlags.ProxyRegistration, 2, status == BindingAckStatus.Accepted ? (ushort)900 : (ushort)0)
        {
            Options = new(options),
        };
    }

    /// <summary>The MAG's ARP reply for the default router (or any address of the home subnet) with the shared MAC.</summary>
    public static byte[] ProxyArpReply(Ipv4Address target)
    {
        var f = new byte[14 + ArpPacket.Length];
        EthernetFrame.WriteHeader(f, JudgeFrames.VmMac, JudgeFrames.SharedMac, EtherType.Arp);
        new ArpRepr(ArpOperation.Reply, JudgeFrames.SharedMac, target, JudgeFrames.VmMac, Hoa).WriteTo(f.AsSpan(14));
        return f;
    }

    /// <summary>An ICMP error from the default router to the VM about a packet it sent (TTL 1, or too big with DF).</summary>
    public static byte[] IcmpErrorToVm(bool fragmentationNeeded)
    {
        var invoking = new byte[20 + 8 + 10];
        Ipv4Packet.WriteHeader(invoking, Hoa, Client, IpProtocol.Udp, 18, ttl: 1, identification: 7);
        UdpDatagram.WriteHeader(invoking.AsSpan(20), 5000, 6000, 10);
        var f = new byte[200];
        EthernetFrame.WriteHeader(f, JudgeFrames.VmMac, JudgeFrames.SharedMac, EtherType.Ipv4);
        int icmp = fragmentationNeeded
            ? Icmpv4Packet.WriteFragmentationNeeded(f.AsSpan(34), 1460, invoking)
            : Icmpv4Packet.WriteTimeExceeded(f.AsSpan(34), invoking);
        Ipv4Packet.WriteHeader(f.AsSpan(14), Router, Hoa, IpProtocol.Icmp, icmp, ttl: 64, dontFragment: false);
        return f[..(34 + icmp)];
    }
}
