namespace DataPlane.WanEmulator;

/// <summary>What the link does with an arriving frame.</summary>
public enum Admission
{
    /// <summary>Held; it leaves at the departure time returned with it.</summary>
    Queued,
    /// <summary>Dropped by the loss model.</summary>
    Lost,
    /// <summary>Dropped: the link holds <see cref="LinkParameters.LimitPackets"/> frames already.</summary>
    OverLimit,
}

/// <summary>
/// One direction of an emulated link, sans-I/O: given a frame's arrival time and length it decides
/// whether the frame is dropped and, if not, when it leaves. Time is injected (nanoseconds of any
/// monotonic clock), randomness is seeded, so a test replays it exactly.
/// </summary>
/// <remarks>
/// The model is a serialiser followed by a propagation delay: with a rate, a frame starts
/// transmission when the previous one has finished (<c>start = max(arrival, busyUntil)</c>) and is
/// fully sent <c>length·8/rate</c> later; it then leaves the far end after the delay (± jitter).
/// Without a rate the serialiser takes no time. In order-preserving mode (the default) a frame never
/// departs before the one that arrived before it: its departure is at least the previous departure,
/// which makes the jitter "delay-only" for frames that would overtake (as a real FIFO path does).
/// </remarks>
public sealed class LinkModel
{
    private readonly Random _random;
    private long _busyUntil = long.MinValue;
    private long _lastDeparture = long.MinValue;

    public LinkModel(LinkParameters parameters, int seed)
    {
        parameters.Validate();
        Parameters = parameters;
        _random = new Random(seed);
    }

    /// <summary>The settings for frames arriving from now on.</summary>
    public LinkParameters Parameters { get; set; }

    /// <summary>
    /// Decide for a frame of <paramref name="lengthBytes"/> arriving at <paramref name="nowNs"/>, with
    /// <paramref name="heldFrames"/> frames held by the link at that moment.
    /// </summary>
    public Admission Admit(long nowNs, int lengthBytes, int heldFrames, out long departureNs)
    {
        var p = Parameters;
        departureNs = 0;
        if (p.LimitPackets > 0 && heldFrames >= p.LimitPackets) return Admission.OverLimit;
        // Draw the loss decision even when the probability is 0 only if it is set, so a run without loss
        // consumes no random numbers (the jitter sequence does not depend on whether loss is configured).
        if (p.LossProbability > 0 && _random.NextDouble() < p.LossProbability) return Admission.Lost;

        long sent = nowNs;
        if (p.RateBitsPerSecond > 0)
        {
            long start = Math.Max(nowNs, _busyUntil);
            long serialisation = (long)Math.Ceiling(lengthBytes * 8.0 * 1e9 / p.RateBitsPerSecond);
            _busyUntil = start + serialisation;
            sent = _busyUntil;
        }
        long delay = p.DelayNs;
        if (p.JitterNs > 0)
        {
            // Uniform in [delay − jitter, delay + jitter], as netem without a distribution table.
            delay += (long)Math.Round((_random.NextDouble() * 2 - 1) * p.JitterNs);
            if (delay < 0) delay = 0;
        }
        long departure = sent + delay;
        if (!p.AllowReorder && departure < _lastDeparture) departure = _lastDeparture;
        if (departure > _lastDeparture) _lastDeparture = departure;
        departureNs = departure;
        return Admission.Queued;
    }
}
