using CsCheck;
using DataPlane.Host.Policy.Radius;
using static DataPlane.Host.Tests.Radius.RadiusTestPackets;

namespace DataPlane.Host.Tests.Radius;

/// <summary>Random and mutated responses never throw, and no mutation of a signed answer is accepted.</summary>
public sealed class RadiusPropertyTests
{
    private static readonly byte[] Secret = "s3cret"u8.ToArray();

    /// <summary>A signed Access-Accept or -Reject with random attributes (some of them prefixes, addresses, Reply-Messages).</summary>
    private static readonly Gen<(byte[] RequestAuthenticator, byte[] Packet)> SignedAnswer =
        Gen.Select(
            Gen.Byte.Array[16],
            Gen.OneOf(Gen.Const(RadiusCode.AccessAccept), Gen.Const(RadiusCode.AccessReject)),
            Gen.Byte,
            Gen.Select(Gen.OneOf<byte>(new byte[] { 8, 18, 25, 97, 123, 147, 151, 200 }.Select(Gen.Const).ToArray()), Gen.Byte.Array[0, 40])
                .Select((type, value) => Attribute(type, value)).Array[0, 8])
        .Select((ra, code, id, attributes) => (ra, Sign(code, id, ra, attributes.SelectMany(a => a).ToArray(), "s3cret")));

    private static void Decode(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> requestAuthenticator)
    {
        RadiusPacket.CheckStructure(datagram, out _);
        RadiusPacket.VerifyResponse(datagram, requestAuthenticator, Secret);
        RadiusPacket.VerifyRequestMessageAuthenticator(datagram, Secret);
        foreach (var t in new[] { RadiusAttributeType.FramedIpv6Prefix, RadiusAttributeType.DelegatedIpv6Prefix, RadiusAttributeType.Pmip6HomeHnPrefix })
            RadiusProfileReader.TryRead(datagram, t, out _, out _);
        RadiusProfileReader.ReplyMessage(datagram);
        var reader = new RadiusAttributeReader(datagram);
        while (reader.MoveNext()) { }
    }

    [Fact]
    public void Random_datagrams_never_throw() =>
        Gen.Select(Gen.Byte.Array[0, 300], Gen.Byte.Array[16]).Sample((datagram, ra) => Decode(datagram, ra), iter: 20_000);

    [Fact]
    public void Random_datagrams_with_a_plausible_header_never_throw() =>
        Gen.Select(Gen.OneOf(Gen.Const<byte>(2), Gen.Const<byte>(3), Gen.Const<byte>(11)), Gen.Byte, Gen.Byte.Array[16], Gen.Byte.Array[0, 200], Gen.Int[0, 300])
            .Sample((code, id, ra, body, length) =>
            {
                byte[] datagram = [code, id, (byte)(length >> 8), (byte)length, .. ra, .. body];
                Decode(datagram, ra);
            }, iter: 20_000);

    [Fact]
    public void Signed_answers_verify() =>
        SignedAnswer.Sample(a => Assert.Equal(RadiusPacketError.None, RadiusPacket.VerifyResponse(a.Packet, a.RequestAuthenticator, Secret)), iter: 2_000);

    [Fact]
    public void Mutated_answers_never_throw_and_never_verify() =>
        Gen.Select(SignedAnswer, Gen.Int[0, 1000], Gen.Int[1, 255], Gen.Int[0, 3]).Sample((a, position, xor, kind) =>
        {
            var m = (byte[])a.Packet.Clone();
            switch (kind)
            {
                case 0: m[position % m.Length] ^= (byte)xor; break;                 // flip bits anywhere
                case 1: m = m[..(position % m.Length)]; break;                        // truncate
                case 2: m[m.Length > 20 ? 20 + position % (m.Length - 20) : position % m.Length] ^= (byte)xor; break; // inside the attributes
                default: m[2] ^= (byte)(xor & 0x0F); m[3] ^= (byte)xor; break;        // Length field
            }
            Decode(m, a.RequestAuthenticator);
            Assert.NotEqual(RadiusPacketError.None, RadiusPacket.VerifyResponse(m, a.RequestAuthenticator, Secret));
        }, iter: 5_000);

    [Fact]
    public void Requests_we_build_parse_and_carry_a_valid_message_authenticator() =>
        Gen.Select(Gen.Byte, Gen.String[Gen.Char.AlphaNumeric, 1, 60], Gen.Byte.Array[1, 128].Where(p => p[^1] != 0))
            .Sample((id, user, password) =>
            {
                var ra = RadiusPacket.NewRequestAuthenticator();
                var packet = RadiusPacket.BuildAccessRequest(id, ra, [RadiusAttribute.String(RadiusAttributeType.UserName, user)], Secret, password);
                Assert.Equal(RadiusPacketError.None, RadiusPacket.CheckStructure(packet, out int length));
                Assert.Equal(packet.Length, length);
                Assert.True(RadiusPacket.VerifyRequestMessageAuthenticator(packet, Secret));
                var reader = new RadiusAttributeReader(packet);
                byte[]? hidden = null;
                while (reader.MoveNext()) if (reader.Type == RadiusAttributeType.UserPassword) hidden = reader.Value.ToArray();
                Assert.Equal(password, RadiusPacket.RevealPassword(hidden!, Secret, ra));
            }, iter: 2_000);
}
