using System.Text;
using DataPlane.Host.Policy.Radius;
using DataPlane.Wire;
using static DataPlane.Host.Tests.Radius.RadiusTestPackets;

namespace DataPlane.Host.Tests.Radius;

/// <summary>The RADIUS packet format against RFC 2865 §7's examples and packets from FreeRADIUS 3.2.1's radclient and radiusd.</summary>
public sealed class RadiusCodecTests
{
    // RFC 2865 §7.1, "User Telnet to Specified Host": secret xyzzy5461, password "arctangent".
    private static readonly byte[] Rfc7_1Request = Hex("""
        01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
        98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
        93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
        01 10 05 06 00 00 00 03
        """);
    private static readonly byte[] Rfc7_1Accept = Hex("""
        02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
        9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
        0e 06 c0 a8 01 03
        """);
    private static readonly byte[] Rfc7Secret = Encoding.ASCII.GetBytes("xyzzy5461");

    // Captured between radclient and radiusd (FreeRADIUS 3.2.1, Debian 12), secret "testing123", server users file:
    //   vm1@vm.test Auth-Type := Accept / Framed-IPv6-Prefix = 2001:db8:1001:1::/64, Framed-IP-Address = 10.0.0.1,
    //                                     PMIP6-Home-LMA-IPv6-Address = 2001:db8:100::1
    //   vm2@vm.test Auth-Type := Reject
    //   vm3@vm.test Cleartext-Password := "pw" / Delegated-IPv6-Prefix = 2001:db8:1001:3::/64
    // and `update reply { Message-Authenticator := 0x00 }` in post-auth (accept and reject).
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("testing123");
    // echo 'User-Name = "vm1@vm.test", Service-Type = Call-Check, Calling-Station-Id = "52-54-00-00-00-01",
    //       NAS-IPv6-Address = 2001:db8:100:1::2, NAS-Identifier = "mag1", Message-Authenticator = 0x00' | radclient … auth testing123
    private static readonly byte[] Vm1Request = Hex("01140064d1dbaddade5e3a70bd491b286e29eca2010d766d3140766d2e7465737406060000000a1f1335322d35342d30302d30302d30302d30315f1220010db801000001000000000000000220066d61673150129c8c74c9edde8d607505dc60ebc9afcf");
    private static readonly byte[] Vm1Accept = Hex("021400524aeef7fdb341ebba856fefbaab96376f6114004020010db810010001000000000000000008060a000001931220010db80100000000000000000000015012b884398ba73348a1a1c2a836a6475f7a");
    private static readonly byte[] Vm2Request = Hex("01f800394e21cffe75bdd5d76bb6efa5ba5350aa010d766d3240766d2e7465737406060000000a50124e529e1c28c46bfaf7bad487b6c7d9af");
    private static readonly byte[] Vm2Reject = Hex("03f800266ab859b107dcb505e75ec08eabb6ba9850120e990b69091b4aac70071eaa25cdba10");
    // echo 'User-Name = "vm3@vm.test", User-Password = "pw", Message-Authenticator = 0x00' | radclient … auth testing123
    private static readonly byte[] Vm3Request = Hex("01f70045316eaf6e2aed642aac5359cdd4b04d2b010d766d3340766d2e7465737402120365c69e420f6376fd5abb4d3a7322bb5012e356a3bd1ecde668cb77c95dc9561c18");
    private static readonly byte[] Vm3Accept = Hex("02f7003a2ed573cc2f97ca2b22ab6c92154aae8f7b14004020010db81001000300000000000000005012c529bb043684b0dcb8c9f87774b6cf65");

    private static byte[] RequestAuthenticator(byte[] packet) => packet[4..20];

    [Fact]
    public void Rfc2865_7_1_user_password_is_hidden_as_the_rfc_shows()
    {
        var hidden = RadiusPacket.HidePassword("arctangent"u8, Rfc7Secret, RequestAuthenticator(Rfc7_1Request));
        Assert.Equal(Rfc7_1Request[28..44], hidden);
        Assert.Equal("arctangent"u8.ToArray(), RadiusPacket.RevealPassword(hidden, Rfc7Secret, RequestAuthenticator(Rfc7_1Request)));
    }

