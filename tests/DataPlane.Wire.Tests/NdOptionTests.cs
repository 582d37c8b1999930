namespace DataPlane.Wire.Tests;

/// <summary>Neighbor Discovery options: the reader's structural checks and each typed accessor.</summary>
public class NdOptionTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("52:54:00:12:34:56");

    [Fact]
    public void Reader_yields_every_option_including_unknown_types()
    {
        // SLLA, an unknown type 200 of two units, a Nonce (14) of one unit.
        var options = Hex.Bytes("0101525400123456 c802000000000000 0000000000000000 0e01010203040506");
        var reader = new NdOptionReader(options);
        Assert.True(reader.MoveNext());
        Assert.Equal(NdOptionType.SourceLinkLayerAddress, reader.CurrentType);
        Assert.Equal(8, reader.Current.Length);
        Assert.Equal("525400123456", Hex.Of(reader.CurrentData));
        Assert.True(reader.MoveNext());
        Assert.Equal((NdOptionType)200, reader.CurrentType);
        Assert.Equal(8, reader.CurrentOffset);
        Assert.Equal(16, reader.Current.Length);
        Assert.True(reader.MoveNext());
        Assert.Equal(NdOptionType.Nonce, reader.CurrentType);
        Assert.Equal(24, reader.CurrentOffset);
        Assert.False(reader.MoveNext());
        Assert.Equal(WireError.None, reader.Error);
    }

    [Fact]
    public void Empty_option_area_is_clean()
    {
        var reader = new NdOptionReader([]);
        Assert.False(reader.MoveNext());
        Assert.Equal(WireError.None, reader.Error);
    }

    [Theory]
    [InlineData("0100525400123456")] // length 0: would loop forever (RFC 4861 §4.6)
    [InlineData("0101525400123456 0300")] // second option has length 0
    [InlineData("0102525400123456")] // claims 16 bytes, has 8
    [InlineData("0101525400123456 05")] // one trailing byte: no room for Type and Length
    [InlineData("0101525400123456 0501000000")] // second option cut short
    public void Zero_length_or_overrunning_option_is_bad_option(string hex)
    {
        var reader = new NdOptionReader(Hex.Bytes(hex));
        while (reader.MoveNext()) { }
        Assert.Equal(WireError.BadOption, reader.Error);
        Assert.False(reader.MoveNext()); // stays ended
        Assert.False(NdOption.TryValidateOptions(Hex.Bytes(hex), out var err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Link_layer_address_option_must_be_one_unit_on_ethernet()
    {
        Assert.True(NdOption.TryReadLinkLayerAddress(Hex.Bytes("0201525400123456"), out var mac, out _));
        Assert.Equal(Mac, mac);
        Assert.False(NdOption.TryReadLinkLayerAddress(Hex.Bytes("0102525400123456 0000000000000000"), out _, out var err));
        Assert.Equal(WireError.BadOption, err);
        Assert.False(NdOption.TryReadLinkLayerAddress(Hex.Bytes("0101525400"), out _, out err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Prefix_information_is_read_and_written()
    {
        const string hex = "030440c0000151800000384000000000 20010db8000100000000000000000000";
        Assert.True(NdOption.TryReadPrefixInformation(Hex.Bytes(hex), out var pio, out var err), err.ToString());
        var expected = new PrefixInformation(Ipv6Prefix.Parse("2001:db8:1::/64"),
            PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 86400, 14400);
        Assert.Equal(expected, pio);
        var buffer = new byte[32];
        Assert.Equal(32, NdOption.WritePrefixInformation(buffer, pio));
        Assert.Equal(Hex.Of(Hex.Bytes(hex)), Hex.Of(buffer));
    }

    [Fact]
    public void Prefix_length_200_is_bad_value()
    {
        var bytes = Hex.Bytes("0304c8c0000151800000384000000000 20010db8000100000000000000000000");
        Assert.False(NdOption.TryReadPrefixInformation(bytes, out _, out var err));
        Assert.Equal(WireError.BadValue, err);
    }

    [Fact]
    public void Prefix_information_of_the_wrong_length_is_bad_option()
    {
        var bytes = Hex.Bytes("030340c0000151800000384000000000 20010db80001000000000000");
        Assert.False(NdOption.TryReadPrefixInformation(bytes, out _, out var err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Prefix_bits_past_the_prefix_length_are_ignored_as_rfc_4861_says()
    {
        var bytes = Hex.Bytes("030440c0000151800000384000000000 20010db8000100000000000000000001");
        Assert.True(NdOption.TryReadPrefixInformation(bytes, out var pio, out _));
        Assert.Equal(Ipv6Prefix.Parse("2001:db8:1::/64"), pio.Prefix);
    }

    [Fact]
    public void Mtu_option_is_read_and_written_and_must_be_one_unit()
    {
        Assert.True(NdOption.TryReadMtu(Hex.Bytes("05010000000005b4"), out uint mtu, out _));
        Assert.Equal(1460u, mtu);
        var buffer = new byte[8];
        Assert.Equal(8, NdOption.WriteMtu(buffer, 1460));
        Assert.Equal("05010000000005b4", Hex.Of(buffer));
        Assert.False(NdOption.TryReadMtu(Hex.Bytes("05020000000005b4 0000000000000000"), out _, out var err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Rdnss_option_needs_an_odd_length_of_at_least_three_units()
    {
        const string one = "1903000000000258 20010db8000000000000000000000053";
        Assert.True(NdOption.TryReadRecursiveDnsServer(Hex.Bytes(one), out var view, out var err), err.ToString());
        Assert.Equal(600u, view.Lifetime);
        Assert.Equal(1, view.Count);
        Assert.Equal(Ipv6Address.Parse("2001:db8::53"), view[0]);
        Assert.Equal(new RecursiveDnsServerOption(600, [Ipv6Address.Parse("2001:db8::53")]), view.ToRepr());

        Assert.False(NdOption.TryReadRecursiveDnsServer(Hex.Bytes("1901000000000258"), out _, out err));
        Assert.Equal(WireError.BadOption, err);
        Assert.False(NdOption.TryReadRecursiveDnsServer(Hex.Bytes(one + "0000000000000000"), out _, out err)); // length 4
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Rdnss_writer_rejects_an_empty_list()
    {
        var buffer = new byte[64];
        Assert.Throws<ArgumentOutOfRangeException>(() => NdOption.WriteRecursiveDnsServer(buffer, 600, []));
        Assert.Equal(40, NdOption.WriteRecursiveDnsServer(buffer, 600, [Ipv6Address.Loopback, Ipv6Address.Loopback]));
        Assert.Equal(5, buffer[1]);
    }

    [Fact]
    public void Redirected_header_needs_its_six_reserved_bytes()
    {
        Assert.True(NdOption.TryReadRedirectedHeader(Hex.Bytes("0401000000000000"), out var packet, out _));
        Assert.True(packet.IsEmpty);
        Assert.False(NdOption.TryReadRedirectedHeader(Hex.Bytes("0401"), out _, out var err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Find_link_layer_address_takes_the_first_and_ignores_duplicates()
    {
        var options = Hex.Bytes("0201020000000001 0101525400123456 0101020000000002");
        Assert.True(NdOption.TryFindLinkLayerAddress(options, NdOptionType.SourceLinkLayerAddress, out var slla, out _));
        Assert.Equal(Mac, slla);
        Assert.True(NdOption.TryFindLinkLayerAddress(options, NdOptionType.TargetLinkLayerAddress, out var tlla, out _));
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:01"), tlla);
        Assert.True(NdOption.TryFindLinkLayerAddress(options[..8], NdOptionType.SourceLinkLayerAddress, out var none, out _));
        Assert.Null(none);
    }

    [Fact]
    public void Find_link_layer_address_reports_a_fault_anywhere_in_the_list()
    {
        Assert.False(NdOption.TryFindLinkLayerAddress(Hex.Bytes("0101525400123456 0100"), NdOptionType.SourceLinkLayerAddress, out var slla, out var err));
        Assert.Equal(WireError.BadOption, err);
        Assert.Null(slla);
        Assert.False(NdOption.TryFindLinkLayerAddress(Hex.Bytes("0102525400123456 0000000000000000"), NdOptionType.SourceLinkLayerAddress, out _, out err));
        Assert.Equal(WireError.BadOption, err);
    }

    [Fact]
    public void Builder_begin_option_writes_type_and_length_and_checks_units()
    {
        var buffer = new byte[64];
        var b = new Icmpv6Builder(buffer, Icmpv6Type.RouterAdvertisement, 0, Icmpv6Packet.RouterAdvertisementBodyLength);
        var nonce = b.BeginOption(NdOptionType.Nonce, 8);
        nonce[2] = 0xAB;
        Assert.Equal(24, b.Position);
        Assert.Equal("0e01ab0000000000", Hex.Of(buffer.AsSpan(16, 8)));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var b2 = new Icmpv6Builder(buffer, Icmpv6Type.RouterAdvertisement, 0, 12);
            b2.BeginOption(NdOptionType.Nonce, 6);
        });
    }

    [Fact]
    public void Equatable_array_compares_by_content()
    {
        EquatableArray<Ipv6Address> a = [Ipv6Address.Loopback, Ipv6Address.AllNodes];
        EquatableArray<Ipv6Address> b = [Ipv6Address.Loopback, Ipv6Address.AllNodes];
        EquatableArray<Ipv6Address> c = [Ipv6Address.AllNodes, Ipv6Address.Loopback];
        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
        Assert.Equal(default(EquatableArray<Ipv6Address>), EquatableArray<Ipv6Address>.Empty);
        Assert.Equal(EquatableArray<Ipv6Address>.Empty, []);
        Assert.True(default(EquatableArray<Ipv6Address>).AsSpan().IsEmpty);
    }
}
