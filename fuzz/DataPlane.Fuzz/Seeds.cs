using System.Text;
using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Fuzz;

/// <summary>
/// `DataPlane.Fuzz seeds DIR`: a small valid input per target, built with the project's own builders (the
/// committed corpora in fuzz/corpus also hold frames scapy made and the example configuration files).
/// </summary>
public static class Seeds
{
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:ffff::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:ffff::1");
    private static readonly Ipv6Address VmLinkLocal = Ipv6Address.LinkLocalFromMac(DatapathHarness.VmMac);

    public static void Write(string dir)
    {
        void Put(string target, string name, byte[] bytes)
        {
            var d = Path.Combine(dir, target);
            Directory.CreateDirectory(d);
            File.WriteAllBytes(Path.Combine(d, name), bytes);
        }
        var pbu = Mh(Pbu(), Mag, Lma);
        var pba = Mh(new BindingAcknowledgement(BindingAckStatus.Accepted, BindingAckFlags.ProxyRegistration, 7, 900)
        {
            Options = new([MobileNodeIdentifierOption.ForNai("vm@fuzz"), new HomeNetworkPrefixOption(DatapathHarness.Hnp),
                new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface), new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
                new TimestampOption(PmipTimestamp.FromUnixTime(TimeSpan.FromDays(20000)))]),
        }, Lma, Mag);
        var heartbeat = Mh(new HeartbeatMessage(IsResponse: false, IsUnsolicited: false, Sequence: 3) { Options = new([new RestartCounterOption(2)]) }, Mag, Lma);
        Put("mobility", "pbu", pbu);
        Put("mobility", "pba", pba);
        Put("mobility", "heartbeat", heartbeat);
        Put("machines", "pbu-to-lma", [0, 1, .. pbu]);
        Put("machines", "pba-to-mag", [1, 1, .. pba]);
        Put("machines", "heartbeat-to-lma", [0, 50, .. heartbeat]);

        var sender = new SignallingSecurity(new SignallingSecurityOptions
        {
            Peers = [new SecurityPeerOptions(Lma, [new SecurityAssociationPairOptions("seed", EspAlgorithm.NullHmacSha256_128, 0x2001,
                Convert.FromHexString("1d5e93b07a2c4f68e0b1c7d3a9f24e6b5c8d0a173e9f62b4d1c0a7e3958b2f6c"), 0x1001,
                Convert.FromHexString("8f3c2a7be1d94f06a5c3127e9b4d80f1c6a2e57d03b9481fa6e2c5d7190b3e4a"))])],
        }, new SplitMix64Random(1));
        var esp = new byte[pbu.Length + SignallingSecurity.MaxOverhead];
        sender.TryProtect(Lma, pbu, esp, Instant.UnixEpoch, out int espLength);
        Put("esp", "pbu-in-esp", esp[..espLength]);
        Put("esp", "short-payload", [1, 2, 3]);

        var rs = new byte[14 + 40 + Icmpv6Writer.RouterSolicitationLength(true)];
        EthernetFrame.WriteHeader(rs, MacAddress.Parse("33:33:00:00:00:02"), DatapathHarness.VmMac, EtherType.Ipv6);
        int icmp = Icmpv6Writer.WriteRouterSolicitation(rs.AsSpan(54), VmLinkLocal, Ipv6Address.Parse("ff02::2"), DatapathHarness.VmMac);
        Ipv6Packet.WriteHeader(rs.AsSpan(14), VmLinkLocal, Ipv6Address.Parse("ff02::2"), IpProtocol.Icmpv6, icmp, hopLimit: 255);
        Put("ethernet", "rs", rs);
        Put("icmpv6", "rs", rs[54..]);
        Put("from-port", "rs", [0, .. rs]);

        var vmAddress = DatapathHarness.Hnp.WithInterfaceIdentifier(Ipv6Address.InterfaceIdentifierFromMac(DatapathHarness.VmMac));
        var udp = Udp(vmAddress, Ipv6Address.Parse("2001:db8:2::1"));
        var data = new byte[14 + udp.Length];
        EthernetFrame.WriteHeader(data, PmipDefaults.SharedMagMacAddress, DatapathHarness.VmMac, EtherType.Ipv6);
        udp.CopyTo(data, 14);
        Put("ethernet", "udp", data);
        Put("from-port", "udp", [0, .. data]);
        Put("from-tunnel", "to-vm", [0, .. Udp(Ipv6Address.Parse("2001:db8:2::1"), vmAddress)]);
        Put("from-tunnel", "from-vm", [1, .. udp]);
        Put("from-tunnel", "from-home", [2, .. Udp(Ipv6Address.Parse("2001:db8:2::1"), vmAddress)]);

        var discover = new byte[600];
        int dhcp = new DhcpRepr(DhcpMessageType.Discover, 0x12345678, DatapathHarness.VmMac).WriteTo(discover);
        Put("dhcpv4", "discover", discover[..dhcp]);

        Put("radius", "accept", Radius());
        Put("control", "ports", Encoding.UTF8.GetBytes("""{"command":"ports","args":{}}"""));
        Put("control", "port-add", Encoding.UTF8.GetBytes("""{"command":"port.add","args":{"name":"vif1.0","mac":"52:54:00:12:34:56","kind":"packet","incoming":true}}"""));
        Put("control", "response", Encoding.UTF8.GetBytes("""{"ok":true,"result":[{"name":"vif1.0"}]}"""));
        Put("config", "security", Encoding.UTF8.GetBytes("""
            {"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"/nonexistent/p.json"},
             "timers":{"preset":"rfc","nudProbeInterval":"250ms"},"dataplane":{"batchSize":32,"uplink":"packet"},
             "metrics":{"listen":"[::1]:9465","vmRetention":"1m"}}
            """));
    }

    private static BindingUpdate Pbu() => new(7, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
    {
        Options = new([MobileNodeIdentifierOption.ForNai("vm@fuzz"), new HomeNetworkPrefixOption(DatapathHarness.Hnp),
            new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface), new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            new TimestampOption(PmipTimestamp.FromUnixTime(TimeSpan.FromDays(20000))), new LinkLocalAddressOption(PmipDefaults.SharedMagLinkLocalAddress)]),
    };

    private static byte[] Mh(MobilityMessage m, Ipv6Address source, Ipv6Address destination)
    {
        var b = new byte[m.GetLength()];
        m.WriteTo(b, source, destination);
        return b;
    }

    private static byte[] Udp(Ipv6Address source, Ipv6Address destination)
    {
        var p = new byte[40 + 8 + 5];
        Ipv6Packet.WriteHeader(p, source, destination, IpProtocol.Udp, 13);
        p[40] = 0x30; p[41] = 0x39; p[42] = 0x30; p[43] = 0x39; p[45] = 13;
        UdpDatagram.TryCreate(p.AsSpan(40), out var udp, out _);
        udp.FillChecksum(source, destination);
        return p;
    }

    private static byte[] Radius()
    {
        // Access-Accept, id 1, with Framed-IPv6-Prefix 2001:db8:1::/64 and a Message-Authenticator (not valid).
        byte[] prefix = [97, 20, 0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] ma = [80, 18, .. new byte[16]];
        var p = new byte[20 + prefix.Length + ma.Length];
        p[0] = 2;
        p[1] = 1;
        p[2] = (byte)(p.Length >> 8);
        p[3] = (byte)p.Length;
        prefix.CopyTo(p, 20);
        ma.CopyTo(p, 20 + prefix.Length);
        return p;
    }
}
