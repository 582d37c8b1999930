using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// Optimized routing in whole simulated domains (RFC 5213 §6.10.3 local routing, RFC 6705 localized routing), with
/// data packets between VMs forwarded by each host's installed state (<see cref="SimTraffic"/>). The invariant every
/// test checks: no packet leaves a MAG on a direct route for a MAG its destination VM has left, beyond the time the
/// signalling needs to say so — one MAG–LMA–MAG round after the VM resumes elsewhere (<see cref="Staleness"/>).
/// </summary>
public class ScenarioLocalizedRoutingTests
{
    /// <summary>
    /// From the VM resuming on its new MAG to the LRI reaching the sender: access delay, policy, PBU up (10 ms), LRI down
    /// (10 ms), rounded up. A tenth of a millisecond more than what is physically needed is a bug.
    /// </summary>
    private static readonly TimeSpan Staleness = TimeSpan.FromMilliseconds(22);

    private static readonly TimeSpan InterMag = TimeSpan.FromMicroseconds(100);

    private sealed record Setup(PmipDomain D, SimVm A, SimVm B, SimTraffic Traffic);

    private static Setup TwoVms(long seed, int magA, int magB, DomainOptions? options = null, bool flows = true, int mags = 3)
    {
        var d = new PmipDomain(seed, (options ?? new DomainOptions()) with { MagCount = mags });
        d.Lma.LocalizedRoutingChanges = [];
        var a = d.AddVm();
        var b = d.AddVm();
        d.Boot(a, d.Mags[magA]);
        d.Boot(b, d.Mags[magB]);
        d.Sim.RunFor(TimeSpan.FromSeconds(1));
        var traffic = new SimTraffic(d, InterMag, Staleness);
        if (flows)
        {
            traffic.Flow(a, b, TimeSpan.FromMilliseconds(10));
            traffic.Flow(b, a, TimeSpan.FromMilliseconds(10));
        }
        return new Setup(d, a, b, traffic);
    }

    private static void AssertClean(Setup s)
    {
        Assert.Empty(s.Traffic.Violations);
        Assert.Empty(DomainInvariants.CheckAll(s.D, TimeSpan.FromSeconds(1)));
        Assert.Empty(DomainInvariants.CheckLocalizedRoutingSettled(s.D));
    }

    [Fact]
    public void Two_vms_on_two_mags_get_a_direct_route_and_their_traffic_takes_it() =>
        SimulationSeed.Run(1801, nameof(Two_vms_on_two_mags_get_a_direct_route_and_their_traffic_takes_it), seed =>
        {
            var s = TwoVms(seed, 0, 1);
            var (d, t) = (s.D, s.Traffic);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var lma = d.Lma.Machine;
            Assert.Equal(1, lma.LocalizedRoutingSessionCount);
            Assert.Equal(1, lma.Counters.LocalizedRoutingSessionsEstablished);
            // Set up (each MAG accepts the other's packets), then confirmed (each sends its own directly).
            Assert.Equal(2, lma.Counters.LrisSent[LriKind.Setup]);
            Assert.Equal(2, lma.Counters.LrisSent[LriKind.Confirm]);
            Assert.Equal(4, lma.Counters.LrasReceivedByStatus[LocalizedRoutingStatus.Success]);
            Assert.Equal(1, d.Mags[0].Machine.Counters.LocalizedRoutesConfirmed);
            var r1 = Assert.Single(d.Mags[0].Machine.LocalizedRoutes);
            Assert.Equal((s.A.MobileNodeIdentifier, s.B.MobileNodeIdentifier, d.Mags[1].Address, true),
                (r1.LocalMobileNodeIdentifier, r1.RemoteMobileNodeIdentifier, r1.RemoteMag, r1.Egress));
            var r2 = Assert.Single(d.Mags[1].Machine.LocalizedRoutes);
            Assert.Equal((s.B.MobileNodeIdentifier, d.Mags[0].Address), (r2.LocalMobileNodeIdentifier, r2.RemoteMag));
            Assert.Equal([s.A.Prefix!.Value], r2.RemotePrefixes);

            // From now on every packet goes MAG to MAG and arrives.
            long viaLma = t[PacketFate.DeliveredViaLma], direct = t[PacketFate.DeliveredDirect];
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            Assert.Equal(viaLma, t[PacketFate.DeliveredViaLma]);
            Assert.InRange(t[PacketFate.DeliveredDirect] - direct, 990, 1010);
            Assert.Equal(0, t.Lost);
            // The LMA saw the pair's first packets (and set the route up from them), then none.
            Assert.InRange(viaLma, 1, 20);
            Assert.Equal(2, lma.Counters.TrafficObservations);
            AssertClean(s);
        });

