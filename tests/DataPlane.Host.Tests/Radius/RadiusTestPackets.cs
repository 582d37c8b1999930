using System.Buffers.Binary;
using System.Security.Cryptography;
using DataPlane.Host.Policy.Radius;

namespace DataPlane.Host.Tests.Radius;

public enum SignMode
{
    Correct,
    /// <summary>No Message-Authenticator at all (a pre-BlastRADIUS server).</summary>
    NoMessageAuthenticator,
    /// <summary>A Message-Authenticator computed with the wrong key, and a Response Authenticator that is right for it.</summary>
    WrongMessageAuthenticator,
    /// <summary>Both authenticators with another secret.</summary>
    WrongSecret,
}

/// <summary>The server's side of RFC 2865/3579, written independently of the client's code, for tests.</summary>
public static class RadiusTestPackets
{
    public static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(Uri.IsHexDigit)));

    public static byte[] Attribute(byte type, ReadOnlySpan<byte> value) => [type, (byte)(value.Length + 2), .. value];

    public static byte[] Prefix(byte type, string prefix)
    {
        var p = DataPlane.Wire.Ipv6Prefix.Parse(prefix);
        var b = new byte[16];
        p.Address.WriteTo(b);
        return Attribute(type, [0, p.Length, .. b]);
    }

    public static byte[] Sign(RadiusCode code, byte identifier, ReadOnlySpan<byte> requestAuthenticator, ReadOnlySpan<byte> attributes, string secret,
        SignMode mode = SignMode.Correct)
    {
        var key = System.Text.Encoding.UTF8.GetBytes(mode == SignMode.WrongSecret ? secret + "-wrong" : secret);
        bool withMa = mode != SignMode.NoMessageAuthenticator;
        int length = 20 + attributes.Length + (withMa ? 18 : 0);
        var p = new byte[length];
        p[0] = (byte)code;
        p[1] = identifier;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)length);
        requestAuthenticator.CopyTo(p.AsSpan(4));
        // FreeRADIUS puts it last, BlastRADIUS advice first; position does not matter to the check. Put it first here.
        int at = 20;
        if (withMa)
        {
            p[at] = 80;
            p[at + 1] = 18;
            at += 18;
        }
        attributes.CopyTo(p.AsSpan(at));
        if (withMa)
        {
            var maKey = mode == SignMode.WrongMessageAuthenticator ? [.. key, (byte)'x'] : key;
            HMACMD5.HashData(maKey, p).CopyTo(p.AsSpan(22));
        }
        var forAuth = new byte[p.Length + key.Length];
        p.CopyTo(forAuth, 0);
        key.CopyTo(forAuth, p.Length);
        MD5.HashData(forAuth).CopyTo(p.AsSpan(4));
        return p;
    }
}
