using System.Collections;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace DataPlane.Wire;

/// <summary>
/// An immutable array with value equality, for list-valued fields of parsed representations (an RA's
/// prefixes, an RDNSS option's addresses, a DHCP message's routers and parameter request list) so that
/// records holding them compare by content. <c>default</c> is the empty array. Build one with a
/// collection expression: <c>[a, b]</c>. Items compare with <see cref="EqualityComparer{T}.Default"/>,
/// so enums can be items; <see cref="AsSpan"/> hands them to the zero-allocation builders.
/// </summary>
[CollectionBuilder(typeof(EquatableArray), nameof(EquatableArray.Create))]
public readonly struct EquatableArray<T> : IReadOnlyList<T>, IEquatable<EquatableArray<T>>
{
    private readonly ImmutableArray<T> _items;

    public EquatableArray(ReadOnlySpan<T> items) => _items = ImmutableArray.Create(items);

    public static EquatableArray<T> Empty => default;

    private ImmutableArray<T> Items => _items.IsDefault ? [] : _items;

    public int Count => Items.Length;
    public bool IsEmpty => Items.IsEmpty;
    public T this[int index] => Items[index];

    public ReadOnlySpan<T> AsSpan() => Items.AsSpan();

    public bool Equals(EquatableArray<T> other) => Items.AsSpan().SequenceEqual(other.Items.AsSpan(), EqualityComparer<T>.Default);
    public override bool Equals(object? obj) => obj is EquatableArray<T> o && Equals(o);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var item in Items) h.Add(item);
        return h.ToHashCode();
    }

    public static bool operator ==(EquatableArray<T> a, EquatableArray<T> b) => a.Equals(b);
    public static bool operator !=(EquatableArray<T> a, EquatableArray<T> b) => !a.Equals(b);

    public ImmutableArray<T>.Enumerator GetEnumerator() => Items.GetEnumerator();
    IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable)Items).GetEnumerator();

    public override string ToString() => "[" + string.Join(", ", Items) + "]";
}

/// <summary>Factory for <see cref="EquatableArray{T}"/>; the target of collection expressions.</summary>
public static class EquatableArray
{
    public static EquatableArray<T> Create<T>(ReadOnlySpan<T> items) => new(items);
}
