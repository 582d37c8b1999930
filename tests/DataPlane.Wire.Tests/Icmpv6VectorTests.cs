namespace DataPlane.Wire.Tests;

/// <summary>
/// ICMPv6 and Neighbor Discovery messages produced independently by scapy, read field by field and
/// rebuilt byte for byte (checksum included) by the writers and the parsed forms.
/// </summary>
/// <remarks>
/// Every vector is <c>bytes(pkt[IPv6].payload).hex()</c> from scapy 2.5.0 (Debian python3-scapy, run
/// as <c>/usr/bin/python3 -c 'from scapy.all import *; …'</c>), with the addresses below in the IPv6
/// header. The scapy expression is given beside each vector. tshark 4 dissected the same packets and
/// reported "Checksum Status: Good" for every one.
/// </remarks>
public class Icmpv6VectorTests
{
    // The shared MAG link-layer address (RFC 6543) and the link-local address derived from it, a VM's
    // MAC and addresses, the MAG's global address and a remote host.
    private static readonly MacAddress MagMac = MacAddress.Parse("00:00:5e:00:52:13");
    private static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:12:34:56");
    private static readonly Ipv6Address MagLinkLocal = Ipv6Address.Parse("fe80::200:5eff:fe00:5213"); // R
    private static readonly Ipv6Address VmLinkLocal = Ipv6Address.Parse("fe80::5054:ff:fe12:3456"); // V
    private static readonly Ipv6Address VmGlobal = Ipv6Address.Parse("2001:db8:1::5054:ff:fe12:3456"); // G
    private static readonly Ipv6Address MagGlobal = Ipv6Address.Parse("2001:db8:1::1");
    private static readonly Ipv6Address Remote = Ipv6Address.Parse("2001:db8:ff::1");

    // IPv6(src=R,dst=V,hlim=255)/ICMPv6ND_RA(chlim=64,M=0,O=1,routerlifetime=1800,reachabletime=30000,
    //   retranstimer=1000)/ICMPv6NDOptSrcLLAddr(lladdr="00:00:5e:00:52:13")/ICMPv6NDOptMTU(mtu=1460)
    //   /ICMPv6NDOptPrefixInfo(prefixlen=64,L=1,A=1,validlifetime=86400,preferredlifetime=14400,prefix="2001:db8:1::")
    // scapy's default prf=1 (RFC 4191 "high") sets 0x08 in the flag byte beside O (0x40).
    private const string RaVector =
        "8600d0404048070800007530000003e8010100005e00521305010000000005b4030440c000015180000038400000" +
        "000020010db8000100000000000000000000";

    // The same RA in a whole frame: Ether(src="00:00:5e:00:52:13",dst="52:54:00:12:34:56")/IPv6(src=R,dst=V,hlim=255)/<RA above>.
    private const string RaFrameVector =
        "52540012345600005e00521386dd6000000000403afffe8000000000000002005efffe005213fe80000000000000" +
        "505400fffe123456" +
        RaVector;

    // IPv6(src=R,dst=V,hlim=255)/ICMPv6ND_RA(chlim=0,M=1,O=1,routerlifetime=0,reachabletime=0,retranstimer=0)
    //   /ICMPv6NDOptSrcLLAddr(lladdr="00:00:5e:00:52:13")
    //   /ICMPv6NDOptPrefixInfo(prefixlen=64,L=1,A=1,validlifetime=0xffffffff,preferredlifetime=0xffffffff,prefix="2001:db8:1::")
    //   /ICMPv6NDOptPrefixInfo(prefixlen=48,L=0,A=0,validlifetime=3600,preferredlifetime=0,prefix="2001:db8:2::")
    //   /ICMPv6NDOptRDNSS(lifetime=600,dns=["2001:db8::53","2001:db8::35"])
    // scapy's default prf=1 again sets 0x08 (flag byte 0xc8), although RFC 4191 §2.2 wants 00 when the
    // router lifetime is 0; the raw flag byte is kept whatever it holds.
    private const string RaWithRdnssVector =
        "86003df100c800000000000000000000010100005e005213030440c0ffffffffffffffff0000000020010db80001" +
        "000000000000000000000304300000000e10000000000000000020010db800020000000000000000000019050000" +
        "0000025820010db800000000000000000000005320010db8000000000000000000000035";

