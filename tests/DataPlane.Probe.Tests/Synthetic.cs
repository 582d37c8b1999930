using DataPlane.Probe;

namespace DataPlane.Probe.Tests;

/// <summary>Builds probe series by hand: probe k sent at k·interval (+ optional jitter), acked after rtt unless lost.</summary>
internal static class Synthetic
{
    public const long Ms = 1_000_000;

    public static ProbeSeries Series(int count, Func<int, bool> lost, long intervalNs = 10 * Ms, long rttNs = Ms / 10,
        Func<int, long>? jitterNs = null, long startNs = 1_000 * Ms)
    {
        var sent = new long[count];
        var ack = new long[count];
        for (int k = 0; k < count; k++)
        {
            sent[k] = startNs + k * intervalNs + (jitterNs?.Invoke(k) ?? 0);
            ack[k] = lost(k) ? -1 : sent[k] + rttNs;
        }
        return new ProbeSeries { IntervalNs = intervalNs, SentNs = sent, AckNs = ack, Anchor = new ClockAnchor(startNs, 1_700_000_000_000 * Ms) };
    }

    public static Func<int, bool> LostIn(params (int From, int To)[] ranges) =>
        k => ranges.Any(r => k >= r.From && k <= r.To);
}
