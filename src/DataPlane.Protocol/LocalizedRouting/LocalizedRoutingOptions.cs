namespace DataPlane.Protocol.LocalizedRouting;

/// <summary>The LMA's RFC 6705 settings: when it sets up direct MAG–MAG routes for two of its VMs, and how it keeps them.</summary>
public sealed record LocalizedRoutingOptions
{
    /// <summary>
    /// Initiate localized routing when two VMs bound here talk across two MAGs. On by default: the direct path is why
    /// the feature exists (VM-to-VM traffic without the trip through the LMA); an operator who must see every packet
    /// at the LMA turns it off here (and EnableMAGLocalRouting on the MAGs).
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Lifetime requested in LRIs. The LMA refreshes a pair at <see cref="RefreshFraction"/> of it; a MAG declines the refresh of a pair unused for the last half.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromSeconds(120);

    public double RefreshFraction { get; init; } = 0.75;

    /// <summary>Wait before the first retransmission of an unanswered LRI; doubles per retransmission up to <see cref="MaxRetransmissionTimeout"/>.</summary>
    public TimeSpan InitialRetransmissionTimeout { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetransmissionTimeout { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>LRIs sent per message (first + retransmissions) before the LMA gives up on a MAG's answer.</summary>
    public int MaxTransmissions { get; init; } = 5;

    /// <summary>Pairs held at once; traffic of further pairs keeps going through the LMA.</summary>
    public int MaxSessions { get; init; } = 100_000;

    /// <summary>After a MAG refused a pair (or did not answer), the pair is not tried again for this long.</summary>
    public TimeSpan RefusalHoldOff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// While a pair is set up, traffic the LMA still sees from one of its MAGs (that MAG restarted, or lost the route)
    /// makes it send that MAG the LRI again, at most this often per pair side.
    /// </summary>
    public TimeSpan RepairInterval { get; init; } = TimeSpan.FromSeconds(2);

    public void Validate(string prefix)
    {
        Check.That(Lifetime >= TimeSpan.FromSeconds(4) && Lifetime <= TimeSpan.FromSeconds(0xFFFE), prefix + nameof(Lifetime), "must be within 4 s..65534 s");
        Check.That(RefreshFraction is >= 0.1 and <= 0.95, prefix + nameof(RefreshFraction), $"must be within 0.1..0.95 (was {RefreshFraction})");
        Check.Positive(InitialRetransmissionTimeout, prefix + nameof(InitialRetransmissionTimeout));
        Check.That(MaxRetransmissionTimeout >= InitialRetransmissionTimeout, prefix + nameof(MaxRetransmissionTimeout),
            "must not be shorter than InitialRetransmissionTimeout");
        Check.AtLeast(MaxTransmissions, 1, prefix + nameof(MaxTransmissions));
        Check.AtLeast(MaxSessions, 0, prefix + nameof(MaxSessions));
        Check.NotNegative(RefusalHoldOff, prefix + nameof(RefusalHoldOff));
        Check.Positive(RepairInterval, prefix + nameof(RepairInterval));
    }
}