    // IPv6(src=V,dst="ff02::1:ff00:5213",hlim=255)/ICMPv6ND_NS(tgt=R)/ICMPv6NDOptSrcLLAddr(lladdr="52:54:00:12:34:56")
    private const string NsVector = "87006efd00000000fe8000000000000002005efffe0052130101525400123456";

    // IPv6(src="::",dst="ff02::1:ff12:3456",hlim=255)/ICMPv6ND_NS(tgt=G): a DAD probe.
    private const string DadNsVector = "870094c90000000020010db800010000505400fffe123456";

    // IPv6(src=R,dst=V,hlim=255)/ICMPv6ND_NA(R=1,S=1,O=1,tgt=R)/ICMPv6NDOptDstLLAddr(lladdr="00:00:5e:00:52:13")
    private const string NaVector = "88000429e0000000fe8000000000000002005efffe005213020100005e005213";

    // IPv6(src=G,dst="ff02::1",hlim=255)/ICMPv6ND_NA(R=0,S=0,O=1,tgt=G)/ICMPv6NDOptDstLLAddr(lladdr="52:54:00:12:34:56"):
    // the unsolicited NA a Linux guest sends after migration.
    private const string UnsolicitedNaVector = "88006cf62000000020010db800010000505400fffe1234560201525400123456";

    // IPv6(src=V,dst="ff02::2",hlim=255)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr="52:54:00:12:34:56")
    private const string RsVector = "850071b5000000000101525400123456";

    // inner = IPv6(src=G,dst="2001:db8:ff::1",hlim=63)/UDP(sport=40000,dport=9)/Raw(b"0123456789abcdef")
    private const string InnerPacket =
        "600000000018113f20010db800010000505400fffe12345620010db800ff000000000000000000019c4000090018" +
        "540e30313233343536373839616263646566";

    // IPv6(src="2001:db8:1::1",dst=G)/ICMPv6PacketTooBig(mtu=1460)/Raw(bytes(inner))
    private const string PtbVector = "0200a769000005b4" + InnerPacket;

    // IPv6(src="2001:db8:1::1",dst=G)/ICMPv6PacketTooBig(mtu=1460)/Raw(bytes(big)[:1232]) where
    // big = IPv6(src=G,dst="2001:db8:ff::1",hlim=63,nh=59,plen=1460)/Raw(bytes(i & 0xff for i in range(1460)))
    // (1500 bytes). The IPv6 packet is 1280 bytes; only its ICMPv6 header is pasted here, the rest is
    // the first 1232 bytes of `big`, which the test rebuilds.
    private const string TruncatedPtbHeader = "02003a3a000005b4";

    // IPv6(src="2001:db8:1::1",dst=G)/ICMPv6DestUnreach(code=3)/Raw(bytes(inner))
    private const string DestinationUnreachableVector = "0103ae1a00000000" + InnerPacket;

    // IPv6(src="2001:db8:1::1",dst=G)/ICMPv6TimeExceeded(code=0)/Raw(bytes(inner))
    private const string TimeExceededVector = "0300ac1d00000000" + InnerPacket;

    // IPv6(src="2001:db8:1::1",dst=G)/ICMPv6ParamProblem(code=1,ptr=6)/Raw(bytes(inner))
    private const string ParameterProblemVector = "0401ab1600000006" + InnerPacket;

    // IPv6(src=G,dst="2001:db8:1::1")/ICMPv6EchoRequest(id=0x1234,seq=7,data=b"ping")
    private const string EchoRequestVector = "8000af7b1234000770696e67";

