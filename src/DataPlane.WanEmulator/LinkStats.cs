using System.Globalization;
using System.Text;

namespace DataPlane.WanEmulator;

/// <summary>
/// How late frames left compared with their departure time, in 1 µs buckets up to 100 ms (later ones
/// in one overflow bucket). Written by the forwarding thread only; readers on other threads see
/// plain fields eventually, which is all a stats query needs.
/// </summary>
public sealed class LatenessHistogram
{
    private const int Buckets = 100_000;
    private readonly long[] _counts = new long[Buckets + 1];

    public long Count { get; private set; }
    public long MaxNs { get; private set; }
    private double _sumNs;

    public void Record(long latenessNs)
    {
        if (latenessNs < 0) latenessNs = 0;
        long us = latenessNs / 1000;
        _counts[us >= Buckets ? Buckets : us]++;
        Count++;
        _sumNs += latenessNs;
        if (latenessNs > MaxNs) MaxNs = latenessNs;
    }

    public double MeanUs => Count == 0 ? 0 : _sumNs / Count / 1000.0;

    /// <summary>The bucket (µs, upper edge) below which <paramref name="fraction"/> of the frames fall.</summary>
    public double PercentileUs(double fraction)
    {
        long total = Count;
        if (total == 0) return 0;
        long rank = (long)Math.Ceiling(fraction * total);
        long seen = 0;
        for (int i = 0; i <= Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return i + 1;
        }
        return Buckets;
    }
}

/// <summary>Counters of one direction of the link.</summary>
public sealed class DirectionStats
{
    public long ReceivedFrames;
    public long ReceivedBytes;
    public long SentFrames;
    public long SentBytes;
    /// <summary>Dropped by the loss model.</summary>
    public long Lost;
    /// <summary>Dropped because the link held its limit of frames.</summary>
    public long OverLimit;
    /// <summary>Dropped because the ring buffer was full.</summary>
    public long NoBuffer;
    /// <summary>Refused by the kernel on send, or dropped for a link that was down.</summary>
    public long SendFailures;
    /// <summary>Frames longer than a slot (cut to the slot's size by the receive).</summary>
    public long Truncated;
    public int HeldNow;
    public int HeldMax;
    public long BufferedBytesMax;
    public readonly LatenessHistogram Lateness = new();

    public string ToJson()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("{");
        sb.Append(c, $"\"receivedFrames\":{ReceivedFrames},\"receivedBytes\":{ReceivedBytes},\"sentFrames\":{SentFrames},\"sentBytes\":{SentBytes},");
        sb.Append(c, $"\"lost\":{Lost},\"overLimit\":{OverLimit},\"noBuffer\":{NoBuffer},\"sendFailures\":{SendFailures},\"truncated\":{Truncated},");
        sb.Append(c, $"\"heldNow\":{HeldNow},\"heldMax\":{HeldMax},\"bufferedBytesMax\":{BufferedBytesMax},");
        sb.Append(c, $"\"latenessUs\":{{\"count\":{Lateness.Count},\"mean\":{Lateness.MeanUs:F1},\"p50\":{Lateness.PercentileUs(0.5):F0},\"p99\":{Lateness.PercentileUs(0.99):F0},\"p999\":{Lateness.PercentileUs(0.999):F0},\"max\":{Lateness.MaxNs / 1000.0:F1}}}");
        sb.Append('}');
        return sb.ToString();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"rx {ReceivedFrames} frames {ReceivedBytes} B, tx {SentFrames} frames {SentBytes} B, lost {Lost}, over limit {OverLimit}, no buffer {NoBuffer}, send failures {SendFailures}, truncated {Truncated}, held max {HeldMax}; lateness mean {Lateness.MeanUs:F1} us p50 {Lateness.PercentileUs(0.5):F0} us p99 {Lateness.PercentileUs(0.99):F0} us max {Lateness.MaxNs / 1000.0:F1} us");
}
