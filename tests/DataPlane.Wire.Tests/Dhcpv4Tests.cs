using CsCheck;

namespace DataPlane.Wire.Tests;

public class Dhcpv4Tests
{
    // Lines are 48 bytes; the magic cookie ends the fifth line of the BOOTP part.
    // A DISCOVER made independently with scapy 2.x (/usr/bin/python3); scapy does not pad, so 25 Pad
    // options were added after End to reach the 300-byte BOOTP minimum our builder writes:
    //   chaddr = mac2str("52:54:00:12:34:56")
    //   bytes(BOOTP(op=1, chaddr=chaddr, xid=0x3903f326, flags=0x8000)/DHCP(options=[
    //       ("message-type","discover"), ("requested_addr","192.0.2.100"), ("client_id", b"\x01"+chaddr),
    //       ("hostname","vm1"), ("param_req_list",[1,3,6,15,26,51,54,58,59]), "end"] + ["pad"]*25)).hex()
    private const string DiscoverVector =
        "010106003903f32600008000000000000000000000000000000000005254001234560000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363" +
        "3501013204c00002643d07015254001234560c03766d3137090103060f1a33363a3bff00000000000000000000000000" +
        "000000000000000000000000";

    // An OFFER, as a whole IPv4/UDP packet, made independently with scapy:
    //   bytes(IP(src="192.0.2.1", dst="255.255.255.255", id=0, flags=0, ttl=64)/UDP(sport=67, dport=68)
    //       /BOOTP(op=2, chaddr=chaddr, xid=0x3903f326, flags=0x8000, yiaddr="192.0.2.100", siaddr="192.0.2.1")
    //       /DHCP(options=[("message-type","offer"), ("server_id","192.0.2.1"), ("lease_time",3600),
    //           ("renewal_time",1800), ("rebinding_time",3150), ("subnet_mask","255.255.255.0"),
    //           ("router","192.0.2.1"), ("name_server","192.0.2.53","192.0.2.54"), ("domain",b"example.com"),
    //           ("interface-mtu",1400), "end"])).hex()
    // The BOOTP part is 307 bytes, over the minimum, so there is no padding.
    private const string OfferPacketVector =
        "4500014f000000004011b79dc0000201ffffffff00430044013b7bb2" +
        "020106003903f3260000800000000000c0000264c0000201000000005254001234560000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363" +
        "3501023604c0000201330400000e103a04000007083b0400000c4e0104ffffff000304c00002010608c0000235c00002" +
        "360f0b6578616d706c652e636f6d1a020578ff";

    private static readonly MacAddress ClientMac = MacAddress.Parse("52:54:00:12:34:56");
    private static readonly Ipv4Address ServerIp = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address ClientIp = Ipv4Address.Parse("192.0.2.100");

    private static DhcpRepr ExpectedDiscover => new(DhcpMessageType.Discover, 0x3903f326, ClientMac)
    {
        Flags = DhcpFlags.Broadcast,
        RequestedIpAddress = ClientIp,
        ClientIdentifier = new OctetString(Hex.Bytes("01525400123456")),
        HostName = OctetString.FromUtf8("vm1"),
        ParameterRequestList =
        [
            DhcpOptionCode.SubnetMask, DhcpOptionCode.Router, DhcpOptionCode.DomainNameServer, DhcpOptionCode.DomainName,
            DhcpOptionCode.InterfaceMtu, DhcpOptionCode.IpAddressLeaseTime, DhcpOptionCode.ServerIdentifier,
            DhcpOptionCode.RenewalTime, DhcpOptionCode.RebindingTime,
        ],
    };

    private static DhcpRepr ExpectedOffer => new(DhcpMessageType.Offer, 0x3903f326, ClientMac)
    {
        Flags = DhcpFlags.Broadcast,
        YourAddress = ClientIp,
        ServerAddress = ServerIp,
        ServerIdentifier = ServerIp,
        LeaseTime = 3600,
        RenewalTime = 1800,
        RebindingTime = 3150,
        SubnetMask = Ipv4Address.Parse("255.255.255.0"),
        Routers = [ServerIp],
        DomainNameServers = [Ipv4Address.Parse("192.0.2.53"), Ipv4Address.Parse("192.0.2.54")],
        DomainName = OctetString.FromUtf8("example.com"),
        InterfaceMtu = 1400,
    };

