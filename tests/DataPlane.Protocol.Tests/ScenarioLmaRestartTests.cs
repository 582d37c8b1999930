using DataPlane.Protocol.Mag;
using DataPlane.Simulation;

namespace DataPlane.Protocol.Tests;

/// <summary>Scenario 5: the LMA restarts; MAGs notice through heartbeats and re-register; recovery time is bounded.</summary>
public class ScenarioLmaRestartTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(3000)]
    public void Mags_detect_the_restart_by_heartbeat_and_restore_every_binding_with_the_same_prefixes(int downtimeMs) =>
        SimulationSeed.Run(501, nameof(Mags_detect_the_restart_by_heartbeat_and_restore_every_binding_with_the_same_prefixes), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { MagCount = 3 });
            var vms = Enumerable.Range(0, 30).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 3]);
            d.Sim.RunFor(TimeSpan.FromSeconds(12));
            var prefixes = vms.ToDictionary(v => v, v => v.Prefix!.Value);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));

            var downtime = TimeSpan.FromMilliseconds(downtimeMs);
            var crashAt = d.Sim.Now;
            d.RestartLma(downtime);
            d.Sim.RunFor(downtime + TimeSpan.FromMilliseconds(1));
            Assert.Equal(0, d.Lma.Machine.BindingCacheCount);

            // Bound: the next heartbeat (≤ 5 s interval) + one round trip for it + one for the PBUs.
            var bound = downtime + TimeSpan.FromSeconds(5) + TimeSpan.FromMilliseconds(100);
            bool recovered = d.Sim.RunUntil(() => vms.All(v =>
                d.Lma.Routes.TryGetValue(prefixes[v], out var via) && via == v.Mag!.Address), bound - (d.Sim.Now - crashAt));
            Assert.True(recovered, $"not all bindings restored within {bound}");
            var recovery = d.Sim.Now - crashAt;

            Assert.All(d.Mags, m => Assert.Contains(m.PeerEvents, e => e.Action is MagAction.PeerRestarted));
            Assert.All(vms, v => Assert.Equal(prefixes[v], v.Prefix));
            Assert.All(vms, v => Assert.Equal(0, v.AddressChanges));
            Assert.True(recovery <= bound, $"recovery took {recovery}");
            d.Sim.RunFor(TimeSpan.FromSeconds(10));
            Assert.Equal(30, d.Mags.Sum(m => m.Machine.Counters.ReregistrationsAfterLmaRestart));
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        });

    [Fact]
    public void Lma_silent_longer_than_the_allowed_misses_is_reported_unreachable_then_reachable() =>
        SimulationSeed.Run(502, nameof(Lma_silent_longer_than_the_allowed_misses_is_reported_unreachable_then_reachable), seed =>
        {
            var d = new PmipDomain(seed);
            var vm = d.AddVm();
            d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromSeconds(2));
            var cut = d.Sim.Now;
            d.SetLinks(d.Mags[0], LinkProfile.Down, LinkProfile.Down);
            d.Sim.RunFor(TimeSpan.FromSeconds(30));
            var (at, _) = Assert.Single(d.Mags[0].PeerEvents, e => e.Action is MagAction.PeerUnreachable);
            // 3 misses allowed at a 5 s interval: the first unanswered request goes out within 5 s of the cut and
            // each later request counts one miss; the 4th miss (20 s later) declares the LMA unreachable.
            Assert.InRange(at - cut, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(25));
            Assert.True(d.Mags[0].Machine.Counters.Heartbeat.Misses >= 4);
            d.SetLinks(d.Mags[0], LinkProfile.Ideal(TimeSpan.FromMilliseconds(10)), LinkProfile.Ideal(TimeSpan.FromMilliseconds(10)));
            d.Sim.RunFor(TimeSpan.FromSeconds(6));
            Assert.Single(d.Mags[0].PeerEvents.Select(e => e.Action).OfType<MagAction.PeerReachable>());
            Assert.Empty(d.Mags[0].PeerEvents.Select(e => e.Action).OfType<MagAction.PeerRestarted>());
        });
}
