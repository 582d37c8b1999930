namespace DataPlane.Wire;

/// <summary>
/// Iterates TCP options without allocating. No-operation bytes are skipped; End of Option List ends
/// the walk (what follows it is padding, RFC 9293 §3.1); every other option must have a length byte
/// that fits inside the options and, for the kinds in <see cref="TcpOptionLayout"/>, the RFC's length.
/// Unknown kinds are returned with their data, so callers skip them by simply not acting on them.
/// After <see cref="MoveNext"/> returns false, <see cref="Error"/> says whether the walk ended cleanly.
/// </summary>
public ref struct TcpOptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _offset;

    /// <param name="options">The options area of a TCP header (bytes 20 to the data offset).</param>
    public TcpOptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
        Error = WireError.None;
        CurrentKind = TcpOptionKind.EndOfOptionList;
        CurrentData = default;
        CurrentOffset = 0;
    }

    public TcpOptionKind CurrentKind { get; private set; }

    /// <summary>The current option's data, without its kind and length bytes.</summary>
    public ReadOnlySpan<byte> CurrentData { get; private set; }

    /// <summary>Offset of the current option's kind byte from the start of the options area.</summary>
    public int CurrentOffset { get; private set; }

    public WireError Error { get; private set; }

    public bool MoveNext()
    {
        while (_offset < _options.Length)
        {
            var kind = (TcpOptionKind)_options[_offset];
            if (kind == TcpOptionKind.EndOfOptionList)
            {
                _offset = _options.Length;
                return false;
            }
            if (kind == TcpOptionKind.NoOperation)
            {
                _offset++;
                continue;
            }
            if (_offset + TcpOptionLayout.OptionHeaderLength > _options.Length)
            {
                Error = WireError.BadOption;
                return false;
            }
            int length = _options[_offset + 1];
            // A length below 2 would make the walk stand still or go backwards: the classic option
            // parser bug; a length past the end reads the payload as options.
            if (!TcpOptionLayout.IsValidLength(kind, length) || _offset + length > _options.Length)
            {
                Error = WireError.BadOption;
                _offset = _options.Length;
                return false;
            }
            CurrentKind = kind;
            CurrentOffset = _offset;
            CurrentData = _options.Slice(_offset + TcpOptionLayout.OptionHeaderLength, length - TcpOptionLayout.OptionHeaderLength);
            _offset += length;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Find the first option of <paramref name="kind"/>; false when it is absent or the options are
    /// malformed before it (a malformed list is not trusted for anything after the fault).
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> options, TcpOptionKind kind, out ReadOnlySpan<byte> data, out int offset)
    {
        var reader = new TcpOptionReader(options);
        while (reader.MoveNext())
        {
            if (reader.CurrentKind != kind) continue;
            data = reader.CurrentData;
            offset = reader.CurrentOffset;
            return true;
        }
        data = default;
        offset = 0;
        return false;
    }

    /// <summary>True when the whole options area parses (every option fits and has a valid length).</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> options, out WireError error)
    {
        var reader = new TcpOptionReader(options);
        while (reader.MoveNext()) { }
        error = reader.Error;
        return error == WireError.None;
    }
}
