namespace DataPlane.Wire;

/// <summary>
/// Iterates the options of a Mobility Header without allocating. Pad1 and PadN are skipped; every
/// other option is checked to fit inside the header and to sit where its alignment rule says.
/// After <see cref="MoveNext"/> returns false, <see cref="Error"/> says whether the walk ended cleanly.
/// </summary>
public ref struct MobilityOptionReader
{
    private readonly ReadOnlySpan<byte> _header;
    private int _offset;

    /// <param name="header">The whole Mobility Header (offsets for alignment are relative to its start).</param>
    /// <param name="optionsOffset">Where the options begin (6 + the type's fixed body length).</param>
    public MobilityOptionReader(ReadOnlySpan<byte> header, int optionsOffset)
    {
        _header = header;
        _offset = optionsOffset;
        Error = WireError.None;
        CurrentType = 0;
        CurrentData = default;
        CurrentOffset = 0;
    }

    public byte CurrentType { get; private set; }
    public ReadOnlySpan<byte> CurrentData { get; private set; }
    /// <summary>Offset of the current option's Type byte from the start of the Mobility Header.</summary>
    public int CurrentOffset { get; private set; }
    public WireError Error { get; private set; }

    public bool MoveNext()
    {
        while (_offset < _header.Length)
        {
            byte type = _header[_offset];
            if (type == (byte)MobilityOptionType.Pad1)
            {
                _offset++;
                continue;
            }
            if (_offset + MobilityOptionLayout.OptionHeaderLength > _header.Length)
            {
                Error = WireError.BadOption;
                return false;
            }
            int length = _header[_offset + 1];
            int dataStart = _offset + MobilityOptionLayout.OptionHeaderLength;
            if (dataStart + length > _header.Length)
            {
                Error = WireError.BadOption;
                return false;
            }
            if (type == (byte)MobilityOptionType.PadN)
            {
                _offset = dataStart + length;
                continue;
            }
            if (!MobilityOptionLayout.IsAligned((MobilityOptionType)type, _offset))
            {
                Error = WireError.BadAlignment;
                return false;
            }
            CurrentType = type;
            CurrentOffset = _offset;
            CurrentData = _header.Slice(dataStart, length);
            _offset = dataStart + length;
            return true;
        }
        return false;
    }
}
