namespace DataPlane.Wire.Tests;

/// <summary>
/// The RFC 5844 mobility options (§3.3.1–§3.3.4) and PBA statuses (§3.3.5) as byte vectors written from
/// the RFC's figures, their alignment rules, and what a receiver must ignore.
/// </summary>
public class Ipv4MobilityOptionTests
{
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:100::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly Ipv4Address Hoa = Ipv4Address.Parse("10.200.0.5");
    private static readonly Ipv4Address Router = Ipv4Address.Parse("10.200.0.1");

    // Figure 3: Type 36, Length 6, Prefix-len (6 bits) = 24 → 0x60, Reserved (10 bits) = 0, address.
    [Theory]
    [InlineData("2406 6000 0ac80005", 24, "10.200.0.5")]
    [InlineData("2406 0000 00000000", 0, "0.0.0.0")] // ALL_ZERO: the LMA allocates
    [InlineData("2406 8000 c0000201", 32, "192.0.2.1")]
    public void Ipv4_home_address_request_is_figure_3(string hex, int prefixLength, string address)
    {
        var option = new Ipv4HomeAddressRequestOption((byte)prefixLength, Ipv4Address.Parse(address));
        Assert.Equal(Hex.Bytes(hex), Write(option));
        Assert.Equal(option, Parse(hex));
        Assert.Equal(address == "0.0.0.0", option.IsAllZero);
    }

    // Figure 4: Type 37, Length 6, Status, Pref-len (6 bits) Res (2 bits), address.
    [Theory]
    [InlineData("2506 00 60 0ac80005", Ipv4HomeAddressReplyStatus.Success, 24, "10.200.0.5")]
    [InlineData("2506 80 00 00000000", Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, 0, "0.0.0.0")]
    [InlineData("2506 81 60 0ac80063", Ipv4HomeAddressReplyStatus.AdministrativelyProhibited, 24, "10.200.0.99")]
    [InlineData("2506 82 60 0ac80063", Ipv4HomeAddressReplyStatus.IncorrectIpv4HomeAddress, 24, "10.200.0.99")]
    [InlineData("2506 83 60 e0000001", Ipv4HomeAddressReplyStatus.InvalidIpv4Address, 24, "224.0.0.1")]
    [InlineData("2506 84 00 00000000", Ipv4HomeAddressReplyStatus.DynamicIpv4HomeAddressAssignmentNotAvailable, 0, "0.0.0.0")]
    public void Ipv4_home_address_reply_is_figure_4(string hex, Ipv4HomeAddressReplyStatus status, int prefixLength, string address)
    {
        var option = new Ipv4HomeAddressReplyOption(status, (byte)prefixLength, Ipv4Address.Parse(address));
        Assert.Equal(Hex.Bytes(hex), Write(option));
        Assert.Equal(option, Parse(hex));
        Assert.Equal(status == Ipv4HomeAddressReplyStatus.Success, option.IsSuccess);
    }

    [Fact]
    public void The_reply_status_values_are_the_rfcs()
    {
        // §3.3.2: 0 success; 128 unspecified, 129 prohibited, 130 incorrect HoA, 131 invalid address, 132 no dynamic assignment.
        Assert.Equal([0, 128, 129, 130, 131, 132], Enum.GetValues<Ipv4HomeAddressReplyStatus>().Select(s => (int)s));
        // §3.3.5: PBA statuses.
        Assert.Equal(170, (int)BindingAckStatus.NotAuthorizedForIpv4MobilityService);
        Assert.Equal(171, (int)BindingAckStatus.NotAuthorizedForIpv4HomeAddress);
        Assert.Equal(172, (int)BindingAckStatus.NotAuthorizedForIpv6MobilityService);
        Assert.Equal(173, (int)BindingAckStatus.MultipleIpv4HomeAddressAssignmentNotSupported);
    }

    // Figure 5: Type 38, Length 6, Reserved (16 bits), address. Figure 6: Type 39, Length 2, Reserved (15 bits), S.
    [Fact]
    public void Default_router_and_dhcp_support_mode_are_figures_5_and_6()
    {
        Assert.Equal(Hex.Bytes("2606 0000 0ac80001"), Write(new Ipv4DefaultRouterAddressOption(Router)));
        Assert.Equal(new Ipv4DefaultRouterAddressOption(Router), Parse("2606 0000 0ac80001"));
        Assert.Equal(Hex.Bytes("2702 0001"), Write(new Ipv4DhcpSupportModeOption(ServerMode: true)));
        Assert.Equal(Hex.Bytes("2702 0000"), Write(new Ipv4DhcpSupportModeOption(ServerMode: false)));
    }