    [Fact]
    public void Rfc2865_7_1_attributes_are_read_in_order()
    {
        var reader = new RadiusAttributeReader(Rfc7_1Request);
        var seen = new List<(RadiusAttributeType, int)>();
        while (reader.MoveNext()) seen.Add((reader.Type, reader.Value.Length));
        Assert.False(reader.Malformed);
        Assert.Equal([(RadiusAttributeType.UserName, 4), (RadiusAttributeType.UserPassword, 16), (RadiusAttributeType.NasIpAddress, 4), ((RadiusAttributeType)5, 4)], seen);
    }

    [Fact]
    public void Rfc2865_7_1_accept_has_a_valid_response_authenticator_but_is_refused_for_lacking_a_message_authenticator()
    {
        // The RFC's Access-Accept predates RFC 3579: its Response Authenticator checks out, and it is still not
        // good enough (BlastRADIUS: an answer without Message-Authenticator can be forged by MD5 collision).
        Assert.Equal(RadiusPacketError.MissingMessageAuthenticator,
            RadiusPacket.VerifyResponse(Rfc7_1Accept, RequestAuthenticator(Rfc7_1Request), Rfc7Secret));
        Assert.Equal(RadiusPacketError.BadResponseAuthenticator,
            RadiusPacket.VerifyResponse(Rfc7_1Accept, RequestAuthenticator(Rfc7_1Request), "xyzzy5462"u8));
    }

    [Fact]
    public void Our_access_request_is_byte_for_byte_radclients()
    {
        var vm1 = RadiusPacket.BuildAccessRequest(0x14, RequestAuthenticator(Vm1Request),
        [
            RadiusAttribute.String(RadiusAttributeType.UserName, "vm1@vm.test"),
            RadiusAttribute.Integer(RadiusAttributeType.ServiceType, (uint)RadiusServiceType.CallCheck),
            RadiusAttribute.String(RadiusAttributeType.CallingStationId, "52-54-00-00-00-01"),
            RadiusAttribute.Ipv6Address(RadiusAttributeType.NasIpv6Address, Ipv6Address.Parse("2001:db8:100:1::2")),
            RadiusAttribute.String(RadiusAttributeType.NasIdentifier, "mag1"),
        ], Secret);
        Assert.Equal(Convert.ToHexString(Vm1Request), Convert.ToHexString(vm1));

        // With a password: User-Password hidden right after User-Name, Message-Authenticator last.
        var vm3 = RadiusPacket.BuildAccessRequest(0xf7, RequestAuthenticator(Vm3Request),
            [RadiusAttribute.String(RadiusAttributeType.UserName, "vm3@vm.test")], Secret, "pw"u8);
        Assert.Equal(Convert.ToHexString(Vm3Request), Convert.ToHexString(vm3));
    }

    [Fact]
    public void Radclients_message_authenticators_verify_and_a_changed_octet_does_not()
    {
        foreach (var request in new[] { Vm1Request, Vm2Request, Vm3Request })
        {
            Assert.True(RadiusPacket.VerifyRequestMessageAuthenticator(request, Secret));
            Assert.False(RadiusPacket.VerifyRequestMessageAuthenticator(request, "testing124"u8));
            var changed = (byte[])request.Clone();
            changed[25] ^= 1;
            Assert.False(RadiusPacket.VerifyRequestMessageAuthenticator(changed, Secret));
        }
    }

