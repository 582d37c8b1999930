using System.Collections.Immutable;
using System.Text;

namespace DataPlane.Wire;

/// <summary>
/// An immutable byte string with value equality, for variable-length fields of control messages
/// (identifiers, unknown option data) so that parsed representations compare by content.
/// </summary>
public readonly struct OctetString : IEquatable<OctetString>
{
    private readonly ImmutableArray<byte> _bytes;

    public OctetString(ReadOnlySpan<byte> bytes) => _bytes = ImmutableArray.Create(bytes);

    public static OctetString Empty => new(ReadOnlySpan<byte>.Empty);

    public static OctetString FromUtf8(string text) => new(Encoding.UTF8.GetBytes(text));

    public ReadOnlySpan<byte> Span => _bytes.IsDefault ? ReadOnlySpan<byte>.Empty : _bytes.AsSpan();

    public int Length => _bytes.IsDefault ? 0 : _bytes.Length;

    public bool Equals(OctetString other) => Span.SequenceEqual(other.Span);

    public override bool Equals(object? obj) => obj is OctetString o && Equals(o);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(Span);
        return h.ToHashCode();
    }

    public static bool operator ==(OctetString a, OctetString b) => a.Equals(b);
    public static bool operator !=(OctetString a, OctetString b) => !a.Equals(b);

    /// <summary>The bytes as UTF-8 text when they are valid UTF-8, else null.</summary>
    public string? TryGetUtf8() => System.Text.Unicode.Utf8.IsValid(Span) ? Encoding.UTF8.GetString(Span) : null;

    public override string ToString() => Convert.ToHexString(Span).ToLowerInvariant();
}
