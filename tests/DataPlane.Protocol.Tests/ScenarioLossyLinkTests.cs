using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>Scenario 3: PBU lost, PBA lost, both duplicated and reordered: the session converges with the expected retransmissions.</summary>
public class ScenarioLossyLinkTests
{
    // 10 ms each way: the recommended first retransmission is at 1.25 × RTT + 20 ms = 45 ms.
    private static readonly TimeSpan FirstTimeout = TimeSpan.FromMilliseconds(45);

    private static (PmipDomain D, SimMag Mag, SimVm Vm) Boot(long seed, Action<PmipDomain> faults)
    {
        var d = new PmipDomain(seed);
        d.Mags[0].ReceivedAcknowledgements = [];
        faults(d);
        var vm = d.AddVm();
        d.Boot(vm, d.Mags[0], VmTriggers.RouterSolicitation);
        d.Sim.RunFor(TimeSpan.FromSeconds(5));
        return (d, d.Mags[0], vm);
    }

    private static bool IsPbu(MobilityMessage m) => m is BindingUpdate;
    private static bool IsPba(MobilityMessage m) => m is BindingAcknowledgement;

    private static void AssertConverged(PmipDomain d, SimVm vm)
    {
        Assert.NotNull(vm.Prefix);
        Assert.Equal(d.Mags[0].Address, d.Lma.Routes[vm.Prefix!.Value]);
        Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
    }

    [Fact]
    public void Lost_pbu_is_retransmitted_once() => SimulationSeed.Run(301, nameof(Lost_pbu_is_retransmitted_once), seed =>
    {
        var (d, mag, vm) = Boot(seed, d => d.Mags[0].Uplink.AddRule(new LinkRule(IsPbu, LinkVerdict.Drop)));
        AssertConverged(d, vm);
        var c = mag.Machine.Counters;
        Assert.Equal(1, c.PbusSent[RegistrationKind.Initial]);
        Assert.Equal(1, c.PbusRetransmitted);
        Assert.Equal(1, d.Lma.Machine.Counters.PbusReceived);
        var h = Assert.Single(mag.Handovers);
        Assert.Equal(2, h.Timings.PbuTransmissions);
        Assert.Equal(FirstTimeout + TimeSpan.FromMilliseconds(20), h.Timings.Registration);
    });

    [Fact]
    public void Lost_pba_is_recovered_by_the_retransmission_which_the_lma_takes_as_a_reregistration() =>
        SimulationSeed.Run(302, nameof(Lost_pba_is_recovered_by_the_retransmission_which_the_lma_takes_as_a_reregistration), seed =>
        {
            var (d, mag, vm) = Boot(seed, d => d.Downlink(d.Mags[0]).AddRule(new LinkRule(IsPba, LinkVerdict.Drop)));
            AssertConverged(d, vm);
            Assert.Equal(1, mag.Machine.Counters.PbusRetransmitted);
            var lma = d.Lma.Machine.Counters;
            Assert.Equal(2, lma.PbusReceived);
            Assert.Equal(1, lma.InitialRegistrations);
            Assert.Equal(1, lma.ReRegistrations);
            Assert.Equal(1, lma.BindingsCreated);
        });

    [Fact]
    public void Duplicated_pbu_and_pba_are_answered_idempotently_and_the_extra_pbas_dropped() =>
        SimulationSeed.Run(303, nameof(Duplicated_pbu_and_pba_are_answered_idempotently_and_the_extra_pbas_dropped), seed =>
        {
            var (d, mag, vm) = Boot(seed, d =>
            {
                d.Mags[0].Uplink.AddRule(new LinkRule(IsPbu, LinkVerdict.Duplicate));
                d.Downlink(d.Mags[0]).AddRule(new LinkRule(IsPba, LinkVerdict.Duplicate));
            });
            AssertConverged(d, vm);
            var c = mag.Machine.Counters;
            Assert.Equal(0, c.PbusRetransmitted);
            Assert.Equal(1, d.Lma.Machine.Counters.DuplicatePbus);
            // PBU×2 → PBA×2, the first PBA duplicated → 3 PBAs at the MAG, one used.
            Assert.Equal(3, mag.ReceivedAcknowledgements!.Count);
            Assert.Equal(1, c.PbasByStatus[BindingAckStatus.Accepted]);
            Assert.Equal(2, c.PbasDroppedUnknown);
            Assert.Equal(1, c.SessionsEstablished);
        });

