using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Simulation;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>Scenario 4: unauthorised VM, unauthorised MAG, missing options, stale timestamps → the right status codes.</summary>
public class ScenarioStatusCodeTests
{
    [Fact]
    public void Vm_denied_by_the_policy_store_is_never_registered_and_its_rs_flood_is_absorbed() =>
        SimulationSeed.Run(401, nameof(Vm_denied_by_the_policy_store_is_never_registered_and_its_rs_flood_is_absorbed), seed =>
        {
            var d = new PmipDomain(seed);
            var vm = d.AddVm();
            d.Policy.Deny(vm.Mac);
            d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            for (int i = 0; i < 100; i++) d.SendTrigger(vm);
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            var mag = d.Mags[0];
            var failure = Assert.Single(mag.Failures);
            Assert.Equal(SessionFailureReason.PolicyDenied, failure.Reason);
            Assert.False(failure.WillRetry);
            Assert.Equal(0, mag.Uplink.Counters.Sent(MobilityHeaderType.BindingUpdate));
            Assert.Equal(1, d.Policy.Requests);
            Assert.Equal(102, mag.Machine.Counters.TriggersAbsorbed); // DAD NS, and the 100 RSs, and the boot RS
            Assert.Equal(0, vm.RouterAdvertisementsReceived);
        });

    public static TheoryData<string, BindingAckStatus> LmaRefusals => new()
    {
        { "vm not enabled at the LMA", BindingAckStatus.ProxyRegistrationNotEnabled },
        { "prefix not authorised", BindingAckStatus.NotAuthorizedForHomeNetworkPrefix },
        { "mag not authorised", BindingAckStatus.MagNotAuthorizedForProxyRegistration },
    };

