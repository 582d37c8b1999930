using System.Buffers.Binary;

namespace DataPlane.Wire.Tests;

/// <summary>
/// The wire formats of the fast handover (issue 16): the Transient Binding option (RFC 6058), Handover Initiate and
/// Acknowledge (RFC 5568 with RFC 5949's flags), our delivery marker in an Experimental Mobility Option (RFC 5096),
/// and the downlink identity two MAGs compute over their copies of one packet. Byte vectors written out by hand from
/// the RFCs' figures, round trips, malformed input, and tshark as the judge of what it dissects.
/// </summary>
public sealed class HandoverWireTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-handover-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Ipv6Address Mag = JudgeFrames.Mag;
    private static readonly Ipv6Address Lma = JudgeFrames.Lma;

    internal static DeliveryMarker SampleMarker => new(true, new DownlinkIdentity(DownlinkIdentityKind.TcpData, 0x0123456789abcdefUL, 1000, 2448));

    internal static HandoverInitiate StopNotice() => new(7, HandoverInitiateFlags.Proxy, HandoverInitiateCode.CompletionOfForwarding)
    {
        Options = new([
            new HomeNetworkPrefixOption(JudgeFrames.Hnp),
            MobileNodeLinkLayerIdentifierOption.ForMac(JudgeFrames.VmMac),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
            new DeliveryMarkerOption(SampleMarker),
        ]),
    };

    internal static HandoverAcknowledge StopAcknowledged() => new(7, HandoverAcknowledgeFlags.Proxy, HandoverAcknowledgeCode.HandoverAccepted)
    {
        Options = new([MobileNodeIdentifierOption.ForNai("vm1@example.com")]),
    };

    internal static BindingUpdate PreRegistration() => JudgeFrames.Pbu() with
    {
        Options = new([
            new HomeNetworkPrefixOption(JudgeFrames.Hnp),
            new HandoffIndicatorOption(HandoffIndicator.HandoffBetweenMagsForSameInterface),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            new TimestampOption(new PmipTimestamp(0x00006553f1008000)),
            MobileNodeLinkLayerIdentifierOption.ForMac(JudgeFrames.VmMac),
            new LinkLocalAddressOption(JudgeFrames.SharedLinkLocal),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
            TransientBindingOption.For(latePathSwitch: true, TimeSpan.FromSeconds(20)),
        ]),
    };

    // The stop notice above from 2001:db8:100::2 to 2001:db8:100::1, written out from RFC 5568 §6.2.1 / RFC 5949 §6.1.1:
    // 3b 09 0e 00 cksum | seq 0007 | flags 20 (P) | code 02 | PadN(2) | HNP (8n+4) | PadN(2) | MN-LL-ID (8n+2) | MN-ID |
    // option 18: 'D' 'P' 01 07 (delivered, TCP, payload) 0123456789abcdef 00000990.
    internal const string StopNoticeVector =
        "3b090e00ac8e0007200201001612004020010db8000100000000000000000000010019080000525400123456081001766d31406578616d706c652e636f6d" +
        "1210445001070123456789abcdef00000990";

    // The acknowledgement from 2001:db8:100::1 to 2001:db8:100::2: seq 0007 | flags 40 (P) | code 00 | MN-ID | PadN(4).
    internal const string StopAcknowledgedVector = "3b030f006fb200074000081001766d31406578616d706c652e636f6d01020000";

    [Fact]
    public void The_stop_notice_is_written_byte_for_byte_as_the_rfcs_lay_it_out()
    {
        var buffer = new byte[256];
        int n = StopNotice().WriteTo(buffer, Mag, Lma);
        Assert.Equal(StopNoticeVector, Hex.Of(buffer.AsSpan(0, n)));
        n = StopAcknowledged().WriteTo(buffer, Lma, Mag);
        Assert.Equal(StopAcknowledgedVector, Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void The_stop_notice_parses_back_field_by_field()
    {
        var bytes = Hex.Bytes(StopNoticeVector);
        Assert.True(MobilityHeader.TryCreate(bytes, out var mh, out var error), error.ToString());
        Assert.True(mh.IsChecksumValid(Mag, Lma));
        Assert.True(MobilityMessage.TryParse(bytes, out var message, out error), error.ToString());
        var hi = Assert.IsType<HandoverInitiate>(message);
        Assert.Equal((7, HandoverInitiateFlags.Proxy, HandoverInitiateCode.CompletionOfForwarding), (hi.Sequence, hi.Flags, hi.Code));
        Assert.Equal([JudgeFrames.Hnp], hi.HomeNetworkPrefixes);
        Assert.True(hi.MobileNodeLinkLayerIdentifier!.TryGetMac(out var mac));
        Assert.Equal(JudgeFrames.VmMac, mac);
        Assert.Equal("vm1@example.com", hi.MobileNodeIdentifier!.Nai);
        // Only the end of the marker's range travels; its start reads back as the end.
        var marker = hi.DeliveryMarker!.Value;
        Assert.True(marker.Delivered);
        Assert.Equal((DownlinkIdentityKind.TcpData, 0x0123456789abcdefUL, 2448u), (marker.Last.Kind, marker.Last.Hash, marker.Last.SequenceEnd));
        Assert.Equal(StopNotice() with { Options = new MobilityOptionList([.. StopNotice().Options.Take(3),
            new DeliveryMarkerOption(SampleMarker with { Last = SampleMarker.Last with { SequenceStart = 2448 } })]) }, hi);

        var ack = Assert.IsType<HandoverAcknowledge>(Parse(StopAcknowledgedVector));
        Assert.Equal((7, HandoverAcknowledgeFlags.Proxy, HandoverAcknowledgeCode.HandoverAccepted, true), (ack.Sequence, ack.Flags, ack.Code, ack.IsAccepted));
    }

    [Fact]
    public void The_transient_binding_option_is_reserved_and_L_then_the_lifetime_in_100_ms_units()
    {
        var option = TransientBindingOption.For(latePathSwitch: true, TimeSpan.FromSeconds(20));
        var data = new byte[option.DataLength];
        option.WriteData(data);
        Assert.Equal("01c8", Hex.Of(data)); // L is the low bit; 200 × 100 ms
        Assert.Equal(TimeSpan.FromSeconds(20), option.LifetimeSpan);
        Assert.Equal(TimeSpan.FromSeconds(25.5), TransientBindingOption.For(false, TimeSpan.FromMinutes(5)).LifetimeSpan); // capped
        Assert.True(MobilityOption.TryParse(43, Hex.Bytes("00ff"), out var parsed, out _));
        Assert.Equal(new TransientBindingOption(false, 255), parsed);
        // Reserved bits are ignored on input (RFC 6275 §6.2: receivers ignore reserved fields).
        Assert.True(MobilityOption.TryParse(43, Hex.Bytes("fe0a"), out parsed, out _));
        Assert.Equal(new TransientBindingOption(false, 10), parsed);
        // A wrong length is malformed.
        Assert.False(MobilityOption.TryParse(43, Hex.Bytes("01"), out _, out var error));
        Assert.Equal(WireError.BadOption, error);

        var bytes = new byte[256];
        int n = PreRegistration().WriteTo(bytes, Mag, Lma);
        Assert.True(MobilityMessage.TryParse(bytes.AsSpan(0, n), out var pbu, out error), error.ToString());
        Assert.Equal(option, pbu!.TransientBinding);
    }

    [Fact]
    public void Option_18_with_someone_elses_experiment_stays_an_unknown_option()
    {
        Assert.True(MobilityOption.TryParse(18, Hex.Bytes("cafe"), out var option, out _));
        Assert.IsType<UnknownMobilityOption>(option);
        var other = new byte[16];
        Hex.Bytes("44500207").CopyTo(other, 0); // 'D' 'P' but version 2
        Assert.True(MobilityOption.TryParse(18, other, out option, out _));
        Assert.IsType<UnknownMobilityOption>(option);
    }

    [Fact]
    public void Truncated_and_garbled_handover_messages_are_errors_not_exceptions()
    {
        var bytes = Hex.Bytes(StopNoticeVector);
        for (int cut = 0; cut < bytes.Length; cut++)
            Assert.False(MobilityMessage.TryParse(bytes.AsSpan(0, cut), out _, out _));
        var random = new Random(7);
        var garbled = new byte[bytes.Length];
        for (int i = 0; i < 2000; i++)
        {
            bytes.CopyTo(garbled, 0);
            garbled[random.Next(10, garbled.Length)] = (byte)random.Next(256);
            MobilityMessage.TryParse(garbled, out _, out _); // never throws
        }
    }

    private static MobilityMessage Parse(string vector)
    {
        Assert.True(MobilityMessage.TryParse(Hex.Bytes(vector), out var m, out var error), error.ToString());
        return m!;
    }

    private string WritePcap(params byte[][] frames)
    {
        var path = Path.Combine(_dir, "handover.pcap");
        using var w = new PcapWriter(File.Create(path));
        int second = 0;
        foreach (var f in frames) w.Write(f, TimeSpan.FromSeconds(1_700_000_000 + second++));
        return path;
    }

    /// <summary>
    /// tshark 4.0 dissects Handover Initiate and Acknowledge (sequence, code; not RFC 5949's P flag) and names option 43
    /// "Transient Binding" without dissecting its two octets (it says so in a Note, and prints a length of its own);
    /// option 18 it shows as "Experimental" with its data. It must find exactly what we wrote, and nothing malformed.
    /// </summary>
    [Fact]
    public void Tshark_decodes_the_pre_registration_and_the_stop_notice_as_written()
    {
        var path = WritePcap(
            JudgeFrames.MobilityFrame(PreRegistration(), Mag, Lma, JudgeFrames.MagMac, JudgeFrames.LmaMac),
            JudgeFrames.MobilityFrame(StopNotice(), Mag, Lma, JudgeFrames.MagMac, JudgeFrames.LmaMac),
            JudgeFrames.MobilityFrame(StopAcknowledged(), Lma, Mag, JudgeFrames.LmaMac, JudgeFrames.MagMac));
        var d = Tshark.Fields(path, "mip6.mhtype", "mip6.bu.seqnr", "mip6.bu.p_flag", "mip6.hi", "mip6.mobility_opt",
            "mip6.hi.seqnr", "mip6.hi.s_flag", "mip6.hi.u_flag", "mip6.hi.code", "mip6.hack.seqnr", "mip6.hack.code",
            "mip6.nemo.mnp.mnp", "mip6.mnlli.lli", "mip6.mnid.identifier", "mip6.em.data");
        Assert.Equal(3, d.Count);

        var pbu = d[1];
        Assert.Equal(("5", "1", "1", "3"), (pbu["mip6.mhtype"], pbu["mip6.bu.seqnr"], pbu["mip6.bu.p_flag"], pbu["mip6.hi"]));
        Assert.Contains("43", pbu["mip6.mobility_opt"].Split(','));

        var hi = d[2];
        Assert.Equal(("14", "7", "0", "0", "2"), (hi["mip6.mhtype"], hi["mip6.hi.seqnr"], hi["mip6.hi.s_flag"], hi["mip6.hi.u_flag"], hi["mip6.hi.code"]));
        Assert.Equal(("2001:db8:1::", "525400123456", "vm1@example.com"), (hi["mip6.nemo.mnp.mnp"], hi["mip6.mnlli.lli"], hi["mip6.mnid.identifier"]));
        // The marker's option data as tshark reads it: 'D' 'P', version 1, flags (delivered, TCP data), hash, sequence
        // end. tshark 4.0 shows the option's length (16) but only its first 14 data octets (it takes 2 off again for
        // the type and length it already skipped); the vector above has all 16.
        Assert.StartsWith("44500107" + "0123456789abcdef" + "0000", hi["mip6.em.data"].Replace(":", ""));

        var hack = d[3];
        Assert.Equal(("15", "7", "0", "vm1@example.com"), (hack["mip6.mhtype"], hack["mip6.hack.seqnr"], hack["mip6.hack.code"], hack["mip6.mnid.identifier"]));

        Assert.Empty(Tshark.Complaints(path));
    }
}
