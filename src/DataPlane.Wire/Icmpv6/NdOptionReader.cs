namespace DataPlane.Wire;

/// <summary>
/// Iterates Neighbor Discovery options without allocating. Each option's Length counts 8-octet units
/// including its Type and Length bytes; a zero Length (which would loop forever, RFC 4861 §4.6) or an
/// option running past the end of the list is <see cref="WireError.BadOption"/> and ends the walk.
/// Unknown types are yielded like known ones: RFC 4861 §4.6 says a receiver skips them, which is the
/// caller's choice to make. After <see cref="MoveNext"/> returns false, <see cref="Error"/> says whether
/// the walk ended cleanly.
/// </summary>
public ref struct NdOptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _offset;

    /// <param name="options">The option area of an ND message, from the first option to the end of the message.</param>
    public NdOptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
        Error = WireError.None;
        CurrentType = 0;
        Current = default;
        CurrentOffset = 0;
    }

    public NdOptionType CurrentType { get; private set; }

    /// <summary>The whole current option, Type and Length included (offsets as in <see cref="NdOption"/>).</summary>
    public ReadOnlySpan<byte> Current { get; private set; }

    /// <summary>The current option's contents after its Type and Length bytes.</summary>
    public readonly ReadOnlySpan<byte> CurrentData => Current.IsEmpty ? default : Current[NdOption.HeaderLength..];

    /// <summary>Offset of the current option's Type byte from the start of the option area.</summary>
    public int CurrentOffset { get; private set; }

    public WireError Error { get; private set; }

    public bool MoveNext()
    {
        if (_offset >= _options.Length) return false;
        int remaining = _options.Length - _offset;
        int length = remaining < NdOption.HeaderLength ? 0 : _options[_offset + NdOption.LengthOffset] * NdOption.LengthUnit;
        if (length == 0 || length > remaining)
        {
            Error = WireError.BadOption;
            _offset = _options.Length; // stay ended: a later MoveNext must not resume mid-option
            Current = default;
            return false;
        }
        CurrentType = (NdOptionType)_options[_offset + NdOption.TypeOffset];
        CurrentOffset = _offset;
        Current = _options.Slice(_offset, length);
        _offset += length;
        return true;
    }
}
