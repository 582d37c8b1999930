using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace DataPlane.Host.Policy.Radius;

/// <summary>Why a received datagram is not a usable answer (it is then silently discarded, RFC 2865 §3, and counted).</summary>
public enum RadiusPacketError : byte
{
    None,
    /// <summary>Shorter than the 20-octet header.</summary>
    Truncated,
    /// <summary>The Length field is below 20, above 4096, or above the datagram's size.</summary>
    BadLength,
    /// <summary>An attribute's length is below 2 or runs past the packet.</summary>
    BadAttribute,
    /// <summary>Not a code that answers an Access-Request.</summary>
    UnexpectedCode,
    /// <summary>No request with this identifier is outstanding (a late answer to a retired request).</summary>
    UnknownIdentifier,
    BadResponseAuthenticator,
    /// <summary>No Message-Authenticator (required on every response: the BlastRADIUS advisory, 2024).</summary>
    MissingMessageAuthenticator,
    /// <summary>A Message-Authenticator of the wrong length, or more than one.</summary>
    MalformedMessageAuthenticator,
    BadMessageAuthenticator,
}

/// <summary>
/// The RADIUS packet format (RFC 2865 §3): code, identifier, length, 16-octet authenticator, then
/// type-length-value attributes. Builds Access-Requests that always carry a Message-Authenticator
/// (RFC 3579 §3.2) and checks responses: Response Authenticator (RFC 2865 §3) and a Message-Authenticator
/// that must be present and valid. Nothing here throws on received bytes.
/// </summary>
public static class RadiusPacket
{
    public const int HeaderLength = 20;
    public const int MaxLength = 4096;
    public const int AuthenticatorLength = 16;
    public const int AuthenticatorOffset = 4;
    private const int MessageAuthenticatorLength = 2 + 16;

    /// <summary>RFC 2865 §5.2: at most 128 octets of password.</summary>
    public const int MaxPasswordLength = 128;

    /// <summary>A fresh Request Authenticator: "unpredictable and unique over the lifetime of a secret" (§3).</summary>
    public static byte[] NewRequestAuthenticator() => RandomNumberGenerator.GetBytes(AuthenticatorLength);

