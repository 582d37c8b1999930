using System.Text;
using DataPlane.Simulation;

namespace DataPlane.Protocol.Tests;

/// <summary>A run is a function of its seed: the same seed reproduces it exactly, another seed does not.</summary>
public class ReproducibilityTests
{
    private static string Run(long seed)
    {
        var lossy = new LinkProfile
        {
            Delay = TimeSpan.FromMilliseconds(20), Jitter = TimeSpan.FromMilliseconds(15),
            Loss = 0.1, Duplication = 0.05, Reordering = 0.1,
        };
        var d = new PmipDomain(seed, new DomainOptions { MagCount = 3, Uplink = lossy, Downlink = lossy });
        var random = d.Sim.NewRandomStream();
        var vms = Enumerable.Range(0, 200).Select(_ => d.AddVm()).ToList();
        foreach (var vm in vms) d.Sim.Schedule(TimeSpan.FromSeconds(random.NextDouble() * 60), () => d.Boot(vm, d.Mags[random.NextInt(3)]));
        for (int i = 0; i < 300; i++)
        {
            d.Sim.Schedule(TimeSpan.FromSeconds(60 + random.NextDouble() * 3000), () =>
            {
                var vm = vms[random.NextInt(vms.Count)];
                if (vm.State != VmState.Running) return;
                d.Migrate(vm, d.Mags.First(m => m != vm.Mag), random.NextInt(2) == 0 ? MigrationOrder.NewMagRegistersFirst : MigrationOrder.OldMagDeregistersFirst,
                    TimeSpan.FromMilliseconds(random.NextInt(300)));
            });
        }
        d.Sim.RunFor(TimeSpan.FromHours(1));
        var sb = new StringBuilder();
        sb.Append(d.Sim.EventsProcessed).Append('|').Append(d.Lma.Machine.Counters.PbasSentByStatus).Append('|');
        foreach (var m in d.Mags) sb.Append(m.Machine.Counters.PbusRetransmitted).Append(',').Append(m.Machine.Counters.PbasDroppedUnknown).Append('|');
        foreach (var vm in vms) sb.Append(vm.Prefix).Append(vm.Mag?.Name).Append(vm.RouterAdvertisementsReceived).Append(vm.LastRouterAdvertisement?.At).Append(';');
        return sb.ToString();
    }

    [Fact]
    public void Same_seed_same_run_bit_for_bit() => SimulationSeed.Run(801, nameof(Same_seed_same_run_bit_for_bit), seed =>
    {
        var a = Run(seed);
        Assert.Equal(a, Run(seed));
        Assert.NotEqual(a, Run(seed + 1));
    });
}