    [Fact]
    public void Two_vms_on_one_mag_are_routed_locally_and_never_reach_the_lma() =>
        SimulationSeed.Run(1802, nameof(Two_vms_on_one_mag_are_routed_locally_and_never_reach_the_lma), seed =>
        {
            var s = TwoVms(seed, 0, 0);
            s.D.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.True(s.Traffic[PacketFate.DeliveredLocally] > 500, s.Traffic.ToString());
            Assert.Equal(0, s.Traffic[PacketFate.DeliveredViaLma]);
            Assert.Equal(0, s.Traffic.Lost);
            Assert.Equal(0, s.D.Lma.Machine.Counters.TrafficObservations);
            Assert.Equal(0, s.D.Lma.Machine.Counters.LrisSent.Total);
            AssertClean(s);
        });

    [Fact]
    public void With_local_routing_off_same_mag_traffic_goes_through_the_lma_and_starts_nothing() =>
        SimulationSeed.Run(1803, nameof(With_local_routing_off_same_mag_traffic_goes_through_the_lma_and_starts_nothing), seed =>
        {
            var s = TwoVms(seed, 0, 0, new DomainOptions { ConfigureMag = o => o with { EnableMagLocalRouting = false } });
            s.D.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.Equal(0, s.Traffic[PacketFate.DeliveredLocally]);
            Assert.True(s.Traffic[PacketFate.DeliveredViaLma] > 500, s.Traffic.ToString());
            // Both VMs are on one MAG: nothing for RFC 6705 to do.
            Assert.Equal(0, s.D.Lma.Machine.Counters.LrisSent.Total);
            AssertClean(s);
        });

    [Fact]
    public void With_localized_routing_off_at_the_lma_traffic_between_mags_stays_on_the_lma_path() =>
        SimulationSeed.Run(1804, nameof(With_localized_routing_off_at_the_lma_traffic_between_mags_stays_on_the_lma_path), seed =>
        {
            var s = TwoVms(seed, 0, 1, new DomainOptions
            {
                ConfigureLma = o => o with { LocalizedRouting = o.LocalizedRouting with { Enabled = false } },
            });
            s.D.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.Equal(0, s.Traffic[PacketFate.DeliveredDirect]);
            Assert.True(s.Traffic[PacketFate.DeliveredViaLma] > 500, s.Traffic.ToString());
            Assert.Equal(0, s.D.Lma.Machine.Counters.LrisSent.Total);
            AssertClean(s);
        });

