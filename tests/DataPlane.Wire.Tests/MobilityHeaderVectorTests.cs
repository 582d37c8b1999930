namespace DataPlane.Wire.Tests;

/// <summary>The reference PBU from issue 2, read field by field and rebuilt byte for byte.</summary>
public class MobilityHeaderVectorTests
{
    // Mobility Header carrying a PBU sent from 2001:db8:100::2 to 2001:db8:100::1 (112 bytes).
    internal const string PbuVector =
        "3b0d0500d40d0001c20003841612004020010db8000100000000000000000000170200011802000101001b08" +
        "00006553f10080000104000000001908000052540012345601001a10fe800000000000000000000000000001" +
        "081001766d31406578616d706c652e636f6d010400000000";

    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:100::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");

    [Fact]
    public void Parser_reads_every_field_of_the_reference_pbu()
    {
        var bytes = Hex.Bytes(PbuVector);
        Assert.Equal(112, bytes.Length);

        Assert.True(MobilityHeader.TryCreate(bytes, out var mh, out var err), err.ToString());
        Assert.Equal(IpProtocol.NoNextHeader, mh.PayloadProto);
        Assert.Equal(MobilityHeaderType.BindingUpdate, mh.Type);
        Assert.Equal(0xd40d, mh.Checksum);
        Assert.True(mh.IsChecksumValid(Mag, Lma));
        Assert.False(mh.IsChecksumValid(Mag, Ipv6Address.Parse("2001:db8:100::3")));

        Assert.True(MobilityMessage.TryParse(bytes, out var msg, out err), err.ToString());
        var pbu = Assert.IsType<BindingUpdate>(msg);
        Assert.Equal(1, pbu.Sequence);
        Assert.Equal(BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, pbu.Flags);
        Assert.True(pbu.IsProxy);
        Assert.Equal(900, pbu.Lifetime);
        Assert.Equal(TimeSpan.FromSeconds(3600), pbu.LifetimeSpan);
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1::/64")], pbu.HomeNetworkPrefixes);
        Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, pbu.HandoffIndicator);
        Assert.Equal(AccessTechnologyType.Virtual, pbu.AccessTechnologyType);
        Assert.Equal(new PmipTimestamp(0x00006553f1008000), pbu.Timestamp);
        Assert.Equal(1_700_000_000UL, pbu.Timestamp!.Value.Seconds);
        Assert.True(pbu.MobileNodeLinkLayerIdentifier!.TryGetMac(out var mac));
        Assert.Equal(MacAddress.Parse("52:54:00:12:34:56"), mac);
        Assert.Equal(Ipv6Address.Parse("fe80::1"), pbu.LinkLocalAddress);
        Assert.Equal("vm1@example.com", pbu.MobileNodeIdentifier!.Nai);
        Assert.Equal(7, pbu.Options.Count);
    }

    [Fact]
    public void Builder_given_the_same_fields_in_the_same_order_produces_the_same_bytes()
    {
        var buffer = new byte[256];
        var b = new MobilityHeaderBuilder(buffer, MobilityHeaderType.BindingUpdate, MobilityHeader.BindingUpdateBodyLength);
        BindingUpdate.WriteBody(b.Body, 1,
            BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900);
        b.AddHomeNetworkPrefix(Ipv6Prefix.Parse("2001:db8:1::/64"));
        b.AddHandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
        b.AddAccessTechnologyType(AccessTechnologyType.Virtual);
        b.AddTimestamp(new PmipTimestamp(0x00006553f1008000));
        b.AddMobileNodeLinkLayerIdentifier(MacAddress.Parse("52:54:00:12:34:56"));
        b.AddLinkLocalAddress(Ipv6Address.Parse("fe80::1"));
        b.AddMobileNodeIdentifierNai("vm1@example.com");
        int length = b.Finish(Mag, Lma);

        Assert.Equal(PbuVector, Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Repr_round_trips_to_the_same_bytes()
    {
        var bytes = Hex.Bytes(PbuVector);
        Assert.True(MobilityMessage.TryParse(bytes, out var msg, out _));
        Assert.Equal(112, msg!.GetLength());
        var buffer = new byte[msg.GetLength()];
        Assert.Equal(112, msg.WriteTo(buffer, Mag, Lma));
        Assert.Equal(PbuVector, Hex.Of(buffer));
    }
}
