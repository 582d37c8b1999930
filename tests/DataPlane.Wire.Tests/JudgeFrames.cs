namespace DataPlane.Wire.Tests;

/// <summary>
/// Whole frames made only by our builders, for the tshark judge. Addresses follow the testbed's
/// plan: MAG Proxy-CoA 2001:db8:100::2, LMA 2001:db8:100::1, VM prefix 2001:db8:1::/64.
/// </summary>
internal static class JudgeFrames
{
    public static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:100::2");
    public static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    public static readonly MacAddress MagMac = MacAddress.Parse("02:00:00:00:01:02");
    public static readonly MacAddress LmaMac = MacAddress.Parse("02:00:00:00:01:01");
    public static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:12:34:56");
    public static readonly MacAddress SharedMac = MacAddress.Parse("00:00:5e:00:52:13");
    public static readonly Ipv6Address SharedLinkLocal = Ipv6Address.LinkLocalFromMac(SharedMac);
    public static readonly Ipv6Address VmLinkLocal = Ipv6Address.LinkLocalFromMac(VmMac);
    public static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:1::/64");
    public static readonly Ipv6Address VmAddress = Hnp.WithInterfaceIdentifier(Ipv6Address.InterfaceIdentifierFromMac(VmMac));
    public static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:2::10");

    public static BindingUpdate Pbu() => new(1, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
    {
        Options = new([
            new HomeNetworkPrefixOption(Hnp),
            new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            new TimestampOption(new PmipTimestamp(0x00006553f1008000)),
            MobileNodeLinkLayerIdentifierOption.ForMac(VmMac),
            new LinkLocalAddressOption(SharedLinkLocal),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
        ]),
    };

    public static BindingAcknowledgement Pba(BindingAckStatus status) => new(status, BindingAckFlags.ProxyRegistration, 1, status == BindingAckStatus.Accepted ? (ushort)900 : (ushort)0)
    {
        Options = new([
            new HomeNetworkPrefixOption(Hnp),
            new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            new TimestampOption(new PmipTimestamp(0x00006553f1008000)),
            MobileNodeLinkLayerIdentifierOption.ForMac(VmMac),
            new LinkLocalAddressOption(SharedLinkLocal),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
            new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, Ipv4Address.Parse("192.0.2.10")),
            new Ipv4DefaultRouterAddressOption(Ipv4Address.Parse("192.0.2.1")),
        ]),
    };

    public static HeartbeatMessage Heartbeat() => new(IsResponse: true, IsUnsolicited: false, Sequence: 77) { Options = new([new RestartCounterOption(3)]) };

    /// <summary>Ethernet + IPv6 + Mobility Header, as a MAG or LMA puts it on the wire.</summary>
    public static byte[] MobilityFrame(MobilityMessage m, Ipv6Address src, Ipv6Address dst, MacAddress srcMac, MacAddress dstMac)
    {
        var f = new byte[14 + 40 + m.GetLength()];
        EthernetFrame.WriteHeader(f, dstMac, srcMac, EtherType.Ipv6);
        int n = m.WriteTo(f.AsSpan(54), src, dst);
        Ipv6Packet.WriteHeader(f.AsSpan(14), src, dst, IpProtocol.Mobility, n);
        return f;
    }

    /// <summary>A unicast RA to the VM: only its prefix (on-link, autonomous), the tunnel MTU, the shared MAC.</summary>
    public static byte[] UnicastRouterAdvertisement()
    {
        var f = new byte[200];
        EthernetFrame.WriteHeader(f, VmMac, SharedMac, EtherType.Ipv6);
        PrefixInformation[] prefixes = [new(Hnp, PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 3600, 1800)];
        int n = Icmpv6Writer.WriteRouterAdvertisement(f.AsSpan(54), SharedLinkLocal, VmLinkLocal,
            new RouterAdvertisementFields(64, RouterAdvertisementFlags.None, 1800, 0, 0), SharedMac, 1460, prefixes);
        Ipv6Packet.WriteHeader(f.AsSpan(14), SharedLinkLocal, VmLinkLocal, IpProtocol.Icmpv6, n, hopLimit: 255);
        return f[..(54 + n)];
    }

    /// <summary>A NUD probe from the MAG to the VM (unicast NS with our SLLA).</summary>
    public static byte[] NeighborSolicitation()
    {
        var f = new byte[200];
        EthernetFrame.WriteHeader(f, VmMac, SharedMac, EtherType.Ipv6);
        int n = Icmpv6Writer.WriteNeighborSolicitation(f.AsSpan(54), SharedLinkLocal, VmLinkLocal, VmLinkLocal, SharedMac);
        Ipv6Packet.WriteHeader(f.AsSpan(14), SharedLinkLocal, VmLinkLocal, IpProtocol.Icmpv6, n, hopLimit: 255);
        return f[..(54 + n)];
    }

