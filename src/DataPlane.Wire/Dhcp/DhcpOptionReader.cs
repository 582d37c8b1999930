namespace DataPlane.Wire;

/// <summary>
/// Iterates DHCP options (RFC 2132 §2) without allocating: Pad bytes are skipped, End stops the walk,
/// every other option is code(1) length(1) data and must fit inside the options area, else
/// <see cref="WireError.BadOption"/>. After <see cref="MoveNext"/> returns false, <see cref="Error"/>
/// says whether the walk ended cleanly.
/// </summary>
/// <remarks>
/// A missing End option is tolerated (the options simply run to the end of the UDP payload): some
/// embedded clients omit it, and an option that overruns is still caught. Whether End was seen is in
/// <see cref="SawEnd"/>. Option overload (52) is not followed: see <see cref="Dhcpv4Packet"/>.
/// </remarks>
public ref struct DhcpOptionReader
{
    private const int OptionHeaderLength = 2;

    private readonly ReadOnlySpan<byte> _options;
    private int _offset;

    /// <param name="options">The bytes after the magic cookie (<see cref="Dhcpv4Packet.Options"/>).</param>
    public DhcpOptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
        Error = WireError.None;
        SawEnd = false;
        CurrentCode = DhcpOptionCode.Pad;
        CurrentData = default;
    }

    public DhcpOptionCode CurrentCode { get; private set; }

    /// <summary>The current option's data, without its code and length bytes.</summary>
    public ReadOnlySpan<byte> CurrentData { get; private set; }

    public WireError Error { get; private set; }

    /// <summary>True once the End option has been read.</summary>
    public bool SawEnd { get; private set; }

    public bool MoveNext()
    {
        while (_offset < _options.Length)
        {
            var code = (DhcpOptionCode)_options[_offset];
            if (code == DhcpOptionCode.Pad)
            {
                _offset++;
                continue;
            }
            if (code == DhcpOptionCode.End)
            {
                SawEnd = true;
                _offset = _options.Length;
                return false;
            }
            if (_offset + OptionHeaderLength > _options.Length)
            {
                Error = WireError.BadOption;
                _offset = _options.Length;
                return false;
            }
            int length = _options[_offset + 1];
            int dataStart = _offset + OptionHeaderLength;
            if (dataStart + length > _options.Length)
            {
                Error = WireError.BadOption;
                _offset = _options.Length;
                return false;
            }
            CurrentCode = code;
            CurrentData = _options.Slice(dataStart, length);
            _offset = dataStart + length;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Find the first option with <paramref name="code"/>; false when it is absent or the options are
    /// malformed before it.
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> options, DhcpOptionCode code, out ReadOnlySpan<byte> data)
    {
        var reader = new DhcpOptionReader(options);
        while (reader.MoveNext())
        {
            if (reader.CurrentCode != code) continue;
            data = reader.CurrentData;
            return true;
        }
        data = default;
        return false;
    }

    /// <summary>Option 53 when present, one byte long and a type we know (1 to 8).</summary>
    public static bool TryGetMessageType(ReadOnlySpan<byte> options, out DhcpMessageType type)
    {
        type = default;
        if (!TryFind(options, DhcpOptionCode.MessageType, out var data) || data.Length != 1) return false;
        if (data[0] is < (byte)DhcpMessageType.Discover or > (byte)DhcpMessageType.Inform) return false;
        type = (DhcpMessageType)data[0];
        return true;
    }
}
