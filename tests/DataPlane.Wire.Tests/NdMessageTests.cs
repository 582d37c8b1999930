namespace DataPlane.Wire.Tests;

/// <summary>Message-level rules of the ND views and parsed forms: RFC 4861 validity checks and value equality.</summary>
public class NdMessageTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("52:54:00:12:34:56");
    private static readonly Ipv6Address Router = Ipv6Address.Parse("fe80::200:5eff:fe00:5213");
    private static readonly Ipv6Address Host = Ipv6Address.Parse("fe80::5054:ff:fe12:3456");

    // Scapy vectors shared with Icmpv6VectorTests (see there for how they were made).
    private const string NsVector = "87006efd00000000fe8000000000000002005efffe0052130101525400123456";
    private const string RaVector =
        "8600d0404048070800007530000003e8010100005e00521305010000000005b4030440c000015180000038400000" +
        "000020010db8000100000000000000000000";

    [Fact]
    public void Non_zero_code_is_bad_value()
    {
        var bytes = Hex.Bytes(NsVector);
        bytes[1] = 1;
        Assert.False(NeighborSolicitationView.TryCreate(bytes, out _, out var err));
        Assert.Equal(WireError.BadValue, err);
        Assert.False(NeighborSolicitation.TryParse(bytes, out _, out err));
        Assert.Equal(WireError.BadValue, err);
        // The generic view does not judge codes.
        Assert.True(Icmpv6Packet.TryCreate(bytes, out _, out _));
    }

    [Fact]
    public void Multicast_target_is_bad_value()
    {
        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborSolicitation(buffer, Host, Ipv6Address.AllNodes, Ipv6Address.AllNodes, Mac);
        Assert.False(NeighborSolicitation.TryParse(buffer.AsSpan(0, n), out _, out var err));
        Assert.Equal(WireError.BadValue, err);
        n = Icmpv6Writer.WriteNeighborAdvertisement(buffer, Host, Ipv6Address.AllNodes, NeighborAdvertisementFlags.Override, Ipv6Address.AllNodes, Mac);
        Assert.False(NeighborAdvertisementView.TryCreate(buffer.AsSpan(0, n), out _, out err));
        Assert.Equal(WireError.BadValue, err);
    }

    [Fact]
    public void Zero_length_option_makes_the_message_bad_option()
    {
        var bytes = Hex.Bytes("87006efd00000000fe8000000000000002005efffe0052130100525400123456");
        Assert.False(NeighborSolicitationView.TryCreate(bytes, out _, out var err));
        Assert.Equal(WireError.BadOption, err);
        Assert.False(NeighborSolicitation.TryParse(bytes, out _, out err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Option_running_past_the_message_is_bad_option()
    {
        var bytes = Hex.Bytes("850071b5000000000102525400123456");
        Assert.False(RouterSolicitationView.TryCreate(bytes, out _, out var err));
        Assert.Equal(WireError.BadOption, err);
        Assert.False(RouterSolicitation.TryParse(bytes, out _, out err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Ra_with_prefix_length_200_is_bad_value()
    {
        var bytes = Hex.Bytes(RaVector);
        int pio = RouterAdvertisementView.OptionsOffset + 16; // after SLLA and MTU
        Assert.Equal((byte)NdOptionType.PrefixInformation, bytes[pio]);
        bytes[pio + NdOption.PrefixLengthOffset] = 200;
        // Structure is fine, so the view is made; the prefix itself is refused.
        Assert.True(RouterAdvertisementView.TryCreate(bytes, out _, out _));
        Assert.False(RouterAdvertisement.TryParse(bytes, out _, out var err));
        Assert.Equal(WireError.BadValue, err);
    }

    [Fact]
    public void Ra_with_a_two_unit_slla_is_bad_option()
    {
        var buffer = new byte[64];
        var b = new Icmpv6Builder(buffer, Icmpv6Type.RouterAdvertisement, 0, Icmpv6Packet.RouterAdvertisementBodyLength);
        b.BeginOption(NdOptionType.SourceLinkLayerAddress, 16);
        int n = b.Finish(Router, Host);
        Assert.False(RouterAdvertisement.TryParse(buffer.AsSpan(0, n), out _, out var err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Ra_parse_skips_unknown_options_and_keeps_the_first_of_single_valued_ones()
    {
        var buffer = new byte[128];
        var b = new Icmpv6Builder(buffer, Icmpv6Type.RouterAdvertisement, 0, Icmpv6Packet.RouterAdvertisementBodyLength);
        b.AddMtu(1400);
        b.BeginOption(NdOptionType.DnsSearchList, 16);
        b.AddMtu(9000);
        b.AddSourceLinkLayerAddress(Mac);
        b.AddSourceLinkLayerAddress(MacAddress.Broadcast);
        int n = b.Finish(Router, Host);
        Assert.True(RouterAdvertisement.TryParse(buffer.AsSpan(0, n), out var ra, out var err), err.ToString());
        Assert.Equal(1400u, ra.Mtu);
        Assert.Equal(Mac, ra.SourceLinkLayerAddress);
        Assert.True(ra.Prefixes.IsEmpty);
        Assert.Null(ra.RecursiveDnsServer);
    }

    [Fact]
    public void Na_reserved_bits_are_ignored()
    {
        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborAdvertisement(buffer, Router, Host, NeighborAdvertisementFlags.Solicited, Router, null);
        buffer[4] |= 0x1F;
        buffer[7] = 0xFF;
        Assert.True(NeighborAdvertisement.TryParse(buffer.AsSpan(0, n), out var na, out _));
        Assert.Equal(NeighborAdvertisementFlags.Solicited, na.Flags);
        Assert.True(NeighborAdvertisementView.TryCreate(buffer.AsSpan(0, n), out var view, out _));
        Assert.Equal(NeighborAdvertisementFlags.Solicited, view.Flags);
    }

    [Fact]
    public void Wrong_type_is_unknown_type_to_each_parser()
    {
        var ns = Hex.Bytes(NsVector);
        Assert.False(RouterAdvertisement.TryParse(ns, out _, out var err));
        Assert.Equal(WireError.UnknownType, err);
        Assert.False(NeighborAdvertisementView.TryCreate(ns, out _, out err));
        Assert.Equal(WireError.UnknownType, err);
        Assert.False(PacketTooBig.TryParse(ns, out _, out err));
        Assert.Equal(WireError.UnknownType, err);
        Assert.False(Icmpv6ErrorMessage.TryParse(ns, out _, out err));
        Assert.Equal(WireError.UnknownType, err);
        Assert.False(EchoView.TryCreate(ns, out _, out err));
        Assert.Equal(WireError.UnknownType, err);
    }

    [Fact]
    public void Parsed_forms_compare_by_value()
    {
        var pio = new PrefixInformation(Ipv6Prefix.Parse("2001:db8:1::/64"), PrefixInformationFlags.OnLink, 10, 5);
        var fields = new RouterAdvertisementFields(64, RouterAdvertisementFlags.None, 1800, 0, 0);
        var dns = new RecursiveDnsServerOption(60, [Ipv6Address.Loopback]);
        var a = new RouterAdvertisement(fields, Mac, 1500, [pio], dns);
        var b = new RouterAdvertisement(fields, Mac, 1500, [pio with { }], new RecursiveDnsServerOption(60, [Ipv6Address.Loopback]));
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Prefixes = [pio, pio] });
        Assert.NotEqual(a, b with { RecursiveDnsServer = null });
        Assert.NotEqual(a, b with { Mtu = null });
        Assert.Equal(new PacketTooBig(1280, new OctetString([1, 2, 3])), new PacketTooBig(1280, new OctetString([1, 2, 3])));
    }

    [Fact]
    public void Ra_repr_written_then_parsed_is_equal()
    {
        var ra = new RouterAdvertisement(
            new RouterAdvertisementFields(64, RouterAdvertisementFlags.OtherConfiguration, 1800, 0, 0), Mac, 1460,
            [
                new PrefixInformation(Ipv6Prefix.Parse("2001:db8:1::/64"), PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 3600, 1800),
                new PrefixInformation(Ipv6Prefix.Parse("2001:db8:2::/56"), PrefixInformationFlags.OnLink, PrefixInformation.InfiniteLifetime, 0),
            ],
            new RecursiveDnsServerOption(RecursiveDnsServerOption.InfiniteLifetime, [Ipv6Address.Parse("2001:db8::53")]));
        var buffer = new byte[ra.GetLength()];
        Assert.Equal(16 + 8 + 8 + 64 + 24, buffer.Length);
        Assert.Equal(buffer.Length, ra.WriteTo(buffer, Router, Host));
        Assert.True(Icmpv6Packet.IsChecksumValid(buffer, Router, Host));
        Assert.True(RouterAdvertisement.TryParse(buffer, out var again, out _));
        Assert.Equal(ra, again);
    }

    [Fact]
    public void Default_parsed_forms_are_writable()
    {
        var buffer = new byte[64];
        Assert.Equal(16, default(RouterAdvertisement).WriteTo(buffer, Router, Host));
        Assert.Equal(16, default(RouterAdvertisement).GetLength());
        Assert.Equal(8, default(RouterSolicitation).WriteTo(buffer, Router, Host));
        Assert.Equal(8, default(PacketTooBig).WriteTo(buffer, Router, Host));
    }
}
