using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// Churn through a MAG and an LMA data path (signalling in ESP, as a production pair runs): VMs arrive on a port,
/// register, leave, and once the host's retention forgets them (<see cref="MagDatapath.ForgetVm"/>,
/// <see cref="LmaDatapath.ForgetPrefix"/>) nothing of them is left in the per-VM tables, the machines or the SAs.
/// </summary>
public sealed class BoundedStateTests
{
    private static readonly Ipv6Address Mag = MagFixture.Coa;
    private static readonly Ipv6Address Lma = MagFixture.Lma;
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:1000::/48");
    private Instant _now = Instant.FromDateTime(new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc));

    [Fact]
    public void Per_vm_tables_shrink_back_when_vms_leave_and_are_forgotten()
    {
        var pair = new SecurityAssociationPairOptions("t", EspAlgorithm.NullHmacSha256_128, 0x2001, Key(1), 0x1001, Key(2));
        var mirrored = pair with { InboundSpi = pair.OutboundSpi, InboundKey = pair.OutboundKey, OutboundSpi = pair.InboundSpi, OutboundKey = pair.InboundKey };
        var magSecurity = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new(Lma, [pair])] }, new SplitMix64Random(1));
        var lmaSecurity = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new(Mag, [mirrored])], Role = SecurityRole.Responder }, new SplitMix64Random(2));
        var lmaOptions = new LmaOptions { LocalMobilityAnchorAddress = Lma, AuthorizedMags = new HashSet<Ipv6Address> { Mag }, HomeNetworkPrefixPool = Pool, RestartCounter = 1 };
        var lma = new LmaDatapath(new LocalMobilityAnchor(lmaOptions, new InMemoryLmaPolicy(), new SplitMix64Random(3)), null, lmaSecurity);
        var mag = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Mag }, new SplitMix64Random(4)), null, magSecurity);
        var forgottenPrefixes = new List<Ipv6Prefix>();

        const int vms = 2000;
        int peakVm = 0, peakPrefix = 0;
        for (int i = 0; i < vms; i++)
        {
            var mac = MacAddress.FromUInt64(0x5254_0100_0000UL | (uint)i);
            var port = new PortId(1 + i % 8);
            mag.AddPort(port, $"vif{i}", mac);
            Assert.True(mag.PortOnline(port, _now, PortOnlineKind.VmRunning));
            Settle(mag, lma, mac, forgottenPrefixes);
            Assert.Equal(SessionState.Established, mag.Machine.Sessions.Single(s => s.Port == port).State);
            peakVm = Math.Max(peakVm, mag.VmCounters.Count);
            peakPrefix = Math.Max(peakPrefix, lma.PrefixCounters.Count);
            Assert.True(mag.RemovePort(port, _now));
            Settle(mag, lma, mac, forgottenPrefixes);
            // What the hosts do once their retention has passed for this VM.
            Assert.True(mag.ForgetVm(mac));
            foreach (var p in forgottenPrefixes) Assert.True(lma.ForgetPrefix(p));
            forgottenPrefixes.Clear();
        }
        _now += TimeSpan.FromMinutes(1); // past MinDelayBeforeBceDelete
        lma.Tick(_now);

        Assert.Equal(1, peakVm);
        Assert.Equal(1, peakPrefix);
        Assert.Empty(mag.VmCounters);
        Assert.Empty(lma.PrefixCounters);
        Assert.Equal(0, mag.Machine.SessionCount);
        Assert.Equal(0, mag.Machine.BindingUpdateListCount);
        Assert.Equal(0, lma.Machine.BindingCacheCount);
        Assert.Equal(0, lma.RouteCount);
        Assert.Equal(0, magSecurity.Counters.Drops.Total + lmaSecurity.Counters.Drops.Total);
        Assert.Equal(2 * vms, magSecurity.Counters.Protected); // a PBU in, a de-registration out, per VM: all in ESP
    }

    [Fact]
    public void Counters_of_a_vm_still_served_are_not_forgotten()
    {
        var f = new DomainFixture();
        f.Attach(f.M1, ScapyVectors.RouterSolicitation);
        Assert.False(f.M1.ForgetVm(MagFixture.VmMac));
        Assert.True(f.M1.VmCounters.ContainsKey(MagFixture.VmMac));
        Assert.False(f.Lma.ForgetPrefix(MagFixture.Hnp));
    }

    [Fact]
    public void Ipv4_counters_go_with_the_binding_once_forgotten_and_not_before()
    {
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);
        var p = Packet.Of(ScapyIpv4Vectors.UdpToClient);
        var up = d.M1.FromPort(MagFixture.Port, p.Buffer, p.Offset, p.Length, OffloadInfo.None, d.Now);
        var tunnelled = Packet.Of(p.Output(up));
        Assert.Equal(VerdictKind.ToHome, d.Lma.FromTunnel(tunnelled.Buffer, tunnelled.Offset, tunnelled.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now).Kind);
        Assert.True(d.Lma.Ipv4Counters.ContainsKey(MagFixture.VmIpv4));
        Assert.True(d.M1.VmIpv4Counters.ContainsKey(MagFixture.VmMac));
        // Still served: nothing is forgotten.
        Assert.False(d.Lma.ForgetIpv4HomeAddress(MagFixture.VmIpv4));
        Assert.False(d.M1.ForgetVm(MagFixture.VmMac));

        // The VM leaves; its binding goes after MinDelayBeforeBceDelete; the hosts' retention then forgets it.
        Assert.True(d.M1.RemovePort(MagFixture.Port, d.Now));
        d.Settle();
        d.Now += TimeSpan.FromMinutes(1);
        d.Lma.Tick(d.Now);
        Assert.Equal(0, d.Lma.Ipv4RouteCount);
        Assert.True(d.Lma.ForgetIpv4HomeAddress(MagFixture.VmIpv4));
        Assert.True(d.M1.ForgetVm(MagFixture.VmMac));
        Assert.Empty(d.Lma.Ipv4Counters);
        Assert.Empty(d.M1.VmIpv4Counters);
    }

    private void Settle(MagDatapath mag, LmaDatapath lma, MacAddress mac, List<Ipv6Prefix> forgotten)
    {
        for (int round = 0; round < 20; round++)
        {
            bool moved = false;
            foreach (var request in mag.HostActions.OfType<MagAction.RequestPolicy>().ToList())
            {
                mag.Handle(new MagEvent.PolicyDecided(request.RequestId, new VmProfile($"{mac}@churn.test", [], Lma)), _now);
                moved = true;
            }
            mag.ClearHostActions();
            foreach (var (meta, bytes) in MagFixture.TakeControl(mag.ControlOutput))
            {
                if (meta.Sink != ControlSink.EspSocket) continue;
                _now += TimeSpan.FromMilliseconds(1);
                Assert.True(lma.ReceiveEsp(bytes, meta.Source, meta.Destination, _now));
                moved = true;
            }
            foreach (var (meta, bytes) in MagFixture.TakeControl(lma.ControlOutput))
            {
                Assert.Equal(ControlSink.EspSocket, meta.Sink);
                _now += TimeSpan.FromMilliseconds(1);
                Assert.True(mag.ReceiveEsp(bytes, meta.Source, meta.Destination, _now));
                moved = true;
            }
            foreach (var b in lma.HostActions.OfType<LmaAction.BindingChanged>())
                if (b.Change == BindingChange.Deregistered) forgotten.AddRange(b.HomeNetworkPrefixes);
            lma.ClearHostActions();
            if (!moved) return;
        }
        Assert.Fail("the domain did not settle");
    }

    private static byte[] Key(int seed)
    {
        var key = new byte[32];
        new Random(seed).NextBytes(key);
        return key;
    }
}