    // IPv6(src=R,dst=V,hlim=255)/ICMPv6ND_Redirect(tgt="fe80::1",dst="2001:db8:ff::1")
    //   /ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:01")/ICMPv6NDOptRedirectedHdr(pkt=bytes(inner))
    private const string RedirectVector =
        "89009e0600000000fe80000000000000000000000000000120010db800ff000000000000000000010201020000000001" +
        "0409000000000000" + InnerPacket;

    private static readonly PrefixInformation HomePrefix = new(
        Ipv6Prefix.Parse("2001:db8:1::/64"), PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 86400, 14400);

    private static readonly RouterAdvertisementFields RaFields = new(
        64, RouterAdvertisementFlags.OtherConfiguration | (RouterAdvertisementFlags)0x08, 1800, 30000, 1000);

    // ---------------------------------------------------------------- Router Advertisement

    [Fact]
    public void Ra_with_prefix_and_mtu_from_scapy_is_read_field_by_field()
    {
        var bytes = Hex.Bytes(RaVector);
        Assert.True(Icmpv6Packet.TryCreate(bytes, out var icmp, out var err), err.ToString());
        Assert.Equal(Icmpv6Type.RouterAdvertisement, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0xd040, icmp.Checksum);
        Assert.False(icmp.IsError);
        Assert.True(icmp.IsChecksumValid(MagLinkLocal, VmLinkLocal));
        Assert.False(icmp.IsChecksumValid(MagLinkLocal, VmGlobal));

        Assert.True(RouterAdvertisementView.TryCreate(bytes, out var ra, out err), err.ToString());
        Assert.Equal(64, ra.CurHopLimit);
        Assert.Equal(0x48, (byte)ra.Flags);
        Assert.False(ra.IsManagedAddressConfiguration);
        Assert.True(ra.IsOtherConfiguration);
        Assert.Equal(1800, ra.RouterLifetime);
        Assert.Equal(30000u, ra.ReachableTime);
        Assert.Equal(1000u, ra.RetransTimer);
        Assert.Equal(RaFields, ra.Fields);

        var options = ra.Options;
        Assert.True(options.MoveNext());
        Assert.Equal(NdOptionType.SourceLinkLayerAddress, options.CurrentType);
        Assert.Equal(0, options.CurrentOffset);
        Assert.True(NdOption.TryReadLinkLayerAddress(options.Current, out var mac, out err));
        Assert.Equal(MagMac, mac);

        Assert.True(options.MoveNext());
        Assert.Equal(NdOptionType.Mtu, options.CurrentType);
        Assert.Equal(8, options.CurrentOffset);
        Assert.True(NdOption.TryReadMtu(options.Current, out uint mtu, out err));
        Assert.Equal(1460u, mtu);

        Assert.True(options.MoveNext());
        Assert.Equal(NdOptionType.PrefixInformation, options.CurrentType);
        Assert.Equal(30, options.CurrentData.Length);
        Assert.True(NdOption.TryReadPrefixInformation(options.Current, out var pio, out err));
        Assert.Equal(Ipv6Prefix.Parse("2001:db8:1::/64"), pio.Prefix);
        Assert.True(pio.IsOnLink);
        Assert.True(pio.IsAutonomous);
        Assert.Equal(86400u, pio.ValidLifetime);
        Assert.Equal(14400u, pio.PreferredLifetime);

        Assert.False(options.MoveNext());
        Assert.Equal(WireError.None, options.Error);

        Assert.True(RouterAdvertisement.TryParse(bytes, out var repr, out err), err.ToString());
        Assert.Equal(new RouterAdvertisement(RaFields, MagMac, 1460, [HomePrefix], null), repr);
    }

    [Fact]
    public void Ra_writer_reproduces_the_scapy_bytes()
    {
        var buffer = new byte[256];
        int n = Icmpv6Writer.WriteRouterAdvertisement(buffer, MagLinkLocal, VmLinkLocal, RaFields, MagMac, 1460, [HomePrefix]);
        Assert.Equal(RaVector, Hex.Of(buffer.AsSpan(0, n)));
        Assert.Equal(n, Icmpv6Writer.RouterAdvertisementLength(true, true, 1, 0));
    }

