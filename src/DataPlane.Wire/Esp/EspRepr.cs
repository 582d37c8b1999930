namespace DataPlane.Wire;

/// <summary>
/// The parsed representation of an ESP packet whose body is in the clear (ENCR_NULL, RFC 2410): header fields,
/// the payload (for us a Mobility Header) with its Next Header, and the ICV as carried. Padding is the default
/// 1, 2, 3, … to the 4-byte ICV alignment; it is not kept, because <see cref="WriteTo"/> recomputes it. Whether
/// the ICV is right is the SA's business (DataPlane.Protocol.Security), not the format's.
/// </summary>
public sealed record EspRepr(uint Spi, uint SequenceNumber, byte NextHeader, EquatableArray<byte> Payload, EquatableArray<byte> Icv)
{
    public static bool TryParse(ReadOnlySpan<byte> packet, int icvLength, out EspRepr? repr, out WireError error)
    {
        repr = null;
        if (!EspPacket.TryValidate(packet, icvLength, out error)) return false;
        var body = packet[EspPacket.HeaderLength..^icvLength];
        if (!EspTrailer.TryRead(body, out int payloadLength, out byte nextHeader, out error)) return false;
        repr = new EspRepr(EspPacket.ReadSpi(packet), EspPacket.ReadSequenceNumber(packet), nextHeader,
            new EquatableArray<byte>(body[..payloadLength]), new EquatableArray<byte>(packet[^icvLength..]));
        return true;
    }

    /// <summary>The length <see cref="WriteTo"/> writes.</summary>
    public int Length => EspPacket.HeaderLength + Payload.Count + EspTrailer.Length(EspPacket.HeaderLength, Payload.Count, EspPacket.IcvAlignment) + Icv.Count;

    /// <summary>Write header, payload, default padding, trailer and the ICV as given; returns the length.</summary>
    public int WriteTo(Span<byte> destination)
    {
        int length = Length;
        if (destination.Length < length) throw new ArgumentException($"needs {length} bytes, has {destination.Length}", nameof(destination));
        EspPacket.WriteHeader(destination, Spi, SequenceNumber);
        Payload.AsSpan().CopyTo(destination[EspPacket.HeaderLength..]);
        int at = EspPacket.HeaderLength + Payload.Count;
        at += EspTrailer.Write(destination[at..], EspPacket.HeaderLength, Payload.Count, NextHeader, EspPacket.IcvAlignment);
        Icv.AsSpan().CopyTo(destination[at..]);
        return length;
    }
}
