using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>The LMA's data path, driven by its real machine through PBUs from real MAG data paths.</summary>
public class LmaDatapathTests
{
    private static readonly Ipv6Address Client = MagFixture.Client;
    private static readonly Ipv6Address Vm = MagFixture.VmAddress;

    [Fact]
    public void Registration_installs_the_route_and_home_traffic_reaches_the_vm_through_the_serving_mag()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        Assert.True(d.Lma.TryLookupRoute(Vm, out var mag));
        Assert.Equal(DomainFixture.Mag1, mag);
        Assert.True(d.Lma.TryGetTunnel(DomainFixture.Mag1, out var tunnel) && tunnel.Up);
        var ra = Assert.Single(d.PortFrames);
        Assert.Equal(ScapyVectors.RouterAdvertisementFromMag[..28], Hex.Of(ra.Frame)[..28]); // to the VM, from the shared MAC

        // Client → home device → LMA → tunnel to MAG1 (hop limit decremented once) → MAG1 → VM's port.
        var fromClient = TestFrames.Ipv6Udp(Client, Vm, hopLimit: 50, payload: 200);
        var home = Packet.Of(fromClient);
        var v = d.Lma.FromHome(home.Buffer, home.Offset, home.Length, d.Now);
        Assert.Equal(Verdict.ToTunnel(DomainFixture.Mag1, home.Offset, fromClient.Length).ToString(), v.ToString());
        var inner = home.Output(v);
        Assert.Equal(49, inner[7]);
        var atMag = Packet.Of(inner);
        var delivered = d.M1.FromTunnel(atMag.Buffer, atMag.Offset, atMag.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, d.Now);
        Assert.Equal(VerdictKind.ToPort, delivered.Kind);
        Assert.Equal(Hex.Of(inner), Hex.Of(atMag.Output(delivered)[EthernetFrame.HeaderLength..]));

        // VM → MAG1 → tunnel → LMA → home device, unchanged by the LMA.
        var p = Packet.Of(ScapyVectors.UdpFromVm);
        var up = d.M1.FromPort(MagFixture.Port, p.Buffer, p.Offset, p.Length, OffloadInfo.None, d.Now);
        var tunnelled = Packet.Of(p.Output(up));
        var toHome = d.Lma.FromTunnel(tunnelled.Buffer, tunnelled.Offset, tunnelled.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        Assert.Equal(Verdict.ToHome(tunnelled.Offset, tunnelled.Length).ToString(), toHome.ToString());
        Assert.Equal(Hex.Of(p.Output(up)), Hex.Of(tunnelled.Output(toHome)));

        var counters = d.Lma.Tunnels.Single().Counters;
        Assert.Equal((1, 1), (counters.InPackets, counters.OutPackets));
        Assert.Equal((long)fromClient.Length, counters.OutBytes);
        Assert.Equal(1, d.Lma.PrefixCounters[MagFixture.Hnp].InPackets);
    }

    [Fact]
    public void After_a_handoff_the_old_mags_packets_are_refused_and_home_traffic_follows_the_vm()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        d.Now += TimeSpan.FromSeconds(5);
        d.Attach(d.M2, ScapyVectors.QemuRarp); // the VM resumed on MAG2's host; its MAC announces it
        Assert.True(d.Lma.TryLookupRoute(Vm, out var mag));
        Assert.Equal(DomainFixture.Mag2, mag);
        Assert.True(d.M2.TryLookupPrefix(Vm, out _)); // MAG2 installed the session (and sent the RA)
        Assert.Contains(d.PortFrames, f => f.Mag == d.M2);