    [Theory]
    [MemberData(nameof(LmaRefusals))]
    public void Lma_refusal_fails_the_session_with_the_status_name_and_is_not_retried(string why, BindingAckStatus expected) =>
        SimulationSeed.Run(402, nameof(Lma_refusal_fails_the_session_with_the_status_name_and_is_not_retried), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions
            {
                Prefixes = PrefixSource.Profile,
                UnauthorizedMags = expected == BindingAckStatus.MagNotAuthorizedForProxyRegistration ? new HashSet<int> { 0 } : new HashSet<int>(),
            });
            var vm = d.AddVm();
            if (expected == BindingAckStatus.ProxyRegistrationNotEnabled) d.LmaPolicy.Deny(vm.MobileNodeIdentifier);
            if (expected == BindingAckStatus.NotAuthorizedForHomeNetworkPrefix)
                d.LmaPolicy.SetProfile(vm.MobileNodeIdentifier, new LmaMobileNodeProfile([PmipDomain.ProfilePrefix(9999)]));
            d.Boot(vm, d.Mags[0]);
            d.Sim.RunFor(TimeSpan.FromMinutes(2));
            var mag = d.Mags[0];
            var failure = Assert.Single(mag.Failures);
            Assert.Equal(SessionFailureReason.Rejected, failure.Reason);
            Assert.Equal(expected, failure.Status);
            Assert.Equal($"{expected} ({(byte)expected})", failure.StatusName);
            Assert.False(failure.WillRetry, why);
            Assert.Equal(1, mag.Uplink.Counters.Sent(MobilityHeaderType.BindingUpdate));
            Assert.Equal(1, d.Lma.Machine.Counters.PbasSentByStatus[expected]);
            Assert.Equal(0, d.Lma.Machine.BindingCacheCount);
            Assert.Empty(mag.Forwarding);
        });

    public static TheoryData<MobilityOptionType, BindingAckStatus> MissingOptions => new()
    {
        { MobilityOptionType.MobileNodeIdentifier, BindingAckStatus.MissingMobileNodeIdentifierOption },
        { MobilityOptionType.HomeNetworkPrefix, BindingAckStatus.MissingHomeNetworkPrefixOption },
        { MobilityOptionType.HandoffIndicator, BindingAckStatus.MissingHandoffIndicatorOption },
        { MobilityOptionType.AccessTechnologyType, BindingAckStatus.MissingAccessTechnologyTypeOption },
    };

    [Theory]
    [MemberData(nameof(MissingOptions))]
    public void Pbu_missing_a_mandatory_option_gets_its_own_status(MobilityOptionType missing, BindingAckStatus expected) =>
        SimulationSeed.Run(403, nameof(Pbu_missing_a_mandatory_option_gets_its_own_status), seed =>
        {
            var d = new PmipDomain(seed);
            var mag = d.Mags[0];
            mag.ReceivedAcknowledgements = [];
            var options = Pbus.Complete("vm@x", d.Sim.Now).Where(o => o.RawType != (byte)missing);
            d.InjectFromMag(mag, new BindingUpdate(7, Pbus.ProxyFlags, 900) { Options = new MobilityOptionList(options) });
            d.Sim.RunFor(TimeSpan.FromSeconds(1));
            var (_, pba) = Assert.Single(mag.ReceivedAcknowledgements);
            Assert.Equal(expected, pba.Status);
            Assert.Equal(7, pba.Sequence);
            Assert.True(pba.IsProxy);
            Assert.Equal(0, d.Lma.Machine.BindingCacheCount);
        });

    [Fact]
    public void Mag_clock_far_ahead_gets_156_carrying_the_lma_time_and_keeps_retrying() =>
        SimulationSeed.Run(404, nameof(Mag_clock_far_ahead_gets_156_carrying_the_lma_time_and_keeps_retrying), seed =>
        {
            var d = new PmipDomain(seed, new DomainOptions { MagClockOffsets = [TimeSpan.FromSeconds(1)] });
            var mag = d.Mags[0];
            mag.ReceivedAcknowledgements = [];
            var vm = d.AddVm();
            d.Boot(vm, mag);
            d.Sim.RunFor(TimeSpan.FromSeconds(10));
            var (at, pba) = mag.ReceivedAcknowledgements[0];
            Assert.Equal(BindingAckStatus.TimestampMismatch, pba.Status);
            // The LMA's clock, as of when it answered (10 ms before the PBA arrived).
            Assert.Equal((at - TimeSpan.FromMilliseconds(10)).ToPmipTimestamp(), pba.Timestamp);
            Assert.All(mag.Failures, f => Assert.True(f.WillRetry));
            Assert.True(mag.Failures.Count >= 3, $"{mag.Failures.Count} failures");
            Assert.All(mag.Failures, f => Assert.Equal(BindingAckStatus.TimestampMismatch, f.Status));
            Assert.Equal(0, d.Lma.Machine.BindingCacheCount);
        });

    [Fact]
    public void Registration_older_than_the_accepted_one_gets_157_and_succeeds_when_retried() =>
        SimulationSeed.Run(405, nameof(Registration_older_than_the_accepted_one_gets_157_and_succeeds_when_retried), seed =>
        {
            // MAG2's clock is 200 ms behind (inside the 300 ms window, so not 156): its registration right
            // after MAG1's carries an older timestamp and is refused with 157; the retry a second later wins.
            var d = new PmipDomain(seed, new DomainOptions { MagClockOffsets = [TimeSpan.Zero, TimeSpan.FromMilliseconds(-200)] });
            var (mag1, mag2) = (d.Mags[0], d.Mags[1]);
            var vm = d.AddVm();
            d.Boot(vm, mag1);
            d.Sim.RunFor(TimeSpan.FromSeconds(3));
            var hnp = vm.Prefix!.Value;
            // A gratuitous ARP makes MAG1 re-register (timestamp t); 50 ms later MAG2 registers with its
            // clock reading t − 150 ms.
            d.SendTrigger(vm, AttachTrigger.GratuitousArp);
            d.Migrate(vm, mag2, MigrationOrder.NewMagRegistersFirst, TimeSpan.FromMilliseconds(50), sourceDetachDelay: TimeSpan.FromSeconds(5));
            d.Sim.RunFor(TimeSpan.FromSeconds(5));
            Assert.Equal(1, mag1.Machine.Counters.Reannouncements);
            var failure = mag2.Failures.FirstOrDefault();
            Assert.NotNull(failure);
            Assert.Equal(BindingAckStatus.TimestampLowerThanPreviousAccepted, failure!.Status);
            Assert.True(failure.WillRetry);
            Assert.Equal(mag2.Address, d.Lma.Routes[hnp]);
            Assert.Equal(hnp, vm.Prefix);
            Assert.Equal(1, mag2.Machine.Counters.SessionRetries);
            Assert.Empty(DomainInvariants.CheckAll(d, TimeSpan.FromSeconds(1)));
        });
}

internal static class Pbus
{
    public const BindingUpdateFlags ProxyFlags = BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration;

    /// <summary>Every option a PBU from our MAG carries, for tests to remove from.</summary>
    public static List<MobilityOption> Complete(string nai, Instant now, Ipv6Prefix? prefix = null, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface,
        MacAddress? mac = null) =>
    [
        new HomeNetworkPrefixOption(prefix ?? Ipv6Prefix.Unspecified),
        new HandoffIndicatorOption(hi),
        new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
        new TimestampOption(now.ToPmipTimestamp()),
        MobileNodeLinkLayerIdentifierOption.ForMac(mac ?? MacAddress.Parse("52:54:00:00:00:01")),
        new LinkLocalAddressOption(PmipDefaults.SharedMagLinkLocalAddress),
        MobileNodeIdentifierOption.ForNai(nai),
    ];
}