    /// <summary>
    /// An Access-Request: the attributes given (already encoded, in order), then a Message-Authenticator
    /// computed over the whole packet (RFC 3579 §3.2, with the Request Authenticator as is). A
    /// <paramref name="password"/> becomes a User-Password hidden as §5.2 says, right after User-Name.
    /// </summary>
    public static byte[] BuildAccessRequest(byte identifier, ReadOnlySpan<byte> requestAuthenticator, IReadOnlyList<RadiusAttribute> attributes,
        ReadOnlySpan<byte> secret, ReadOnlySpan<byte> password = default)
    {
        if (requestAuthenticator.Length != AuthenticatorLength) throw new ArgumentException("the Request Authenticator is 16 octets", nameof(requestAuthenticator));
        int length = HeaderLength + MessageAuthenticatorLength;
        foreach (var a in attributes) length += 2 + a.Value.Length;
        byte[] hiddenPassword = password.IsEmpty ? [] : HidePassword(password, secret, requestAuthenticator);
        if (hiddenPassword.Length > 0) length += 2 + hiddenPassword.Length;
        if (length > MaxLength) throw new ArgumentException($"the request would be {length} octets, more than RADIUS allows ({MaxLength})");

        var packet = new byte[length];
        packet[0] = (byte)RadiusCode.AccessRequest;
        packet[1] = identifier;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)length);
        requestAuthenticator.CopyTo(packet.AsSpan(AuthenticatorOffset));
        int at = HeaderLength;
        bool passwordWritten = hiddenPassword.Length == 0;
        foreach (var a in attributes)
        {
            at = Write(packet, at, a.Type, a.Value);
            if (!passwordWritten && a.Type == RadiusAttributeType.UserName)
            {
                at = Write(packet, at, RadiusAttributeType.UserPassword, hiddenPassword);
                passwordWritten = true;
            }
        }
        if (!passwordWritten) at = Write(packet, at, RadiusAttributeType.UserPassword, hiddenPassword);
        int ma = at;
        at = Write(packet, at, RadiusAttributeType.MessageAuthenticator, stackalloc byte[16]);
        HMACMD5.HashData(secret, packet, packet.AsSpan(ma + 2, 16));
        return packet;
    }

    private static int Write(byte[] packet, int at, RadiusAttributeType type, ReadOnlySpan<byte> value)
    {
        if (value.Length > 253) throw new ArgumentException($"attribute {type} is {value.Length} octets; RADIUS allows 253");
        packet[at] = (byte)type;
        packet[at + 1] = (byte)(2 + value.Length);
        value.CopyTo(packet.AsSpan(at + 2));
        return at + 2 + value.Length;
    }

    /// <summary>
    /// RFC 2865 §5.2: the password padded with zeros to a multiple of 16, each 16-octet block XORed with
    /// MD5(secret + the previous cipher block), the first with MD5(secret + Request Authenticator).
    /// </summary>
    public static byte[] HidePassword(ReadOnlySpan<byte> password, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> requestAuthenticator)
    {
        if (password.Length > MaxPasswordLength) throw new ArgumentException($"a User-Password is at most {MaxPasswordLength} octets");
        int length = Math.Max(16, (password.Length + 15) / 16 * 16);
        var result = new byte[length];
        password.CopyTo(result);
        var input = new byte[secret.Length + 16];
        secret.CopyTo(input);
        requestAuthenticator.CopyTo(input.AsSpan(secret.Length));
        Span<byte> b = stackalloc byte[16];
        for (int block = 0; block < length; block += 16)
        {
            MD5.HashData(input, b);
            for (int i = 0; i < 16; i++) result[block + i] ^= b[i];
            result.AsSpan(block, 16).CopyTo(input.AsSpan(secret.Length));
        }
        return result;
    }

    /// <summary>The inverse of <see cref="HidePassword"/> (for tests and the RFC's example), padding zeros removed.</summary>
    public static byte[] RevealPassword(ReadOnlySpan<byte> hidden, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> requestAuthenticator)
    {
        if (hidden.Length == 0 || hidden.Length % 16 != 0) return [];
        var result = hidden.ToArray();
        var input = new byte[secret.Length + 16];
        secret.CopyTo(input);
        requestAuthenticator.CopyTo(input.AsSpan(secret.Length));
        Span<byte> b = stackalloc byte[16];
        for (int block = 0; block < result.Length; block += 16)
        {
            MD5.HashData(input, b);
            hidden.Slice(block, 16).CopyTo(input.AsSpan(secret.Length));
            for (int i = 0; i < 16; i++) result[block + i] ^= b[i];
        }
        int end = result.Length;
        while (end > 0 && result[end - 1] == 0) end--;
        return result[..end];
    }

    /// <summary>
    /// Header checks on a received datagram: at least 20 octets, a Length field within 20..4096 and not past
    /// the datagram (octets beyond Length are padding, §3), attributes that tile the rest exactly. On success
    /// <paramref name="length"/> is the packet's declared length.
    /// </summary>
    public static RadiusPacketError CheckStructure(ReadOnlySpan<byte> datagram, out int length)
    {
        length = 0;
        if (datagram.Length < HeaderLength) return RadiusPacketError.Truncated;
        int declared = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (declared < HeaderLength || declared > MaxLength || declared > datagram.Length) return RadiusPacketError.BadLength;
        var reader = new RadiusAttributeReader(datagram[..declared]);
        while (reader.MoveNext()) { }
        if (reader.Malformed) return RadiusPacketError.BadAttribute;
        length = declared;
        return RadiusPacketError.None;
    }

    /// <summary>
    /// Verify a response to the request whose Request Authenticator is <paramref name="requestAuthenticator"/>:
    /// the structure, the code (Access-Accept, -Reject or -Challenge), the Response Authenticator
    /// MD5(Code+ID+Length+RequestAuth+Attributes+Secret), and exactly one Message-Authenticator equal to
    /// HMAC-MD5(secret, the packet with the Request Authenticator in place and the Message-Authenticator
    /// zeroed). Comparisons are constant-time. The identifier is the caller's to match.
    /// </summary>
    public static RadiusPacketError VerifyResponse(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> requestAuthenticator, ReadOnlySpan<byte> secret)
    {
        var structure = CheckStructure(datagram, out int length);
        if (structure != RadiusPacketError.None) return structure;
        var packet = datagram[..length];
        var code = (RadiusCode)packet[0];
        if (code is not (RadiusCode.AccessAccept or RadiusCode.AccessReject or RadiusCode.AccessChallenge)) return RadiusPacketError.UnexpectedCode;

        // The copy has the Request Authenticator where the Response Authenticator was: both checks hash that.
        var copy = packet.ToArray();
        requestAuthenticator.CopyTo(copy.AsSpan(AuthenticatorOffset));

        var withSecret = new byte[copy.Length + secret.Length];
        copy.CopyTo(withSecret, 0);
        secret.CopyTo(withSecret.AsSpan(copy.Length));
        Span<byte> expected = stackalloc byte[16];
        MD5.HashData(withSecret, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, packet.Slice(AuthenticatorOffset, AuthenticatorLength)))
            return RadiusPacketError.BadResponseAuthenticator;

        int maOffset = -1;
        var reader = new RadiusAttributeReader(packet);
        while (reader.MoveNext())
        {
            if (reader.Type != RadiusAttributeType.MessageAuthenticator) continue;
            if (maOffset >= 0 || reader.Value.Length != 16) return RadiusPacketError.MalformedMessageAuthenticator;
            maOffset = reader.ValueOffset;
        }
        if (maOffset < 0) return RadiusPacketError.MissingMessageAuthenticator;
        copy.AsSpan(maOffset, 16).Clear();
        HMACMD5.HashData(secret, copy, expected);
        return CryptographicOperations.FixedTimeEquals(expected, packet.Slice(maOffset, 16))
            ? RadiusPacketError.None
            : RadiusPacketError.BadMessageAuthenticator;
    }

    /// <summary>Verify an Access-Request's Message-Authenticator (for tests against requests other clients built).</summary>
    public static bool VerifyRequestMessageAuthenticator(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> secret)
    {
        if (CheckStructure(packet, out int length) != RadiusPacketError.None) return false;
        var copy = packet[..length].ToArray();
        var reader = new RadiusAttributeReader(copy);
        int maOffset = -1;
        while (reader.MoveNext())
            if (reader.Type == RadiusAttributeType.MessageAuthenticator && reader.Value.Length == 16) maOffset = reader.ValueOffset;
        if (maOffset < 0) return false;
        var received = copy.AsSpan(maOffset, 16).ToArray();
        copy.AsSpan(maOffset, 16).Clear();
        Span<byte> expected = stackalloc byte[16];
        HMACMD5.HashData(secret, copy, expected);
        return CryptographicOperations.FixedTimeEquals(expected, received);
    }
}