    [Fact]
    public void FreeRadius_answers_verify_and_carry_the_profile()
    {
        Assert.Equal(RadiusPacketError.None, RadiusPacket.VerifyResponse(Vm1Accept, RequestAuthenticator(Vm1Request), Secret));
        Assert.True(RadiusProfileReader.TryRead(Vm1Accept, RadiusAttributeType.FramedIpv6Prefix, out var p1, out var problem), problem);
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:1::/64")], p1.HomeNetworkPrefixes);
        Assert.Equal(Ipv4Address.Parse("10.0.0.1"), p1.Ipv4HomeAddress);
        Assert.Equal(Ipv6Address.Parse("2001:db8:100::1"), p1.LocalMobilityAnchor);

        Assert.Equal(RadiusPacketError.None, RadiusPacket.VerifyResponse(Vm2Reject, RequestAuthenticator(Vm2Request), Secret));
        Assert.Equal((byte)RadiusCode.AccessReject, Vm2Reject[0]);

        Assert.Equal(RadiusPacketError.None, RadiusPacket.VerifyResponse(Vm3Accept, RequestAuthenticator(Vm3Request), Secret));
        Assert.True(RadiusProfileReader.TryRead(Vm3Accept, RadiusAttributeType.DelegatedIpv6Prefix, out var p3, out _));
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:3::/64")], p3.HomeNetworkPrefixes);
        // Configured for another attribute: the prefix is not taken from this one (the LMA's pool assigns).
        Assert.True(RadiusProfileReader.TryRead(Vm3Accept, RadiusAttributeType.FramedIpv6Prefix, out var p3b, out _));
        Assert.Empty(p3b.HomeNetworkPrefixes);
    }

    [Fact]
    public void An_answer_to_another_request_or_with_another_secret_does_not_verify()
    {
        Assert.Equal(RadiusPacketError.BadResponseAuthenticator, RadiusPacket.VerifyResponse(Vm1Accept, RequestAuthenticator(Vm3Request), Secret));
        Assert.Equal(RadiusPacketError.BadResponseAuthenticator, RadiusPacket.VerifyResponse(Vm1Accept, RequestAuthenticator(Vm1Request), "wrong"u8));
    }

    [Theory]
    [InlineData(SignMode.Correct, RadiusPacketError.None)]
    [InlineData(SignMode.NoMessageAuthenticator, RadiusPacketError.MissingMessageAuthenticator)]
    [InlineData(SignMode.WrongMessageAuthenticator, RadiusPacketError.BadMessageAuthenticator)]
    [InlineData(SignMode.WrongSecret, RadiusPacketError.BadResponseAuthenticator)]
    public void Message_authenticator_is_required_and_checked(SignMode mode, RadiusPacketError expected)
    {
        var ra = RadiusPacket.NewRequestAuthenticator();
        var answer = Sign(RadiusCode.AccessAccept, 7, ra, Prefix(97, "2001:db8:5::/64"), "s3cret", mode);
        Assert.Equal(expected, RadiusPacket.VerifyResponse(answer, ra, "s3cret"u8));
    }

    [Fact]
    public void Two_message_authenticators_or_one_of_the_wrong_size_are_refused()
    {
        var ra = RadiusPacket.NewRequestAuthenticator();
        var twice = Sign(RadiusCode.AccessAccept, 1, ra, Attribute(80, new byte[16]), "s");
        Assert.Equal(RadiusPacketError.MalformedMessageAuthenticator, RadiusPacket.VerifyResponse(twice, ra, "s"u8));
        var shortOne = Sign(RadiusCode.AccessAccept, 1, ra, Attribute(80, new byte[15]), "s", SignMode.NoMessageAuthenticator);
        Assert.Equal(RadiusPacketError.MalformedMessageAuthenticator, RadiusPacket.VerifyResponse(shortOne, ra, "s"u8));
    }

