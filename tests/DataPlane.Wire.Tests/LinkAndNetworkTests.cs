namespace DataPlane.Wire.Tests;

public class LinkAndNetworkTests
{
    [Fact]
    public void Vlan_tagged_ipv6_with_extension_headers_classifies_to_tcp()
    {
        var frame = Hex.Bytes(SampleFrames.VlanIpv6ExtTcp);
        Assert.True(EthernetFrame.TryCreate(frame, out var eth, out _));
        Assert.True(eth.HasVlanTag);
        Assert.Equal(42, eth.VlanId);
        Assert.Equal(3, eth.TagControl >> 13);
        Assert.Equal(EtherType.Ipv6, eth.EtherType);
        Assert.Equal(MacAddress.Parse("00:00:5e:00:52:13"), eth.Destination);
        Assert.Equal(MacAddress.Parse("52:54:00:12:34:56"), eth.Source);

        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip, out _));
        Assert.Equal(0x12345u, ip.FlowLabel);
        Assert.Equal(64, ip.HopLimit);
        Assert.Equal(Ipv6Address.Parse("2001:db8:1::5054:ff:fe12:3456"), ip.Source);
        Assert.Equal(Ipv6Address.Parse("2001:db8:2::1"), ip.Destination);
        Assert.Equal(IpProtocol.HopByHop, ip.NextHeader);

        Assert.True(ip.TryWalkHeaders(out var chain, out var err), err.ToString());
        Assert.Equal(IpProtocol.Tcp, chain.UpperLayer);
        Assert.Equal(24, chain.UpperLayerOffset);
        Assert.Equal(3, chain.ExtensionHeaderCount);
        Assert.True(chain.IsFragment);
        Assert.True(chain.MoreFragments);
        Assert.Equal(0, chain.FragmentOffset);

        FrameClassifier.Classify(frame, out var info);
        Assert.Equal(FrameKind.Ipv6, info.Kind);
        Assert.Equal(IpProtocol.Tcp, info.UpperLayer);
        Assert.Equal(18 + 40 + 24, info.UpperLayerOffset);
        Assert.Equal(40000, info.SourcePort);
        Assert.Equal(5201, info.DestinationPort);
    }

    [Fact]
    public void Gratuitous_arp_and_qemu_rarp_are_recognised()
    {
        var garp = Hex.Bytes(SampleFrames.GratuitousArp);
        FrameClassifier.Classify(garp, out var info);
        Assert.Equal(FrameKind.Arp, info.Kind);
        Assert.True(ArpRepr.TryParse(garp.AsSpan(14), out var a, out _));
        Assert.Equal(ArpOperation.Request, a.Operation);
        Assert.Equal(new Ipv4Address(192, 0, 2, 10), a.SenderProtocolAddress);
        Assert.True(ArpPacket.TryCreate(garp.AsSpan(14), out var view, out _));
        Assert.True(view.IsGratuitous);
        var rebuilt = new byte[28];
        a.WriteTo(rebuilt);
        Assert.Equal(garp.AsSpan(14).ToArray(), rebuilt);

        var rarp = Hex.Bytes(SampleFrames.QemuRarp);
        FrameClassifier.Classify(rarp, out info);
        Assert.Equal(FrameKind.Rarp, info.Kind);
        Assert.True(ArpRepr.TryParse(rarp.AsSpan(14), out var r, out _));
        Assert.Equal(ArpOperation.ReverseRequest, r.Operation);
        Assert.Equal(MacAddress.Parse("52:54:00:12:34:56"), r.TargetHardwareAddress);
    }

    [Fact]
    public void Ipv4_header_with_options_parses_and_checksums()
    {
        var bytes = Hex.Bytes(SampleFrames.Ipv4UdpWithOptions);
        Assert.True(Ipv4Packet.TryCreate(bytes, out var ip, out _));
        Assert.Equal(24, ip.HeaderLength);
        Assert.Equal(37, ip.TotalLength);
        Assert.Equal(0xabcd, ip.Identification);
        Assert.True(ip.DontFragment);
        Assert.False(ip.IsFragment);
        Assert.Equal(17, ip.TimeToLive);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(Ipv4Address.Parse("192.0.2.1"), ip.Source);
        Assert.Equal(Ipv4Address.Parse("198.51.100.7"), ip.Destination);
        Assert.True(ip.IsHeaderChecksumValid);
        Assert.Equal(13, ip.Payload.Length);

        Assert.True(ip.TryDecrementTimeToLive());
        Assert.Equal(16, ip.TimeToLive);
        Assert.True(ip.IsHeaderChecksumValid); // patched incrementally (RFC 1624)

        bytes[10] ^= 0xFF;
        Assert.True(Ipv4Packet.TryCreate(bytes, out ip, out _));
        Assert.False(ip.IsHeaderChecksumValid);
    }

    [Fact]
    public void Ipv4_header_builder_matches_scapy()
    {
        // IP(src="192.0.2.1", dst="198.51.100.7", ttl=17, id=0xabcd, flags="DF", proto=17) with a 13-byte payload.
        var b = new byte[20];
        Ipv4Packet.WriteHeader(b, Ipv4Address.Parse("192.0.2.1"), Ipv4Address.Parse("198.51.100.7"), IpProtocol.Udp, 13, ttl: 17, identification: 0xabcd);
        Assert.True(Ipv4Packet.TryCreate(b.Concat(new byte[13]).ToArray(), out var ip, out _));
        Assert.True(ip.IsHeaderChecksumValid);
        Assert.Equal("45000021abcd40001111", Hex.Of(b.AsSpan(0, 10)));
    }

    [Theory]
    [InlineData("", WireError.Truncated)]
    [InlineData("00112233445566778899aabb81", WireError.Truncated)]
    [InlineData("00112233445566778899aabb8100002a86", WireError.Truncated)]
    public void Short_ethernet_frames_are_truncated(string hex, WireError expected)
    {
        Assert.False(EthernetFrame.TryCreate(Hex.Bytes(hex), out _, out var err));
        Assert.Equal(expected, err);
    }

    [Fact]
    public void Ipv4_rejects_bad_version_and_lengths()
    {
        var good = Hex.Bytes(SampleFrames.Ipv4UdpWithOptions);
        var b = (byte[])good.Clone();
        b[0] = 0x66;
        Assert.False(Ipv4Packet.TryCreate(b, out _, out var err));
        Assert.Equal(WireError.BadVersion, err);
        b = (byte[])good.Clone();
        b[0] = 0x44; // IHL 16 bytes
        Assert.False(Ipv4Packet.TryCreate(b, out _, out err));
        Assert.Equal(WireError.BadLength, err);
        b = (byte[])good.Clone();
        b[3] = 0xff; // total length past the buffer
        Assert.False(Ipv4Packet.TryCreate(b, out _, out err));
        Assert.Equal(WireError.Truncated, err);
    }

    [Fact]
    public void Ipv6_view_is_cut_to_payload_length_and_rejects_lies()
    {
        var frame = Hex.Bytes(SampleFrames.VlanIpv6ExtTcp);
        var ip6 = frame.AsSpan(18).ToArray().Concat(new byte[10]).ToArray(); // trailing padding
        Assert.True(Ipv6Packet.TryCreate(ip6, out var ip, out _));
        Assert.Equal(40 + 44, ip.Buffer.Length);

        ip6[4] = 0xff; // payload length past the buffer
        Assert.False(Ipv6Packet.TryCreate(ip6, out _, out var err));
        Assert.Equal(WireError.Truncated, err);

        ip6[0] = 0x40;
        Assert.False(Ipv6Packet.TryCreate(ip6, out _, out err));
        Assert.Equal(WireError.BadVersion, err);
    }

    [Fact]
    public void Extension_header_walk_rejects_hostile_chains()
    {
        // Hop-by-hop not first.
        Assert.False(Ipv6HeaderChain.TryWalk(Hex.Bytes("0000010400000000"), IpProtocol.DestinationOptions, out _, out var err));
        Assert.Equal(WireError.BadValue, err);
        // Option TLV running past its header.
        Assert.False(Ipv6HeaderChain.TryWalk(Hex.Bytes("0600010800000000"), IpProtocol.HopByHop, out _, out err));
        Assert.Equal(WireError.BadOption, err);
        // Header length past the buffer.
        Assert.False(Ipv6HeaderChain.TryWalk(Hex.Bytes("0601010400000000"), IpProtocol.DestinationOptions, out _, out err));
        Assert.Equal(WireError.Truncated, err);
        // Nine destination-options headers in a row.
        var many = string.Concat(Enumerable.Repeat("3c00010400000000", 9)) + "3b00010400000000";
        Assert.False(Ipv6HeaderChain.TryWalk(Hex.Bytes(many), IpProtocol.DestinationOptions, out _, out err));
        Assert.Equal(WireError.TooManyHeaders, err);
        // A non-first fragment ends the walk without reading an upper-layer header.
        Assert.True(Ipv6HeaderChain.TryWalk(Hex.Bytes("0600005100001234"), IpProtocol.Fragment, out var chain, out _));
        Assert.Equal(80, chain.FragmentOffset);
        Assert.True(chain.MoreFragments);
        Assert.Equal(8, chain.UpperLayerOffset);
    }

    [Fact]
    public void Addresses_format_parse_and_derive()
    {
        var mac = MacAddress.Parse("00-00-5E-00-52-13");
        Assert.Equal("00:00:5e:00:52:13", mac.ToString());
        Assert.Equal(Ipv6Address.Parse("fe80::200:5eff:fe00:5213"), Ipv6Address.LinkLocalFromMac(mac));
        Assert.True(Ipv6Address.Parse("fe80::1").IsLinkLocal);
        Assert.False(Ipv6Address.Parse("fec0::1").IsLinkLocal);
        Assert.Equal(Ipv6Address.Parse("ff02::1:ff12:3456"), Ipv6Address.Parse("2001:db8::5054:ff:fe12:3456").SolicitedNodeMulticast);
        Assert.Equal(MacAddress.Parse("33:33:ff:12:34:56"), MacAddress.ForIpv6Multicast(Ipv6Address.Parse("ff02::1:ff12:3456")));
        Assert.True(MacAddress.Parse("33:33:00:00:00:01").IsMulticast);
        Assert.False(MacAddress.TryParse("00:11:22:33:44", out _));
        Assert.False(MacAddress.TryParse("00:11:22:33:44:zz", out _));

        var p = Ipv6Prefix.Parse("2001:db8:1:2:3::/48");
        Assert.Equal("2001:db8:1::/48", p.ToString());
        Assert.True(p.Contains(Ipv6Address.Parse("2001:db8:1:ffff::1")));
        Assert.False(p.Contains(Ipv6Address.Parse("2001:db8:2::1")));
        Assert.Equal(Ipv6Address.Parse("2001:db8:1::abcd"), Ipv6Prefix.Parse("2001:db8:1::/64").WithInterfaceIdentifier(0xabcd));
        Assert.False(Ipv6Prefix.TryParse("2001:db8::/129", out _));
        Assert.False(Ipv6Prefix.TryParse("2001:db8::", out _));
        Assert.Equal(Ipv6Address.Parse("2001:db8::8000:0:0:0"), Ipv6Prefix.Mask(Ipv6Address.Parse("2001:db8::ffff:ffff:ffff:ffff"), 65));
    }

    [Fact]
    public void Checksum_matches_rfc1071_example_and_combines_in_pieces()
    {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (before complement).
        var data = Hex.Bytes("0001f203f4f5f6f7");
        Assert.Equal(0xddf2 ^ 0xffff, InternetChecksum.Compute(data));
        // Odd length, split at an even boundary, gives the same answer as one pass.
        var odd = Hex.Bytes("0102030405060708090a0b0c0d0e0f1011");
        uint whole = InternetChecksum.Sum(odd);
        uint pieces = InternetChecksum.Add(InternetChecksum.Sum(odd.AsSpan(0, 10)), InternetChecksum.Sum(odd.AsSpan(10)));
        Assert.Equal(InternetChecksum.Finish(whole), InternetChecksum.Finish(pieces));
        // A naive 16-bit reference.
        uint naive = 0;
        for (int i = 0; i < odd.Length; i += 2) naive += (uint)(odd[i] << 8 | (i + 1 < odd.Length ? odd[i + 1] : 0));
        while (naive > 0xFFFF) naive = (naive & 0xFFFF) + (naive >> 16);
        Assert.Equal((ushort)~naive, InternetChecksum.Finish(whole));
    }

    [Fact]
    public void Ipv4_udp_checksum_from_scapy_verifies_with_the_pseudo_header()
    {
        var bytes = Hex.Bytes(SampleFrames.Ipv4UdpWithOptions);
        Assert.True(Ipv4Packet.TryCreate(bytes, out var ip, out _));
        Assert.True(InternetChecksum.Verify(ip.Payload, ip.PseudoHeaderSum));
    }
}

public class EthernetTagTests
{
    [Fact]
    public void Qinq_frame_reports_the_inner_ethertype()
    {
        // dst, src, 88a8 (S-tag vid 100), 8100 (C-tag vid 42), 86dd
        var f = Hex.Bytes("00005e005213525400123456" + "88a80064" + "8100002a" + "86dd" + "00");
        Assert.True(EthernetFrame.TryCreate(f, out var eth, out _));
        Assert.Equal(22, eth.HeaderSize);
        Assert.Equal(EtherType.Ipv6, eth.EtherType);
        Assert.Equal(100, eth.VlanId);
        Assert.False(EthernetFrame.TryCreate(f.AsSpan(0, 19), out _, out var err));
        Assert.Equal(WireError.Truncated, err);
    }
}