/// <summary>One attribute to send: its type and encoded value (at most 253 octets).</summary>
public readonly record struct RadiusAttribute(RadiusAttributeType Type, byte[] Value)
{
    public static RadiusAttribute String(RadiusAttributeType type, string value) => new(type, Encoding.UTF8.GetBytes(value));

    public static RadiusAttribute Integer(RadiusAttributeType type, uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return new(type, b);
    }

    public static RadiusAttribute Ipv6Address(RadiusAttributeType type, DataPlane.Wire.Ipv6Address address)
    {
        var b = new byte[16];
        address.WriteTo(b);
        return new(type, b);
    }
}

/// <summary>
/// Walks the attributes of a packet (from offset 20 to its length). Stops at the first malformed one
/// (length below 2 or past the end) and says so in <see cref="Malformed"/>; never throws.
/// </summary>
public ref struct RadiusAttributeReader
{
    private readonly ReadOnlySpan<byte> _packet;
    private int _next;

    public RadiusAttributeReader(ReadOnlySpan<byte> packet)
    {
        _packet = packet;
        _next = RadiusPacket.HeaderLength;
        Malformed = packet.Length < RadiusPacket.HeaderLength;
        if (Malformed) _next = packet.Length;
    }

    public RadiusAttributeType Type { get; private set; }
    public ReadOnlySpan<byte> Value { get; private set; }
    /// <summary>Offset of the value in the packet.</summary>
    public int ValueOffset { get; private set; }
    public bool Malformed { get; private set; }

    public bool MoveNext()
    {
        if (Malformed || _next >= _packet.Length) return false;
        if (_packet.Length - _next < 2) return Fail();
        int length = _packet[_next + 1];
        if (length < 2 || length > _packet.Length - _next) return Fail();
        Type = (RadiusAttributeType)_packet[_next];
        ValueOffset = _next + 2;
        Value = _packet.Slice(_next + 2, length - 2);
        _next += length;
        return true;
    }

    private bool Fail()
    {
        Malformed = true;
        Value = default;
        return false;
    }
}
