using System.Security.Cryptography;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests.Security;

/// <summary>A MAG and an LMA with mirrored manual SA pairs, and a Mobility Header to carry.</summary>
internal static class SecurityFixture
{
    public static readonly Ipv6Address MagAt = Ipv6Address.Parse("2001:db8:100::2");
    public static readonly Ipv6Address LmaAt = Ipv6Address.Parse("2001:db8:100::1");
    public static readonly Ipv6Address Stranger = Ipv6Address.Parse("2001:db8:666::2");
    public static readonly Instant Now = Instant.FromUnixTime(TimeSpan.FromDays(20000));

    public static byte[] Key(int seed, int length = 32)
    {
        var key = new byte[length];
        new Random(seed).NextBytes(key);
        return key;
    }

    /// <summary>A pair as the MAG configures it (in = LMA→MAG); <see cref="Mirror"/> gives the LMA's view.</summary>
    public static SecurityAssociationPairOptions Pair(string name, uint magToLmaSpi, uint lmaToMagSpi, int seed, EspAlgorithm algorithm = EspAlgorithm.NullHmacSha256_128)
    {
        int length = EspAlgorithms.KeyMaterialLength(algorithm);
        return new(name, algorithm, lmaToMagSpi, Key(seed, length), magToLmaSpi, Key(seed + 1, length));
    }

    public static SecurityAssociationPairOptions Mirror(SecurityAssociationPairOptions p) =>
        p with { InboundSpi = p.OutboundSpi, InboundKey = p.OutboundKey, OutboundSpi = p.InboundSpi, OutboundKey = p.InboundKey };

    public static SignallingSecurity MagSide(params SecurityAssociationPairOptions[] pairs) =>
        new(new SignallingSecurityOptions { Peers = [new SecurityPeerOptions(LmaAt, pairs)], Role = SecurityRole.Initiator }, new SplitMix64Random(1));

    public static SignallingSecurity LmaSide(params SecurityAssociationPairOptions[] magPairs) =>
        new(new SignallingSecurityOptions { Peers = [new SecurityPeerOptions(MagAt, magPairs.Select(Mirror).ToList())], Role = SecurityRole.Responder }, new SplitMix64Random(2));

    /// <summary>A real PBU's bytes (checksum for MAG → LMA).</summary>
    public static byte[] Pbu(ushort sequence = 1)
    {
        var pbu = new BindingUpdate(sequence, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
        {
            Options = new([MobileNodeIdentifierOption.ForNai("vm1@example.net")]),
        };
        var bytes = new byte[pbu.GetLength()];
        pbu.WriteTo(bytes, MagAt, LmaAt);
        return bytes;
    }

    public static byte[] Protect(SignallingSecurity from, Ipv6Address to, byte[] mh)
    {
        var output = new byte[mh.Length + SignallingSecurity.MaxOverhead];
        Assert.True(from.TryProtect(to, mh, output, Now, out int length));
        return output[..length];
    }

    /// <summary>Open a copy (opening decrypts in place); the payload on success.</summary>
    public static (SecurityVerdict Verdict, byte[]? Payload) Open(SignallingSecurity at, Ipv6Address from, Ipv6Address to, byte[] esp)
    {
        var copy = (byte[])esp.Clone();
        var verdict = at.Unprotect(from, to, copy, Now, out var payload);
        return (verdict, verdict.Accepted ? copy[payload] : null);
    }

    /// <summary>ENCR_NULL + HMAC-SHA-256-128 built by hand: the bytes an independent implementation would send.</summary>
    public static byte[] HandBuilt(uint spi, uint sequence, byte[] payload, byte nextHeader, byte[] key, byte[]? padding = null)
    {
        int unpadded = 8 + payload.Length + 2;
        padding ??= Enumerable.Range(1, (4 - unpadded % 4) % 4).Select(i => (byte)i).ToArray();
        var body = new List<byte>();
        body.AddRange([(byte)(spi >> 24), (byte)(spi >> 16), (byte)(spi >> 8), (byte)spi, (byte)(sequence >> 24), (byte)(sequence >> 16), (byte)(sequence >> 8), (byte)sequence]);
        body.AddRange(payload);
        body.AddRange(padding);
        body.Add((byte)padding.Length);
        body.Add(nextHeader);
        var icv = HMACSHA256.HashData(key, body.ToArray()).AsSpan(0, 16).ToArray();
        return [.. body, .. icv];
    }
}
