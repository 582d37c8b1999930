using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over an Encapsulating Security Payload packet (RFC 4303 §2), as a raw protocol-50 socket hands it
/// over (after the IPv6 header): SPI(4) · Sequence Number(4) · body · ICV. The body is what the transform
/// encrypts or leaves in the clear (an IV, if the transform has one, then Payload Data · Padding · Pad Length ·
/// Next Header); its inner structure is <see cref="EspTrailer"/>'s, readable only once the body is decrypted.
/// The ICV length is not on the wire: it comes from the SA, so the factory takes it.
/// </summary>
/// <remarks>
/// The checked factory guarantees the 8-byte header, an ICV of the given length, a body of at least the two
/// trailer bytes, and the ICV starting on a 4-byte boundary (RFC 4303 §2.4: "the Pad Length and Next Header
/// fields must be right aligned within a 4-byte word"). SPI 0 is reserved for local use and "MUST NOT be sent
/// on the wire" (§2.1): <see cref="WireError.BadValue"/>.
/// </remarks>
public readonly ref struct EspPacket
{
    public const int HeaderLength = 8;
    public const int SpiOffset = 0;
    public const int SequenceNumberOffset = 4;
    /// <summary>Pad Length and Next Header: the two bytes that end the body (RFC 4303 §2.5, §2.6).</summary>
    public const int TrailerLength = 2;
    /// <summary>Where the ICV must start relative to the ESP header (RFC 4303 §2.4).</summary>
    public const int IcvAlignment = 4;

    private readonly Span<byte> _buffer;
    private readonly int _icvLength;

    private EspPacket(Span<byte> buffer, int icvLength)
    {
        _buffer = buffer;
        _icvLength = icvLength;
    }

    public static bool TryCreate(Span<byte> buffer, int icvLength, out EspPacket packet, out WireError error)
    {
        packet = default;
        if (!TryValidate(buffer, icvLength, out error)) return false;
        packet = new EspPacket(buffer, icvLength);
        return true;
    }

    /// <summary>The validation <see cref="TryCreate"/> does, usable on read-only input.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, int icvLength, out WireError error)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(icvLength);
        if (buffer.Length < HeaderLength + TrailerLength + icvLength)
        {
            error = WireError.Truncated;
            return false;
        }
        if ((buffer.Length - icvLength) % IcvAlignment != 0)
        {
            error = WireError.BadAlignment;
            return false;
        }
        if (ReadSpi(buffer) == 0)
        {
            error = WireError.BadValue;
            return false;
        }
        error = WireError.None;
        return true;
    }

    /// <summary>The SPI of any buffer of at least 4 bytes (for the SA look-up before the ICV length is known).</summary>
    public static uint ReadSpi(ReadOnlySpan<byte> buffer) => BinaryPrimitives.ReadUInt32BigEndian(buffer.Slice(SpiOffset, 4));

    /// <summary>The Sequence Number of any buffer of at least 8 bytes.</summary>
    public static uint ReadSequenceNumber(ReadOnlySpan<byte> buffer) => BinaryPrimitives.ReadUInt32BigEndian(buffer.Slice(SequenceNumberOffset, 4));

    public Span<byte> Buffer => _buffer;

    public uint Spi => ReadSpi(_buffer);

    public uint SequenceNumber => ReadSequenceNumber(_buffer);

    /// <summary>IV (if any), Payload Data, Padding, Pad Length and Next Header: encrypted or in the clear.</summary>
    public Span<byte> Body => _buffer[HeaderLength..^_icvLength];

    /// <summary>What a separate integrity algorithm covers (RFC 4303 §2.8): header and body, everything but the ICV.</summary>
    public Span<byte> Authenticated => _buffer[..^_icvLength];

    /// <summary>SPI and Sequence Number, the additional authenticated data of a combined-mode transform (RFC 4106 §5).</summary>
    public Span<byte> Header => _buffer[..HeaderLength];

    public Span<byte> Icv => _buffer[^_icvLength..];

    /// <summary>Write the header into <paramref name="destination"/>; the body and ICV are the transform's.</summary>
    public static void WriteHeader(Span<byte> destination, uint spi, uint sequenceNumber)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(SpiOffset, 4), spi);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(SequenceNumberOffset, 4), sequenceNumber);
    }
}

/// <summary>
/// The end of a decrypted ESP body (RFC 4303 §2.4–2.6): Payload Data · Padding (1, 2, 3, …) · Pad Length · Next
/// Header. Writing pads so that the body ends on the given alignment with the default padding contents; reading
/// checks those contents (the receiver "SHOULD inspect the Padding field", §2.4) and returns where the payload ends.
/// </summary>
public static class EspTrailer
{
    /// <summary>How many bytes a payload of <paramref name="payloadLength"/> needs after it (padding and the two trailer bytes).</summary>
    public static int Length(int prefixLength, int payloadLength, int alignment)
    {
        int unpadded = prefixLength + payloadLength + EspPacket.TrailerLength;
        int padding = (alignment - unpadded % alignment) % alignment;
        return padding + EspPacket.TrailerLength;
    }

    /// <summary>
    /// Write padding and trailer into <paramref name="destination"/> (which starts right after the payload) so
    /// that <paramref name="prefixLength"/> + payload + what is written is a multiple of <paramref name="alignment"/>.
    /// Returns the bytes written.
    /// </summary>
    public static int Write(Span<byte> destination, int prefixLength, int payloadLength, byte nextHeader, int alignment)
    {
        int length = Length(prefixLength, payloadLength, alignment);
        int padding = length - EspPacket.TrailerLength;
        for (int i = 0; i < padding; i++) destination[i] = (byte)(i + 1);
        destination[padding] = (byte)padding;
        destination[padding + 1] = nextHeader;
        return length;
    }

    /// <summary>
    /// Read the trailer at the end of <paramref name="plaintext"/> (Payload Data through Next Header):
    /// <paramref name="payloadLength"/> is where the payload ends. <see cref="WireError.BadLength"/> when the Pad
    /// Length runs past the start, <see cref="WireError.BadValue"/> when the padding is not 1, 2, 3, ….
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> plaintext, out int payloadLength, out byte nextHeader, out WireError error)
    {
        payloadLength = 0;
        nextHeader = 0;
        if (plaintext.Length < EspPacket.TrailerLength)
        {
            error = WireError.Truncated;
            return false;
        }
        int padding = plaintext[^2];
        nextHeader = plaintext[^1];
        int end = plaintext.Length - EspPacket.TrailerLength - padding;
        if (end < 0)
        {
            error = WireError.BadLength;
            return false;
        }
        for (int i = 0; i < padding; i++)
        {
            if (plaintext[end + i] != (byte)(i + 1))
            {
                error = WireError.BadValue;
                return false;
            }
        }
        payloadLength = end;
        error = WireError.None;
        return true;
    }
}
