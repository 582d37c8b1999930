using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>A flood of PBUs from one authorised MAG (or from strangers) is cut at the rate limit, counted, and does not stop another MAG's.</summary>
public sealed class LmaFloodTests
{
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8::1");
    private static readonly Ipv6Address Flooder = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Other = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Address Stranger = Ipv6Address.Parse("2001:db8:66::2");

    private static BindingUpdate Pbu(int n) => new((ushort)n, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
    {
        Options = new(
        [
            MobileNodeIdentifierOption.ForNai($"vm{n}@flood.test"), new HomeNetworkPrefixOption(new Ipv6Prefix(Ipv6Address.Unspecified, 0)),
            new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface), new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
        ]),
    };

    [Fact]
    public void A_flooding_mag_is_cut_at_its_limit_and_the_others_keep_registering()
    {
        var lma = new LocalMobilityAnchor(new LmaOptions
        {
            LocalMobilityAnchorAddress = Lma, AuthorizedMags = new HashSet<Ipv6Address> { Flooder, Other },
            HomeNetworkPrefixPool = Ipv6Prefix.Parse("2001:db8:1000::/40"), MaxMessagesPerMagPerSecond = 1000, MaxMessageBurstPerMag = 100,
        }, new InMemoryLmaPolicy(), new SplitMix64Random(1));
        var now = Instant.FromUnixTime(TimeSpan.FromDays(20000));
        int accepted = 0, otherAccepted = 0, strangerAnswers = 0;
        for (int i = 0; i < 10_000; i++)
        {
            // One simulated second: 10,000 PBUs from the flooder, 10 from the other MAG, 1,000 from a stranger.
            now += TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 10_000);
            accepted += lma.Handle(new LmaEvent.MobilityMessageReceived(Flooder, Pbu(i)), now).Count(a => a is LmaAction.SendMobilityMessage);
            if (i % 1000 == 0) otherAccepted += lma.Handle(new LmaEvent.MobilityMessageReceived(Other, Pbu(100_000 + i)), now).Count(a => a is LmaAction.SendMobilityMessage);
            if (i % 10 == 0) strangerAnswers += lma.Handle(new LmaEvent.MobilityMessageReceived(Stranger, Pbu(i)), now).Count(a => a is LmaAction.SendMobilityMessage);
        }
        // The flooder gets its burst plus its rate for the second, no more; the other MAG all of its ten.
        Assert.InRange(accepted, 1000, 1100 + 1);
        Assert.Equal(10, otherAccepted);
        Assert.InRange(strangerAnswers, 1000 / 10, 1100 + 1); // strangers share one bucket of the same size
        Assert.Equal(10_000 + 10 + 1000 - accepted - otherAccepted - strangerAnswers, lma.Counters.MessagesRateLimited);
        Assert.Equal(accepted + otherAccepted, lma.BindingCacheCount);
    }
}