    [Fact]
    public void Ra_composed_into_a_frame_matches_scapy_and_classifies()
    {
        var frame = new byte[256];
        int icmpLength = Icmpv6Writer.WriteRouterAdvertisement(
            frame.AsSpan(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength), MagLinkLocal, VmLinkLocal, RaFields, MagMac, 1460, [HomePrefix]);
        EthernetFrame.WriteHeader(frame, VmMac, MagMac, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(frame.AsSpan(EthernetFrame.HeaderLength), MagLinkLocal, VmLinkLocal, IpProtocol.Icmpv6, icmpLength, hopLimit: 255);
        int length = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + icmpLength;
        Assert.Equal(RaFrameVector, Hex.Of(frame.AsSpan(0, length)));

        FrameClassifier.Classify(frame.AsSpan(0, length), out var info);
        Assert.Equal(FrameKind.Ipv6, info.Kind);
        Assert.Equal(IpProtocol.Icmpv6, info.UpperLayer);
        Assert.Equal(Icmpv6Type.RouterAdvertisement, info.Icmpv6Type);
        Assert.Equal(255, info.HopLimit);
    }

    [Fact]
    public void Ra_with_two_prefixes_and_rdnss_from_scapy_round_trips()
    {
        var bytes = Hex.Bytes(RaWithRdnssVector);
        Assert.True(Icmpv6Packet.IsChecksumValid(bytes, MagLinkLocal, VmLinkLocal));
        var fields = new RouterAdvertisementFields(0,
            RouterAdvertisementFlags.ManagedAddressConfiguration | RouterAdvertisementFlags.OtherConfiguration | (RouterAdvertisementFlags)0x08, 0, 0, 0);
        PrefixInformation[] prefixes =
        [
            new(Ipv6Prefix.Parse("2001:db8:1::/64"), PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous,
                PrefixInformation.InfiniteLifetime, PrefixInformation.InfiniteLifetime),
            new(Ipv6Prefix.Parse("2001:db8:2::/48"), PrefixInformationFlags.None, 3600, 0),
        ];
        Ipv6Address[] dns = [Ipv6Address.Parse("2001:db8::53"), Ipv6Address.Parse("2001:db8::35")];

        var repr = RoundTrip<RouterAdvertisement>(RaWithRdnssVector, RouterAdvertisement.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), MagLinkLocal, VmLinkLocal);
        Assert.Equal(new RouterAdvertisement(fields, MagMac, null, [.. prefixes], new RecursiveDnsServerOption(600, [.. dns])), repr);
        Assert.True(repr.Fields.IsManagedAddressConfiguration);
        Assert.True(repr.Fields.IsOtherConfiguration);

        var buffer = new byte[256];
        int n = Icmpv6Writer.WriteRouterAdvertisement(buffer, MagLinkLocal, VmLinkLocal, fields, MagMac, null, prefixes, 600, dns);
        Assert.Equal(RaWithRdnssVector, Hex.Of(buffer.AsSpan(0, n)));

        // The RDNSS view reads the addresses in place.
        Assert.True(RouterAdvertisementView.TryCreate(bytes, out var ra, out _));
        var options = ra.Options;
        while (options.MoveNext() && options.CurrentType != NdOptionType.RecursiveDnsServer) { }
        Assert.True(NdOption.TryReadRecursiveDnsServer(options.Current, out var rdnss, out _));
        Assert.Equal(600u, rdnss.Lifetime);
        Assert.Equal(2, rdnss.Count);
        var seen = new List<Ipv6Address>();
        foreach (var a in rdnss) seen.Add(a);
        Assert.Equal(dns, seen);
    }

