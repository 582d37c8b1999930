namespace DataPlane.Wire;

/// <summary>
/// The lengths TCP options must have: the one place that holds them. Lengths here are whole-option
/// lengths (kind and length bytes included), which is what the option's own length byte says.
/// </summary>
public static class TcpOptionLayout
{
    /// <summary>Kind and length bytes.</summary>
    public const int OptionHeaderLength = 2;

    public const int MaximumSegmentSizeLength = 4;
    public const int WindowScaleLength = 3;
    public const int SackPermittedLength = 2;
    public const int TimestampsLength = 10;

    /// <summary>Each SACK block is a left and a right edge of 4 bytes each (RFC 2018 §3).</summary>
    public const int SackBlockLength = 8;

    /// <summary>The exact length of a fixed-size option, or -1 when the kind has none (or is unknown).</summary>
    public static int FixedLength(TcpOptionKind kind) => kind switch
    {
        TcpOptionKind.MaximumSegmentSize => MaximumSegmentSizeLength,
        TcpOptionKind.WindowScale => WindowScaleLength,
        TcpOptionKind.SackPermitted => SackPermittedLength,
        TcpOptionKind.Timestamps => TimestampsLength,
        _ => -1,
    };

    /// <summary>Whether an option of this kind may have this length (kind and length bytes included).</summary>
    public static bool IsValidLength(TcpOptionKind kind, int length)
    {
        if (length < OptionHeaderLength) return false;
        int fixedLength = FixedLength(kind);
        if (fixedLength >= 0) return length == fixedLength;
        // SACK carries one or more blocks (RFC 2018 §3); at most 4 fit in 40 bytes of options.
        if (kind == TcpOptionKind.Sack)
            return length > OptionHeaderLength && (length - OptionHeaderLength) % SackBlockLength == 0;
        return true;
    }
}
