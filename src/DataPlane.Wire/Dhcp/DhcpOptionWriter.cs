using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// Writes DHCP options after a header written by <see cref="Dhcpv4Packet.WriteHeader"/>, in the order
/// they are added, without allocating; <see cref="Finish"/> writes End and pads the message to the
/// BOOTP minimum. A buffer too small, or option data over 255 bytes, is a programming error and throws.
/// </summary>
public ref struct DhcpOptionWriter
{
    private const int OptionHeaderLength = 2;
    private const int MaxDataLength = 255;

    private readonly Span<byte> _message;
    private int _position;

    /// <param name="message">The whole message buffer; options start at <see cref="Dhcpv4Packet.OptionsOffset"/>.</param>
    public DhcpOptionWriter(Span<byte> message)
    {
        _message = message;
        _position = Dhcpv4Packet.OptionsOffset;
    }

    /// <summary>Bytes of the message written so far, header included.</summary>
    public readonly int Position => _position;

    /// <summary>Write code and length; returns the data bytes to fill.</summary>
    public Span<byte> Begin(DhcpOptionCode code, int dataLength)
    {
        if ((uint)dataLength > MaxDataLength)
            throw new ArgumentOutOfRangeException(nameof(dataLength), dataLength, "DHCP option data is at most 255 bytes");
        var option = _message.Slice(_position, OptionHeaderLength + dataLength);
        option[0] = (byte)code;
        option[1] = (byte)dataLength;
        _position += option.Length;
        return option[OptionHeaderLength..];
    }

    public void Add(DhcpOptionCode code, ReadOnlySpan<byte> data) => data.CopyTo(Begin(code, data.Length));

    public void AddByte(DhcpOptionCode code, byte value) => Begin(code, 1)[0] = value;

    public void AddUInt16(DhcpOptionCode code, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Begin(code, 2), value);

    public void AddUInt32(DhcpOptionCode code, uint value) => BinaryPrimitives.WriteUInt32BigEndian(Begin(code, 4), value);

    public void AddAddress(DhcpOptionCode code, Ipv4Address address) => address.WriteTo(Begin(code, Ipv4Address.Length));

    public void AddAddresses(DhcpOptionCode code, ReadOnlySpan<Ipv4Address> addresses)
    {
        var d = Begin(code, addresses.Length * Ipv4Address.Length);
        for (int i = 0; i < addresses.Length; i++)
            addresses[i].WriteTo(d[(i * Ipv4Address.Length)..]);
    }

    /// <summary>
    /// Write End, then zero (Pad) bytes up to <paramref name="minimumLength"/>; returns the message length.
    /// </summary>
    public int Finish(int minimumLength = Dhcpv4Packet.MinimumBootpLength)
    {
        _message[_position++] = (byte)DhcpOptionCode.End;
        if (_position < minimumLength)
        {
            _message[_position..minimumLength].Clear();
            _position = minimumLength;
        }
        return _position;
    }

    /// <summary>The message length <see cref="Finish"/> gives for <paramref name="optionsLength"/> bytes of options before End.</summary>
    public static int FinishedLength(int optionsLength, int minimumLength = Dhcpv4Packet.MinimumBootpLength) =>
        Math.Max(Dhcpv4Packet.OptionsOffset + optionsLength + 1, minimumLength);
}
