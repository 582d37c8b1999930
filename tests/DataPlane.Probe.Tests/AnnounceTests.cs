using DataPlane.Probe;
using DataPlane.Wire;

namespace DataPlane.Probe.Tests;

public class AnnounceTests
{
    private static readonly MacAddress Vm = MacAddress.Parse("52:54:00:00:00:01");

    [Fact]
    public void The_rarp_frame_is_qemus_self_announce()
    {
        var f = new byte[128];
        int n = Announce.WriteRarp(f, Vm);
        Assert.Equal(60, n);
        Assert.True(EthernetFrame.TryCreate(f.AsSpan(0, n), out var eth, out _));
        Assert.True(eth.Destination.IsBroadcast);
        Assert.Equal(Vm, eth.Source);
        Assert.Equal(EtherType.Rarp, eth.EtherType);
        Assert.True(ArpRepr.TryParse(eth.Payload, out var arp, out _));
        Assert.Equal(ArpOperation.ReverseRequest, arp.Operation);
        Assert.Equal(Vm, arp.SenderHardwareAddress);
        Assert.Equal(Vm, arp.TargetHardwareAddress);
        Assert.Equal(default, arp.SenderProtocolAddress);
        Assert.Equal(default, arp.TargetProtocolAddress);
    }

    [Fact]
    public void The_gratuitous_arp_is_a_broadcast_request_for_the_guests_own_address()
    {
        var address = Ipv4Address.Parse("10.200.0.7");
        var f = new byte[128];
        int n = Announce.WriteGratuitousArp(f, Vm, address);
        Assert.Equal(60, n);
        Assert.True(EthernetFrame.TryCreate(f.AsSpan(0, n), out var eth, out _));
        Assert.True(eth.Destination.IsBroadcast);
        Assert.Equal((Vm, EtherType.Arp), (eth.Source, eth.EtherType));
        Assert.True(ArpRepr.TryParse(eth.Payload, out var arp, out _));
        Assert.Equal(ArpOperation.Request, arp.Operation);
        Assert.Equal((Vm, address, address), (arp.SenderHardwareAddress, arp.SenderProtocolAddress, arp.TargetProtocolAddress));
        Assert.True(arp.IsGratuitous);
    }

    [Fact]
    public void The_unsolicited_na_is_a_linux_guests_own()
    {
        var address = Ipv6Address.Parse("2001:db8:1000:1:5054:ff:fe00:1");
        var f = new byte[128];
        int n = Announce.WriteUnsolicitedNa(f, Vm, address);
        Assert.True(EthernetFrame.TryCreate(f.AsSpan(0, n), out var eth, out _));
        Assert.Equal(MacAddress.Parse("33:33:00:00:00:01"), eth.Destination);
        Assert.Equal(Vm, eth.Source);
        Assert.Equal(EtherType.Ipv6, eth.EtherType);
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip, out _));
        Assert.Equal(address, ip.Source);
        Assert.Equal(Ipv6Address.AllNodes, ip.Destination);
        Assert.Equal(255, ip.HopLimit);
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        var icmp = ip.Payload;
        Assert.True(InternetChecksum.Verify(icmp, ip.PseudoHeaderSum(icmp.Length, IpProtocol.Icmpv6)));
        Assert.Equal(136, icmp[0]); // Neighbor Advertisement
        Assert.Equal((byte)NeighborAdvertisementFlags.Override, icmp[4]);
        Assert.Equal(address, Ipv6Address.ReadFrom(icmp[8..]));
        Assert.Equal(2, icmp[24]); // Target Link-Layer Address option
        Assert.Equal(Vm, MacAddress.ReadFrom(icmp[26..]));
    }
}
