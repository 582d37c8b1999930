using System.Runtime.CompilerServices;

namespace DataPlane.Protocol;

/// <summary>
/// A counter with one value per member of a small byte-sized enum (trigger kind, PBA status, detach
/// reason): a flat array, so incrementing on the packet path costs one store. Exported later as one
/// Prometheus metric with a label.
/// </summary>
public sealed class LabeledCounter<TKey> : ILabeledCounter where TKey : struct, Enum
{
    private readonly long[] _values;

    public LabeledCounter()
    {
        int max = 0;
        foreach (var k in Enum.GetValues<TKey>()) max = Math.Max(max, ToIndex(k));
        _values = new long[max + 1];
    }

    public long this[TKey key] => (uint)ToIndex(key) < (uint)_values.Length ? _values[ToIndex(key)] : 0;

    public long Total
    {
        get
        {
            long sum = 0;
            foreach (var v in _values) sum += v;
            return sum;
        }
    }

    public void Increment(TKey key)
    {
        int i = ToIndex(key);
        if ((uint)i < (uint)_values.Length) _values[i]++;
    }

    /// <summary>Non-zero entries, in ascending key order.</summary>
    public IEnumerable<KeyValuePair<TKey, long>> NonZero()
    {
        for (int i = 0; i < _values.Length; i++)
            if (_values[i] != 0) yield return new(FromIndex(i), _values[i]);
    }

    public override string ToString() => string.Join(", ", NonZero().Select(kv => $"{kv.Key}={kv.Value}"));

    IEnumerable<KeyValuePair<string, long>> ILabeledCounter.NonZeroByName() => NonZero().Select(kv => new KeyValuePair<string, long>(kv.Key.ToString(), kv.Value));

    private static int ToIndex(TKey key) => Unsafe.SizeOf<TKey>() switch
    {
        1 => Unsafe.As<TKey, byte>(ref key),
        2 => Unsafe.As<TKey, ushort>(ref key),
        4 => Unsafe.As<TKey, int>(ref key),
        _ => throw new NotSupportedException($"{typeof(TKey)} is not a small enum"),
    };

    private static TKey FromIndex(int i)
    {
        switch (Unsafe.SizeOf<TKey>())
        {
            case 1: { byte b = (byte)i; return Unsafe.As<byte, TKey>(ref b); }
            case 2: { ushort s = (ushort)i; return Unsafe.As<ushort, TKey>(ref s); }
            default: return Unsafe.As<int, TKey>(ref i);
        }
    }
}

/// <summary>A labelled counter seen without its enum type (for exporters: `ctl stats`, Prometheus).</summary>
public interface ILabeledCounter
{
    long Total { get; }

    /// <summary>Non-zero entries with the label's name.</summary>
    IEnumerable<KeyValuePair<string, long>> NonZeroByName();
}
