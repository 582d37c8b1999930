namespace DataPlane.Datapath.Tests;

/// <summary>
/// Frames made independently by scapy 2.5.0 (Debian python3-scapy, /usr/bin/python3), as
/// <c>bytes(pkt).hex()</c>, so the data path's input and expected output are not only what our own
/// builders make. Addresses: VM 52:54:00:12:34:56 / fe80::5054:ff:fe12:3456 / 2001:db8:1::5054:ff:fe12:3456
/// (HNP 2001:db8:1::/64); shared MAG 00:00:5e:00:52:13 / fe80::200:5eff:fe00:5213; client 2001:db8:2::1.
/// </summary>
internal static class ScapyVectors
{
    // Ether(dst="33:33:00:00:00:02", src=vm)/IPv6(src=vmll, dst="ff02::2", hlim=255)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=vm)
    public const string RouterSolicitation =
        "33330000000252540012345686dd6000000000103afffe80000000000000505400fffe123456ff020000000000000000000000000002850071b5000000000101525400123456";

    // Ether(dst="33:33:ff:00:52:13", src=vm)/IPv6(src=vmll, dst="ff02::1:ff00:5213", hlim=255)/ICMPv6ND_NS(tgt=shll)/ICMPv6NDOptSrcLLAddr(lladdr=vm)
    public const string NeighborSolicitationForSharedLinkLocal =
        "3333ff00521352540012345686dd6000000000203afffe80000000000000505400fffe123456ff0200000000000000000001ff00521387006efd00000000fe8000000000000002005efffe0052130101525400123456";

    // The answer we must give: Ether(dst=vm, src=sh)/IPv6(src=shll, dst=vmll, hlim=255)
    //  /ICMPv6ND_NA(R=1, S=1, O=1, tgt=shll)/ICMPv6NDOptDstLLAddr(lladdr=sh)
    public const string NeighborAdvertisementFromMag =
        "52540012345600005e00521386dd6000000000203afffe8000000000000002005efffe005213fe80000000000000505400fffe12345688000429e0000000fe8000000000000002005efffe005213020100005e005213";

    // The RA we must send after the PBA: Ether(dst=vm, src=sh)/IPv6(src=shll, dst=vmll, hlim=255)
    //  /ICMPv6ND_RA(chlim=64, M=0, O=0, H=0, prf=0, routerlifetime=1800, reachabletime=0, retranstimer=0)
    //  /ICMPv6NDOptSrcLLAddr(lladdr=sh)/ICMPv6NDOptMTU(mtu=1460)
    //  /ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64, L=1, A=1, R=0, validlifetime=3599, preferredlifetime=3599)
    public const string RouterAdvertisementFromMag =
        "52540012345600005e00521386dd6000000000403afffe8000000000000002005efffe005213fe80000000000000505400fffe1234568600b744400007080000000000000000010100005e00521305010000000005b4030440c000000e0f00000e0f0000000020010db8000100000000000000000000";

    // A rogue RA from the VM: Ether(dst="33:33:00:00:00:01", src=vm)/IPv6(src=vmll, dst="ff02::1", hlim=255)
    //  /ICMPv6ND_RA(routerlifetime=1800)/ICMPv6NDOptPrefixInfo(prefix="2001:db8:66::", prefixlen=64)
    public const string RouterAdvertisementFromVm =
        "33330000000152540012345686dd6000000000303afffe80000000000000505400fffe123456ff02000000000000000000000000000186007f60000807080000000000000000030440c0ffffffffffffffff0000000020010db8006600000000000000000000";

    // Ether(dst=sh, src=vm)/IPv6(src=vmll, dst="fe80::99", hlim=255)/ICMPv6ND_Redirect(tgt="fe80::7", dst="2001:db8:2::1")
    public const string RedirectFromVm =
        "00005e00521352540012345686dd6000000000283afffe80000000000000505400fffe123456fe8000000000000000000000000000998900c90100000000fe80000000000000000000000000000720010db8000200000000000000000001";

    // A DHCPv6 server's Advertise from the VM: Ether(dst="33:33:00:00:00:01", src=vm)/IPv6(src=vmll, dst="fe80::1")
    //  /UDP(sport=547, dport=546)/DHCP6_Advertise(trid=0x1234)
    public const string Dhcpv6AdvertiseFromVm =
        "33330000000152540012345686dd60000000000c1140fe80000000000000505400fffe123456fe80000000000000000000000000000102230222000c669e02001234";

    // A DHCPv4 server's Offer from the VM: Ether(dst=broadcast, src=vm)/IP(src="192.0.2.1", dst="255.255.255.255")
    //  /UDP(sport=67, dport=68)/BOOTP(op=2, yiaddr="192.0.2.50", chaddr=52:54:00:99:99:99)/DHCP(options=[("message-type","offer"),"end"])
    public const string Dhcpv4OfferFromVm =
        "ffffffffffff525400123456080045000110000100004011b7dbc0000201ffffffff0043004400fc95cd02010600000000000000000000000000c000023200000000000000005254009999990000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363350102ff";

    // Ether(dst=sh, src=vm)/IPv6(src=vmg, dst="2001:db8:2::1", hlim=64)/UDP(sport=1234, dport=5678)/Raw(b"hello")
    public const string UdpFromVm =
        "00005e00521352540012345686dd60000000000d114020010db800010000505400fffe12345620010db800020000000000000000000104d2162e000dc1cf68656c6c6f";

    // A Linux guest's announce after migration: Ether(dst="33:33:00:00:00:01", src=vm)/IPv6(src=vmll, dst="ff02::1", hlim=255)
    //  /ICMPv6ND_NA(R=0, S=0, O=1, tgt=vmll)/ICMPv6NDOptDstLLAddr(lladdr=vm)
    public const string UnsolicitedNeighborAdvertisement =
        "33330000000152540012345686dd6000000000203afffe80000000000000505400fffe123456ff0200000000000000000000000000018800cb6820000000fe80000000000000505400fffe1234560201525400123456";

    // Ether(dst="33:33:ff:12:34:56", src=vm)/IPv6(src="::", dst="ff02::1:ff12:3456", hlim=255)/ICMPv6ND_NS(tgt=vmll)
    public const string DadNeighborSolicitation =
        "3333ff12345652540012345686dd6000000000183aff00000000000000000000000000000000ff0200000000000000000001ff1234568700c40200000000fe80000000000000505400fffe123456";

    // Ether(dst="33:33:00:00:00:16", src=vm)/IPv6(src=vmll, dst="ff02::16", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])
    //  /ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(dst="ff02::1:ff12:3456")])
    public const string Mldv2Report =
        "33330000001652540012345686dd6000000000240001fe80000000000000505400fffe123456ff0200000000000000000000000000163a000502000001008f00b8e40000000104000000ff0200000000000000000001ff123456";

    // Ether(dst="ff:ff:ff:ff:ff:ff", src=vm)/ARP(op=1, hwsrc=vm, psrc="192.0.2.10", hwdst="00:00:00:00:00:00", pdst="192.0.2.10")
    public const string GratuitousArp =
        "ffffffffffff52540012345608060001080006040001525400123456c000020a000000000000c000020a";

    // QEMU's self-announce: Ether(dst=broadcast, src=vm, type=0x8035)/ARP(op=3, hwsrc=vm, psrc="0.0.0.0", hwdst=vm, pdst="0.0.0.0")
    public const string QemuRarp =
        "ffffffffffff525400123456803500010800060400035254001234560000000052540012345600000000";
}