        var fromVm = TestFrames.Ipv6Udp(Vm, Client);
        var viaOld = Packet.Of(fromVm);
        Assert.Equal(DropReason.TunnelSourceMismatch,
            d.Lma.FromTunnel(viaOld.Buffer, viaOld.Offset, viaOld.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now).Reason);
        var viaNew = Packet.Of(fromVm);
        Assert.Equal(VerdictKind.ToHome,
            d.Lma.FromTunnel(viaNew.Buffer, viaNew.Offset, viaNew.Length, DomainFixture.Mag2, DomainFixture.LmaAddress, d.Now).Kind);
        var home = Packet.Of(TestFrames.Ipv6Udp(Client, Vm));
        Assert.Equal(DomainFixture.Mag2, d.Lma.FromHome(home.Buffer, home.Offset, home.Length, d.Now).TunnelDestination);
        Assert.True(d.Lma.TryGetTunnel(DomainFixture.Mag1, out var old));
        Assert.False(old.Up); // its last VM left
        Assert.Equal(1, old.Counters.Drops[DropReason.TunnelSourceMismatch]);
    }

    [Fact]
    public void Home_packets_without_binding_with_hop_limit_one_or_oversize_are_answered_towards_the_sender()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);

        Verdict Home(byte[] packet, out Packet p)
        {
            p = Packet.Of(packet);
            return d.Lma.FromHome(p.Buffer, p.Offset, p.Length, d.Now);
        }

        var unbound = TestFrames.Ipv6Udp(Client, Ipv6Address.Parse("2001:db8:9::1"));
        Assert.Equal(DropReason.NoBinding, Home(unbound, out _).Reason);
        Assert.Equal(DropReason.HopLimitExceeded, Home(TestFrames.Ipv6Udp(Client, Vm, hopLimit: 1), out _).Reason);
        Assert.Equal(DropReason.PacketTooBig, Home(TestFrames.Ipv6Udp(Client, Vm, payload: 1460 - 48 + 1), out _).Reason);
        Assert.Equal(VerdictKind.ToTunnel, Home(TestFrames.Ipv6Udp(Client, Vm, payload: 1460 - 48), out _).Kind);

        var replies = MagFixture.TakeControl(d.Lma.ControlOutput);
        Assert.Equal([ControlMessageKind.DestinationUnreachable, ControlMessageKind.TimeExceeded, ControlMessageKind.PacketTooBig],
            replies.Select(r => r.Meta.Kind));
        foreach (var (meta, bytes) in replies)
        {
            Assert.Equal(ControlSink.Home, meta.Sink);
            Assert.True(Ipv6Packet.TryCreate(bytes, out var ip, out _));
            Assert.Equal((DomainFixture.LmaAddress, Client), (ip.Source, ip.Destination));
            Assert.True(Icmpv6Packet.IsChecksumValid(ip.Payload, ip.Source, ip.Destination));
            Assert.True(Icmpv6ErrorMessage.TryParse(ip.Payload, out var error, out _));
            if (error.Type == Icmpv6Type.PacketTooBig) Assert.Equal(1460u, error.Parameter);
            if (error.Type == Icmpv6Type.DestinationUnreachable)
            {
                Assert.Equal((byte)DestinationUnreachableCode.AddressUnreachable, error.Code);
                Assert.Equal(Hex.Of(unbound), Hex.Of(error.InvokingPacket.Span));
            }
        }
        Assert.Equal(1, d.Lma.Counters.All.Drops[DropReason.NoBinding]);
        Assert.Equal(1, d.Lma.PrefixCounters[MagFixture.Hnp].Drops[DropReason.PacketTooBig]);
    }

    [Fact]
    public void Home_and_tunnel_guards()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);

        Verdict Home(byte[] packet)
        {
            var p = Packet.Of(packet);
            return d.Lma.FromHome(p.Buffer, p.Offset, p.Length, d.Now);
        }

        Verdict Tunnel(byte[] packet, Ipv6Address source, Ipv6Address? destination = null)
        {
            var p = Packet.Of(packet);
            return d.Lma.FromTunnel(p.Buffer, p.Offset, p.Length, source, destination ?? DomainFixture.LmaAddress, d.Now);
        }

        Assert.Equal(DropReason.MulticastNotForwarded, Home(TestFrames.Ipv6Udp(Client, Ipv6Address.Parse("ff0e::1"))).Reason);
        Assert.Equal(DropReason.LinkLocalNotForwarded, Home(TestFrames.Ipv6Udp(Ipv6Address.Parse("fe80::1"), Vm)).Reason);
        Assert.Equal(DropReason.Malformed, Home(new byte[10]).Reason);
        var v4 = new byte[20];
        Ipv4Packet.WriteHeader(v4, new Ipv4Address(1, 2, 3, 4), new Ipv4Address(5, 6, 7, 8), IpProtocol.Udp, 0);
        Assert.Equal(DropReason.NoBinding, Home(v4).Reason); // no IPv4 home address bound here

        var fromVm = TestFrames.Ipv6Udp(Vm, Client);
        Assert.Equal(DropReason.NotForThisLma, Tunnel(fromVm, DomainFixture.Mag1, Ipv6Address.Parse("2001:db8:ffff::9")).Reason);
        Assert.Equal(DropReason.TunnelSourceMismatch, Tunnel(fromVm, Ipv6Address.Parse("2001:db8:ffff::66")).Reason); // no tunnel at all
        Assert.Equal(DropReason.TunnelSourceMismatch, Tunnel(TestFrames.Ipv6Udp(Ipv6Address.Parse("2001:db8:5::1"), Client), DomainFixture.Mag1).Reason);
        Assert.Equal(DropReason.LinkLocalNotForwarded, Tunnel(TestFrames.Ipv6Udp(Vm, Ipv6Address.Parse("fe80::1")), DomainFixture.Mag1).Reason);
        Assert.Equal(VerdictKind.ToHome, Tunnel(fromVm, DomainFixture.Mag1).Kind);
    }

    [Fact]
    public void Route_and_tunnel_actions_maintain_the_binding_table_with_any_prefix_length()
    {
        var d = new DomainFixture();
        var p48 = Ipv6Prefix.Parse("2001:db8:40::/48");
        Assert.True(d.Lma.Execute(new LmaAction.TunnelUp(DomainFixture.Mag1)));
        Assert.True(d.Lma.Execute(new LmaAction.RouteAdd(p48, DomainFixture.Mag1)));
        Assert.True(d.Lma.TryLookupRoute(Ipv6Address.Parse("2001:db8:40:7::1"), out var mag));
        Assert.Equal(DomainFixture.Mag1, mag);
        Assert.True(d.Lma.Execute(new LmaAction.RouteRemove(p48)));
        Assert.False(d.Lma.TryLookupRoute(Ipv6Address.Parse("2001:db8:40:7::1"), out _));
        Assert.False(d.Lma.Execute(new LmaAction.PeerUnreachable(DomainFixture.Mag1))); // the host's
        Assert.Equal(0, d.Lma.RouteCount);
    }

    [Fact]
    public void A_tso_super_packet_from_the_home_device_is_cut_into_tunnel_mtu_segments()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        const int tcpHeader = 32, mss = 1460 - 40 - tcpHeader, payload = 20_000;
        var packet = TestFrames.TcpSuperFrame(ipv6: true, payload, TcpFlags.Ack | TcpFlags.Psh, source: Client, destination: Vm)[EthernetFrame.HeaderLength..];
        var p = Packet.Of(packet);
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV6, mss, Ipv6Packet.HeaderLength + tcpHeader, Ipv6Packet.HeaderLength, 16);
        var v = d.Lma.FromHome(p.Buffer, p.Offset, p.Length, offload, d.Now);
        Assert.Equal(VerdictKind.Segmented, v.Kind);
        Assert.Equal((payload + mss - 1) / mss, v.SegmentCount);
        for (int i = 0; i < v.SegmentCount; i++)
        {
            var segment = d.Lma.Segments.VerdictOf(v.FirstSegment + i);
            Assert.Equal(DomainFixture.Mag1, segment.TunnelDestination);
            Assert.True(Ipv6Packet.TryCreate(d.Lma.Segments.Packet(v.FirstSegment + i), out var ip, out _));
            Assert.True(ip.Buffer.Length <= 1460);
            Assert.Equal(63, ip.HopLimit);
            Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out _));
            Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
            // Each segment is deliverable by MAG1 as it is.
            var atMag = Packet.Of(ip.Buffer.ToArray());
            Assert.Equal(VerdictKind.ToPort, d.M1.FromTunnel(atMag.Buffer, atMag.Offset, atMag.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, d.Now).Kind);
        }
        Assert.Equal(v.SegmentCount, d.Lma.Tunnels.Single().Counters.OutPackets);
    }
}
