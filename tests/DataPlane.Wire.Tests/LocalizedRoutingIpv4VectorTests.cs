namespace DataPlane.Wire.Tests;

/// <summary>
/// RFC 6705 §7, IPv4 home addresses in LRI and LRA, as byte vectors and before tshark. The LMA (2001:db8:100::1) tells
/// MAG 2001:db8:100::2 about the pair vm1 (dual-stack: 2001:db8:1::/64 and 10.0.0.11, attached there) and vm2
/// (IPv4-only: 10.0.0.12, at MAG 2001:db8:100::3); the LRI names each address in an IPv4 Home Address Request option
/// (RFC 5844 §3.3.1, prefix length 32), the LRA in an IPv4 Home Address Reply option (§3.3.2, status 0). The vectors
/// were written by an independent encoder (a few lines of Python with struct and ipaddress, the RFCs' alignment rules
/// — IPv4 options 4n, HNP and MAG IPv6 Address 8n+4 — and the pseudo-header checksum; the same encoder reproduces the
/// IPv6-only reference vectors of <see cref="LocalizedRoutingVectorTests"/> byte for byte).
/// </summary>
public sealed class LocalizedRoutingIpv4VectorTests : IDisposable
{
    internal const string LriVector =
        "3b0d1100017800150000012c081001766d31406578616d706c652e636f6d0104000000001612004020010db8000100000000000000000000" +
        "240680000a00000b081001766d32406578616d706c652e636f6d0100240680000a00000c3312008020010db8010000000000000000000003";

    internal const string LraVector =
        "3b0b12005ed700150000012c081001766d31406578616d706c652e636f6d0104000000001612004020010db8000100000000000000000000" +
        "250600800a00000b081001766d32406578616d706c652e636f6d0100250600800a00000c01020000";

    private static readonly Ipv4Address Vm1 = Ipv4Address.Parse("10.0.0.11");
    private static readonly Ipv4Address Vm2 = Ipv4Address.Parse("10.0.0.12");

    internal static LocalizedRoutingInitiation Lri() => new(21, 300)
    {
        Options = new([
            MobileNodeIdentifierOption.ForNai("vm1@example.com"), new HomeNetworkPrefixOption(LocalizedRoutingVectorTests.Vm1),
            new Ipv4HomeAddressRequestOption(32, Vm1),
            MobileNodeIdentifierOption.ForNai("vm2@example.com"), new Ipv4HomeAddressRequestOption(32, Vm2),
            new MagIpv6AddressOption(LocalizedRoutingVectorTests.OtherMag),
        ]),
    };

