namespace DataPlane.Wire.Tests;

/// <summary>
/// RFC 6705's messages as byte vectors: an LRI from the LMA (2001:db8:100::1) to MAG 2001:db8:100::2 naming the pair
/// vm1 (2001:db8:1::/64, attached there) and vm2 (2001:db8:2::/64, at MAG 2001:db8:100::3), and the LRA answering it.
/// The vectors were written by an independent encoder (a few lines of Python with struct and the RFC's alignment
/// rules: MN-ID none, HNP 8n+4, MAG IPv6 Address 8n+4), checksums included.
/// </summary>
public class LocalizedRoutingVectorTests
{
    internal const string LriVector =
        "3b0e1100189200070000012c081001766d31406578616d706c652e636f6d0104000000001612004020010db80001000000000000" +
        "00000000081001766d32406578616d706c652e636f6d01001612004020010db8000200000000000000000000010200003312008020" +
        "010db8010000000000000000000003";

    internal const string LraVector =
        "3b0b12007afd00070000012c081001766d31406578616d706c652e636f6d0104000000001612004020010db80001000000000000" +
        "00000000081001766d32406578616d706c652e636f6d01001612004020010db8000200000000000000000000";

    /// <summary>An unsolicited LRA (U set) with lifetime 0: the MAG asks to stop.</summary>
    internal const string UnsolicitedLraVector =
        "3b0b1200fc26000980000000081001766d31406578616d706c652e636f6d0104000000001612004020010db80001000000000000" +
        "00000000081001766d32406578616d706c652e636f6d01001612004020010db8000200000000000000000000";

    internal static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    internal static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:100::2");
    internal static readonly Ipv6Address OtherMag = Ipv6Address.Parse("2001:db8:100::3");
    internal static readonly Ipv6Prefix Vm1 = Ipv6Prefix.Parse("2001:db8:1::/64");
    internal static readonly Ipv6Prefix Vm2 = Ipv6Prefix.Parse("2001:db8:2::/64");

    internal static MobilityOption[] Parties() =>
    [
        MobileNodeIdentifierOption.ForNai("vm1@example.com"), new HomeNetworkPrefixOption(Vm1),
        MobileNodeIdentifierOption.ForNai("vm2@example.com"), new HomeNetworkPrefixOption(Vm2),
    ];

    internal static LocalizedRoutingInitiation Lri() => new(7, 300) { Options = new([.. Parties(), new MagIpv6AddressOption(OtherMag)]) };

    internal static LocalizedRoutingAcknowledgement Lra() => new(7, false, LocalizedRoutingStatus.Success, 300) { Options = new(Parties()) };

    [Fact]
    public void Parser_reads_every_field_of_the_reference_lri()
    {
        var bytes = Hex.Bytes(LriVector);
        Assert.Equal(120, bytes.Length);
        Assert.True(MobilityHeader.TryCreate(bytes, out var mh, out var error), error.ToString());
        Assert.Equal(MobilityHeaderType.LocalizedRoutingInitiation, mh.Type);
        Assert.True(mh.IsChecksumValid(Lma, Mag));

        Assert.True(MobilityMessage.TryParse(bytes, out var message, out error), error.ToString());
        var lri = Assert.IsType<LocalizedRoutingInitiation>(message);
        Assert.Equal(7, lri.Sequence);
        Assert.Equal(300, lri.Lifetime);
        Assert.Equal(TimeSpan.FromSeconds(300), lri.LifetimeSpan);
        Assert.False(lri.IsTermination);
        Assert.Equal(Lri(), lri);
        Assert.Equal(OtherMag, lri.Options.Find<MagIpv6AddressOption>()!.Address);
    }

    [Fact]
    public void Parser_reads_every_field_of_the_reference_lras()
    {
        Assert.True(MobilityMessage.TryParse(Hex.Bytes(LraVector), out var message, out var error), error.ToString());
        var lra = Assert.IsType<LocalizedRoutingAcknowledgement>(message);
        Assert.Equal(Lra(), lra);
        Assert.True(lra.IsAccepted);
        Assert.False(lra.IsUnsolicited);

        Assert.True(MobilityMessage.TryParse(Hex.Bytes(UnsolicitedLraVector), out message, out error), error.ToString());
        var unsolicited = Assert.IsType<LocalizedRoutingAcknowledgement>(message);
        Assert.Equal((ushort)9, unsolicited.Sequence);
        Assert.True(unsolicited.IsUnsolicited);
        Assert.Equal((ushort)0, unsolicited.Lifetime);
    }

