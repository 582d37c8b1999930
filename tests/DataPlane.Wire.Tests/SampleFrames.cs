namespace DataPlane.Wire.Tests;

/// <summary>
/// Valid frames made by scapy 2.5 (Debian python3-scapy), not by our builders, so the parsers are
/// checked against an independent encoder. Each constant says how it was made.
/// </summary>
internal static class SampleFrames
{
    // Ether(dst="00:00:5e:00:52:13", src="52:54:00:12:34:56")/Dot1Q(vlan=42, prio=3)
    //  /IPv6(src="2001:db8:1::5054:ff:fe12:3456", dst="2001:db8:2::1", hlim=64, fl=0x12345)
    //  /IPv6ExtHdrHopByHop()/IPv6ExtHdrDestOpt()/IPv6ExtHdrFragment(offset=0, m=1, id=0x1234)
    //  /TCP(sport=40000, dport=5201, seq=1, flags="S")
    public const string VlanIpv6ExtTcp =
        "00005e0052135254001234568100602a86dd60012345002c004020010db800010000505400fffe12345620010db8" +
        "0002000000000000000000013c000104000000002c0001040000000006000001000012349c401451000000010000" +
        "000050022000001e0000";

    // Ether(dst="ff:ff:ff:ff:ff:ff", src="52:54:00:12:34:56")/ARP(op=1, hwsrc="52:54:00:12:34:56",
    //  psrc="192.0.2.10", hwdst="00:00:00:00:00:00", pdst="192.0.2.10")   (a gratuitous ARP)
    public const string GratuitousArp =
        "ffffffffffff52540012345608060001080006040001525400123456c000020a000000000000c000020a";

    // Ether(dst=broadcast, src="52:54:00:12:34:56", type=0x8035)/ARP(op=3, hwsrc=mac, psrc="0.0.0.0",
    //  hwdst=mac, pdst="0.0.0.0")   (what QEMU's self-announce sends)
    public const string QemuRarp =
        "ffffffffffff525400123456803500010800060400035254001234560000000052540012345600000000";

    // IP(src="192.0.2.1", dst="198.51.100.7", ttl=17, id=0xabcd, flags="DF",
    //  options=[NOP, NOP, NOP, EOL])/UDP(sport=53, dport=33333)/Raw(b"hello")   (no Ethernet)
    public const string Ipv4UdpWithOptions =
        "46000025abcd40001111cebdc0000201c63364070101010000358235000d4d5b68656c6c6f";

    public static IEnumerable<byte[]> All()
    {
        yield return Hex.Bytes(VlanIpv6ExtTcp);
        yield return Hex.Bytes(GratuitousArp);
        yield return Hex.Bytes(QemuRarp);
        yield return Hex.Bytes("000000000001525400123456" + "0800" + Ipv4UdpWithOptions);
    }
}