    [Fact]
    public void Ra_repr_round_trips_to_the_scapy_bytes()
    {
        var repr = RoundTrip<RouterAdvertisement>(RaVector, RouterAdvertisement.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), MagLinkLocal, VmLinkLocal);
        Assert.Equal(1460u, repr.Mtu);
    }

    // ---------------------------------------------------------------- Router Solicitation

    [Fact]
    public void Rs_from_scapy_is_read_and_rebuilt()
    {
        var bytes = Hex.Bytes(RsVector);
        Assert.True(RouterSolicitationView.TryCreate(bytes, out var rs, out var err), err.ToString());
        Assert.True(rs.Packet.IsChecksumValid(VmLinkLocal, Ipv6Address.AllRouters));
        Assert.True(rs.TryGetSourceLinkLayerAddress(out var slla, out err));
        Assert.Equal(VmMac, slla);

        var repr = RoundTrip<RouterSolicitation>(RsVector, RouterSolicitation.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), VmLinkLocal, Ipv6Address.AllRouters);
        Assert.Equal(new RouterSolicitation(VmMac), repr);

        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteRouterSolicitation(buffer, VmLinkLocal, Ipv6Address.AllRouters, VmMac);
        Assert.Equal(RsVector, Hex.Of(buffer.AsSpan(0, n)));
    }

    // ---------------------------------------------------------------- Neighbor Solicitation

    [Fact]
    public void Ns_from_scapy_is_read_field_by_field()
    {
        var bytes = Hex.Bytes(NsVector);
        var group = MagLinkLocal.SolicitedNodeMulticast;
        Assert.Equal(Ipv6Address.Parse("ff02::1:ff00:5213"), group);
        Assert.True(Icmpv6Packet.TryCreate(bytes, VmLinkLocal, group, out var icmp, out var err), err.ToString());
        Assert.Equal(0x6efd, icmp.Checksum);

        Assert.True(NeighborSolicitationView.TryCreate(bytes, out var ns, out err), err.ToString());
        Assert.Equal(MagLinkLocal, ns.Target);
        Assert.True(ns.TryGetSourceLinkLayerAddress(out var slla, out err));
        Assert.Equal(VmMac, slla);

        Assert.True(NeighborSolicitation.TryParse(bytes, out var repr, out err));
        Assert.Equal(new NeighborSolicitation(MagLinkLocal, VmMac), repr);
    }

    [Fact]
    public void Ns_writer_and_repr_reproduce_the_scapy_bytes()
    {
        var group = MagLinkLocal.SolicitedNodeMulticast;
        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborSolicitation(buffer, VmLinkLocal, group, MagLinkLocal, VmMac);
        Assert.Equal(NsVector, Hex.Of(buffer.AsSpan(0, n)));
        RoundTrip<NeighborSolicitation>(NsVector, NeighborSolicitation.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), VmLinkLocal, group);
    }

    [Fact]
    public void Dad_ns_from_scapy_has_no_slla_and_is_rebuilt()
    {
        var group = VmGlobal.SolicitedNodeMulticast;
        var bytes = Hex.Bytes(DadNsVector);
        Assert.True(NeighborSolicitationView.TryCreate(bytes, out var ns, out var err), err.ToString());
        Assert.True(ns.Packet.IsChecksumValid(Ipv6Address.Unspecified, group));
        Assert.Equal(VmGlobal, ns.Target);
        Assert.True(ns.TryGetSourceLinkLayerAddress(out var slla, out _));
        Assert.Null(slla);

        var repr = RoundTrip<NeighborSolicitation>(DadNsVector, NeighborSolicitation.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), Ipv6Address.Unspecified, group);
        Assert.Equal(new NeighborSolicitation(VmGlobal, null), repr);

        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborSolicitation(buffer, Ipv6Address.Unspecified, group, VmGlobal, null);
        Assert.Equal(DadNsVector, Hex.Of(buffer.AsSpan(0, n)));
    }

    // ---------------------------------------------------------------- Neighbor Advertisement

    [Fact]
    public void Na_from_scapy_is_read_field_by_field()
    {
        var bytes = Hex.Bytes(NaVector);
        Assert.True(NeighborAdvertisementView.TryCreate(bytes, out var na, out var err), err.ToString());
        Assert.True(na.Packet.IsChecksumValid(MagLinkLocal, VmLinkLocal));
        Assert.Equal(0x0429, na.Packet.Checksum);
        Assert.True(na.IsRouter);
        Assert.True(na.IsSolicited);
        Assert.True(na.IsOverride);
        Assert.Equal(MagLinkLocal, na.Target);
        Assert.True(na.TryGetTargetLinkLayerAddress(out var tlla, out err));
        Assert.Equal(MagMac, tlla);

        Assert.True(NeighborAdvertisement.TryParse(bytes, out var repr, out err));
        var all = NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override;
        Assert.Equal(new NeighborAdvertisement(all, MagLinkLocal, MagMac), repr);
    }

    [Fact]
    public void Na_writer_and_repr_reproduce_the_scapy_bytes()
    {
        var all = NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override;
        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborAdvertisement(buffer, MagLinkLocal, VmLinkLocal, all, MagLinkLocal, MagMac);
        Assert.Equal(NaVector, Hex.Of(buffer.AsSpan(0, n)));
        RoundTrip<NeighborAdvertisement>(NaVector, NeighborAdvertisement.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), MagLinkLocal, VmLinkLocal);
    }

    [Fact]
    public void Unsolicited_na_from_a_migrated_guest_is_read_and_rebuilt()
    {
        var repr = RoundTrip<NeighborAdvertisement>(UnsolicitedNaVector, NeighborAdvertisement.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), VmGlobal, Ipv6Address.AllNodes);
        Assert.Equal(new NeighborAdvertisement(NeighborAdvertisementFlags.Override, VmGlobal, VmMac), repr);
        Assert.False(repr.IsRouter);
        Assert.False(repr.IsSolicited);
        Assert.True(repr.IsOverride);

        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborAdvertisement(buffer, VmGlobal, Ipv6Address.AllNodes, NeighborAdvertisementFlags.Override, VmGlobal, VmMac);
        Assert.Equal(UnsolicitedNaVector, Hex.Of(buffer.AsSpan(0, n)));
    }

    // ---------------------------------------------------------------- Packet Too Big and other errors

    [Fact]
    public void Ptb_from_scapy_is_read_and_rebuilt()
    {
        var bytes = Hex.Bytes(PtbVector);
        Assert.True(Icmpv6ErrorView.TryCreate(bytes, out var ptb, out var err), err.ToString());
        Assert.True(ptb.Packet.IsChecksumValid(MagGlobal, VmGlobal));
        Assert.Equal(Icmpv6Type.PacketTooBig, ptb.Type);
        Assert.True(ptb.Packet.IsError);
        Assert.Equal(1460u, ptb.Mtu);
        Assert.Equal(InnerPacket, Hex.Of(ptb.InvokingPacket));
        Assert.True(Ipv6Packet.TryCreate(ptb.InvokingPacket, out var inner, out err), err.ToString());
        Assert.Equal(VmGlobal, inner.Source);
        Assert.Equal(Remote, inner.Destination);

        var repr = RoundTrip<PacketTooBig>(PtbVector, PacketTooBig.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), MagGlobal, VmGlobal);
        Assert.Equal(new PacketTooBig(1460, new OctetString(Hex.Bytes(InnerPacket))), repr);

        var buffer = new byte[256];
        int n = Icmpv6Writer.WritePacketTooBig(buffer, MagGlobal, VmGlobal, 1460, Hex.Bytes(InnerPacket));
        Assert.Equal(PtbVector, Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void Ptb_for_a_1500_byte_packet_is_truncated_to_a_1280_byte_ipv6_packet_as_scapy_computed()
    {
        // Rebuild scapy's `big`: a 1500-byte IPv6 packet with no next header and a counting payload.
        var big = new byte[1500];
        Ipv6Packet.WriteHeader(big, VmGlobal, Remote, IpProtocol.NoNextHeader, 1460, hopLimit: 63);
        for (int i = 0; i < 1460; i++) big[Ipv6Packet.HeaderLength + i] = (byte)i;

        var buffer = new byte[1500];
        int n = Icmpv6Writer.WritePacketTooBig(buffer, MagGlobal, VmGlobal, 1460, big);
        Assert.Equal(1240, n);
        Assert.Equal(Icmpv6Packet.MinimumMtu, Ipv6Packet.HeaderLength + n);
        Assert.Equal(TruncatedPtbHeader, Hex.Of(buffer.AsSpan(0, 8)));
        Assert.True(buffer.AsSpan(8, 1232).SequenceEqual(big.AsSpan(0, 1232)));
        Assert.True(Icmpv6Packet.IsChecksumValid(buffer.AsSpan(0, n), MagGlobal, VmGlobal));

        // The parsed form holding the whole 1500 bytes writes the same truncated message.
        var repr = new PacketTooBig(1460, new OctetString(big));
        Assert.Equal(1240, repr.GetLength());
        var again = new byte[1500];
        Assert.Equal(1240, repr.WriteTo(again, MagGlobal, VmGlobal));
        Assert.True(again.AsSpan(0, n).SequenceEqual(buffer.AsSpan(0, n)));
    }

    [Theory]
    [InlineData(DestinationUnreachableVector, Icmpv6Type.DestinationUnreachable, 3, 0u)]
    [InlineData(TimeExceededVector, Icmpv6Type.TimeExceeded, 0, 0u)]
    [InlineData(ParameterProblemVector, Icmpv6Type.ParameterProblem, 1, 6u)]
    public void Error_messages_from_scapy_are_read_and_rebuilt(string vector, Icmpv6Type type, byte code, uint parameter)
    {
        var bytes = Hex.Bytes(vector);
        Assert.True(Icmpv6ErrorView.TryCreate(bytes, out var view, out var err), err.ToString());
        Assert.True(view.Packet.IsChecksumValid(MagGlobal, VmGlobal));
        Assert.Equal(type, view.Type);
        Assert.Equal(code, view.Code);
        Assert.Equal(parameter, view.Parameter);
        Assert.Equal(InnerPacket, Hex.Of(view.InvokingPacket));

        var repr = RoundTrip<Icmpv6ErrorMessage>(vector, Icmpv6ErrorMessage.TryParse, r => r.GetLength(),
            (r, b, s, d) => r.WriteTo(b, s, d), MagGlobal, VmGlobal);
        Assert.Equal(new Icmpv6ErrorMessage(type, code, parameter, new OctetString(Hex.Bytes(InnerPacket))), repr);

        var inner = Hex.Bytes(InnerPacket);
        var buffer = new byte[256];
        int n = type switch
        {
            Icmpv6Type.DestinationUnreachable =>
                Icmpv6Writer.WriteDestinationUnreachable(buffer, MagGlobal, VmGlobal, (DestinationUnreachableCode)code, inner),
            Icmpv6Type.TimeExceeded =>
                Icmpv6Writer.WriteTimeExceeded(buffer, MagGlobal, VmGlobal, (TimeExceededCode)code, inner),
            _ => Icmpv6Writer.WriteParameterProblem(buffer, MagGlobal, VmGlobal, (ParameterProblemCode)code, parameter, inner),
        };
        Assert.Equal(vector, Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void Error_message_factories_match_the_codes()
    {
        var inner = Hex.Bytes(InnerPacket);
        Assert.True(Icmpv6ErrorMessage.TryParse(Hex.Bytes(DestinationUnreachableVector), out var du, out _));
        Assert.Equal(Icmpv6ErrorMessage.DestinationUnreachable(DestinationUnreachableCode.AddressUnreachable, inner), du);
        Assert.True(Icmpv6ErrorMessage.TryParse(Hex.Bytes(TimeExceededVector), out var te, out _));
        Assert.Equal(Icmpv6ErrorMessage.TimeExceeded(TimeExceededCode.HopLimitExceededInTransit, inner), te);
        Assert.True(Icmpv6ErrorMessage.TryParse(Hex.Bytes(ParameterProblemVector), out var pp, out _));
        Assert.Equal(Icmpv6ErrorMessage.ParameterProblem(ParameterProblemCode.UnrecognizedNextHeaderType, 6, inner), pp);
    }

    // ---------------------------------------------------------------- Echo and Redirect

    [Fact]
    public void Echo_request_from_scapy_is_read_and_rebuilt()
    {
        var bytes = Hex.Bytes(EchoRequestVector);
        Assert.True(EchoView.TryCreate(bytes, out var echo, out var err), err.ToString());
        Assert.True(echo.Packet.IsChecksumValid(VmGlobal, MagGlobal));
        Assert.True(echo.IsRequest);
        Assert.Equal(0x1234, echo.Identifier);
        Assert.Equal(7, echo.SequenceNumber);
        Assert.Equal("ping"u8.ToArray(), echo.Data.ToArray());

        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteEchoRequest(buffer, VmGlobal, MagGlobal, 0x1234, 7, "ping"u8);
        Assert.Equal(EchoRequestVector, Hex.Of(buffer.AsSpan(0, n)));

        // The reply echoes everything back with type 129 and a checksum for the reversed addresses.
        n = Icmpv6Writer.WriteEchoReply(buffer, MagGlobal, VmGlobal, echo.Identifier, echo.SequenceNumber, echo.Data);
        Assert.True(EchoView.TryCreate(buffer.AsSpan(0, n), out var reply, out _));
        Assert.False(reply.IsRequest);
        Assert.True(reply.Packet.IsChecksumValid(MagGlobal, VmGlobal));
    }

    [Fact]
    public void Redirect_from_scapy_is_read_field_by_field()
    {
        var bytes = Hex.Bytes(RedirectVector);
        Assert.True(RedirectView.TryCreate(bytes, out var redirect, out var err), err.ToString());
        Assert.True(redirect.Packet.IsChecksumValid(MagLinkLocal, VmLinkLocal));
        Assert.Equal(Ipv6Address.Parse("fe80::1"), redirect.Target);
        Assert.Equal(Remote, redirect.Destination);

        var options = redirect.Options;
        Assert.True(options.MoveNext());
        Assert.Equal(NdOptionType.TargetLinkLayerAddress, options.CurrentType);
        Assert.True(NdOption.TryReadLinkLayerAddress(options.Current, out var mac, out _));
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:01"), mac);
        Assert.True(options.MoveNext());
        Assert.Equal(NdOptionType.RedirectedHeader, options.CurrentType);
        Assert.True(NdOption.TryReadRedirectedHeader(options.Current, out var packet, out _));
        Assert.Equal(InnerPacket, Hex.Of(packet));
        Assert.False(options.MoveNext());
        Assert.Equal(WireError.None, options.Error);
    }

    // ---------------------------------------------------------------- helpers

    private delegate bool Parser<T>(ReadOnlySpan<byte> icmpv6, out T repr, out WireError error);

    private delegate int Writer<T>(T repr, Span<byte> destination, Ipv6Address source, Ipv6Address destinationAddress);

    /// <summary>Parse the vector, check GetLength, write it back and compare; returns the parsed form.</summary>
    private static T RoundTrip<T>(string vector, Parser<T> parse, Func<T, int> length, Writer<T> write, Ipv6Address source, Ipv6Address destination)
    {
        var bytes = Hex.Bytes(vector);
        Assert.True(parse(bytes, out var repr, out var err), err.ToString());
        Assert.Equal(bytes.Length, length(repr));
        var buffer = new byte[bytes.Length + 16];
        Assert.Equal(bytes.Length, write(repr, buffer, source, destination));
        Assert.Equal(vector, Hex.Of(buffer.AsSpan(0, bytes.Length)));
        Assert.True(parse(buffer.AsSpan(0, bytes.Length), out var again, out _));
        Assert.Equal(repr, again);
        return repr;
    }
}