    [Theory]
    [InlineData(LriVector, "lri")]
    [InlineData(LraVector, "lra")]
    [InlineData(UnsolicitedLraVector, "ulra")]
    public void Writer_produces_the_reference_bytes(string vector, string which)
    {
        MobilityMessage message = which switch
        {
            "lri" => Lri(),
            "lra" => Lra(),
            _ => new LocalizedRoutingAcknowledgement(9, true, LocalizedRoutingStatus.Success, 0) { Options = new(Parties()) },
        };
        var (source, destination) = which == "lri" ? (Lma, Mag) : (Mag, Lma);
        var buffer = new byte[message.GetLength()];
        Assert.Equal(buffer.Length, message.WriteTo(buffer, source, destination));
        Assert.Equal(vector, Hex.Of(buffer));
    }

    [Fact]
    public void Status_values_below_128_are_acceptances()
    {
        Assert.True(new LocalizedRoutingAcknowledgement(1, false, LocalizedRoutingStatus.Success, 0).IsAccepted);
        Assert.False(new LocalizedRoutingAcknowledgement(1, false, LocalizedRoutingStatus.LocalizedRoutingNotAllowed, 0).IsAccepted);
        Assert.False(new LocalizedRoutingAcknowledgement(1, false, LocalizedRoutingStatus.MobileNodeNotAttached, 0).IsAccepted);
    }

    [Fact]
    public void A_mag_address_option_whose_address_length_is_not_128_is_a_bad_value()
    {
        var bytes = Hex.Bytes(LriVector);
        int at = LriVector.IndexOf("3312", StringComparison.Ordinal) / 2; // Type 51, Length 18
        bytes[at + 3] = 64;
        Assert.False(MobilityMessage.TryParse(bytes, out _, out var error));
        Assert.Equal(WireError.BadValue, error);
    }

    [Fact]
    public void The_mag_address_option_is_aligned_8n_plus_4_and_refused_elsewhere()
    {
        const string address = "20010db8010000000000000000000003";
        // Right after the fixed body, at offset 12 (8n+4): no padding, 32 bytes in all.
        var lri = new LocalizedRoutingInitiation(1, 10) { Options = new([new MagIpv6AddressOption(OtherMag)]) };
        var bytes = new byte[lri.GetLength()];
        lri.WriteTo(bytes, Lma, Mag);
        Assert.Equal("3b031100" + Hex.Of(bytes.AsSpan(4, 2)) + "0001" + "0000" + "000a" + "3312" + "0080" + address, Hex.Of(bytes));
        // Two bytes on (8n+6), after a PadN of two: refused.
        var misaligned = Hex.Bytes("3b04110000000001" + "0000000a" + "0100" + "3312" + "0080" + address + "010400000000");
        Assert.True(MobilityHeader.TryCreate(misaligned, out _, out var header), header.ToString());
        Assert.False(MobilityMessage.TryParse(misaligned, out _, out var error));
        Assert.Equal(WireError.BadAlignment, error);
    }

    [Fact]
    public void An_lri_too_short_for_its_fixed_fields_is_a_bad_length()
    {
        var bytes = Hex.Bytes("3b001100000000070000"); // header length 0 (8 bytes) but the body needs 6 after the checksum
        Assert.False(MobilityHeader.TryCreate(bytes, out _, out var error));
        Assert.Equal(WireError.BadLength, error);
    }

    [Theory]
    [InlineData((ushort)0, 0.0)]
    [InlineData((ushort)300, 300.0)]
    [InlineData((ushort)0xFFFE, 65534.0)]
    public void Lifetimes_are_whole_seconds(ushort field, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), LocalizedRoutingLifetime.ToSpan(field));
        Assert.Equal(field, LocalizedRoutingLifetime.FromSpan(TimeSpan.FromSeconds(seconds) + TimeSpan.FromMilliseconds(999)));
    }

    [Fact]
    public void The_all_ones_lifetime_is_infinite_and_a_finite_span_never_becomes_it()
    {
        Assert.Equal(TimeSpan.MaxValue, LocalizedRoutingLifetime.ToSpan(LocalizedRoutingInitiation.InfiniteLifetime));
        Assert.Equal((ushort)0xFFFE, LocalizedRoutingLifetime.FromSpan(TimeSpan.FromDays(30)));
        Assert.Equal((ushort)0, LocalizedRoutingLifetime.FromSpan(TimeSpan.FromSeconds(-5)));
    }
}
