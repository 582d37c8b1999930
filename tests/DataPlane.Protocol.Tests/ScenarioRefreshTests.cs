using DataPlane.Protocol.Mag;
using DataPlane.Simulation;

namespace DataPlane.Protocol.Tests;

/// <summary>Scenario 6: binding refresh over 24 virtual hours; nothing expires while the VM is attached.</summary>
public class ScenarioRefreshTests
{
    [Theory]
    [InlineData(300, 300)]   // the LMA grants what is asked
    [InlineData(600, 120)]   // the LMA grants less than asked: refresh and RA timing must follow the grant
    public void Bindings_are_refreshed_for_a_day_without_expiring(int requestedSeconds, int maxGrantedSeconds) =>
        SimulationSeed.Run(601, nameof(Bindings_are_refreshed_for_a_day_without_expiring), seed =>
        {
            var lifetime = TimeSpan.FromSeconds(requestedSeconds);
            var d = new PmipDomain(seed, new DomainOptions
            {
                MagCount = 2,
                Uplink = new LinkProfile { Delay = TimeSpan.FromMilliseconds(40), Jitter = TimeSpan.FromMilliseconds(5) },
                Downlink = new LinkProfile { Delay = TimeSpan.FromMilliseconds(40), Jitter = TimeSpan.FromMilliseconds(5) },
                ConfigureMag = o => o with { BindingLifetime = lifetime, MinRtrAdvInterval = TimeSpan.FromSeconds(20), MaxRtrAdvInterval = TimeSpan.FromSeconds(60) },
                ConfigureLma = o => o with { MaxBindingLifetime = TimeSpan.FromSeconds(maxGrantedSeconds) },
            });
            var vms = Enumerable.Range(0, 20).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 2]);
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            var prefixes = vms.ToDictionary(v => v, v => v.Prefix!.Value);
            var end = d.Sim.Now + TimeSpan.FromHours(24);
            while (d.Sim.Now < end)
            {
                d.Sim.RunFor(TimeSpan.FromSeconds(7));
                Assert.All(vms, v => Assert.True(v.HasValidAddress(d.Sim.Now), $"{v.Name}'s address lapsed at {d.Sim.Now}"));
                var violations = DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1));
                Assert.True(violations.Count == 0, string.Join("\n", violations));
            }
            var lma = d.Lma.Machine.Counters;
            Assert.Equal(0, lma.BindingsExpired);
            Assert.Equal(20, lma.BindingsCreated);
            Assert.All(d.Mags, m => Assert.Equal(0, m.Machine.Counters.SessionFailures.Total));
            var granted = TimeSpan.FromSeconds(Math.Min(requestedSeconds, maxGrantedSeconds));
            // Refreshed at 71–75% of the granted lifetime: about a day / (0.73 × granted) per VM.
            double expected = 20 * TimeSpan.FromHours(24) / (granted * 0.73);
            Assert.InRange(lma.ReRegistrations, expected * 0.95, expected * 1.05);
            Assert.All(vms, v => Assert.Equal(prefixes[v], v.Prefix));
            Assert.Equal(lma.ReRegistrations, d.Mags.Sum(m => m.Machine.Counters.RefreshesAccepted));
        });
}
