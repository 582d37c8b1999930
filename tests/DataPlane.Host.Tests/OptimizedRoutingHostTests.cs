using DataPlane.Datapath;
using DataPlane.Host.Configuration;
using DataPlane.Host.Mag;
using DataPlane.Host.Runtime;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

/// <summary>
/// The daemons' side of optimized routing: the configuration keys (localRouting at the MAG, localizedRouting at the
/// LMA) with their defaults and errors, and the MAG's packet loop handing a frame routed to another of its VMs to
/// that VM's port instead of the tunnel.
/// </summary>
public class OptimizedRoutingHostTests : PacketLoopTestBase
{
    private static MagConfig Mag(string extra) =>
        MagConfig.Parse(ConfigObject.Parse($$"""{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p.json"}{{extra}}}""", "mag.json"));

    private static LmaConfig Lma(string extra) =>
        LmaConfig.Parse(ConfigObject.Parse($$"""{"address":"2001:db8:100::1","policy":{"file":"p.json"}{{extra}}}""", "lma.json"));

    [Fact]
    public void Both_kinds_of_optimized_routing_are_on_by_default()
    {
        var mag = Mag("");
        Assert.True(mag.Protocol.EnableMagLocalRouting);
        Assert.True(mag.Protocol.LocalizedRouting);
        Assert.Equal(TimeSpan.FromHours(1), mag.Protocol.MaxLocalizedRoutingLifetime);
        Assert.Equal(65_536, mag.Protocol.MaxLocalizedRoutes);
        var lma = Lma("");
        Assert.True(lma.Protocol.LocalizedRouting.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(120), lma.Protocol.LocalizedRouting.Lifetime);
        Assert.Equal(TimeSpan.FromSeconds(1), lma.Datapath.TrafficObservationInterval);
        Assert.Equal(lma.TunnelMtu, lma.Datapath.TunnelMtu);
    }

