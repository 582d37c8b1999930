using DataPlane.Protocol.Lma;
using DataPlane.Simulation;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// RFC 6705 §7 in whole simulated domains: IPv4 traffic between VMs of two MAGs (dual-stack and IPv4-only), forwarded
/// by each host's installed state as the data path decides (<see cref="SimTraffic.SendIpv4"/>). The invariant of
/// <see cref="ScenarioLocalizedRoutingTests"/> holds for IPv4 too: no IPv4 packet leaves a MAG on a direct route for a
/// MAG its destination VM left more than one signalling round ago.
/// </summary>
public class ScenarioLocalizedRoutingIpv4Tests
{
    private static readonly TimeSpan Staleness = TimeSpan.FromMilliseconds(22);
    private static readonly TimeSpan InterMag = TimeSpan.FromMicroseconds(100);

    private sealed record Setup(PmipDomain D, SimVm A, SimVm B, SimTraffic Traffic);

    private static Setup TwoVms(long seed, IpService service, int magA = 0, int magB = 1)
    {
        var d = new PmipDomain(seed, new DomainOptions { MagCount = 3, Service = service });
        d.Lma.LocalizedRoutingChanges = [];
        var a = d.AddVm();
        var b = d.AddVm();
        d.Boot(a, d.Mags[magA]);
        d.Boot(b, d.Mags[magB]);
        d.Sim.RunFor(TimeSpan.FromSeconds(1));
        Assert.NotNull(a.Ipv4Address);
        Assert.NotNull(b.Ipv4Address);
        var traffic = new SimTraffic(d, InterMag, Staleness);
        traffic.FlowIpv4(a, b, TimeSpan.FromMilliseconds(10));
        traffic.FlowIpv4(b, a, TimeSpan.FromMilliseconds(10));
        return new Setup(d, a, b, traffic);
    }

    private static void AssertClean(Setup s)
    {
        Assert.Empty(s.Traffic.Violations);
        Assert.Empty(DomainInvariants.CheckAll(s.D, TimeSpan.FromSeconds(1)));
        Assert.Empty(DomainInvariants.CheckLocalizedRoutingSettled(s.D));
    }

    [Theory]
    [InlineData(IpService.DualStack)]
    [InlineData(IpService.Ipv4Only)]
    public void Ipv4_traffic_between_two_mags_gets_a_direct_route_with_both_addresses_and_takes_it(IpService service) =>
        SimulationSeed.Run(1851, nameof(Ipv4_traffic_between_two_mags_gets_a_direct_route_with_both_addresses_and_takes_it), seed =>
        {
            var s = TwoVms(seed, service);
            var (d, t) = (s.D, s.Traffic);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var lma = d.Lma.Machine;
            Assert.Equal(1, lma.Counters.LocalizedRoutingSessionsEstablished);
            var r1 = Assert.Single(d.Mags[0].Machine.LocalizedRoutes);
            Assert.Equal((d.Mags[1].Address, true, s.B.Ipv4Address), (r1.RemoteMag, r1.Egress, r1.RemoteIpv4HomeAddress));
            var r2 = Assert.Single(d.Mags[1].Machine.LocalizedRoutes);
            Assert.Equal((d.Mags[0].Address, s.A.Ipv4Address), (r2.RemoteMag, r2.RemoteIpv4HomeAddress));
            if (service == IpService.Ipv4Only) Assert.Empty(r2.RemotePrefixes);
            else Assert.Equal([s.A.Prefix!.Value], r2.RemotePrefixes);

            long viaLma = t[PacketFate.DeliveredViaLma], direct = t[PacketFate.DeliveredDirect];
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            Assert.Equal(viaLma, t[PacketFate.DeliveredViaLma]);
            Assert.InRange(t[PacketFate.DeliveredDirect] - direct, 990, 1010);
            Assert.Equal(0, t.Lost);
            Assert.InRange(viaLma, 1, 20);
            AssertClean(s);
        });

