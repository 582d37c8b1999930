namespace DataPlane.Wire.Tests;

/// <summary>
/// tshark judges the RFC 5844 options in PBUs and PBAs, the PBA statuses 170–173, the Reply statuses, and the
/// IPv4 access link's ARP and ICMP errors. Only numeric fields are compared: tshark 4.0 labels Reply statuses
/// 128–132 with Access Technology Type names (129 "PPP") — its numbers are right, its labels are not.
/// </summary>
public sealed class Ipv4TsharkJudgeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-tshark4-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Up(MobilityMessage m) => JudgeFrames.MobilityFrame(m, JudgeFrames.Mag, JudgeFrames.Lma, JudgeFrames.MagMac, JudgeFrames.LmaMac);

    private static byte[] Down(MobilityMessage m) => JudgeFrames.MobilityFrame(m, JudgeFrames.Lma, JudgeFrames.Mag, JudgeFrames.LmaMac, JudgeFrames.MagMac);

    private static readonly (string Name, Func<byte[]> Make)[] Frames =
    [
        ("IPv4-only PBU", () => Up(Ipv4JudgeFrames.Ipv4OnlyPbu())),
        ("PBA accepted", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.Accepted, Ipv4HomeAddressReplyStatus.Success, Ipv4JudgeFrames.Hoa, 24))),
        ("PBA 170", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.NotAuthorizedForIpv4MobilityService, Ipv4HomeAddressReplyStatus.AdministrativelyProhibited, Ipv4Address.Any, 0))),
        ("PBA 171", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.NotAuthorizedForIpv4HomeAddress, Ipv4HomeAddressReplyStatus.AdministrativelyProhibited, Ipv4JudgeFrames.Hoa, 24))),
        ("PBA 172", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.NotAuthorizedForIpv6MobilityService, Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, Ipv4Address.Any, 0))),
        ("PBA 173", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.MultipleIpv4HomeAddressAssignmentNotSupported, Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, Ipv4Address.Any, 0))),
        ("PBA 130", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.InsufficientResources, Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, Ipv4Address.Any, 0))),
        ("Reply 130", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.NotAuthorizedForIpv4HomeAddress, Ipv4HomeAddressReplyStatus.IncorrectIpv4HomeAddress, Ipv4JudgeFrames.Hoa, 24))),
        ("Reply 131", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.NotAuthorizedForIpv4HomeAddress, Ipv4HomeAddressReplyStatus.InvalidIpv4Address, Ipv4Address.Parse("224.0.0.1"), 24))),
        ("Reply 132", () => Down(Ipv4JudgeFrames.Pba(BindingAckStatus.InsufficientResources, Ipv4HomeAddressReplyStatus.DynamicIpv4HomeAddressAssignmentNotAvailable, Ipv4Address.Any, 0))),
        ("dual-stack refresh", () => Up(Ipv4JudgeFrames.DualStackRefresh())),
        ("proxy ARP", () => Ipv4JudgeFrames.ProxyArpReply(Ipv4JudgeFrames.Router)),
        ("time exceeded", () => Ipv4JudgeFrames.IcmpErrorToVm(fragmentationNeeded: false)),
        ("fragmentation needed", () => Ipv4JudgeFrames.IcmpErrorToVm(fragmentationNeeded: true)),
    ];

    private string WritePcap(string name)
    {
        var path = Path.Combine(_dir, name);
        using var w = new PcapWriter(File.Create(path));
        int second = 0;
        foreach (var (_, make) in Frames) w.Write(make(), TimeSpan.FromSeconds(1_700_000_000 + second++));
        return path;
    }

    [Fact]
    public void Tshark_decodes_the_rfc_5844_options_and_statuses_as_we_set_them()
    {
        var d = Tshark.Fields(WritePcap("ipv4.pcap"),
            "mip6.mhtype", "mip6.ba.status", "mip6.nemo.mnp.mnp", "mip6.hi",
            "mip6.ipv4ha.preflen", "mip6.ipv4ha.ha", "mip6.ipv4aa.sts", "mip6.ipv4dra.dra", "mip6.ipv4dsm.s_flag",
            "mip6.mnid.identifier",
            "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4", "eth.src", "eth.dst",
            "ip.src", "ip.dst", "ip.checksum.status", "icmp.type", "icmp.code", "icmp.checksum.status", "icmp.mtu");
        Assert.Equal(Frames.Length, d.Count);

        // 1. PBU of an IPv4-only VM: the Request (ALL_ZERO), no HNP.
        Assert.Equal(("5", "", "0", "0.0.0.0"), (d[1]["mip6.mhtype"], d[1]["mip6.nemo.mnp.mnp"], d[1]["mip6.ipv4ha.preflen"], d[1]["mip6.ipv4ha.ha"]));
        Assert.Equal("vm1@example.com", d[1]["mip6.mnid.identifier"]);

        // 2. Accepted: Reply 0 with the address and home prefix length, DRA, DHCP Support Mode S = 1.
        Assert.Equal(("6", "0", "0", "24", "10.200.0.5"), (d[2]["mip6.mhtype"], d[2]["mip6.ba.status"], d[2]["mip6.ipv4aa.sts"], d[2]["mip6.ipv4ha.preflen"], d[2]["mip6.ipv4ha.ha"]));
        Assert.Equal(("10.200.0.1", "1"), (d[2]["mip6.ipv4dra.dra"], d[2]["mip6.ipv4dsm.s_flag"]));

        // 3–10. Rejections: the PBA status and the Reply's own, numerically; no DRA, no DSM.
        foreach (var (frame, status, reply) in new[]
        {
            (3, "170", "129"), (4, "171", "129"), (5, "172", "128"), (6, "173", "128"), (7, "130", "128"), (8, "171", "130"), (9, "171", "131"), (10, "130", "132"),
        })
        {
            Assert.Equal((status, reply), (d[frame]["mip6.ba.status"], d[frame]["mip6.ipv4aa.sts"]));
            Assert.Equal(("", ""), (d[frame]["mip6.ipv4dra.dra"], d[frame]["mip6.ipv4dsm.s_flag"]));
        }
        Assert.Equal("224.0.0.1", d[9]["mip6.ipv4ha.ha"]);

        // 11. A dual-stack refresh: HNP and the assigned address.
        Assert.Equal(("2001:db8:1::", "5", "24", "10.200.0.5"), (d[11]["mip6.nemo.mnp.mnp"], d[11]["mip6.hi"], d[11]["mip6.ipv4ha.preflen"], d[11]["mip6.ipv4ha.ha"]));

        // 12. Proxy ARP: a reply from the shared MAC for the default router's address.
        var arp = d[12];
        Assert.Equal(("2", "00:00:5e:00:52:13", "10.200.0.1"), (arp["arp.opcode"], arp["arp.src.hw_mac"], arp["arp.src.proto_ipv4"]));
        Assert.Equal(("52:54:00:12:34:56", "10.200.0.5", "00:00:5e:00:52:13", "52:54:00:12:34:56"),
            (arp["arp.dst.hw_mac"], arp["arp.dst.proto_ipv4"], arp["eth.src"], arp["eth.dst"]));

        // 13, 14. ICMP errors from the default router (the quoted packet's addresses follow the outer ones).
        const string Good = "1";
        Assert.Equal(("10.200.0.1,10.200.0.5", "11", "0", Good), (d[13]["ip.src"], d[13]["icmp.type"], d[13]["icmp.code"], d[13]["icmp.checksum.status"]));
        Assert.Equal(("3", "4", "1460", Good), (d[14]["icmp.type"], d[14]["icmp.code"], d[14]["icmp.mtu"], d[14]["icmp.checksum.status"]));
    }

    [Fact]
    public void Tshark_has_no_complaint_about_any_ipv4_frame() => Assert.Empty(Tshark.Complaints(WritePcap("clean4.pcap")));
}