    [Fact]
    public void Structure_errors_are_named()
    {
        var ra = RadiusPacket.NewRequestAuthenticator();
        var good = Sign(RadiusCode.AccessAccept, 1, ra, [], "s");
        Assert.Equal(RadiusPacketError.Truncated, RadiusPacket.VerifyResponse(good[..19], ra, "s"u8));
        var longer = (byte[])good.Clone();
        longer[3] += 1; // Length past the datagram
        Assert.Equal(RadiusPacketError.BadLength, RadiusPacket.VerifyResponse(longer, ra, "s"u8));
        var brokenAttribute = Sign(RadiusCode.AccessAccept, 1, ra, [97, 1], "s");
        Assert.Equal(RadiusPacketError.BadAttribute, RadiusPacket.VerifyResponse(brokenAttribute, ra, "s"u8));
        var request = Sign(RadiusCode.AccessRequest, 1, ra, [], "s");
        Assert.Equal(RadiusPacketError.UnexpectedCode, RadiusPacket.VerifyResponse(request, ra, "s"u8));
        // Octets past Length are padding (RFC 2865 §3) and ignored.
        Assert.Equal(RadiusPacketError.None, RadiusPacket.VerifyResponse([.. good, 0, 0, 0], ra, "s"u8));
    }

    [Theory]
    [InlineData("0040 20010db8000100000000000000000000", "2001:db8:1::/64")] // FreeRADIUS: all 16 octets
    [InlineData("0040 20010db800010000", "2001:db8:1::/64")]                 // RFC 3162: only what the length needs
    [InlineData("0030 20010db80001", "2001:db8:1::/48")]
    public void Prefix_attributes_in_either_length_are_read(string value, string expected)
    {
        Assert.True(RadiusProfileReader.TryReadPrefix(Hex(value), out var p, out var problem), problem);
        Assert.Equal(Ipv6Prefix.Parse(expected), p);
    }

    [Theory]
    [InlineData("00", "3 octets")]
    [InlineData("0081 20010db8000100000000000000000000", "prefix length 129")]
    [InlineData("0040 20010db8", "prefix length 64 with 4 prefix octets")]
    [InlineData("0030 20010db80001ff", "bits set past its length")]
    public void Malformed_prefix_attributes_say_why(string value, string expected)
    {
        Assert.False(RadiusProfileReader.TryReadPrefix(Hex(value), out _, out var problem));
        Assert.Contains(expected, problem);
    }

    [Theory]
    [InlineData("2001:db8:1::/96", "must be /1 to /64")]
    [InlineData("fe80::/64", "not a global unicast prefix")]
    public void Unusable_home_network_prefixes_are_refused(string prefix, string expected)
    {
        var packet = Sign(RadiusCode.AccessAccept, 1, new byte[16], Prefix(97, prefix), "s");
        Assert.False(RadiusProfileReader.TryRead(packet, RadiusAttributeType.FramedIpv6Prefix, out _, out var problem));
        Assert.Contains(expected, problem);
    }

    [Fact]
    public void Framed_ip_address_rules()
    {
        var ra = new byte[16];
        var nasChooses = Sign(RadiusCode.AccessAccept, 1, ra, Attribute(8, [255, 255, 255, 254]), "s");
        Assert.True(RadiusProfileReader.TryRead(nasChooses, RadiusAttributeType.FramedIpv6Prefix, out var p, out _));
        Assert.Null(p.Ipv4HomeAddress);
        var wrongSize = Sign(RadiusCode.AccessAccept, 1, ra, Attribute(8, [10, 0, 0]), "s");
        Assert.False(RadiusProfileReader.TryRead(wrongSize, RadiusAttributeType.FramedIpv6Prefix, out _, out var problem));
        Assert.Contains("Framed-IP-Address is 3 octets", problem);
    }

    [Fact]
    public void Several_prefix_attributes_give_several_prefixes_and_reply_message_is_kept_printable()
    {
        byte[] attributes = [.. Prefix(123, "2001:db8:7::/64"), .. Prefix(123, "2001:db8:8::/64"), .. Attribute(18, "no\nway"u8)];
        var packet = Sign(RadiusCode.AccessAccept, 1, new byte[16], attributes, "s");
        Assert.True(RadiusProfileReader.TryRead(packet, RadiusAttributeType.DelegatedIpv6Prefix, out var p, out _));
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:7::/64"), Ipv6Prefix.Parse("2001:db8:8::/64")], p.HomeNetworkPrefixes);
        Assert.Equal("no way", RadiusProfileReader.ReplyMessage(packet));
    }
}
