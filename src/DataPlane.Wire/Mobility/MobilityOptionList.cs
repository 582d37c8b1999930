using System.Collections;
using System.Collections.Immutable;

namespace DataPlane.Wire;

/// <summary>
/// The options of a mobility message in wire order, with value equality (so parsed messages compare
/// by content) and typed look-ups for the options the protocol reads.
/// </summary>
public readonly struct MobilityOptionList : IReadOnlyList<MobilityOption>, IEquatable<MobilityOptionList>
{
    private readonly ImmutableArray<MobilityOption> _items;

    public MobilityOptionList(IEnumerable<MobilityOption> options) => _items = [.. options];

    public static MobilityOptionList Empty => new([]);

    private ImmutableArray<MobilityOption> Items => _items.IsDefault ? [] : _items;

    public int Count => Items.Length;
    public MobilityOption this[int index] => Items[index];

    /// <summary>The first option of type <typeparamref name="T"/>, or null.</summary>
    public T? Find<T>() where T : MobilityOption
    {
        foreach (var o in Items)
            if (o is T t) return t;
        return null;
    }

    public IEnumerable<T> All<T>() where T : MobilityOption => Items.OfType<T>();

    public bool Equals(MobilityOptionList other) => Items.AsSpan().SequenceEqual(other.Items.AsSpan());
    public override bool Equals(object? obj) => obj is MobilityOptionList o && Equals(o);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var o in Items) h.Add(o);
        return h.ToHashCode();
    }

    public static bool operator ==(MobilityOptionList a, MobilityOptionList b) => a.Equals(b);
    public static bool operator !=(MobilityOptionList a, MobilityOptionList b) => !a.Equals(b);

    public ImmutableArray<MobilityOption>.Enumerator GetEnumerator() => Items.GetEnumerator();
    IEnumerator<MobilityOption> IEnumerable<MobilityOption>.GetEnumerator() => ((IEnumerable<MobilityOption>)Items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable)Items).GetEnumerator();

    public override string ToString() => "[" + string.Join(", ", Items) + "]";
}