    /// <summary>The MAG answering a VM's NS for the shared link-local: solicited, router, override.</summary>
    public static byte[] NeighborAdvertisement()
    {
        var f = new byte[200];
        EthernetFrame.WriteHeader(f, VmMac, SharedMac, EtherType.Ipv6);
        int n = Icmpv6Writer.WriteNeighborAdvertisement(f.AsSpan(54), SharedLinkLocal, VmLinkLocal,
            NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override, SharedLinkLocal, SharedMac);
        Ipv6Packet.WriteHeader(f.AsSpan(14), SharedLinkLocal, VmLinkLocal, IpProtocol.Icmpv6, n, hopLimit: 255);
        return f[..(54 + n)];
    }

    /// <summary>MAG → LMA tunnel: outer IPv6 (Proxy-CoA → LMA, next header 41) around VM → client TCP.</summary>
    public static byte[] Ipv6InIpv6Tcp()
    {
        var payload = "GET / HTTP/1.1\r\n\r\n"u8;
        int inner = 40 + 20 + payload.Length;
        var f = new byte[14 + 40 + inner];
        EthernetFrame.WriteHeader(f, LmaMac, MagMac, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(f.AsSpan(14), Mag, Lma, IpProtocol.Ipv6, inner, hopLimit: 64);
        Ipv6Packet.WriteHeader(f.AsSpan(54), VmAddress, Client, IpProtocol.Tcp, 20 + payload.Length, hopLimit: 63);
        TcpSegment.WriteHeader(f.AsSpan(94), 40000, 80, 1000, 2000, TcpFlags.Ack | TcpFlags.Psh, 502);
        payload.CopyTo(f.AsSpan(114));
        Assert.True(TcpSegment.TryCreate(f.AsSpan(94), out var tcp, out _));
        tcp.FillChecksum(VmAddress, Client);
        return f;
    }

    /// <summary>A VM's IPv4 packet (UDP) tunnelled in IPv6 (RFC 5844 transport of IPv4 home traffic).</summary>
    public static byte[] Ipv4InIpv6Udp()
    {
        var payload = "probe 0001"u8;
        int inner = 20 + 8 + payload.Length;
        var f = new byte[14 + 40 + inner];
        EthernetFrame.WriteHeader(f, LmaMac, MagMac, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(f.AsSpan(14), Mag, Lma, IpProtocol.IpInIp, inner);
        var src = Ipv4Address.Parse("192.0.2.10");
        var dst = Ipv4Address.Parse("198.51.100.20");
        Ipv4Packet.WriteHeader(f.AsSpan(54), src, dst, IpProtocol.Udp, 8 + payload.Length, ttl: 63, identification: 7);
        UdpDatagram.WriteHeader(f.AsSpan(74), 5000, 6000, payload.Length);
        payload.CopyTo(f.AsSpan(82));
        Assert.True(UdpDatagram.TryCreate(f.AsSpan(74), out var udp, out _));
        udp.FillChecksum(src, dst);
        return f;
    }

    /// <summary>A DHCPv4 OFFER from the MAG to the VM (Ethernet + IPv4 + UDP 67 → 68).</summary>
    public static byte[] DhcpOffer()
    {
        var server = Ipv4Address.Parse("192.0.2.1");
        var offered = Ipv4Address.Parse("192.0.2.10");
        var offer = new DhcpRepr(DhcpMessageType.Offer, 0x3903F326, VmMac)
        {
            YourAddress = offered,
            ServerIdentifier = server,
            LeaseTime = 3600,
            SubnetMask = Ipv4Address.Parse("255.255.255.0"),
            Routers = [server],
        };
        int dhcpLength = offer.GetLength();
        var f = new byte[14 + 20 + 8 + dhcpLength];
        EthernetFrame.WriteHeader(f, VmMac, SharedMac, EtherType.Ipv4);
        Ipv4Packet.WriteHeader(f.AsSpan(14), server, offered, IpProtocol.Udp, 8 + dhcpLength, ttl: 64, dontFragment: false);
        UdpDatagram.WriteHeader(f.AsSpan(34), 67, 68, dhcpLength);
        offer.WriteTo(f.AsSpan(42));
        Assert.True(UdpDatagram.TryCreate(f.AsSpan(34), out var udp, out _));
        udp.FillChecksum(server, offered);
        return f;
    }
}
