using CsCheck;

namespace DataPlane.Wire.Tests;

public class MobilityPropertyTests
{
    private static readonly Ipv6Address Src = Ipv6Address.Parse("2001:db8:100::2");
    private static readonly Ipv6Address Dst = Ipv6Address.Parse("2001:db8:100::1");

    [Fact]
    public void Parse_of_write_is_identity() =>
        Generators.MobilityMessage.Sample(msg =>
        {
            var buffer = new byte[msg.GetLength()];
            int n = msg.WriteTo(buffer, Src, Dst);
            Assert.Equal(buffer.Length, n);
            Assert.Equal(0, n % 8);
            Assert.True(MobilityHeader.TryCreate(buffer, out var mh, out _));
            Assert.True(mh.IsChecksumValid(Src, Dst));
            Assert.True(MobilityMessage.TryParse(buffer, out var parsed, out var err), err.ToString());
            Assert.Equal(msg, parsed);
        }, iter: 5_000);

    [Fact]
    public void Every_written_option_meets_its_alignment_rule() =>
        Generators.MobilityMessage.Sample(msg =>
        {
            var buffer = new byte[msg.GetLength()];
            msg.WriteTo(buffer, Src, Dst);
            var reader = new MobilityOptionReader(buffer, MobilityHeader.MessageDataOffset + 6);
            int count = 0;
            while (reader.MoveNext())
            {
                var (n, r) = MobilityOptionLayout.Alignment((MobilityOptionType)reader.CurrentType);
                Assert.Equal(r, reader.CurrentOffset % n);
                count++;
            }
            Assert.Equal(WireError.None, reader.Error);
            Assert.Equal(msg.Options.Count, count);
        }, iter: 5_000);

    [Fact]
    public void Padding_uses_pad1_for_one_byte_and_padn_for_more()
    {
        // ATT ends at offset 16 (12 + 4); a Restart Counter (4n+2) then needs 2 bytes: PadN with length 0.
        var two = new BindingUpdate(1, BindingUpdateFlags.ProxyRegistration, 1)
        {
            Options = new([new AccessTechnologyTypeOption(AccessTechnologyType.Virtual), new RestartCounterOption(7)]),
        };
        var buffer = new byte[two.GetLength()];
        two.WriteTo(buffer, Src, Dst);
        Assert.Equal("18020001" + "0100" + "1c0400000007", Hex.Of(buffer.AsSpan(12, 12)));

        // HI ends at 16; an IPv4 Default Router option (4n) needs none; after it (ends 24) a
        // Timestamp (8n+2) needs 2. One byte of padding appears before a 4n option at 4n+3.
        var one = new BindingUpdate(1, 0, 1)
        {
            Options = new([new MobileNodeIdentifierOption(MobileNodeIdentifierSubtype.Nai, new OctetString([0x61])), new Ipv4DefaultRouterAddressOption(new Ipv4Address(10, 0, 0, 1))]),
        };
        buffer = new byte[one.GetLength()];
        one.WriteTo(buffer, Src, Dst);
        // MN-ID at 12..16 (type, len=2, subtype, 'a'); next 4n offset is 16: no pad.
        Assert.Equal("08020161" + "26060000" + "0a000001", Hex.Of(buffer.AsSpan(12, 12)));
        var three = new BindingUpdate(1, 0, 1)
        {
            Options = new([new MobileNodeIdentifierOption(MobileNodeIdentifierSubtype.Nai, new OctetString([0x61, 0x62, 0x63])), new Ipv4DefaultRouterAddressOption(new Ipv4Address(10, 0, 0, 1))]),
        };
        buffer = new byte[three.GetLength()];
        three.WriteTo(buffer, Src, Dst);
        // MN-ID 12..18; 4n needs 2 → PadN(0) at 18, option at 20.
        Assert.Equal("0804016162630100" + "26060000" + "0a000001", Hex.Of(buffer.AsSpan(12, 16)));
        var four = new BindingUpdate(1, 0, 1)
        {
            Options = new([new MobileNodeIdentifierOption(MobileNodeIdentifierSubtype.Nai, new OctetString([0x61, 0x62, 0x63, 0x64])), new Ipv4DefaultRouterAddressOption(new Ipv4Address(10, 0, 0, 1))]),
        };
        buffer = new byte[four.GetLength()];
        four.WriteTo(buffer, Src, Dst);
        // MN-ID 12..19; 4n needs 1 → Pad1 at 19, option at 20.
        Assert.Equal("08050161626364" + "00" + "26060000" + "0a000001", Hex.Of(buffer.AsSpan(12, 16)));
    }

    [Fact]
    public void Misaligned_option_is_rejected_with_bad_alignment()
    {
        // A BU whose HNP option starts at offset 12+2 = 14 (not 8n+4): PadN(0) then HNP.
        var b = new byte[40];
        b[0] = 59; b[1] = 4; b[2] = 5;
        b[12] = 1; b[13] = 0; // PadN, len 0
        b[14] = 22; b[15] = 18; // HNP
        b[17] = 64;
        Assert.False(MobilityMessage.TryParse(b, out _, out var err));
        Assert.Equal(WireError.BadAlignment, err);
    }

    // Layout reminder: 4 header bytes, 2 checksum bytes, a 6-byte BU body, options from offset 12.
    [Theory]
    [InlineData("3b", WireError.Truncated)]                                    // shorter than 8
    [InlineData("3b020500 0000 000000000000", WireError.Truncated)]            // header len says 24, buffer 12
    [InlineData("3b000500 0000 0000", WireError.BadLength)]                    // 8 bytes cannot hold a BU's 6-byte body
    [InlineData("3b016300 0000 000000000000 00000000", WireError.UnknownType)] // MH type 99
    [InlineData("3b010500 0000 000000000000 17050001", WireError.BadOption)]   // HI option runs past the header
    [InlineData("3b020500 0000 000000000000 1703000100 010100 01020000", WireError.BadOption)] // HI with length 3
    [InlineData("3b030500 0000 000000000000 1612 00ff 20010db8000100000000000000000000", WireError.BadValue)] // prefix length 255
    [InlineData("3b030500 0000 000000000000 1612 0020 20010db8000100000000000000000001", WireError.BadValue)] // host bits set
    [InlineData("3b010500 0000 000000000000 08010100", WireError.BadOption)]   // MN-ID with no identifier byte
    public void Malformed_headers_give_a_typed_reason(string hex, WireError expected)
    {
        var bytes = Hex.Bytes(hex);
        Assert.False(MobilityMessage.TryParse(bytes, out _, out var err));
        Assert.Equal(expected, err);
    }

    [Fact]
    public void Unknown_options_are_kept_and_written_back()
    {
        var bu = new BindingUpdate(9, BindingUpdateFlags.ProxyRegistration, 10)
        {
            Options = new([new UnknownMobilityOption(200, new OctetString([1, 2, 3]))]),
        };
        var buffer = new byte[bu.GetLength()];
        bu.WriteTo(buffer, Src, Dst);
        Assert.True(MobilityMessage.TryParse(buffer, out var back, out _));
        Assert.Equal(bu, back);
    }
}
