using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// Live migration with pre-registration in whole simulated domains: a numbered downlink stream runs through the LMA's
/// forwarding (bicast or switch at the stop) and the MAGs' buffers to the VM, whatever the RTT. What the VM receives is
/// held against where every other packet went: nothing twice, nothing out of order, and the only packets lost are the
/// ones a MAG handed to the VM's port while the VM was not running there (a stopped guest's tap).
/// </summary>
public class ScenarioLiveMigrationTests
{
    /// <summary>The domain with one VM booted at its first MAG and settled: where every scenario here starts.</summary>
    private static (PmipDomain D, SimMag Mag1, SimMag Mag2, SimVm Vm) Booted(PmipDomain d)
    {
        var vm = d.AddVm();
        d.Boot(vm, d.Mags[0]);
        d.Sim.RunFor(TimeSpan.FromSeconds(3));
        return (d, d.Mags[0], d.Mags[1], vm);
    }

    private static PmipDomain Domain(long seed, TimeSpan oneWay, bool bicast = true, Func<MagOptions, MagOptions>? mag = null) =>
        new(seed, new DomainOptions
        {
            Prefixes = PrefixSource.Profile,
            Uplink = LinkProfile.Ideal(oneWay),
            Downlink = LinkProfile.Ideal(oneWay),
            ConfigureLma = o => o with { Bicast = bicast },
            ConfigureMag = mag,
        });