    internal static LocalizedRoutingAcknowledgement Lra() => new(21, false, LocalizedRoutingStatus.Success, 300)
    {
        Options = new([
            MobileNodeIdentifierOption.ForNai("vm1@example.com"), new HomeNetworkPrefixOption(LocalizedRoutingVectorTests.Vm1),
            new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 32, Vm1),
            MobileNodeIdentifierOption.ForNai("vm2@example.com"), new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 32, Vm2),
        ]),
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-tshark-lr4-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Parser_reads_every_option_of_the_reference_lri_and_lra()
    {
        var lriBytes = Hex.Bytes(LriVector);
        Assert.True(MobilityHeader.TryCreate(lriBytes, out var mh, out var error), error.ToString());
        Assert.True(mh.IsChecksumValid(LocalizedRoutingVectorTests.Lma, LocalizedRoutingVectorTests.Mag));
        Assert.True(MobilityMessage.TryParse(lriBytes, out var message, out error), error.ToString());
        var lri = Assert.IsType<LocalizedRoutingInitiation>(message);
        Assert.Equal(Lri(), lri);
        Assert.Equal([Vm1, Vm2], lri.Options.OfType<Ipv4HomeAddressRequestOption>().Select(o => o.Address));
        Assert.All(lri.Options.OfType<Ipv4HomeAddressRequestOption>(), o => Assert.Equal(32, o.PrefixLength));

        var lraBytes = Hex.Bytes(LraVector);
        Assert.True(MobilityHeader.TryCreate(lraBytes, out mh, out error), error.ToString());
        Assert.True(mh.IsChecksumValid(LocalizedRoutingVectorTests.Mag, LocalizedRoutingVectorTests.Lma));
        Assert.True(MobilityMessage.TryParse(lraBytes, out message, out error), error.ToString());
        var lra = Assert.IsType<LocalizedRoutingAcknowledgement>(message);
        Assert.Equal(Lra(), lra);
        Assert.All(lra.Options.OfType<Ipv4HomeAddressReplyOption>(), o => Assert.True(o.IsSuccess));
    }

    [Fact]
    public void Writer_produces_the_reference_bytes()
    {
        var lri = Lri();
        var buffer = new byte[lri.GetLength()];
        Assert.Equal(buffer.Length, lri.WriteTo(buffer, LocalizedRoutingVectorTests.Lma, LocalizedRoutingVectorTests.Mag));
        Assert.Equal(LriVector, Hex.Of(buffer));
        var lra = Lra();
        buffer = new byte[lra.GetLength()];
        Assert.Equal(buffer.Length, lra.WriteTo(buffer, LocalizedRoutingVectorTests.Mag, LocalizedRoutingVectorTests.Lma));
        Assert.Equal(LraVector, Hex.Of(buffer));
    }

    [Fact]
    public void An_ipv4_option_off_its_4n_alignment_is_refused()
    {
        // The LRA with a PadN of two before its first IPv4 Home Address Reply (now at 4n+2) and two octets less of
        // padding at the end (same length): refused, as RFC 6275 §6.2 has it for an option off its alignment.
        string reply = "250600800a00000b";
        int at = LraVector.IndexOf(reply, StringComparison.Ordinal);
        string shifted = LraVector[..at] + "0100" + LraVector[at..^8] + "0100";
        Assert.Equal(LraVector.Length, shifted.Length);
        Assert.Equal(0, at / 2 % 4);
        Assert.False(MobilityMessage.TryParse(Hex.Bytes(shifted), out _, out var error));
        Assert.Equal(WireError.BadAlignment, error);
    }

    /// <summary>
    /// tshark's LRI/LRA dissectors misread the body (see <see cref="LocalizedRoutingTsharkTests"/>); retyped as a Binding
    /// Update, whose fixed part has the same size, tshark reads every option: the MN-IDs, the HNP, both IPv4 Home Address
    /// Requests (LRI) and Replies with their status (LRA) and the MAG address.
    /// </summary>
    [Fact]
    public void Tshark_reads_the_ipv4_home_address_options_we_wrote()
    {
        var lri = AsBindingUpdate(JudgeFrames.MobilityFrame(Lri(), LocalizedRoutingVectorTests.Lma, LocalizedRoutingVectorTests.Mag,
            JudgeFrames.LmaMac, JudgeFrames.MagMac));
        var lra = AsBindingUpdate(JudgeFrames.MobilityFrame(Lra(), LocalizedRoutingVectorTests.Mag, LocalizedRoutingVectorTests.Lma,
            JudgeFrames.MagMac, JudgeFrames.LmaMac));
        var pcap = WritePcap("lr4.pcap", lri, lra);
        var d = Tshark.Fields(pcap, "mip6.bu.seqnr", "mip6.bu.lifetime", "mip6.mnid.identifier", "mip6.nemo.mnp.mnp",
            "mip6.ipv4ha.preflen", "mip6.ipv4ha.ha", "mip6.ipv4aa.sts", "mip6.mag_ipv6.address");
        Assert.Equal(("21", "300"), (d[1]["mip6.bu.seqnr"], d[1]["mip6.bu.lifetime"]));
        Assert.Equal("vm1@example.com,vm2@example.com", d[1]["mip6.mnid.identifier"]);
        Assert.Equal("2001:db8:1::", d[1]["mip6.nemo.mnp.mnp"]);
        Assert.Equal(("32,32", "10.0.0.11,10.0.0.12"), (d[1]["mip6.ipv4ha.preflen"], d[1]["mip6.ipv4ha.ha"]));
        Assert.Equal("", d[1]["mip6.ipv4aa.sts"]); // Requests: no status
        Assert.Equal("2001:db8:100::3", d[1]["mip6.mag_ipv6.address"]);
        Assert.Equal(("32,32", "10.0.0.11,10.0.0.12", "0,0"), (d[2]["mip6.ipv4ha.preflen"], d[2]["mip6.ipv4ha.ha"], d[2]["mip6.ipv4aa.sts"]));
        var complaints = Tshark.Complaints(pcap);
        Assert.All(complaints, c => Assert.Contains("MAG IPv6 Address (with option length = 18 bytes; should be 16)", c));
    }

    private static byte[] AsBindingUpdate(byte[] frame)
    {
        var copy = (byte[])frame.Clone();
        copy[14 + 40 + MobilityHeader.TypeOffset] = (byte)MobilityHeaderType.BindingUpdate;
        return copy;
    }

    private string WritePcap(string name, params byte[][] frames)
    {
        var path = Path.Combine(_dir, name);
        using var w = new PcapWriter(File.Create(path));
        int second = 0;
        foreach (var f in frames) w.Write(f, TimeSpan.FromSeconds(1_700_000_000 + second++));
        return path;
    }
}