    public static TheoryData<MigrationOrder, bool, int> MigrationCases()
    {
        var data = new TheoryData<MigrationOrder, bool, int>();
        foreach (var order in new[] { MigrationOrder.NewMagRegistersFirst, MigrationOrder.OldMagDeregistersFirst })
        foreach (var moveA in new[] { true, false })
        foreach (var target in new[] { 0, 1, 2 })
        {
            if ((moveA && target == 0) || (!moveA && target == 1)) continue;
            data.Add(order, moveA, target);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(MigrationCases))]
    public void Migrating_either_end_of_an_ipv4_pair_repoints_or_ends_it_within_one_signalling_round(MigrationOrder order, bool moveA, int target) =>
        SimulationSeed.Run(1852, nameof(Migrating_either_end_of_an_ipv4_pair_repoints_or_ends_it_within_one_signalling_round), seed =>
        {
            var s = TwoVms(seed, IpService.DualStack);
            var d = s.D;
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.Equal(1, d.Lma.Machine.Counters.LocalizedRoutingSessionsEstablished);
            var (moving, staying) = moveA ? (s.A, s.B) : (s.B, s.A);
            var record = d.Migrate(moving, d.Mags[target], order, TimeSpan.FromMilliseconds(200));
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.True(record.IsComplete);
            long lostBefore = s.Traffic.Lost;
            long directBefore = s.Traffic[PacketFate.DeliveredDirect], localBefore = s.Traffic[PacketFate.DeliveredLocally];
            d.Sim.RunFor(TimeSpan.FromSeconds(3));

            var lma = d.Lma.Machine;
            if (d.Mags[target] == staying.Mag)
            {
                Assert.Equal(0, lma.LocalizedRoutingSessionCount);
                Assert.True(s.Traffic[PacketFate.DeliveredLocally] - localBefore > 500, s.Traffic.ToString());
            }
            else
            {
                Assert.Equal(1, lma.LocalizedRoutingSessionCount);
                var leg = Assert.Single(d.Mags[target].Machine.LocalizedRoutes);
                Assert.Equal((staying.Mag!.Address, staying.Ipv4Address), (leg.RemoteMag, leg.RemoteIpv4HomeAddress));
                var other = Assert.Single(staying.Mag.Machine.LocalizedRoutes);
                Assert.Equal((d.Mags[target].Address, moving.Ipv4Address), (other.RemoteMag, other.RemoteIpv4HomeAddress));
                Assert.True(s.Traffic[PacketFate.DeliveredDirect] - directBefore > 500, s.Traffic.ToString());
            }
            var left = d.Mags[moveA ? 0 : 1];
            Assert.Empty(left.Machine.LocalizedRoutes);
            Assert.Empty(left.DirectRoutes);
            Assert.Equal(lostBefore, s.Traffic.Lost);
            AssertClean(s);
        });

    [Fact]
    public void Random_migrations_of_vms_talking_over_both_families_under_jitter_never_send_to_a_mag_a_vm_left() =>
        SimulationSeed.Run(1853, nameof(Random_migrations_of_vms_talking_over_both_families_under_jitter_never_send_to_a_mag_a_vm_left), seed =>
        {
            var jittery = LinkProfile.Ideal(TimeSpan.FromMilliseconds(10)) with { Jitter = TimeSpan.FromMilliseconds(4) };
            var d = new PmipDomain(seed, new DomainOptions { MagCount = 4, Uplink = jittery, Downlink = jittery, Service = IpService.DualStack });
            var vms = Enumerable.Range(0, 6).Select(_ => d.AddVm()).ToArray();
            for (int i = 0; i < vms.Length; i++) d.Boot(vms[i], d.Mags[i % 4]);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            var traffic = new SimTraffic(d, InterMag, Staleness + TimeSpan.FromMilliseconds(8));
            for (int i = 0; i < vms.Length; i++)
            {
                // Even VMs talk IPv4 to their neighbour, odd ones IPv6: pairs set up from either family, used by both.
                if (i % 2 == 0) traffic.FlowIpv4(vms[i], vms[(i + 1) % vms.Length], TimeSpan.FromMilliseconds(20));
                else traffic.Flow(vms[i], vms[(i + 1) % vms.Length], TimeSpan.FromMilliseconds(20));
            }
            var random = d.Sim.NewRandomStream();
            for (int round = 0; round < 40; round++)
            {
                var vm = vms[(int)(random.NextUInt64() % (ulong)vms.Length)];
                if (vm.State == VmState.Running)
                {
                    var targets = d.Mags.Where(m => m != vm.Mag).ToArray();
                    var to = targets[(int)(random.NextUInt64() % (ulong)targets.Length)];
                    var order = random.NextDouble() < 0.5 ? MigrationOrder.NewMagRegistersFirst : MigrationOrder.OldMagDeregistersFirst;
                    d.Migrate(vm, to, order, TimeSpan.FromMilliseconds(50 + random.NextDouble() * 200));
                }
                d.Sim.RunFor(TimeSpan.FromMilliseconds(500 + random.NextDouble() * 1500));
                Assert.Empty(traffic.Violations);
                Assert.Empty(DomainInvariants.CheckLocalizedRouting(d));
            }
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            Assert.Empty(traffic.Violations);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(2)));
            Assert.Empty(DomainInvariants.CheckLocalizedRoutingSettled(d));
            Assert.True(traffic[PacketFate.DeliveredDirect] > traffic[PacketFate.DeliveredViaLma], traffic.ToString());
        });

    [Fact]
    public void The_ipv4_staleness_check_is_not_vacuous_a_bound_shorter_than_one_signalling_round_is_broken() =>
        SimulationSeed.Run(1854, nameof(The_ipv4_staleness_check_is_not_vacuous_a_bound_shorter_than_one_signalling_round_is_broken), seed =>
        {
            var s = TwoVms(seed, IpService.DualStack);
            var d = s.D;
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            // As for IPv6: MAG1 learns B left MAG2 one round (20 ms and change) after B resumed on MAG3; a 15 ms bound
            // must catch the IPv4 packets it sent to MAG2 meanwhile.
            s.Traffic.StalenessBound = TimeSpan.FromMilliseconds(15);
            d.Migrate(s.B, d.Mags[2], MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(200));
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.NotEmpty(s.Traffic.Violations);
            Assert.All(s.Traffic.Violations, v => Assert.Contains("(IPv4) sent by mag1 straight to mag2", v));
        });
}
