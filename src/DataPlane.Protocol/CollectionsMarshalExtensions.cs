using System.Runtime.InteropServices;

namespace DataPlane.Protocol;

/// <summary>Reference counts in a dictionary without a second look-up.</summary>
internal static class CollectionsMarshalExtensions
{
    public static int IncrementAndGet<TKey>(Dictionary<TKey, int> counts, TKey key) where TKey : notnull
    {
        ref int value = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, key, out _);
        return ++value;
    }

    public static int DecrementAndGet<TKey>(Dictionary<TKey, int> counts, TKey key) where TKey : notnull
    {
        ref int value = ref CollectionsMarshal.GetValueRefOrNullRef(counts, key);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref value)) return -1;
        return --value;
    }
}
