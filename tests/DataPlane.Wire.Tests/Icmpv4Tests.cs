namespace DataPlane.Wire.Tests;

/// <summary>ICMP for IPv4 errors (RFC 792, RFC 1191, RFC 1812 §4.3.2) against vectors made independently with scapy.</summary>
public class Icmpv4Tests
{
    // scapy: IP(src="10.200.0.5", dst="198.51.100.20", ttl=1, id=7, flags="DF")/UDP(sport=5000, dport=6000)/Raw(b"probe 0001")
    private const string Invoking = "4500002600074000011144ac0ac80005c6336414138817700012fa6670726f62652030303031";

    [Fact]
    public void Time_exceeded_matches_scapy()
    {
        // scapy: ICMP(type=11, code=0)/raw(invoking)
        var buffer = new byte[128];
        int n = Icmpv4Packet.WriteTimeExceeded(buffer, Hex.Bytes(Invoking));
        Assert.Equal("0b002a3800000000" + Invoking, Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void Fragmentation_needed_carries_the_next_hop_mtu_as_scapy_does()
    {
        // scapy: ICMP(type=3, code=4, nexthopmtu=1460)/raw(invoking)
        var buffer = new byte[128];
        int n = Icmpv4Packet.WriteFragmentationNeeded(buffer, 1460, Hex.Bytes(Invoking));
        Assert.Equal("03042c80000005b4" + Invoking, Hex.Of(buffer.AsSpan(0, n)));
        Assert.True(Icmpv4Packet.TryCreate(buffer.AsSpan(0, n), out var icmp, out _));
        Assert.Equal((Icmpv4Type.DestinationUnreachable, (byte)4, (ushort)1460), (icmp.Type, icmp.Code, icmp.NextHopMtu));
        Assert.True(icmp.IsChecksumValid);
        Assert.True(icmp.IsError);
    }

    [Fact]
    public void An_error_quotes_no_more_than_fits_576_bytes()
    {
        var big = new byte[1400];
        Ipv4Packet.WriteHeader(big, Ipv4Address.Parse("10.200.0.5"), Ipv4Address.Parse("198.51.100.20"), IpProtocol.Udp, 1380);
        var buffer = new byte[2000];
        int n = Icmpv4Packet.WriteTimeExceeded(buffer, big);
        Assert.Equal(576 - 20, n);
        Assert.True(InternetChecksum.Verify(buffer.AsSpan(0, n)));
    }

    [Theory]
    [InlineData("10.200.0.5", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("0.1.2.3", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("240.0.0.1", false)]
    public void Only_a_single_host_is_unicast(string address, bool unicast) => Assert.Equal(unicast, Ipv4Address.Parse(address).IsUnicast);

    [Fact]
    public void Ipv4_prefixes_know_their_mask_broadcast_and_hosts()
    {
        var p = Ipv4Prefix.Parse("10.200.0.0/24");
        Assert.Equal(Ipv4Address.Parse("255.255.255.0"), p.Mask);
        Assert.Equal(Ipv4Address.Parse("10.200.0.255"), p.Broadcast);
        Assert.True(p.IsHostAddress(Ipv4Address.Parse("10.200.0.5")));
        Assert.False(p.IsHostAddress(Ipv4Address.Parse("10.200.0.0")));
        Assert.False(p.IsHostAddress(Ipv4Address.Parse("10.200.0.255")));
        Assert.False(p.IsHostAddress(Ipv4Address.Parse("10.200.1.5")));
        Assert.False(Ipv4Prefix.TryParse("10.200.0.1/24", out _)); // host bits set
        Assert.False(Ipv4Prefix.TryParse("10.200.0.0/33", out _));
        Assert.Equal(256, p.Size);
    }
}