    private static void AssertInvariants(PmipDomain d)
    {
        var v = DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1));
        v.AddRange(DomainInvariants.CheckCountersAddUp(d));
        Assert.True(v.Count == 0, string.Join("\n", v));
    }

    /// <summary>Every packet reached the VM exactly once and in order, except those handed to a port the VM was not running on.</summary>
    private static void AssertDeliveredExactlyOnceInOrder(SimDownlink s)
    {
        Assert.True(s.OrderViolations().Count == 0, "duplicated or reordered: " + string.Join(", ", s.OrderViolations().Take(10)));
        var missing = s.Missing(s.Sent).Except(s.NoRoute).ToList();
        var unexplained = missing.Except(s.DeliveredToStoppedVm).ToList();
        Assert.True(unexplained.Count == 0, $"lost without a reason ({unexplained.Count} of {s.Sent}): {string.Join(",", unexplained.Take(20))}; {s.Explain(unexplained)}");
    }

    public static TheoryData<double, bool> RttsAndModes => new()
    {
        { 0.01, true }, { 7.5, true }, { 22.5, true }, { 40, true },
        { 0.01, false }, { 40, false },
    };

    [Theory]
    [MemberData(nameof(RttsAndModes))]
    public void With_bicast_nothing_is_lost_duplicated_or_reordered_and_the_destination_waits_on_nothing(double oneWayMs, bool bicast) =>
        SimulationSeed.Run(1601, nameof(With_bicast_nothing_is_lost_duplicated_or_reordered_and_the_destination_waits_on_nothing), seed =>
        {
            var (d, mag1, mag2, vm) = Booted(Domain(seed, TimeSpan.FromMilliseconds(oneWayMs), bicast));
            var stream = d.StartDownlink(vm, TimeSpan.FromMilliseconds(1));
            d.Sim.RunFor(TimeSpan.FromMilliseconds(200));
            // The final copy crosses the source→destination path (via the LMA here: two one-way delays) plus 20 ms.
            var pause = TimeSpan.FromMilliseconds(2 * oneWayMs + 20);
            var m = d.LiveMigrate(vm, mag2, precopy: TimeSpan.FromSeconds(2), pause: pause);
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            stream.Stop();
            d.Sim.RunFor(TimeSpan.FromSeconds(1));

            Assert.True(m.StopTaken);
            Assert.Equal(mag2, vm.Mag);
            if (bicast)
            {
                AssertDeliveredExactlyOnceInOrder(stream);
                // Only the packets that reached the source between the VM's stop and its listener's word are lost (1 ms).
                Assert.InRange(stream.DeliveredToStoppedVm.Count, 0, 2);
            }
            else
            {
                // Switching at the stop: what the LMA sent the source from one one-way delay before the stop until the
                // notice reached it (one-way + the listener's 1 ms) is held by the stopped source, which the VM left.
                // That is what bicast saves.
                Assert.True(stream.OrderViolations().Count == 0, string.Join(", ", stream.OrderViolations().Take(10)));
                var lost = stream.Missing(stream.Sent).Except(stream.DeliveredToStoppedVm).ToList();
                Assert.True(lost.All(stream.DiscardedFromBuffer.Contains), stream.Explain(lost));
                Assert.InRange(lost.Count, 0, (int)(2 * oneWayMs + 1) + 2);
                if (lost.Count > 0) Assert.Equal(lost.Count, lost.Max() - lost.Min() + 1);
            }
            var done = Assert.Single(mag2.Handovers);
            Assert.NotNull(done.Timings.PreRegistered);
            // The marker left the source when the VM stopped and crossed MAG→LMA→MAG while the final copy did: it was
            // there when the VM resumed, so the release waited on nothing.
            Assert.Equal(TimeSpan.Zero, done.Timings.Total);
            Assert.Equal(1, mag2.Machine.Counters.Handover.EndMarkersReceived);
            Assert.Equal(mag2.Address, d.Lma.Routes[vm.Prefix!.Value]);
            Assert.Empty(d.Lma.Secondaries);
            AssertInvariants(d);
        });

    [Fact]
    public void Without_the_sources_listener_the_destination_drops_what_came_before_the_vm_and_nothing_is_duplicated() =>
        SimulationSeed.Run(1602, nameof(Without_the_sources_listener_the_destination_drops_what_came_before_the_vm_and_nothing_is_duplicated), seed =>
        {
            var (d, mag1, mag2, vm) = Booted(Domain(seed, TimeSpan.FromMilliseconds(20)));
            var stream = d.StartDownlink(vm, TimeSpan.FromMilliseconds(1));
            var m = d.LiveMigrate(vm, mag2, precopy: TimeSpan.FromSeconds(1), pause: TimeSpan.FromMilliseconds(60), sourceHook: false);
            d.Sim.RunFor(TimeSpan.FromSeconds(4));
            stream.Stop();
            d.Sim.RunFor(TimeSpan.FromSeconds(1));

            Assert.False(m.StopTaken);
            AssertDeliveredExactlyOnceInOrder(stream);
            var done = Assert.Single(mag2.Handovers);
            Assert.True(done.Timings.EndMarkerTimedOut);
            Assert.Equal(1, mag2.Machine.Counters.Handover.EndMarkerTimeouts);
            AssertInvariants(d);
        });

    [Fact]
    public void A_migration_cancelled_during_the_pre_copy_leaves_the_vm_served_at_the_source_with_nothing_stale() =>
        SimulationSeed.Run(1603, nameof(A_migration_cancelled_during_the_pre_copy_leaves_the_vm_served_at_the_source_with_nothing_stale), seed =>
        {
            var (d, mag1, mag2, vm) = Booted(Domain(seed, TimeSpan.FromMilliseconds(10)));
            var stream = d.StartDownlink(vm, TimeSpan.FromMilliseconds(2));
            d.LiveMigrate(vm, mag2, precopy: TimeSpan.FromSeconds(1), pause: TimeSpan.FromMilliseconds(50), LiveMigrationOutcome.CancelledBeforeStop);
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            stream.Stop();
            d.Sim.RunFor(TimeSpan.FromSeconds(1));

            Assert.Equal(mag1, vm.Mag);
            Assert.Equal(stream.Sent, stream.Received.Count);
            AssertDeliveredExactlyOnceInOrder(stream);
            Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var b));
            Assert.Equal((mag1.Address, (Ipv6Address?)null), (b.ProxyCareOfAddress!.Value, b.TransientMag));
            Assert.Equal(0, mag2.Machine.SessionCount);
            Assert.Equal(0, mag2.Machine.BindingUpdateListCount);
            Assert.Equal(1, d.Lma.Machine.Counters.Handover.TransientsCancelled);
            AssertInvariants(d);
        });

    [Fact]
    public void A_migration_that_fails_after_the_stop_gives_the_source_its_downlink_back() =>
        SimulationSeed.Run(1604, nameof(A_migration_that_fails_after_the_stop_gives_the_source_its_downlink_back), seed =>
        {
            var (d, mag1, mag2, vm) = Booted(Domain(seed, TimeSpan.FromMilliseconds(10)));
            var stream = d.StartDownlink(vm, TimeSpan.FromMilliseconds(2));
            d.LiveMigrate(vm, mag2, precopy: TimeSpan.FromSeconds(1), pause: TimeSpan.FromMilliseconds(50), LiveMigrationOutcome.FailedAfterStop);
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            int sentBeforeCheck = stream.Sent;
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            stream.Stop();
            d.Sim.RunFor(TimeSpan.FromSeconds(1));

            Assert.Equal(mag1, vm.Mag);
            AssertDeliveredExactlyOnceInOrder(stream);
            // Everything sent once the source had its downlink back reached the VM.
            Assert.Subset(stream.Received.ToHashSet(), Enumerable.Range(sentBeforeCheck, stream.Sent - sentBeforeCheck).ToHashSet());
            Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var b));
            Assert.Equal((mag1.Address, (Ipv6Address?)null, false), (b.ProxyCareOfAddress!.Value, b.TransientMag, b.ServingMagStopped));
            Assert.Equal(0, mag2.Machine.SessionCount);
            AssertInvariants(d);
        });

    [Fact]
    public void A_pre_registered_vm_that_never_arrives_expires_cleanly_at_both_ends() =>
        SimulationSeed.Run(1605, nameof(A_pre_registered_vm_that_never_arrives_expires_cleanly_at_both_ends), seed =>
        {
            var (d, mag1, mag2, vm) = Booted(Domain(seed, TimeSpan.FromMilliseconds(10), mag: o => o with { PreRegistrationTimeout = TimeSpan.FromSeconds(60) }));
            var m = d.LiveMigrate(vm, mag2, precopy: TimeSpan.FromSeconds(1), pause: TimeSpan.FromMilliseconds(50), LiveMigrationOutcome.NeverArrives);
            d.Sim.RunFor(TimeSpan.FromSeconds(30));
            // Kept by its refreshes for as long as it waits…
            Assert.True(mag2.Machine.TryGetSession(m.DestinationPort, out var s));
            Assert.Equal(MigrationPhase.PreRegistered, s.Migration);
            Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var b));
            Assert.Equal(mag2.Address, b.TransientMag);
            Assert.True(mag2.Machine.Counters.Handover.TransientRefreshes >= 2);
            AssertInvariants(d);
            // …then given up: no session, no transient binding, the VM still served at the source.
            d.Sim.RunFor(TimeSpan.FromSeconds(60));
            Assert.False(mag2.Machine.TryGetSession(m.DestinationPort, out _));
            Assert.Equal(0, mag2.Machine.BindingUpdateListCount);
            Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out b));
            Assert.Equal((mag1.Address, (Ipv6Address?)null), (b.ProxyCareOfAddress!.Value, b.TransientMag));
            Assert.Equal(1, mag2.Machine.Counters.Handover.PreRegistrationsExpired);
            AssertInvariants(d);
        });

    [Fact]
    public void A_second_migration_before_the_first_completed_still_ends_with_the_vm_served_where_it_runs() =>
        SimulationSeed.Run(1606, nameof(A_second_migration_before_the_first_completed_still_ends_with_the_vm_served_where_it_runs), seed =>
        {
            var (d, mag1, mag2, vm) = Booted(Domain(seed, TimeSpan.FromMilliseconds(20)));
            var stream = d.StartDownlink(vm, TimeSpan.FromMilliseconds(1));
            d.LiveMigrate(vm, mag2, precopy: TimeSpan.FromMilliseconds(500), pause: TimeSpan.FromMilliseconds(60));
            // As soon as it runs at MAG2 (before MAG2's activation PBA, before MAG1's port is gone), back to MAG1.
            d.Sim.RunFor(TimeSpan.FromMilliseconds(561));
            Assert.Equal(mag2, vm.Mag);
            d.LiveMigrate(vm, mag1, precopy: TimeSpan.FromMilliseconds(200), pause: TimeSpan.FromMilliseconds(60));
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            stream.Stop();
            d.Sim.RunFor(TimeSpan.FromSeconds(1));

            Assert.Equal(mag1, vm.Mag);
            AssertDeliveredExactlyOnceInOrder(stream);
            Assert.True(d.Lma.Machine.TryGetBinding(vm.MobileNodeIdentifier, out var b));
            Assert.Equal((mag1.Address, (Ipv6Address?)null), (b.ProxyCareOfAddress!.Value, b.TransientMag));
            Assert.Empty(d.Lma.Secondaries);
            // The VM got packets sent after its second arrival.
            Assert.Contains(stream.Received, n => n > stream.Sent - 500);
            AssertInvariants(d);
        });

    [Fact]
    public void A_buffer_too_small_for_the_stop_keeps_the_newest_packets_and_still_never_duplicates() =>
        SimulationSeed.Run(1607, nameof(A_buffer_too_small_for_the_stop_keeps_the_newest_packets_and_still_never_duplicates), seed =>
        {
            var d = Domain(seed, TimeSpan.FromMilliseconds(20));
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            mag2.HandoverBufferPackets = 20;
            var vm = d.AddVm();
            d.Boot(vm, mag1);
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            var stream = d.StartDownlink(vm, TimeSpan.FromMilliseconds(1));
            d.LiveMigrate(vm, mag2, precopy: TimeSpan.FromSeconds(1), pause: TimeSpan.FromMilliseconds(80));
            d.Sim.RunFor(TimeSpan.FromSeconds(4));
            stream.Stop();
            d.Sim.RunFor(TimeSpan.FromSeconds(1));

            Assert.True(stream.OrderViolations().Count == 0, string.Join(", ", stream.OrderViolations().Take(10)));
            // The stop lasted ~80 ms of 1 ms packets; the buffer held the newest 20 of them.
            var missing = stream.Missing(stream.Sent).Except(stream.DeliveredToStoppedVm).ToList();
            Assert.InRange(missing.Count, 40, 120);
            Assert.True(missing.Max() - missing.Min() + 1 == missing.Count, "the lost packets are one run (the oldest of the stop)");
            AssertInvariants(d);
        });
}