    [Fact]
    public void Reserved_bits_are_ignored_on_receipt()
    {
        // §3.3.1–3.3.4: reserved fields "MUST be ignored by the receiver".
        Assert.Equal(new Ipv4HomeAddressRequestOption(24, Hoa), Parse("2406 63ff 0ac80005"));
        Assert.Equal(new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, Hoa), Parse("2506 00 63 0ac80005"));
        Assert.Equal(new Ipv4DefaultRouterAddressOption(Router), Parse("2606 ffff 0ac80001"));
        Assert.Equal(new Ipv4DhcpSupportModeOption(true), Parse("2702 ffff"));
        Assert.Equal(new Ipv4DhcpSupportModeOption(false), Parse("2702 fffe"));
    }

    [Theory]
    [InlineData("2406 8400 0ac80005")] // prefix length 33
    [InlineData("2506 00 fc 0ac80005")] // prefix length 63
    public void A_prefix_length_over_32_is_a_bad_value(string hex)
    {
        var bytes = Hex.Bytes(hex);
        Assert.False(MobilityOption.TryParse(bytes[0], bytes.AsSpan(2), out _, out var error));
        Assert.Equal(WireError.BadValue, error);
    }

    [Theory]
    [InlineData("2405 6000 0ac800")]
    [InlineData("2507 00 60 0ac80005 00")]
    [InlineData("2604 0000 0ac8")]
    [InlineData("2701 00")]
    public void A_length_other_than_the_rfcs_is_a_bad_option(string hex)
    {
        var bytes = Hex.Bytes(hex);
        Assert.False(MobilityOption.TryParse(bytes[0], bytes.AsSpan(2), out _, out var error));
        Assert.Equal(WireError.BadOption, error);
    }

    // A PBA: MH header (6) and BA body (6), then MN-ID "vm1" (6 bytes at 12), the DHCP Support Mode option at
    // 18 (no alignment: no padding before it), PadN(0) at 22 so the Reply meets 4n at 24, then the DRA at 32.
    private const string PbaVector =
        "3b04 0600 cccc" + "00 20 0001 0384" +
        "0804 01 766d31" + "2702 0001" + "0100" + "2506 00 60 0ac80005" + "2606 0000 0ac80001";

    private static BindingAcknowledgement Pba() => new(BindingAckStatus.Accepted, BindingAckFlags.ProxyRegistration, 1, 900)
    {
        Options = new([
            MobileNodeIdentifierOption.ForNai("vm1"),
            new Ipv4DhcpSupportModeOption(true),
            new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, Hoa),
            new Ipv4DefaultRouterAddressOption(Router),
        ]),
    };

    [Fact]
    public void Dhcp_support_mode_takes_no_padding_and_the_address_options_start_at_4n()
    {
        var pba = Pba();
        var buffer = new byte[pba.GetLength()];
        Assert.Equal(40, pba.WriteTo(buffer, Lma, Mag));
        var expected = Hex.Bytes(PbaVector);
        // The checksum (bytes 4–5) is ours to compute; everything else is the RFC's layout.
        expected[4] = buffer[4];
        expected[5] = buffer[5];
        Assert.Equal(Hex.Of(expected), Hex.Of(buffer));
        Assert.True(MobilityHeader.TryCreate(buffer, out var mh, out _));
        Assert.True(mh.IsChecksumValid(Lma, Mag));
        Assert.True(MobilityMessage.TryParse(buffer, out var back, out var error), error.ToString());
        Assert.Equal(pba, back);
        var parsed = (BindingAcknowledgement)back!;
        Assert.Equal(Hoa, parsed.Ipv4HomeAddressReply!.Address);
        Assert.Equal(Router, parsed.Ipv4DefaultRouterAddress);
        Assert.True(parsed.Ipv4DhcpSupportMode!.ServerMode);
    }

    [Fact]
    public void An_address_option_off_4n_is_bad_alignment()
    {
        // The Reply moved to offset 22 (the PadN taken out, the DRA's padding put after it instead).
        var bytes = Hex.Bytes("3b04 0600 0000" + "00 20 0001 0384" + "0804 01 766d31" + "2702 0001" + "2506 00 60 0ac80005" + "0100" + "2606 0000 0ac80001");
        Assert.False(MobilityMessage.TryParse(bytes, out _, out var error));
        Assert.Equal(WireError.BadAlignment, error);
    }

    [Fact]
    public void A_request_without_a_home_network_prefix_is_a_well_formed_pbu()
    {
        // RFC 5844 §3.2.3.1: an IPv4-only mobile node's PBU carries the Request and no HNP option.
        var pbu = new BindingUpdate(7, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
        {
            Options = new([
                Ipv4HomeAddressRequestOption.AllZero,
                new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
                new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
                MobileNodeIdentifierOption.ForNai("vm1"),
            ]),
        };
        var buffer = new byte[pbu.GetLength()];
        pbu.WriteTo(buffer, Mag, Lma);
        Assert.Equal("2406 0000 00000000".Replace(" ", ""), Hex.Of(buffer.AsSpan(12, 8)));
        Assert.True(MobilityMessage.TryParse(buffer, out var back, out _));
        var parsed = (BindingUpdate)back!;
        Assert.Empty(parsed.HomeNetworkPrefixes);
        Assert.True(parsed.Ipv4HomeAddressRequest!.IsAllZero);
        Assert.Equal(1, parsed.Ipv4HomeAddressRequestCount);
    }

    private static byte[] Write(MobilityOption option)
    {
        var b = new byte[2 + option.DataLength];
        b[0] = option.RawType;
        b[1] = (byte)option.DataLength;
        option.WriteData(b.AsSpan(2));
        return b;
    }

    private static MobilityOption Parse(string hex)
    {
        var bytes = Hex.Bytes(hex);
        Assert.Equal(bytes.Length - 2, bytes[1]);
        Assert.True(MobilityOption.TryParse(bytes[0], bytes.AsSpan(2), out var option, out var error), error.ToString());
        return option!;
    }
}
