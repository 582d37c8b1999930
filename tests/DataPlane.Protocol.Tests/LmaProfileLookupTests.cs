using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// The LMA's asynchronous profile look-up: a PBU for a mobile node whose profile the policy does not hold in
/// memory waits (RequestProfile) until the host answers (ProfileDecided), as the MAG's RequestPolicy does.
/// </summary>
public class LmaProfileLookupTests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");
    private static readonly Ipv6Prefix Fixed = Ipv6Prefix.Parse("2001:db8:1001:1::/64");

    /// <summary>An AAA-backed policy stand-in: answers from memory only for the profiles it was given ("the cache").</summary>
    private sealed class CachingPolicy : ILmaPolicy
    {
        public Dictionary<string, LmaMobileNodeProfile?> Known { get; } = [];
        public int Asked;

        public bool IsMagAuthorized(Ipv6Address mag) => false;

        public LmaMobileNodeProfile? GetProfile(string mobileNodeIdentifier) => Known.GetValueOrDefault(mobileNodeIdentifier);

        public bool TryGetProfile(string mobileNodeIdentifier, out LmaMobileNodeProfile? profile)
        {
            Asked++;
            return Known.TryGetValue(mobileNodeIdentifier, out profile);
        }
    }

    private sealed class Lma
    {
        private ushort _seq = 100;
        public Lma(Func<LmaOptions, LmaOptions>? configure = null)
        {
            var o = new LmaOptions { LocalMobilityAnchorAddress = LmaAddr, AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 }, HomeNetworkPrefixPool = Pool };
            M = new LocalMobilityAnchor(configure?.Invoke(o) ?? o, Policy, new SplitMix64Random(1));
        }

        public CachingPolicy Policy { get; } = new();
        public LocalMobilityAnchor M { get; }
        public LmaCounters C => M.Counters;
        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        public BindingUpdate Pbu(Ipv6Prefix? prefix = null, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface, string nai = "vm@t",
            Instant? timestamp = null, ushort lifetime = 900) =>
            new(_seq++, Pbus.ProxyFlags, lifetime) { Options = new MobilityOptionList(Pbus.Complete(nai, timestamp ?? Now, prefix, hi)) };

        public List<LmaAction> Send(Ipv6Address from, MobilityMessage m) => [.. M.Handle(new LmaEvent.MobilityMessageReceived(from, m), Now)];

        public List<LmaAction> Decide(long id, LmaMobileNodeProfile? profile, bool failed = false) =>
            [.. M.Handle(new LmaEvent.ProfileDecided(id, profile, failed), Now)];

        public List<LmaAction> Advance(TimeSpan by) => LmaClock.Advance(M, ref Now, by);
    }

    private static List<BindingAcknowledgement> Pbas(List<LmaAction> actions) =>
        [.. actions.OfType<LmaAction.SendMobilityMessage>().Select(s => s.Message).OfType<BindingAcknowledgement>()];

    [Fact]
    public void A_pbu_without_a_profile_in_memory_waits_for_the_hosts_answer()
    {
        var l = new Lma();
        var pbu = l.Pbu();
        var parked = l.Send(Mag1, pbu);
        var request = Assert.Single(parked.OfType<LmaAction.RequestProfile>());
        Assert.Equal("vm@t", request.MobileNodeIdentifier);
        Assert.Empty(Pbas(parked)); // no answer yet, no tunnel, no route
        Assert.Empty(parked.OfType<LmaAction.TunnelUp>());
        Assert.Equal(1, l.M.PendingProfileLookups);
        Assert.Equal(1, l.M.PbusAwaitingProfileNow);

        l.Now += TimeSpan.FromMilliseconds(40); // the round trip to the AAA server
        var done = l.Decide(request.RequestId, new LmaMobileNodeProfile([Fixed]));
        var pba = Assert.Single(Pbas(done));
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        Assert.Equal(pbu.Sequence, pba.Sequence);
        Assert.Equal([Fixed], pba.HomeNetworkPrefixes);
        Assert.Equal(Mag1, Assert.Single(done.OfType<LmaAction.TunnelUp>()).Mag);
        Assert.Equal(Fixed, Assert.Single(done.OfType<LmaAction.RouteAdd>()).Prefix);
        Assert.Equal(0, l.M.PendingProfileLookups);
        Assert.Equal(0, l.M.PbusAwaitingProfileNow);
        Assert.Equal((1, 1), (l.C.ProfileLookups, l.C.PbusAwaitingProfile));
    }

    [Fact]
    public void Pbus_arriving_meanwhile_join_the_same_lookup_and_are_answered_in_order()
    {
        var l = new Lma();
        var first = l.Send(Mag1, l.Pbu());
        var request = Assert.Single(first.OfType<LmaAction.RequestProfile>());
        l.Now += TimeSpan.FromMilliseconds(270);
        var retransmission = l.Send(Mag1, l.Pbu()); // the MAG's next try: new sequence and timestamp
        Assert.Empty(retransmission.OfType<LmaAction.RequestProfile>());
        Assert.Empty(Pbas(retransmission));
        // The answer is in the host's cache by now, but the PBU still queues behind the look-up: arrival order.
        l.Policy.Known["vm@t"] = LmaMobileNodeProfile.FromPool;
        l.Now += TimeSpan.FromMilliseconds(10);
        Assert.Empty(Pbas(l.Send(Mag1, l.Pbu())));
        Assert.Equal(3, l.M.PbusAwaitingProfileNow);

        var done = l.Decide(request.RequestId, LmaMobileNodeProfile.FromPool);
        var pbas = Pbas(done);
        Assert.Equal(3, pbas.Count);
        Assert.All(pbas, p => Assert.Equal(BindingAckStatus.Accepted, p.Status));
        Assert.Equal(Assert.Single(pbas.Select(p => p.HomeNetworkPrefixes.Single()).Distinct()), pbas[0].HomeNetworkPrefixes.Single());
        Assert.Equal(1, l.C.InitialRegistrations);
        Assert.Equal(2, l.C.ReRegistrations);
        Assert.Equal(1, l.M.BindingCacheCount);
    }

    [Fact]
    public void A_refusal_answers_152_and_a_failed_lookup_128_to_every_waiting_pbu()
    {
        var l = new Lma();
        var a = Assert.Single(l.Send(Mag1, l.Pbu(nai: "a@t")).OfType<LmaAction.RequestProfile>());
        l.Send(Mag1, l.Pbu(nai: "a@t"));
        var b = Assert.Single(l.Send(Mag2, l.Pbu(nai: "b@t")).OfType<LmaAction.RequestProfile>());
        Assert.NotEqual(a.RequestId, b.RequestId);

        var refused = Pbas(l.Decide(a.RequestId, null));
        Assert.Equal(2, refused.Count);
        Assert.All(refused, p => Assert.Equal(BindingAckStatus.ProxyRegistrationNotEnabled, p.Status));
        var failed = Assert.Single(Pbas(l.Decide(b.RequestId, null, failed: true)));
        Assert.Equal(BindingAckStatus.ReasonUnspecified, failed.Status); // retryable: the MAG tries again later
        Assert.Equal((1, 1), (l.C.ProfileLookupsDenied, l.C.ProfileLookupsFailed));
        Assert.Equal(0, l.M.BindingCacheCount);
    }

    [Fact]
    public void No_answer_within_the_timeout_refuses_with_128_and_a_late_answer_is_ignored()
    {
        var l = new Lma(o => o with { ProfileLookupTimeout = TimeSpan.FromSeconds(2) });
        var request = Assert.Single(l.Send(Mag1, l.Pbu()).OfType<LmaAction.RequestProfile>());
        Assert.Empty(Pbas(l.Advance(TimeSpan.FromMilliseconds(1999))));
        var timedOut = Assert.Single(Pbas(l.Advance(TimeSpan.FromMilliseconds(1))));
        Assert.Equal(BindingAckStatus.ReasonUnspecified, timedOut.Status);
        Assert.Equal(1, l.C.ProfileLookupTimeouts);
        Assert.Empty(l.Decide(request.RequestId, LmaMobileNodeProfile.FromPool));
        Assert.Equal(1, l.C.ProfileAnswersIgnored);
        Assert.Equal(0, l.M.PendingTimers);
        // The next PBU starts a new look-up.
        Assert.Single(l.Send(Mag1, l.Pbu()).OfType<LmaAction.RequestProfile>());
    }

    [Fact]
    public void The_timestamp_is_judged_on_arrival_not_after_the_lookup()
    {
        var l = new Lma();
        // Too far from our clock: refused at once, nobody is asked.
        var stale = l.Send(Mag1, l.Pbu(timestamp: l.Now - TimeSpan.FromSeconds(1)));
        Assert.Equal(BindingAckStatus.TimestampMismatch, Assert.Single(Pbas(stale)).Status);
        Assert.Empty(stale.OfType<LmaAction.RequestProfile>());

        // Fine on arrival; the AAA server takes longer than the validity window: still accepted.
        var request = Assert.Single(l.Send(Mag1, l.Pbu()).OfType<LmaAction.RequestProfile>());
        l.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(BindingAckStatus.Accepted, Assert.Single(Pbas(l.Decide(request.RequestId, LmaMobileNodeProfile.FromPool))).Status);
    }

    [Fact]
    public void A_known_profile_is_used_synchronously_and_a_handover_needs_no_lookup()
    {
        var l = new Lma();
        l.Policy.Known["vm@t"] = new LmaMobileNodeProfile([Fixed]);
        var first = l.Send(Mag1, l.Pbu());
        Assert.Empty(first.OfType<LmaAction.RequestProfile>());
        Assert.Equal(BindingAckStatus.Accepted, Assert.Single(Pbas(first)).Status);
        l.Now += TimeSpan.FromSeconds(1);
        var handover = l.Send(Mag2, l.Pbu(Fixed, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        Assert.Equal(BindingAckStatus.Accepted, Assert.Single(Pbas(handover)).Status);
        Assert.Equal(Mag2, Assert.Single(handover.OfType<LmaAction.RouteAdd>()).Mag);
        Assert.Equal(0, l.C.ProfileLookups);

        // A profile known to be refused (null in memory) is 152 at once.
        l.Policy.Known["no@t"] = null;
        Assert.Equal(BindingAckStatus.ProxyRegistrationNotEnabled, Assert.Single(Pbas(l.Send(Mag1, l.Pbu(nai: "no@t")))).Status);
    }

    [Fact]
    public void Waiting_pbus_are_bounded()
    {
        var l = new Lma(o => o with { MaxParkedRegistrations = 2 });
        l.Send(Mag1, l.Pbu(nai: "a@t"));
        l.Send(Mag1, l.Pbu(nai: "b@t"));
        var third = l.Send(Mag1, l.Pbu(nai: "c@t"));
        Assert.Equal(BindingAckStatus.InsufficientResources, Assert.Single(Pbas(third)).Status);
        Assert.Empty(third.OfType<LmaAction.RequestProfile>());
    }

    [Fact]
    public void Validation_failures_are_answered_before_any_lookup()
    {
        var l = new Lma();
        var stranger = l.Send(Ipv6Address.Parse("2001:db8:0:9::9"), l.Pbu());
        Assert.Equal(BindingAckStatus.MagNotAuthorizedForProxyRegistration, Assert.Single(Pbas(stranger)).Status);
        Assert.Equal(0, l.Policy.Asked);
    }
}