    [Fact]
    public void Every_key_is_read()
    {
        var mag = Mag(""","localRouting":{"enableMagLocalRouting":false,"localizedRouting":false,"maxLifetime":"10m","maxRoutes":12}""");
        Assert.False(mag.Protocol.EnableMagLocalRouting);
        Assert.False(mag.Protocol.LocalizedRouting);
        Assert.Equal(TimeSpan.FromMinutes(10), mag.Protocol.MaxLocalizedRoutingLifetime);
        Assert.Equal(12, mag.Protocol.MaxLocalizedRoutes);
        var lma = Lma(""","uplinkMtu":1400,"localizedRouting":{"enabled":false,"lifetime":"60s","refreshFraction":0.5,"initialRetransmissionTimeout":"500ms","maxRetransmissionTimeout":"2s","maxTransmissions":3,"maxSessions":10,"refusalHoldOff":"30s","repairInterval":"5s","trafficObservationInterval":"250ms"}""");
        var o = lma.Protocol.LocalizedRouting;
        Assert.False(o.Enabled);
        Assert.Equal((TimeSpan.FromSeconds(60), 0.5, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), 3, 10, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5)),
            (o.Lifetime, o.RefreshFraction, o.InitialRetransmissionTimeout, o.MaxRetransmissionTimeout, o.MaxTransmissions, o.MaxSessions, o.RefusalHoldOff, o.RepairInterval));
        Assert.Equal(TimeSpan.FromMilliseconds(250), lma.Datapath.TrafficObservationInterval);
        Assert.Equal(1360, lma.Datapath.TunnelMtu);
    }

    [Theory]
    [InlineData(""","localRouting":{"maxLifetime":"0s"}""", "localRouting.maxLifetime")]
    [InlineData(""","localRouting":{"maxLifetime":"20h"}""", "localRouting.maxLifetime")]
    [InlineData(""","localRouting":{"maxRoutes":-1}""", "localRouting.maxRoutes")]
    [InlineData(""","localRouting":{"enableMAGLocalRouting":true}""", "enableMAGLocalRouting")]
    public void A_bad_mag_key_is_named(string extra, string named)
    {
        var e = Assert.Throws<ConfigException>(() => Mag(extra));
        Assert.Contains(named, e.Message);
    }

    [Theory]
    [InlineData(""","localizedRouting":{"lifetime":"1s"}""", "Lifetime")]
    [InlineData(""","localizedRouting":{"maxRetransmissionTimeout":"100ms"}""", "MaxRetransmissionTimeout")]
    [InlineData(""","localizedRouting":{"trafficObservationInterval":"0s"}""", "TrafficObservationInterval")]
    [InlineData(""","localizedRouting":{"refreshFraction":2}""", "localizedRouting.refreshFraction")]
    [InlineData(""","localizedRouting":{"enable":true}""", "enable")]
    public void A_bad_lma_key_is_named(string extra, string named)
    {
        var e = Assert.Throws<ConfigException>(() => Lma(extra));
        Assert.Contains(named, e.Message);
    }

    private static readonly PortId Port2 = new(2);
    private static readonly MacAddress Vm2Mac = MacAddress.Parse("52:54:00:12:34:57");
    private static readonly Ipv6Prefix Hnp2 = Ipv6Prefix.Parse("2001:db8:7::/64");
    private static readonly Ipv6Address Vm2 = Ipv6Address.Parse("2001:db8:7::5054:ff:fe12:3457");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_frame_to_another_vm_of_the_mag_goes_to_its_port_and_not_into_the_tunnel(bool localRouting)
    {
        var dp = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Coa, EnableMagLocalRouting = localRouting }, new SplitMix64Random(1)));
        dp.AddPort(Port, "vif1.0", VmMac);
        dp.AddPort(Port2, "vif2.0", Vm2Mac);
        Assert.True(dp.Execute(new MagAction.InstallSession(Port, VmMac, [Hnp], LmaAddress, null)));
        Assert.True(dp.Execute(new MagAction.InstallSession(Port2, Vm2Mac, [Hnp2], LmaAddress, null)));
        using var rx = new PacketBatch(4, 4096);
        int slotToVm2 = Add(rx, Vm, Vm2);
        int slotToClient = Add(rx, Vm, Client);

        using var tx = new PacketBatch(4, 4096);
        var sink = new Sink();
        var local = new Local();
        MagDaemon.ForwardFromPort(dp, Port, vnetHeader: true, rx, rx.Count, new TunnelOutput(sink, tx), default, local);

        if (localRouting)
        {
            Assert.Equal([(Port2.Value, slotToVm2)], local.Queued);
            Assert.Equal(1, local.Flushes);
            var frame = rx.Frame(slotToVm2);
            Assert.True(EthernetFrame.TryCreate(frame, out var eth, out _));
            Assert.Equal((Vm2Mac, PmipDefaults.SharedMagMacAddress), (eth.Destination, eth.Source)); // from the router, to vm2
            Assert.Equal(63, frame[EthernetFrame.HeaderLength + 7]);                                   // hop limit, once
            Assert.Equal(default, rx.Meta(slotToVm2).Vnet);                                            // a whole, checked frame
            Assert.Equal([slotToClient], sink.Slots);
        }
        else
        {
            Assert.Empty(local.Queued);
            Assert.Equal([slotToVm2, slotToClient], sink.Slots);
            Assert.All(sink.Destinations, d => Assert.Equal(LmaAddress, d));
        }
    }

    /// <summary>An Ethernet/IPv6/UDP frame from the VM to the router MAC.</summary>
    private static int Add(PacketBatch rx, Ipv6Address source, Ipv6Address destination)
    {
        var frame = new byte[EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + 8 + 20];
        int at = EthernetFrame.WriteHeader(frame, PmipDefaults.SharedMagMacAddress, VmMac, EtherType.Ipv6);
        at += Ipv6Packet.WriteHeader(frame.AsSpan(at), source, destination, IpProtocol.Udp, 28);
        UdpDatagram.WriteHeader(frame.AsSpan(at), 40000, 7000, 20);
        return rx.Add(frame);
    }

    private sealed class Local : MagDaemon.ILocalDelivery
    {
        public List<(int Port, int Slot)> Queued { get; } = [];
        public int Flushes;
        public void Queue(PortId port, int slot) => Queued.Add((port.Value, slot));
        public void Flush(PacketBatch rx) => Flushes++;
    }

    private sealed class Sink : ITunnelSink
    {
        public List<int> Slots { get; } = [];
        public List<Ipv6Address> Destinations { get; } = [];

        public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
        {
            foreach (int s in slots)
            {
                Slots.Add(s);
                Destinations.Add(batch.Meta(s).Destination);
            }
        }

        public void Send(PacketBatch batch, int count)
        {
            for (int s = 0; s < count; s++) Send(batch, [s]);
        }
    }
}
