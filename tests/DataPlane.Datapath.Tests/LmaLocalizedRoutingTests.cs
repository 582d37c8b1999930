using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// RFC 6705 through the real data paths, in process: the LMA notices VM-to-VM traffic between two MAGs as it carries
/// it, the LRIs and LRAs go through bytes, and the next packets go MAG to MAG with one hop limit decrement.
/// </summary>
public class LmaLocalizedRoutingTests
{
    /// <summary>VM1 on MAG1's port, the second VM on MAG2's (re-plugged with its MAC), both registered.</summary>
    internal static DomainFixture TwoMags(LmaDatapathOptions? lmaOptions = null)
    {
        var d = new DomainFixture(lmaOptions);
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        Assert.True(d.M2.RemovePort(MagFixture.Port, d.Now));
        d.M2.AddPort(MagFixture.Port, "vif7.0", DomainFixture.SecondMac);
        Assert.True(d.M2.PortOnline(MagFixture.Port, d.Now, PortOnlineKind.VmRunning));
        d.Settle();
        Assert.True(d.M2.TryLookupPrefix(DomainFixture.SecondAddress, out _));
        return d;
    }

    /// <summary>VM1 → VM2 the LMA way: up MAG1's tunnel, through the LMA (its kernel hands the packet back to the home device), down MAG2's.</summary>
    private static (Verdict AtMag1, Verdict AtLma) ViaLma(DomainFixture d, Packet p)
    {
        var up = d.M1.FromPort(MagFixture.Port, p.Buffer, p.Offset, p.Length, OffloadInfo.None, d.Now);
        Assert.Equal(DomainFixture.LmaAddress, up.TunnelDestination);
        var atLma = d.Lma.FromTunnel(p.Buffer, up.Offset, up.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        Assert.Equal(VerdictKind.ToHome, atLma.Kind);
        return (up, d.Lma.FromHome(p.Buffer, atLma.Offset, atLma.Length, d.Now));
    }

    [Fact]
    public void Vm_to_vm_traffic_through_the_lma_sets_up_a_direct_route_and_the_next_packets_take_it()
    {
        var d = TwoMags();
        var first = Packet.Of(TestFrames.FromVm(hopLimit: 64, destination: DomainFixture.SecondAddress));
        var (_, down) = ViaLma(d, first);
        Assert.Equal(DomainFixture.Mag2, down.TunnelDestination);
        Assert.True(Ipv6Packet.TryCreate(first.Buffer.AsSpan(down.Offset, down.Length), out var viaLma, out _));
        Assert.Equal(62, viaLma.HopLimit); // MAG1 and the LMA each decremented it
        Assert.Equal(1, d.Lma.Counters.TrafficObservations);
        Assert.Equal(2, d.Lma.ControlOutput.Count); // an LRI to each MAG

        d.Settle(); // LRIs, LRAs, confirmations and their LRAs through bytes
        Assert.Equal(1, d.Lma.Machine.Counters.LocalizedRoutingSessionsEstablished);
        Assert.True(Assert.Single(d.M1.DirectRoutes).Egress);
        Assert.True(Assert.Single(d.M2.DirectRoutes).Egress);

        var next = Packet.Of(TestFrames.FromVm(hopLimit: 64, destination: DomainFixture.SecondAddress));
        var direct = d.M1.FromPort(MagFixture.Port, next.Buffer, next.Offset, next.Length, OffloadInfo.None, d.Now);
        Assert.Equal((VerdictKind.ToTunnel, DomainFixture.Mag2), (direct.Kind, direct.TunnelDestination));
        var delivered = d.M2.FromTunnel(next.Buffer, direct.Offset, direct.Length, DomainFixture.Mag1, DomainFixture.Mag2, d.Now);
        Assert.Equal(VerdictKind.ToPort, delivered.Kind);
        Assert.True(EthernetFrame.TryCreate(next.Buffer.AsSpan(delivered.Offset, delivered.Length), out var eth, out _));
        Assert.Equal((DomainFixture.SecondMac, MagFixture.SharedMac), (eth.Destination, eth.Source));
        Assert.True(Ipv6Packet.TryCreate(next.Buffer.AsSpan(delivered.Offset + EthernetFrame.HeaderLength), out var ip, out _));
        Assert.Equal(63, ip.HopLimit); // one router on the way: the sender's MAG

        // And back: VM2 → VM1 goes MAG2 → MAG1 directly too.
        var back = Packet.Of(TestFrames.WithEthernet(TestFrames.Ipv6Udp(DomainFixture.SecondAddress, MagFixture.VmAddress), MagFixture.SharedMac,
            DomainFixture.SecondMac));
        var reverse = d.M2.FromPort(MagFixture.Port, back.Buffer, back.Offset, back.Length, OffloadInfo.None, d.Now);
        Assert.Equal(DomainFixture.Mag1, reverse.TunnelDestination);
        Assert.Equal(VerdictKind.ToPort, d.M1.FromTunnel(back.Buffer, reverse.Offset, reverse.Length, DomainFixture.Mag2, DomainFixture.Mag1, d.Now).Kind);
    }

    [Fact]
    public void The_lma_reports_a_sources_vm_to_vm_traffic_at_most_once_per_interval_and_none_to_the_home_network()
    {
        var d = TwoMags(new LmaDatapathOptions { TrafficObservationInterval = TimeSpan.FromSeconds(2) });
        for (int i = 0; i < 5; i++)
        {
            ViaLma(d, Packet.Of(TestFrames.FromVm(destination: DomainFixture.SecondAddress)));
            d.Now += TimeSpan.FromMilliseconds(300);
        }
        Assert.Equal(1, d.Lma.Counters.TrafficObservations);
        d.Now += TimeSpan.FromSeconds(2);
        // To a client of the home network: nothing to report.
        var toClient = Packet.Of(TestFrames.FromVm());
        var up = d.M1.FromPort(MagFixture.Port, toClient.Buffer, toClient.Offset, toClient.Length, OffloadInfo.None, d.Now);
        d.Lma.FromTunnel(toClient.Buffer, up.Offset, up.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        Assert.Equal(1, d.Lma.Counters.TrafficObservations);
        ViaLma(d, Packet.Of(TestFrames.FromVm(destination: DomainFixture.SecondAddress)));
        Assert.Equal(2, d.Lma.Counters.TrafficObservations);
    }

    [Fact]
    public void With_localized_routing_off_the_lma_observes_nothing()
    {
        var d = new DomainFixture(configureLma: o => o with { LocalizedRouting = o.LocalizedRouting with { Enabled = false } });
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        Assert.True(d.M2.RemovePort(MagFixture.Port, d.Now));
        d.M2.AddPort(MagFixture.Port, "vif7.0", DomainFixture.SecondMac);
        d.M2.PortOnline(MagFixture.Port, d.Now, PortOnlineKind.VmRunning);
        d.Settle();
        ViaLma(d, Packet.Of(TestFrames.FromVm(destination: DomainFixture.SecondAddress)));
        Assert.Equal(0, d.Lma.Counters.TrafficObservations);
        Assert.Equal(0, d.Lma.ControlOutput.Count);
    }
}
