using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// Forwarding state can be installed without any signalling, by executing the actions the machines would
/// have produced: what a micro-benchmark (or a host restoring state) needs.
/// </summary>
public class DirectInstallationTests
{
    [Fact]
    public void A_mag_session_and_an_lma_route_installed_by_executing_actions_forward_at_once()
    {
        var mag = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = MagFixture.Coa }, new SplitMix64Random(1)));
        mag.AddPort(MagFixture.Port, "bench0", MagFixture.VmMac);
        Assert.True(mag.Execute(new MagAction.InstallSession(MagFixture.Port, MagFixture.VmMac, [MagFixture.Hnp], MagFixture.Lma, null)));
        var p = Packet.Of(ScapyVectors.UdpFromVm);
        Assert.Equal(VerdictKind.ToTunnel, mag.FromPort(MagFixture.Port, p.Buffer, p.Offset, p.Length, OffloadInfo.None, default).Kind);
        Assert.True(mag.TryGetPort(MagFixture.Port, out var view));
        Assert.Equal([MagFixture.Hnp], view.HomeNetworkPrefixes);
        Assert.Equal(MagFixture.Lma, view.LocalMobilityAnchor);
        Assert.True(view.MacConfigured);

        var lma = new LmaDatapath(new LocalMobilityAnchor(new LmaOptions { LocalMobilityAnchorAddress = MagFixture.Lma }, new InMemoryLmaPolicy(),
            new SplitMix64Random(1)));
        Assert.True(lma.Execute(new LmaAction.TunnelUp(MagFixture.Coa)));
        Assert.True(lma.Execute(new LmaAction.RouteAdd(MagFixture.Hnp, MagFixture.Coa)));
        var home = Packet.Of(TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress));
        Assert.Equal(MagFixture.Coa, lma.FromHome(home.Buffer, home.Offset, home.Length, default).TunnelDestination);
        Assert.Single(lma.Routes);
    }

    [Fact]
    public void Options_are_validated_with_the_key_of_the_bad_setting()
    {
        var machine = new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = MagFixture.Coa }, new SplitMix64Random(1));
        var e = Assert.Throws<ProtocolOptionsException>(() => new MagDatapath(machine, new MagDatapathOptions { TunnelMtu = 1400 }));
        Assert.Equal("Datapath.Mag.TunnelMtu", e.Key); // below the MTU the RAs advertise (1460)
        Assert.Throws<ProtocolOptionsException>(() => new MagDatapath(machine, new MagDatapathOptions { IcmpErrorSource = Ipv6Address.Parse("fe80::1") }));
        var dp = new MagDatapath(machine);
        Assert.Throws<ArgumentOutOfRangeException>(() => dp.AddPort(new PortId(-1), "bad"));
        Assert.Throws<ArgumentException>(() => dp.AddPort(new PortId(3), "bad", PmipDefaults.SharedMagMacAddress));
        dp.AddPort(new PortId(3), "ok");
        Assert.Throws<InvalidOperationException>(() => dp.AddPort(new PortId(3), "again"));
    }
}