    [Fact]
    public void A_mag_that_refuses_is_held_off_and_the_pair_stays_with_the_lma() =>
        SimulationSeed.Run(1805, nameof(A_mag_that_refuses_is_held_off_and_the_pair_stays_with_the_lma), seed =>
        {
            var s = TwoVms(seed, 0, 1, new DomainOptions
            {
                ConfigureMag = o => o.ProxyCareOfAddress == PmipDomain.MagAddress(1) ? o with { LocalizedRouting = false } : o,
            });
            var d = s.D;
            d.Sim.RunFor(TimeSpan.FromSeconds(10));
            var lma = d.Lma.Machine;
            Assert.Equal(1, lma.Counters.LrasReceivedByStatus[LocalizedRoutingStatus.LocalizedRoutingNotAllowed]);
            Assert.Equal(1, lma.Counters.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.Refused]);
            Assert.Equal(0, lma.LocalizedRoutingSessionCount);
            Assert.Equal(1, lma.LocalizedRoutingPairsHeldOff);
            // The accepting side was told to stop again; nobody routes directly.
            Assert.Equal(0, d.Mags[0].Machine.LocalizedRouteCount);
            Assert.Equal(1, d.Mags[0].Machine.Counters.LocalizedRoutesEnded[LocalizedRouteEnd.Terminated]);
            Assert.Equal(0, d.Mags[1].Machine.LocalizedRouteCount);
            Assert.Equal(0, s.Traffic.Lost);
            // Held off for RefusalHoldOff (60 s), then tried once more, and refused again.
            d.Sim.RunFor(TimeSpan.FromSeconds(60));
            Assert.Equal(2, lma.Counters.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.Refused]);
            AssertClean(s);
        });

    [Fact]
    public void A_busy_pair_is_refreshed_and_an_idle_one_ends_at_its_next_refresh() =>
        SimulationSeed.Run(1806, nameof(A_busy_pair_is_refreshed_and_an_idle_one_ends_at_its_next_refresh), seed =>
        {
            var s = TwoVms(seed, 0, 1, flows: false);
            var (d, t) = (s.D, s.Traffic);
            var stop = d.Sim.Now + TimeSpan.FromSeconds(300);
            t.Flow(s.A, s.B, TimeSpan.FromMilliseconds(100), stop);
            t.Flow(s.B, s.A, TimeSpan.FromMilliseconds(100), stop);
            d.Sim.RunFor(TimeSpan.FromSeconds(299));
            var lma = d.Lma.Machine;
            // Lifetime 120 s, refreshed at 90 s: three refreshes in five minutes, the pair held throughout.
            Assert.Equal(6, lma.Counters.LrisSent[LriKind.Refresh]);
            Assert.Equal(1, lma.LocalizedRoutingSessionCount);
            Assert.Equal(6, d.Mags[0].Machine.Counters.LocalizedRoutesRefreshed + d.Mags[1].Machine.Counters.LocalizedRoutesRefreshed);
            Assert.Equal(0, t.Lost);
            Assert.Empty(DomainInvariants.CheckLocalizedRoutingSettled(d));
            // Silence: the next refresh finds the pair unused for more than half its lifetime, and it ends.
            d.Sim.RunFor(TimeSpan.FromSeconds(200));
            Assert.Equal(0, lma.LocalizedRoutingSessionCount);
            Assert.Equal(1, lma.Counters.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.Idle]);
            Assert.Equal(0, d.Mags[0].Machine.LocalizedRouteCount + d.Mags[1].Machine.LocalizedRouteCount);
            // Both MAGs found it idle when the refreshes came.
            Assert.Equal(1, d.Mags[0].Machine.Counters.LocalizedRoutesEnded[LocalizedRouteEnd.Idle]);
            Assert.Equal(1, d.Mags[1].Machine.Counters.LocalizedRoutesEnded[LocalizedRouteEnd.Idle]);
            AssertClean(s);
        });

    public static TheoryData<MigrationOrder, bool, int> MigrationCases()
    {
        var data = new TheoryData<MigrationOrder, bool, int>();
        foreach (var order in new[] { MigrationOrder.NewMagRegistersFirst, MigrationOrder.OldMagDeregistersFirst })
        foreach (var moveA in new[] { true, false })
        foreach (var target in new[] { 0, 1, 2 })
        {
            // The moving VM's own MAG is not a target.
            if ((moveA && target == 0) || (!moveA && target == 1)) continue;
            data.Add(order, moveA, target);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(MigrationCases))]
    public void Migrating_either_end_repoints_or_ends_the_pair_within_one_signalling_round(MigrationOrder order, bool moveA, int target) =>
        SimulationSeed.Run(1807, nameof(Migrating_either_end_repoints_or_ends_the_pair_within_one_signalling_round), seed =>
        {
            var s = TwoVms(seed, 0, 1);
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
                // Now on one MAG: the pair ended, local routing carries it.
                Assert.Equal(0, lma.LocalizedRoutingSessionCount);
                Assert.Equal(order == MigrationOrder.NewMagRegistersFirst ? 1 : 0, lma.Counters.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.SameMag]);
                Assert.True(s.Traffic[PacketFate.DeliveredLocally] - localBefore > 500, s.Traffic.ToString());
            }
            else
            {
                // Still apart: the pair follows the VM (re-pointed at once, or set up again from the first packets).
                Assert.Equal(1, lma.LocalizedRoutingSessionCount);
                var leg = Assert.Single(d.Mags[target].Machine.LocalizedRoutes);
                Assert.Equal(staying.Mag!.Address, leg.RemoteMag);
                Assert.Equal(d.Mags[target].Address, Assert.Single(staying.Mag.Machine.LocalizedRoutes).RemoteMag);
                Assert.True(s.Traffic[PacketFate.DeliveredDirect] - directBefore > 500, s.Traffic.ToString());
            }
            // The MAG the VM left holds nothing of the pair.
            var left = d.Mags[moveA ? 0 : 1];
            Assert.Empty(left.Machine.LocalizedRoutes);
            Assert.Empty(left.DirectRoutes);
            Assert.Equal(lostBefore, s.Traffic.Lost);
            AssertClean(s);
        });

    [Fact]
    public void A_talking_vm_live_migrated_with_pre_registration_source_first_gets_its_pair_back_only_once_it_resumed() =>
        SimulationSeed.Run(1814, nameof(A_talking_vm_live_migrated_with_pre_registration_source_first_gets_its_pair_back_only_once_it_resumed), seed =>
        {
            // The end-to-end optimized-routing test's moves, as its testbed makes them: the destination pre-registered
            // (RFC 6058), the source's port gone before the VM shows up at the destination, so the LMA promotes the
            // destination before it knows the VM runs there. B goes to A's MAG (the pair ends), back (it must come
            // again), then to a third MAG (it must follow).
            var s = TwoVms(seed, 0, 1);
            var d = s.D;
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var lma = d.Lma.Machine;
            Assert.Equal(1, lma.Counters.LocalizedRoutingSessionsEstablished);
            void Move(int to)
            {
                d.LiveMigrate(s.B, d.Mags[to], precopy: TimeSpan.FromMilliseconds(300), pause: TimeSpan.FromMilliseconds(50),
                    sourceQuitDelay: TimeSpan.Zero, arrivalDelay: TimeSpan.FromMilliseconds(80));
                d.Sim.RunFor(TimeSpan.FromSeconds(3));
                Assert.Empty(s.Traffic.Violations);
                Assert.Empty(DomainInvariants.CheckLocalizedRouting(d));
            }

            Move(0);
            Assert.Equal(0, lma.LocalizedRoutingSessionCount);
            Assert.Equal(1, lma.Counters.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.SameMag]);

            Move(1);
            // Back apart: A's traffic reached the LMA while MAG2 held B as pre-registered only; the pair waited for
            // MAG2's activation instead of being refused there and held off.
            var view = Assert.Single(lma.LocalizedRoutingSessions);
            Assert.True(view.Established);
            Assert.True(lma.Counters.LocalizedRoutingSetupsDeferred > 0);
            Assert.Equal(0, lma.LocalizedRoutingPairsHeldOff);
            Assert.Equal(0, lma.Counters.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.Refused]);
            Assert.Equal(0, lma.Counters.LrasReceivedByStatus[LocalizedRoutingStatus.MobileNodeNotAttached]);
            Assert.Equal(d.Mags[0].Address, Assert.Single(d.Mags[1].Machine.LocalizedRoutes).RemoteMag);

            long direct = s.Traffic[PacketFate.DeliveredDirect];
            Move(2);
            // To a third MAG: the pair followed B there, again only once MAG3 had B.
            Assert.Equal(3, lma.Counters.Handover.TransientsPromoted);
            Assert.True(Assert.Single(lma.LocalizedRoutingSessions).Established);
            Assert.Equal(d.Mags[2].Address, Assert.Single(d.Mags[0].Machine.LocalizedRoutes).RemoteMag);
            Assert.Equal(d.Mags[0].Address, Assert.Single(d.Mags[2].Machine.LocalizedRoutes).RemoteMag);
            Assert.Empty(d.Mags[1].Machine.LocalizedRoutes);
            Assert.Equal(0, lma.Counters.LrasReceivedByStatus[LocalizedRoutingStatus.MobileNodeNotAttached]);
            Assert.Equal(0, lma.Counters.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.Refused]);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.True(s.Traffic[PacketFate.DeliveredDirect] - direct > 300, s.Traffic.ToString());
            AssertClean(s);
        });

    [Fact]
    public void A_lost_lri_and_a_lost_lra_cost_one_retransmission_each() =>
        SimulationSeed.Run(1808, nameof(A_lost_lri_and_a_lost_lra_cost_one_retransmission_each), seed =>
        {
            var s = TwoVms(seed, 0, 1, flows: false);
            var d = s.D;
            d.Downlink(d.Mags[0]).AddRule(new LinkRule(m => m is LocalizedRoutingInitiation, LinkVerdict.Drop));
            d.Mags[1].Uplink.AddRule(new LinkRule(m => m is LocalizedRoutingAcknowledgement, LinkVerdict.Drop));
            s.Traffic.Flow(s.A, s.B, TimeSpan.FromMilliseconds(10));
            s.Traffic.Flow(s.B, s.A, TimeSpan.FromMilliseconds(10));
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            var lma = d.Lma.Machine;
            Assert.Equal(2, lma.Counters.LriRetransmissions);
            Assert.Equal(1, lma.Counters.LocalizedRoutingSessionsEstablished);
            // The MAG whose LRA was lost answered the same LRI twice, refreshing the same route.
            Assert.Equal(1, d.Mags[1].Machine.Counters.LocalizedRoutesInstalled);
            Assert.Equal(1, d.Mags[1].Machine.Counters.LocalizedRoutesRefreshed);
            Assert.Equal(0, s.Traffic.Lost);
            AssertClean(s);
        });

    [Fact]
    public void A_lost_re_pointing_lri_is_retransmitted_and_the_stale_window_is_one_retransmission_longer() =>
        SimulationSeed.Run(1809, nameof(A_lost_re_pointing_lri_is_retransmitted_and_the_stale_window_is_one_retransmission_longer), seed =>
        {
            var s = TwoVms(seed, 0, 1);
            var d = s.D;
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            // B moves to MAG3; the LRI telling MAG1 is lost once (its retransmission comes 1 s later).
            d.Downlink(d.Mags[0]).AddRule(new LinkRule(m => m is LocalizedRoutingInitiation, LinkVerdict.Drop));
            s.Traffic.StalenessBound = Staleness + d.Lma.Machine.Options.LocalizedRouting.InitialRetransmissionTimeout;
            d.Migrate(s.B, d.Mags[2], MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(200));
            d.Sim.RunFor(TimeSpan.FromSeconds(4));
            Assert.Equal(1, d.Lma.Machine.Counters.LriRetransmissions);
            Assert.Equal(d.Mags[2].Address, Assert.Single(d.Mags[0].Machine.LocalizedRoutes).RemoteMag);
            // What MAG1 sent to MAG2 meanwhile was lost there (the VM had gone), and nothing after.
            Assert.True(s.Traffic[PacketFate.LostVmNotThere] > 50, s.Traffic.ToString());
            long lost = s.Traffic.Lost;
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.Equal(lost, s.Traffic.Lost);
            AssertClean(s);
        });

    [Fact]
    public void An_lma_restart_drops_the_direct_routes_and_the_new_lma_sets_them_up_again() =>
        SimulationSeed.Run(1810, nameof(An_lma_restart_drops_the_direct_routes_and_the_new_lma_sets_them_up_again), seed =>
        {
            var s = TwoVms(seed, 0, 1);
            var d = s.D;
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            d.RestartLma(TimeSpan.FromMilliseconds(500));
            // Until the MAGs' heartbeats (5 s) see the new restart counter, the pair still runs MAG to MAG, as it should:
            // the VMs have not moved.
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            Assert.Equal(1, d.Mags[0].Machine.LocalizedRouteCount);
            d.Sim.RunFor(TimeSpan.FromSeconds(10));
            Assert.Equal(1, d.Mags[0].Machine.Counters.LocalizedRoutesEnded[LocalizedRouteEnd.LmaRestarted]);
            Assert.Equal(1, d.Mags[1].Machine.Counters.LocalizedRoutesEnded[LocalizedRouteEnd.LmaRestarted]);
            // The restarted LMA saw the pair's traffic again and set it up anew.
            Assert.Equal(1, d.Lma.Machine.LocalizedRoutingSessionCount);
            Assert.Equal(1, d.Lma.Machine.Counters.LocalizedRoutingSessionsEstablished);
            Assert.Equal(1, d.Mags[0].Machine.LocalizedRouteCount);
            Assert.Empty(s.Traffic.Violations);
            Assert.Empty(DomainInvariants.CheckLocalizedRouting(d));
            Assert.Empty(DomainInvariants.CheckLocalizedRoutingSettled(d));
        });

    [Fact]
    public void Lri_and_lra_travel_in_esp_like_every_other_message() =>
        SimulationSeed.Run(1811, nameof(Lri_and_lra_travel_in_esp_like_every_other_message), seed =>
        {
            var s = TwoVms(seed, 0, 1, new DomainOptions { SignallingKeys = true });
            var d = s.D;
            d.Mags[0].Uplink.EspTrace = [];
            d.Downlink(d.Mags[0]).EspTrace = [];
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.Equal(1, d.Lma.Machine.Counters.LocalizedRoutingSessionsEstablished);
            Assert.NotEmpty(d.Downlink(d.Mags[0]).EspTrace!);
            Assert.Equal(0, d.Security!.Drops.Total);
            Assert.True(s.Traffic[PacketFate.DeliveredDirect] > 100, s.Traffic.ToString());
            AssertClean(s);
        });

    [Fact]
    public void Random_migrations_of_talking_vms_under_jitter_never_send_to_a_mag_a_vm_left() =>
        SimulationSeed.Run(1812, nameof(Random_migrations_of_talking_vms_under_jitter_never_send_to_a_mag_a_vm_left), seed =>
        {
            var jittery = LinkProfile.Ideal(TimeSpan.FromMilliseconds(10)) with { Jitter = TimeSpan.FromMilliseconds(4) };
            var d = new PmipDomain(seed, new DomainOptions { MagCount = 4, Uplink = jittery, Downlink = jittery });
            var vms = Enumerable.Range(0, 6).Select(_ => d.AddVm()).ToArray();
            for (int i = 0; i < vms.Length; i++) d.Boot(vms[i], d.Mags[i % 4]);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            var traffic = new SimTraffic(d, InterMag, Staleness + TimeSpan.FromMilliseconds(8));
            for (int i = 0; i < vms.Length; i++)
                traffic.Flow(vms[i], vms[(i + 1) % vms.Length], TimeSpan.FromMilliseconds(20));
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
    public void The_staleness_check_is_not_vacuous_a_bound_shorter_than_one_signalling_round_is_broken() =>
        SimulationSeed.Run(1813, nameof(The_staleness_check_is_not_vacuous_a_bound_shorter_than_one_signalling_round_is_broken), seed =>
        {
            var s = TwoVms(seed, 0, 1);
            var d = s.D;
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            // MAG1 learns that B left MAG2 one round (PBU up, LRI down: 20 ms and change) after B resumed on MAG3; until
            // then it sends to MAG2. A bound of 15 ms must catch those packets, the 22 ms one must not.
            s.Traffic.StalenessBound = TimeSpan.FromMilliseconds(15);
            d.Migrate(s.B, d.Mags[2], MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(200));
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            Assert.NotEmpty(s.Traffic.Violations);
            Assert.All(s.Traffic.Violations, v => Assert.Contains("straight to mag2", v));
        });
}