    [Fact]
    public void View_reads_every_field_of_the_scapy_discover()
    {
        var bytes = Hex.Bytes(DiscoverVector);
        Assert.Equal(300, bytes.Length);
        Assert.True(Dhcpv4Packet.TryCreate(bytes, out var p, out var err), err.ToString());
        Assert.Equal(BootpOperation.Request, p.Operation);
        Assert.Equal(Dhcpv4Packet.HardwareTypeEthernet, p.HardwareType);
        Assert.Equal(6, p.HardwareAddressLength);
        Assert.Equal(0, p.Hops);
        Assert.Equal(0x3903f326u, p.TransactionId);
        Assert.Equal(0, p.Seconds);
        Assert.Equal(DhcpFlags.Broadcast, p.Flags);
        Assert.Equal(Ipv4Address.Any, p.ClientAddress);
        Assert.Equal(Ipv4Address.Any, p.YourAddress);
        Assert.Equal(Ipv4Address.Any, p.ServerAddress);
        Assert.Equal(Ipv4Address.Any, p.RelayAgentAddress);
        Assert.Equal("525400123456", Hex.Of(p.ClientHardwareAddress));
        Assert.True(p.TryGetClientMac(out var mac));
        Assert.Equal(ClientMac, mac);
        Assert.Equal(64, p.ServerName.Length);
        Assert.Equal(128, p.BootFileName.Length);
        Assert.Equal(60, p.Options.Length);
        Assert.True(p.TryGetMessageType(out var type));
        Assert.Equal(DhcpMessageType.Discover, type);

        var reader = new DhcpOptionReader(p.Options);
        var seen = new List<(DhcpOptionCode, string)>();
        while (reader.MoveNext()) seen.Add((reader.CurrentCode, Hex.Of(reader.CurrentData)));
        Assert.Equal(WireError.None, reader.Error);
        Assert.True(reader.SawEnd);
        Assert.Equal(
            [
                (DhcpOptionCode.MessageType, "01"),
                (DhcpOptionCode.RequestedIpAddress, "c0000264"),
                (DhcpOptionCode.ClientIdentifier, "01525400123456"),
                (DhcpOptionCode.HostName, "766d31"),
                (DhcpOptionCode.ParameterRequestList, "0103060f1a33363a3b"),
            ],
            seen);
    }

    [Fact]
    public void Repr_parses_the_scapy_discover_and_rebuilds_it_byte_for_byte()
    {
        var bytes = Hex.Bytes(DiscoverVector);
        Assert.True(DhcpRepr.TryParse(bytes, out var repr, out var err), err.ToString());
        Assert.Equal(ExpectedDiscover, repr);
        Assert.Equal(BootpOperation.Request, repr.Operation);
        Assert.True(repr.IsBroadcast);
        Assert.Equal(300, repr.GetLength());

        var buffer = new byte[repr.GetLength()];
        Assert.Equal(300, ExpectedDiscover.WriteTo(buffer));
        Assert.Equal(DiscoverVector, Hex.Of(buffer));
    }

