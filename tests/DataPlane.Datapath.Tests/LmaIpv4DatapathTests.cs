using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>IPv4-in-IPv6 through MAG and LMA data paths driven by their real machines (RFC 5844 §3.1.3, §3.2.4).</summary>
public class LmaIpv4DatapathTests
{
    private static readonly Ipv4Address Vm = MagFixture.VmIpv4;
    private static readonly Ipv4Address Client = MagFixture.Client4;

    private static Verdict Home(DomainFixture d, byte[] packet, out Packet p)
    {
        p = Packet.Of(packet);
        return d.Lma.FromHome(p.Buffer, p.Offset, p.Length, d.Now);
    }

    [Fact]
    public void A_dual_stack_vm_registered_by_its_discover_is_reached_over_ipv4_both_ways()
    {
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        Assert.True(d.Lma.TryLookupIpv4Route(Vm, out var mag));
        Assert.Equal(DomainFixture.Mag1, mag);
        Assert.Contains(d.PortFrames, f => f.Mag == d.M1 && MagFixture.ParseDhcpReply(f.Frame).Dhcp.MessageType == DhcpMessageType.Offer);

        // Client → home → LMA (TTL − 1) → tunnel, outer next header 4 → MAG1 → the VM.
        var fromClient = MagIpv4Tests.Ipv4Udp(Client, Vm, 300, dontFragment: true, ttl: 50);
        var v = Home(d, fromClient, out var home);
        Assert.Equal(VerdictKind.ToTunnel, v.Kind);
        Assert.Equal(DomainFixture.Mag1, v.TunnelDestination);
        var inner = home.Output(v);
        Assert.True(Ipv4Packet.TryCreate(inner, out var ip, out _) && ip.TimeToLive == 49 && ip.IsHeaderChecksumValid);
        var atMag = Packet.Of(inner);
        var delivered = d.M1.FromTunnel(atMag.Buffer, atMag.Offset, atMag.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, d.Now);
        Assert.Equal(VerdictKind.ToPort, delivered.Kind);
        Assert.Equal(Hex.Of(inner), Hex.Of(atMag.Output(delivered)[EthernetFrame.HeaderLength..]));

        // VM → MAG1 → tunnel → LMA → home, TTL decremented once at the MAG.
        var p = Packet.Of(ScapyIpv4Vectors.UdpToClient);
        var up = d.M1.FromPort(MagFixture.Port, p.Buffer, p.Offset, p.Length, OffloadInfo.None, d.Now);
        Assert.Equal(VerdictKind.ToTunnel, up.Kind);
        var tunnelled = Packet.Of(p.Output(up));
        var toHome = d.Lma.FromTunnel(tunnelled.Buffer, tunnelled.Offset, tunnelled.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        Assert.Equal(VerdictKind.ToHome, toHome.Kind);
        Assert.Equal(Hex.Of(p.Output(up)), Hex.Of(tunnelled.Output(toHome)));
        Assert.Equal((1, 1), (d.Lma.Ipv4Counters[Vm].InPackets, d.Lma.Ipv4Counters[Vm].OutPackets));
    }

    [Fact]
    public void After_a_handoff_ipv4_follows_the_vm_and_the_old_mags_packets_are_refused()
    {
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        d.Now += TimeSpan.FromSeconds(5);
        d.Attach(d.M2, ScapyVectors.QemuRarp);
        Assert.True(d.Lma.TryLookupIpv4Route(Vm, out var mag));
        Assert.Equal(DomainFixture.Mag2, mag);
        Assert.True(d.M2.TryLookupIpv4HomeAddress(Vm, out _));
        // The new MAG tells the arriving VM where its default router is, as its RA does for IPv6.
        Assert.Equal(1, d.M2.Counters.ControlSent[ControlMessageKind.ArpAnnouncement]);
        Assert.Equal(VerdictKind.ToTunnel, Home(d, MagIpv4Tests.Ipv4Udp(Client, Vm, 100, true), out _).Kind);
        var stale = Packet.Of(Hex.Bytes(ScapyIpv4Vectors.UdpToClient)[EthernetFrame.HeaderLength..]);
        Assert.Equal(DropReason.TunnelSourceMismatch,
            d.Lma.FromTunnel(stale.Buffer, stale.Offset, stale.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now).Reason);
    }

    [Fact]
    public void Home_guards_answer_with_icmp_from_the_default_router()
    {
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        (Ipv4Address Source, Ipv4Address Destination, Icmpv4Type Type, byte Code, ushort Mtu) Error()
        {
            var (meta, bytes) = Assert.Single(MagFixture.TakeControl(d.Lma.ControlOutput));
            Assert.Equal((ControlSink.Home, ControlMessageKind.Icmpv4Error), (meta.Sink, meta.Kind));
            Assert.True(Ipv4Packet.TryCreate(bytes, out var ip, out _) && ip.IsHeaderChecksumValid);
            Assert.True(Icmpv4Packet.TryCreate(ip.Payload, out var icmp, out _) && icmp.IsChecksumValid);
            return (ip.Source, ip.Destination, icmp.Type, icmp.Code, icmp.NextHopMtu);
        }
        Assert.Equal(DropReason.NoBinding, Home(d, MagIpv4Tests.Ipv4Udp(Client, Ipv4Address.Parse("10.200.0.66"), 60, true), out _).Reason);
        var e = Error();
        Assert.Equal((MagFixture.Router4, Client, Icmpv4Type.DestinationUnreachable, (byte)1), (e.Source, e.Destination, e.Type, e.Code));
        Assert.Equal(DropReason.HopLimitExceeded, Home(d, MagIpv4Tests.Ipv4Udp(Client, Vm, 60, true, ttl: 1), out _).Reason);
        e = Error();
        Assert.Equal((Icmpv4Type.TimeExceeded, (byte)0), (e.Type, e.Code));
        Assert.Equal(DropReason.PacketTooBig, Home(d, MagIpv4Tests.Ipv4Udp(Client, Vm, 1480, true), out _).Reason);
        e = Error();
        Assert.Equal((Icmpv4Type.DestinationUnreachable, (byte)4, (ushort)1460), (e.Type, e.Code, e.Mtu));
        Assert.Equal(VerdictKind.ToTunnel, Home(d, MagIpv4Tests.Ipv4Udp(Client, Vm, 1480, false), out _).Kind); // no DF: the tunnel packet is fragmented
        Assert.Equal(DropReason.BroadcastNotForwarded, Home(d, MagIpv4Tests.Ipv4Udp(Client, Ipv4Address.Broadcast, 60, true), out _).Reason);
        Assert.Equal(DropReason.MulticastNotForwarded, Home(d, MagIpv4Tests.Ipv4Udp(Client, Ipv4Address.Parse("239.1.1.1"), 60, true), out _).Reason);
        Assert.Empty(MagFixture.TakeControl(d.Lma.ControlOutput)); // no errors about broadcasts or multicasts
    }

    [Fact]
    public void Two_vms_of_one_subnet_on_two_mags_reach_each_other_only_through_the_tunnel()
    {
        // On two MAGs: RFC 6705 routes carry no IPv4, so the LMA path is the only one (on one MAG, the MAG routes it
        // itself: LocalRoutingIpv4Tests).
        var d = new DomainFixture(ipv4: true);
        var vm2Mac = MacAddress.Parse("52:54:00:00:00:02");
        var vm2 = Ipv4Address.Parse("10.200.0.20");
        d.Policy.SetProfile("vm2@test", new Protocol.Lma.LmaMobileNodeProfile([]) { Ipv4Service = true, Ipv6Service = false, Ipv4HomeAddress = vm2 });
        d.Profiles[vm2Mac] = new VmProfile("vm2@test", [], DomainFixture.LmaAddress, vm2) { Ipv6Service = false, Ipv4PrefixLength = 24 };
        var port2 = new PortId(2);
        d.M2.AddPort(port2, "vif2.0", vm2Mac);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        var discover2 = Hex.Bytes(ScapyIpv4Vectors.Discover);
        vm2Mac.WriteTo(discover2.AsSpan(6));
        vm2Mac.WriteTo(discover2.AsSpan(EthernetFrame.HeaderLength + 20 + 8 + 28));
        RefreshUdp(discover2);
        d.Attach(d.M2, Hex.Of(discover2), port2);
        Assert.True(d.M2.TryLookupIpv4HomeAddress(vm2, out var p2) && p2 == port2);

        // vm1 asks for vm2's address: the MAG answers with the shared MAC (proxy ARP), never vm2.
        var arp = Packet.Of(ScapyIpv4Vectors.ArpForNeighbor); // who-has 10.200.0.20
        Assert.Equal(VerdictKind.Consumed, d.M1.FromPort(MagFixture.Port, arp.Buffer, arp.Offset, arp.Length, OffloadInfo.None, d.Now).Kind);
        Assert.Equal(1, d.M1.Counters.All.Control[ControlFrameKind.ArpRequestProxied]);

        // vm1 → vm2 goes up the tunnel; the LMA hands it to its home device, whose kernel routes it back into the
        // TUN; the LMA tunnels it to MAG2, which delivers it to vm2's port. Never at layer 2.
        var packet = MagIpv4Tests.Ipv4Udp(Vm, vm2, 100, true);
        var frame = Packet.Of(TestFrames.WithEthernet(packet, MagFixture.SharedMac, MagFixture.VmMac, EtherType.Ipv4));
        var up = d.M1.FromPort(MagFixture.Port, frame.Buffer, frame.Offset, frame.Length, OffloadInfo.None, d.Now);
        Assert.Equal(VerdictKind.ToTunnel, up.Kind);
        var atLma = Packet.Of(frame.Output(up));
        var toHome = d.Lma.FromTunnel(atLma.Buffer, atLma.Offset, atLma.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        Assert.Equal(VerdictKind.ToHome, toHome.Kind);
        var back = Home(d, atLma.Output(toHome), out var home);
        Assert.Equal((VerdictKind.ToTunnel, DomainFixture.Mag2), (back.Kind, back.TunnelDestination));
        var atMag = Packet.Of(home.Output(back));
        var delivered = d.M2.FromTunnel(atMag.Buffer, atMag.Offset, atMag.Length, DomainFixture.LmaAddress, DomainFixture.Mag2, d.Now);
        Assert.Equal((VerdictKind.ToPort, port2), (delivered.Kind, delivered.Port));

        // Routing it back into the device it came from, the LMA's kernel redirects vm1 to vm2 (same subnet, RFC 1812
        // §5.2.7.2). The VM's first-hop router is its MAG, so the LMA keeps that redirect out of the tunnel.
        var invoking = atLma.Output(toHome).ToArray();
        var redirect = new byte[20 + 8 + invoking.Length];
        int icmpLength = Icmpv4Packet.WriteError(redirect.AsSpan(20), Icmpv4Type.Redirect, 1, vm2.Value, invoking);
        Ipv4Packet.WriteHeader(redirect, MagFixture.Router4, Vm, IpProtocol.Icmp, icmpLength);
        Assert.Equal(DropReason.RedirectGuard, Home(d, redirect[..(20 + icmpLength)], out _).Reason);
    }

    private static void RefreshUdp(byte[] frame)
    {
        Assert.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.HeaderLength), out var ip, out _));
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out var udp, out _));
        udp.FillChecksum(ip.Source, ip.Destination);
    }
}
