using System.Buffers.Binary;

namespace DataPlane.Wire.Tests;

/// <summary>
/// tshark as the independent judge of our wire format: a pcap of frames made only by our builders,
/// decoded by Wireshark's dissectors, must show exactly the values we set and no complaint. The MH
/// checksum, which tshark does not check, is verified against a separately written sum.
/// </summary>
public sealed class TsharkJudgeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-tshark-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly (string Name, Func<byte[]> Make)[] Frames =
    [
        ("PBU", () => JudgeFrames.MobilityFrame(JudgeFrames.Pbu(), JudgeFrames.Mag, JudgeFrames.Lma, JudgeFrames.MagMac, JudgeFrames.LmaMac)),
        ("PBA accepted", () => JudgeFrames.MobilityFrame(JudgeFrames.Pba(BindingAckStatus.Accepted), JudgeFrames.Lma, JudgeFrames.Mag, JudgeFrames.LmaMac, JudgeFrames.MagMac)),
        ("PBA rejected", () => JudgeFrames.MobilityFrame(JudgeFrames.Pba(BindingAckStatus.MagNotAuthorizedForProxyRegistration), JudgeFrames.Lma, JudgeFrames.Mag, JudgeFrames.LmaMac, JudgeFrames.MagMac)),
        ("Heartbeat", () => JudgeFrames.MobilityFrame(JudgeFrames.Heartbeat(), JudgeFrames.Lma, JudgeFrames.Mag, JudgeFrames.LmaMac, JudgeFrames.MagMac)),
        ("RA", JudgeFrames.UnicastRouterAdvertisement),
        ("NS", JudgeFrames.NeighborSolicitation),
        ("NA", JudgeFrames.NeighborAdvertisement),
        ("IPv6-in-IPv6 TCP", JudgeFrames.Ipv6InIpv6Tcp),
        ("IPv4-in-IPv6 UDP", JudgeFrames.Ipv4InIpv6Udp),
        ("DHCP offer", JudgeFrames.DhcpOffer),
    ];

    private string WritePcap(string name, IEnumerable<byte[]> frames)
    {
        var path = Path.Combine(_dir, name);
        using var w = new PcapWriter(File.Create(path));
        int second = 0;
        foreach (var f in frames) w.Write(f, TimeSpan.FromSeconds(1_700_000_000 + second++));
        return path;
    }

    [Fact]
    public void Tshark_decodes_exactly_the_values_we_set()
    {
        var pcap = WritePcap("judge.pcap", Frames.Select(f => f.Make()));
        var d = Tshark.Fields(pcap,
            "mip6.mhtype", "mip6.bu.seqnr", "mip6.bu.a_flag", "mip6.bu.h_flag", "mip6.bu.p_flag", "mip6.bu.lifetime",
            "mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl", "mip6.hi", "mip6.att", "mip6.mnlli.lli", "mip6.lila_lla",
            "mip6.mnid.subtype", "mip6.mnid.identifier", "mip6.timestamp_tmp",
            "mip6.ba.status", "mip6.ba.p_flag", "mip6.ba.seqnr", "mip6.ba.lifetime",
            "mip6.ipv4aa.sts", "mip6.ipv4ha.preflen", "mip6.ipv4ha.ha", "mip6.ipv4dra.dra",
            "mip6.hb.u_flag", "mip6.hb.r_flag", "mip6.hb.seqnr", "mip6.rc",
            "eth.dst", "eth.src", "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim",
            "icmpv6.type", "icmpv6.checksum.status", "icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.router_lifetime",
            "icmpv6.opt.prefix", "icmpv6.opt.prefix.length", "icmpv6.opt.prefix.flag.l", "icmpv6.opt.prefix.flag.a",
            "icmpv6.opt.prefix.valid_lifetime", "icmpv6.opt.prefix.preferred_lifetime", "icmpv6.opt.mtu", "icmpv6.opt.linkaddr",
            "icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address", "icmpv6.nd.na.flag.r", "icmpv6.nd.na.flag.s", "icmpv6.nd.na.flag.o",
            "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.checksum.status",
            "ip.src", "ip.dst", "ip.ttl", "ip.checksum.status", "udp.srcport", "udp.dstport", "udp.checksum.status",
            "dhcp.option.dhcp", "dhcp.id", "dhcp.hw.mac_addr", "dhcp.ip.your", "dhcp.option.dhcp_server_id",
            "dhcp.option.ip_address_lease_time", "dhcp.option.subnet_mask", "dhcp.option.router");

        Assert.Equal(Frames.Length, d.Count);
        const string Good = "1"; // Wireshark: 0 bad, 1 good, 2 unverified

        // 1. PBU
        var pbu = d[1];
        Assert.Equal("5", pbu["mip6.mhtype"]);
        Assert.Equal("1", pbu["mip6.bu.seqnr"]);
        Assert.Equal(("1", "1", "1"), (pbu["mip6.bu.a_flag"], pbu["mip6.bu.h_flag"], pbu["mip6.bu.p_flag"]));
        Assert.Equal("900", pbu["mip6.bu.lifetime"]);
        Assert.Equal(("2001:db8:1::", "64"), (pbu["mip6.nemo.mnp.mnp"], pbu["mip6.nemo.mnp.pfl"]));
        Assert.Equal("1", pbu["mip6.hi"]);
        Assert.Equal("1", pbu["mip6.att"]);
        Assert.Equal("525400123456", pbu["mip6.mnlli.lli"]);
        Assert.Equal(JudgeFrames.SharedLinkLocal.ToString(), pbu["mip6.lila_lla"]);
        Assert.Equal(("1", "vm1@example.com"), (pbu["mip6.mnid.subtype"], pbu["mip6.mnid.identifier"]));
        Assert.Contains("Nov 14, 2023 22:13:20.500000000", pbu["mip6.timestamp_tmp"]);
        Assert.Equal(("2001:db8:100::2", "2001:db8:100::1", "135"), (pbu["ipv6.src"], pbu["ipv6.dst"], pbu["ipv6.nxt"]));

        // 2, 3. PBA accepted and rejected
        foreach (var (frame, status, lifetime) in new[] { (2, "0", "900"), (3, "154", "0") })
        {
            var pba = d[frame];
            Assert.Equal("6", pba["mip6.mhtype"]);
            Assert.Equal(status, pba["mip6.ba.status"]);
            Assert.Equal("1", pba["mip6.ba.p_flag"]);
            Assert.Equal("1", pba["mip6.ba.seqnr"]);
            Assert.Equal(lifetime, pba["mip6.ba.lifetime"]);
            Assert.Equal("2001:db8:1::", pba["mip6.nemo.mnp.mnp"]);
            Assert.Equal("vm1@example.com", pba["mip6.mnid.identifier"]);
            Assert.Equal(("0", "24", "192.0.2.10"), (pba["mip6.ipv4aa.sts"], pba["mip6.ipv4ha.preflen"], pba["mip6.ipv4ha.ha"]));
            Assert.Equal("192.0.2.1", pba["mip6.ipv4dra.dra"]);
        }

        // 4. Heartbeat response with Restart Counter
        var hb = d[4];
        Assert.Equal("13", hb["mip6.mhtype"]);
        Assert.Equal(("0", "1", "77", "3"), (hb["mip6.hb.u_flag"], hb["mip6.hb.r_flag"], hb["mip6.hb.seqnr"], hb["mip6.rc"]));

        // 5. Unicast RA: to the VM's MAC and link-local, from the shared MAC/link-local, only its prefix
        var ra = d[5];
        Assert.Equal(("134", Good), (ra["icmpv6.type"], ra["icmpv6.checksum.status"]));
        Assert.Equal(("52:54:00:12:34:56", "00:00:5e:00:52:13"), (ra["eth.dst"], ra["eth.src"]));
        Assert.Equal((JudgeFrames.SharedLinkLocal.ToString(), JudgeFrames.VmLinkLocal.ToString(), "255"), (ra["ipv6.src"], ra["ipv6.dst"], ra["ipv6.hlim"]));
        Assert.Equal(("64", "1800"), (ra["icmpv6.nd.ra.cur_hop_limit"], ra["icmpv6.nd.ra.router_lifetime"]));
        Assert.Equal(("2001:db8:1::", "64", "1", "1"), (ra["icmpv6.opt.prefix"], ra["icmpv6.opt.prefix.length"], ra["icmpv6.opt.prefix.flag.l"], ra["icmpv6.opt.prefix.flag.a"]));
        Assert.Equal(("3600", "1800"), (ra["icmpv6.opt.prefix.valid_lifetime"], ra["icmpv6.opt.prefix.preferred_lifetime"]));
        Assert.Equal(("1460", "00:00:5e:00:52:13"), (ra["icmpv6.opt.mtu"], ra["icmpv6.opt.linkaddr"]));

        // 6, 7. NS (NUD probe) and NA
        Assert.Equal(("135", Good, JudgeFrames.VmLinkLocal.ToString(), "00:00:5e:00:52:13"),
            (d[6]["icmpv6.type"], d[6]["icmpv6.checksum.status"], d[6]["icmpv6.nd.ns.target_address"], d[6]["icmpv6.opt.linkaddr"]));
        var na = d[7];
        Assert.Equal(("136", Good, JudgeFrames.SharedLinkLocal.ToString()), (na["icmpv6.type"], na["icmpv6.checksum.status"], na["icmpv6.nd.na.target_address"]));
        Assert.Equal(("1", "1", "1"), (na["icmpv6.nd.na.flag.r"], na["icmpv6.nd.na.flag.s"], na["icmpv6.nd.na.flag.o"]));

        // 8. IPv6-in-IPv6: outer Proxy-CoA → LMA with next header 41, inner VM → client TCP
        var v6v6 = d[8];
        Assert.Equal(("2001:db8:100::2," + JudgeFrames.VmAddress, "2001:db8:100::1,2001:db8:2::10"), (v6v6["ipv6.src"], v6v6["ipv6.dst"]));
        Assert.Equal(("41,6", "64,63"), (v6v6["ipv6.nxt"], v6v6["ipv6.hlim"]));
        Assert.Equal(("40000", "80", "1000", Good), (v6v6["tcp.srcport"], v6v6["tcp.dstport"], v6v6["tcp.seq_raw"], v6v6["tcp.checksum.status"]));

        // 9. IPv4-in-IPv6
        var v4v6 = d[9];
        Assert.Equal(("2001:db8:100::2", "4"), (v4v6["ipv6.src"], v4v6["ipv6.nxt"]));
        Assert.Equal(("192.0.2.10", "198.51.100.20", "63", Good), (v4v6["ip.src"], v4v6["ip.dst"], v4v6["ip.ttl"], v4v6["ip.checksum.status"]));
        Assert.Equal(("5000", "6000", Good), (v4v6["udp.srcport"], v4v6["udp.dstport"], v4v6["udp.checksum.status"]));

        // 10. DHCPv4 OFFER
        var dhcp = d[10];
        Assert.Equal(("2", "0x3903f326", "52:54:00:12:34:56"), (dhcp["dhcp.option.dhcp"], dhcp["dhcp.id"], dhcp["dhcp.hw.mac_addr"]));
        Assert.Equal(("192.0.2.10", "192.0.2.1", "3600"), (dhcp["dhcp.ip.your"], dhcp["dhcp.option.dhcp_server_id"], dhcp["dhcp.option.ip_address_lease_time"]));
        Assert.Equal(("255.255.255.0", "192.0.2.1"), (dhcp["dhcp.option.subnet_mask"], dhcp["dhcp.option.router"]));
        Assert.Equal((Good, Good), (dhcp["ip.checksum.status"], dhcp["udp.checksum.status"]));
    }

    [Fact]
    public void Tshark_has_no_complaint_about_any_frame()
    {
        var pcap = WritePcap("clean.pcap", Frames.Select(f => f.Make()));
        Assert.Empty(Tshark.Complaints(pcap));
    }

    [Fact]
    public void The_judge_does_catch_bad_frames()
    {
        // A judge that never complains proves nothing: corrupt a TCP checksum and cut a PBU short.
        var tcp = JudgeFrames.Ipv6InIpv6Tcp();
        tcp[^1] ^= 0x55;
        var pbu = JudgeFrames.MobilityFrame(JudgeFrames.Pbu(), JudgeFrames.Mag, JudgeFrames.Lma, JudgeFrames.MagMac, JudgeFrames.LmaMac);
        var cut = pbu[..(pbu.Length - 20)];
        var complaints = Tshark.Complaints(WritePcap("bad.pcap", [tcp, cut]));
        Assert.Contains(complaints, c => c.Contains("checksum", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(complaints, c => c.StartsWith("malformed", StringComparison.Ordinal));
    }

    [Fact]
    public void Mobility_header_checksums_verify_against_an_independent_sum()
    {
        foreach (var (name, make) in Frames.Take(4))
        {
            var f = make();
            var mh = f.AsSpan(54);
            ushort carried = BinaryPrimitives.ReadUInt16BigEndian(mh[4..]);
            mh[4] = 0;
            mh[5] = 0;
            Assert.True(carried == NaiveChecksum(f.AsSpan(22, 16), f.AsSpan(38, 16), mh), name);
        }
    }

    /// <summary>
    /// RFC 1071 written the slow, obvious way, sharing no code with InternetChecksum: the pseudo-header
    /// (RFC 8200 §8.1) as bytes, then 16-bit big-endian words with end-around carry.
    /// </summary>
    private static ushort NaiveChecksum(ReadOnlySpan<byte> src, ReadOnlySpan<byte> dst, ReadOnlySpan<byte> mh)
    {
        var all = new List<byte>();
        all.AddRange(src.ToArray());
        all.AddRange(dst.ToArray());
        all.AddRange([(byte)(mh.Length >> 24), (byte)(mh.Length >> 16), (byte)(mh.Length >> 8), (byte)mh.Length, 0, 0, 0, 135]);
        all.AddRange(mh.ToArray());
        if (all.Count % 2 == 1) all.Add(0);
        long sum = 0;
        for (int i = 0; i < all.Count; i += 2) sum += (all[i] << 8) | all[i + 1];
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)(~sum & 0xFFFF);
    }
}
