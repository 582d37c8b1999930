using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

// The MAG fixture's IPv4 side: the VM at 10.200.0.9 in 10.200.0.0/24 with default router 10.200.0.1 (as in ScapyIpv4Vectors).
internal sealed partial class MagFixture
{
    public static readonly Ipv4Address VmIpv4 = Ipv4Address.Parse("10.200.0.9");
    public static readonly Ipv4Address Router4 = Ipv4Address.Parse("10.200.0.1");
    public static readonly Ipv4Address Client4 = Ipv4Address.Parse("198.51.100.20");
    public static readonly Ipv4Assignment Assignment = new(VmIpv4, 24, Router4);

    public static VmProfile Ipv4Profile(bool dualStack) =>
        new(Nai, dualStack ? [Hnp] : [], Lma) { Ipv4Service = true, Ipv6Service = dualStack };

    /// <summary>An accepting PBA with the RFC 5844 options (Reply, DRA, DHCP Support Mode S = 1), received 20 ms later.</summary>
    public void AcceptPbuWithIpv4(BindingUpdate pbu, Ipv4Address? address = null, bool serverMode = true)
    {
        Now += TimeSpan.FromMilliseconds(20);
        var options = new List<MobilityOption>();
        if (pbu.HomeNetworkPrefixes.Any()) options.Add(new HomeNetworkPrefixOption(Hnp));
        options.Add(new HandoffIndicatorOption(pbu.HandoffIndicator!.Value));
        options.Add(new TimestampOption(pbu.Timestamp!.Value));
        options.Add(MobileNodeIdentifierOption.ForNai(Nai));
        options.Add(new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, address ?? VmIpv4));
        options.Add(new Ipv4DefaultRouterAddressOption(Router4));
        options.Add(new Ipv4DhcpSupportModeOption(serverMode));
        var pba = new BindingAcknowledgement(BindingAckStatus.Accepted, BindingAckFlags.ProxyRegistration, pbu.Sequence, pbu.Lifetime)
        {
            Options = new MobilityOptionList(options),
        };
        var bytes = new byte[pba.GetLength()];
        pba.WriteTo(bytes, Lma, Coa);
        Assert.True(Dp.ReceiveMobilityMessage(bytes, Lma, Coa, Now));
    }

    /// <summary>The VM's DHCPDISCOVER registers it; the PBA brings its address: returns the OFFER that answers the DISCOVER.</summary>
    public byte[] EstablishIpv4(bool dualStack = false)
    {
        Assert.Equal(VerdictKind.Consumed, FromVm(ScapyIpv4Vectors.Discover).Verdict.Kind);
        Assert.Empty(TakeControl()); // the DISCOVER waits for the PBA
        AcceptPbuWithIpv4(AnswerPolicy(Ipv4Profile(dualStack)));
        var offer = Assert.Single(TakeControl(), c => c.Meta.Kind == ControlMessageKind.DhcpReply);
        TakeControl();
        TakeHostActions();
        return offer.Bytes;
    }

    /// <summary>The DHCP message in a reply frame the MAG sent (checksums verified).</summary>
    public static (Ipv4Address Source, Ipv4Address Destination, MacAddress EthernetDestination, DhcpRepr Dhcp) ParseDhcpReply(byte[] frame)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth, out _));
        Assert.Equal(EtherType.Ipv4, eth.EtherType);
        Assert.Equal(SharedMac, eth.Source);
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip, out _));
        Assert.True(ip.IsHeaderChecksumValid);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out var udp, out _));
        Assert.Equal((67, 68), (udp.SourcePort, udp.DestinationPort));
        Assert.True(udp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.True(DhcpRepr.TryParse(udp.Payload, out var dhcp, out var error), error.ToString());
        return (ip.Source, ip.Destination, eth.Destination, dhcp);
    }
}