    [Fact]
    public void Pbu_overtaken_by_its_retransmission_is_refused_as_stale_and_the_answer_dropped() =>
        SimulationSeed.Run(304, nameof(Pbu_overtaken_by_its_retransmission_is_refused_as_stale_and_the_answer_dropped), seed =>
        {
            // The first PBU is held back 500 ms: the retransmission overtakes it and is accepted; when the
            // original arrives its timestamp is outside the 300 ms window (156), and the MAG drops that answer.
            var (d, mag, vm) = Boot(seed, d =>
                d.Mags[0].Uplink.AddRule(new LinkRule(IsPbu, LinkVerdict.Delay, 1, TimeSpan.FromMilliseconds(500))));
            AssertConverged(d, vm);
            var c = mag.Machine.Counters;
            Assert.Equal(1, c.PbusRetransmitted);
            Assert.Equal(1, d.Lma.Machine.Counters.PbasSentByStatus[BindingAckStatus.TimestampMismatch]);
            Assert.Equal(1, c.PbasDroppedUnknown);
            Assert.Equal(1, c.SessionsEstablished);
        });

    [Fact]
    public void Pbas_reordered_behind_a_retransmission_complete_the_transaction_once() =>
        SimulationSeed.Run(305, nameof(Pbas_reordered_behind_a_retransmission_complete_the_transaction_once), seed =>
        {
            // The first PBA is held back past the retransmission; both answers accept, the second is stale.
            var (d, mag, vm) = Boot(seed, d =>
                d.Downlink(d.Mags[0]).AddRule(new LinkRule(IsPba, LinkVerdict.Delay, 1, TimeSpan.FromMilliseconds(100))));
            AssertConverged(d, vm);
            var c = mag.Machine.Counters;
            Assert.Equal(1, c.PbusRetransmitted);
            Assert.Equal(1, c.PbasByStatus[BindingAckStatus.Accepted]);
            Assert.Equal(1, c.PbasDroppedUnknown);
            var h = Assert.Single(mag.Handovers);
            // Completed by the retransmission's answer: 45 ms + 20 ms RTT, before the delayed one (120 ms).
            Assert.Equal(FirstTimeout + TimeSpan.FromMilliseconds(20), h.Timings.Registration);
        });

    [Fact]
    public void Random_loss_duplication_and_reordering_still_converge_for_many_vms() =>
        SimulationSeed.Run(306, nameof(Random_loss_duplication_and_reordering_still_converge_for_many_vms), seed =>
        {
            var bad = new LinkProfile
            {
                Delay = TimeSpan.FromMilliseconds(15), Jitter = TimeSpan.FromMilliseconds(10),
                Loss = 0.2, Duplication = 0.1, Reordering = 0.2, ReorderDelay = TimeSpan.FromMilliseconds(40),
            };
            var d = new PmipDomain(seed, new DomainOptions { MagCount = 2, Uplink = bad, Downlink = bad });
            var vms = Enumerable.Range(0, 50).Select(_ => d.AddVm()).ToList();
            foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 2]);
            d.Sim.RunFor(TimeSpan.FromSeconds(30));
            foreach (var vm in vms.Where(v => v.Index % 3 == 0)) d.Migrate(vm, d.Mags[(vm.Index + 1) % 2],
                vm.Index % 2 == 0 ? MigrationOrder.NewMagRegistersFirst : MigrationOrder.OldMagDeregistersFirst, TimeSpan.FromMilliseconds(100));
            d.Sim.RunFor(TimeSpan.FromSeconds(60));
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(20)));
            Assert.True(d.Mags.Sum(m => m.Machine.Counters.PbusRetransmitted) > 0);
            Assert.All(vms, v => Assert.Equal(0, v.AddressChanges));
            Assert.True(d.Sim.RunUntil(() => d.Mags.All(m => m.Uplink.MessagesInFlight == 0 && d.Downlink(m).MessagesInFlight == 0),
                TimeSpan.FromSeconds(10)));
            Assert.Empty(DomainInvariants.CheckCountersAddUp(d));
        });
}
