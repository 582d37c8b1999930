namespace DataPlane.Simulation;

/// <summary>How a simulated one-way link treats each message.</summary>
public sealed record LinkProfile
{
    public TimeSpan Delay { get; init; }

    /// <summary>Extra delay, uniform in [0, Jitter].</summary>
    public TimeSpan Jitter { get; init; }

    public double Loss { get; init; }

    public double Duplication { get; init; }

    /// <summary>Probability that a message is held back by <see cref="ReorderDelay"/> (so later ones overtake it).</summary>
    public double Reordering { get; init; }

    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public static LinkProfile Ideal(TimeSpan delay) => new() { Delay = delay };

    /// <summary>Everything is lost (a link outage).</summary>
    public static LinkProfile Down { get; } = new() { Loss = 1 };
}