    [Fact]
    public void Repr_parses_the_scapy_offer_inside_its_ipv4_udp_packet()
    {
        var bytes = Hex.Bytes(OfferPacketVector);
        Assert.True(Ipv4Packet.TryCreate(bytes, out var ip, out var err), err.ToString());
        Assert.Equal(Ipv4Address.Broadcast, ip.Destination);
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out var udp, out err), err.ToString());
        Assert.Equal(67, udp.SourcePort);
        Assert.Equal(68, udp.DestinationPort);
        Assert.True(udp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.Equal(307, udp.Payload.Length);

        Assert.True(Dhcpv4Packet.TryCreate(udp.Payload, out var p, out err), err.ToString());
        Assert.Equal(BootpOperation.Reply, p.Operation);
        Assert.Equal(ClientIp, p.YourAddress);
        Assert.Equal(ServerIp, p.ServerAddress);
        Assert.True(p.TryGetMessageType(out var type));
        Assert.Equal(DhcpMessageType.Offer, type);

        Assert.True(DhcpRepr.TryParse(udp.Payload, out var repr, out err), err.ToString());
        Assert.Equal(ExpectedOffer, repr);
        Assert.Equal(307, repr.GetLength());
    }

    [Fact]
    public void Builder_reproduces_the_scapy_offer_packet()
    {
        var offer = ExpectedOffer;
        int dhcpLength = offer.GetLength();
        var buffer = new byte[Ipv4Packet.MinHeaderLength + UdpDatagram.HeaderLength + dhcpLength];
        int at = Ipv4Packet.WriteHeader(buffer, ServerIp, Ipv4Address.Broadcast, IpProtocol.Udp, UdpDatagram.HeaderLength + dhcpLength,
            identification: 0, dontFragment: false);
        int udpAt = at;
        at += UdpDatagram.WriteHeader(buffer.AsSpan(at), 67, 68, dhcpLength);
        Assert.Equal(dhcpLength, offer.WriteTo(buffer.AsSpan(at)));
        Assert.True(UdpDatagram.TryCreate(buffer.AsSpan(udpAt), out var udp, out _));
        udp.FillChecksum(ServerIp, Ipv4Address.Broadcast);
        Assert.Equal(OfferPacketVector, Hex.Of(buffer));
    }

    public static TheoryData<DhcpRepr> Messages => new()
    {
        ExpectedDiscover,
        ExpectedOffer,
        new DhcpRepr(DhcpMessageType.Request, 0x01020304, ClientMac)
        {
            Seconds = 3,
            RequestedIpAddress = ClientIp,
            ServerIdentifier = ServerIp,
            ClientIdentifier = new OctetString(Hex.Bytes("01525400123456")),
            ParameterRequestList = [DhcpOptionCode.SubnetMask, DhcpOptionCode.Router],
        },
        ExpectedOffer with { MessageType = DhcpMessageType.Ack, Flags = DhcpFlags.None },
        new DhcpRepr(DhcpMessageType.Nak, 0x01020304, ClientMac) { ServerIdentifier = ServerIp, Flags = DhcpFlags.Broadcast },
        new DhcpRepr(DhcpMessageType.Release, 0x0a0b0c0d, ClientMac) { ClientAddress = ClientIp, ServerIdentifier = ServerIp },
        new DhcpRepr(DhcpMessageType.Request, 7, ClientMac) { ClientAddress = ClientIp, Hops = 1, RelayAgentAddress = Ipv4Address.Parse("10.0.0.1") },
        new DhcpRepr(DhcpMessageType.Inform, 8, ClientMac) { ClientAddress = ClientIp, LeaseTime = DhcpRepr.InfiniteLeaseTime },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Repr_round_trips(DhcpRepr message)
    {
        int length = message.GetLength();
        Assert.True(length >= Dhcpv4Packet.MinimumBootpLength);
        var buffer = new byte[length + 10];
        Assert.Equal(length, message.WriteTo(buffer));
        Assert.True(DhcpRepr.TryParse(buffer.AsSpan(0, length), out var parsed, out var err), err.ToString());
        Assert.Equal(message, parsed);
        Assert.Equal(message.GetHashCode(), parsed.GetHashCode());
        Assert.True(Dhcpv4Packet.TryCreate(buffer.AsSpan(0, length), out var p, out _));
        Assert.Equal(message.Operation, p.Operation);
    }

    [Fact]
    public void Value_equality_covers_the_lists()
    {
        var a = ExpectedOffer;
        var b = ExpectedOffer;
        Assert.NotSame(a, b);
        Assert.Equal(a, b);
        Assert.NotEqual(a, a with { DomainNameServers = [Ipv4Address.Parse("192.0.2.53")] });
        Assert.NotEqual(a, a with { Routers = default });
        Assert.NotEqual(ExpectedDiscover, ExpectedDiscover with { ParameterRequestList = [DhcpOptionCode.SubnetMask] });
        Assert.NotEqual(ExpectedDiscover, ExpectedDiscover with { HostName = OctetString.FromUtf8("vm2") });
        Assert.Equal(EquatableArray<Ipv4Address>.Empty, default(EquatableArray<Ipv4Address>));
        Assert.Equal(EquatableArray<Ipv4Address>.Empty, new EquatableArray<Ipv4Address>([]));
    }

    /// <summary>A message with the given op and raw option bytes after the cookie (no End unless given).</summary>
    private static byte[] Message(BootpOperation op, string optionsHex)
    {
        var options = Hex.Bytes(optionsHex);
        var buffer = new byte[Dhcpv4Packet.OptionsOffset + options.Length];
        Dhcpv4Packet.WriteHeader(buffer, op, 42, DhcpFlags.None, default, default, default, default, ClientMac);
        options.CopyTo(buffer, Dhcpv4Packet.OptionsOffset);
        return buffer;
    }

    private static WireError ParseError(byte[] message)
    {
        Assert.False(DhcpRepr.TryParse(message, out var repr, out var err));
        Assert.Null(repr);
        return err;
    }

    [Fact]
    public void Truncated_messages_are_rejected()
    {
        var bytes = Hex.Bytes(DiscoverVector);
        Assert.False(Dhcpv4Packet.TryCreate(bytes.AsSpan(0, 239), out _, out var err));
        Assert.Equal(WireError.Truncated, err);
        Assert.Equal(WireError.Truncated, ParseError(bytes[..100]));
        Assert.Equal(WireError.Truncated, ParseError([]));
    }

    [Fact]
    public void A_wrong_magic_cookie_is_a_bad_value()
    {
        var bytes = Hex.Bytes(DiscoverVector);
        bytes[239] = 0x64; // 99.130.83.100
        Assert.False(Dhcpv4Packet.TryCreate(bytes, out _, out var err));
        Assert.Equal(WireError.BadValue, err);
        Assert.Equal(WireError.BadValue, ParseError(bytes));
    }

    [Fact]
    public void Hardware_address_lengths_are_checked()
    {
        var bytes = Hex.Bytes(DiscoverVector);
        bytes[2] = 17; // hlen past chaddr
        Assert.False(Dhcpv4Packet.TryCreate(bytes, out _, out var err));
        Assert.Equal(WireError.BadLength, err);

        bytes[2] = 16; // legal BOOTP, but not Ethernet
        Assert.True(Dhcpv4Packet.TryCreate(bytes, out var p, out _));
        Assert.Equal(16, p.ClientHardwareAddress.Length);
        Assert.False(p.TryGetClientMac(out _));
        Assert.Equal(WireError.Unsupported, ParseError(bytes));

        bytes = Hex.Bytes(DiscoverVector);
        bytes[1] = 6; // IEEE 802 networks, not Ethernet
        Assert.Equal(WireError.Unsupported, ParseError(bytes));
    }

    [Theory]
    [InlineData("350101" + "3204c00002", WireError.BadOption)]   // requested IP overruns the buffer
    [InlineData("350101" + "37", WireError.BadOption)]           // code with no length byte
    [InlineData("350101" + "0cff41", WireError.BadOption)]       // host name claims 255 bytes
    [InlineData("35020101ff", WireError.BadOption)]              // message type of length 2
    [InlineData("350101" + "3603c00002ff", WireError.BadOption)] // server identifier of length 3
    [InlineData("350101" + "0306c0000201c000ff", WireError.BadOption)] // router list not a multiple of 4
    [InlineData("350101" + "0600ff", WireError.BadOption)]       // empty DNS list
    [InlineData("350101" + "33020e10ff", WireError.BadOption)]   // lease time of length 2
    [InlineData("350101" + "3d0101ff", WireError.BadOption)]     // client identifier shorter than 2
    [InlineData("350101" + "0c00ff", WireError.BadOption)]       // empty host name
    [InlineData("350101" + "3700ff", WireError.BadOption)]       // empty parameter request list
    [InlineData("350101" + "1a03000000ff", WireError.BadOption)] // MTU of length 3
    [InlineData("350101" + "1a020043ff", WireError.BadValue)]    // MTU 67 < 68
    [InlineData("3204c0000264ff", WireError.UnknownType)]        // no message type: plain BOOTP
    [InlineData("350109ff", WireError.UnknownType)]              // FORCERENEW (9): not ours
    [InlineData("350100ff", WireError.UnknownType)]
    [InlineData("350102ff", WireError.BadValue)]                 // an OFFER sent as BOOTREQUEST
    public void Malformed_requests_are_rejected_with_the_right_error(string optionsHex, WireError expected) =>
        Assert.Equal(expected, ParseError(Message(BootpOperation.Request, optionsHex)));

    [Fact]
    public void A_request_sent_as_bootreply_is_a_bad_value() =>
        Assert.Equal(WireError.BadValue, ParseError(Message(BootpOperation.Reply, "350103ff")));

    [Fact]
    public void Option_reader_reports_an_overrun()
    {
        var reader = new DhcpOptionReader(Hex.Bytes("000035010132"));
        Assert.True(reader.MoveNext());
        Assert.Equal(DhcpOptionCode.MessageType, reader.CurrentCode);
        Assert.False(reader.MoveNext());
        Assert.Equal(WireError.BadOption, reader.Error);
        Assert.False(reader.SawEnd);
        Assert.False(reader.MoveNext()); // stays finished
    }

    [Fact]
    public void Everything_after_end_is_ignored_and_a_missing_end_is_tolerated()
    {
        // After End: garbage that would overrun if it were read as options.
        Assert.True(DhcpRepr.TryParse(Message(BootpOperation.Request, "350101ff37ff"), out var repr, out _));
        Assert.Equal(DhcpMessageType.Discover, repr.MessageType);
        Assert.True(repr.ParameterRequestList.IsEmpty);

        // No End at all: the options run to the end of the payload.
        Assert.True(DhcpRepr.TryParse(Message(BootpOperation.Request, "3501010c03766d31"), out repr, out _));
        Assert.Equal("vm1", repr.HostName!.Value.TryGetUtf8());
    }

    [Fact]
    public void Unknown_and_overload_options_are_skipped_and_the_first_duplicate_wins()
    {
        // 52 (overload: "file holds options", not followed), 57 (max size), 224 (private), then two
        // requested addresses.
        var message = Message(BootpOperation.Request,
            "350103" + "340101" + "39020240" + "e003abcdef" + "3204c0000264" + "3204c0000265" + "ff");
        Assert.True(DhcpRepr.TryParse(message, out var repr, out var err), err.ToString());
        Assert.Equal(DhcpMessageType.Request, repr.MessageType);
        Assert.Equal(ClientIp, repr.RequestedIpAddress);
        Assert.Equal(300, repr.GetLength()); // the unknown options are not written back
    }

    [Fact]
    public void Builder_pads_short_messages_to_300_bytes_with_zeros_after_end()
    {
        var nak = new DhcpRepr(DhcpMessageType.Nak, 1, ClientMac) { ServerIdentifier = ServerIp };
        var buffer = new byte[400];
        buffer.AsSpan().Fill(0xEE);
        Assert.Equal(300, nak.WriteTo(buffer));
        Assert.Equal("350106" + "3604c0000201" + "ff", Hex.Of(buffer.AsSpan(240, 10)));
        Assert.All(buffer[250..300], b => Assert.Equal(0, b));
        Assert.Equal(0xEE, buffer[300]);
        // Everything in the fixed header that the repr does not carry is zero.
        Assert.All(buffer[44..236], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Writing_into_a_short_buffer_throws_instead_of_truncating()
    {
        var buffer = new byte[299];
        Assert.ThrowsAny<ArgumentException>(() => ExpectedDiscover.WriteTo(buffer));
    }

    [Fact]
    public void Random_bytes_never_make_an_accessor_throw()
    {
        var discover = Hex.Bytes(DiscoverVector);
        Gen.Select(Gen.Int[Dhcpv4Packet.OptionsOffset, 300], Gen.Byte.Array[0, 60], Gen.Int[0, 299], Gen.Byte)
            .Sample((length, tail, at, value) =>
            {
                var input = new byte[Math.Max(length, Dhcpv4Packet.OptionsOffset) + tail.Length];
                discover.AsSpan(0, Math.Min(discover.Length, input.Length)).CopyTo(input);
                tail.CopyTo(input, length);
                input[at % input.Length] = value;
                if (Dhcpv4Packet.TryCreate(input, out var p, out _))
                {
                    _ = (p.Operation, p.HardwareType, p.Hops, p.TransactionId, p.Seconds, p.Flags, p.ClientAddress, p.YourAddress,
                         p.ServerAddress, p.RelayAgentAddress, p.ClientHardwareAddress.Length, p.ServerName.Length,
                         p.BootFileName.Length, p.Options.Length, p.TryGetClientMac(out _), p.TryGetMessageType(out _));
                }
                if (DhcpRepr.TryParse(input, out var repr, out _))
                {
                    var buffer = new byte[repr.GetLength()];
                    Assert.Equal(buffer.Length, repr.WriteTo(buffer));
                    Assert.True(DhcpRepr.TryParse(buffer, out var again, out _));
                    Assert.Equal(repr, again);
                }
            }, iter: 20_000);
    }
}
