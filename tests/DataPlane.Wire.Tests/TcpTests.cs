using System.Text;
using CsCheck;

namespace DataPlane.Wire.Tests;

public class TcpTests
{
    // Made independently with scapy 2.x (/usr/bin/python3), the options in Linux's SYN order:
    //   bytes(IPv6(src="2001:db8:1::10", dst="2001:db8:2::20", hlim=64)
    //         /TCP(sport=43210, dport=5201, seq=0x1a2b3c4d, ack=0, flags="S", window=64800,
    //              options=[('MSS',1440),('SAckOK',b''),('Timestamp',(12345,0)),('NOP',None),('WScale',7)])).hex()
    private const string Ipv6SynVector =
        "600000000028064020010db800010000000000000000001020010db8000200000000000000000020" +
        "a8ca14511a2b3c4d00000000a002fd20ab810000" +
        "020405a00402080a000030390000000001030307";

    // Made independently with scapy:
    //   bytes(IP(src="192.0.2.10", dst="198.51.100.20", id=0x4321, flags="DF", ttl=64)
    //         /TCP(sport=43211, dport=80, seq=0xfffffff0, ack=0x01020304, flags="PA", window=502,
    //              options=[('NOP',None),('NOP',None),('Timestamp',(0x11223344,0x55667788))])
    //         /Raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).hex()
    private const string Ipv4PshAckVector =
        "4500004f4321400040060b36c000020ac6336414" +
        "a8cb0050fffffff001020304801801f676350000" +
        "0101080a1122334455667788" +
        "474554202f20485454502f312e310d0a486f73743a20780d0a0d0a";

    private const string HttpRequest = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    private static readonly Ipv6Address Src6 = Ipv6Address.Parse("2001:db8:1::10");
    private static readonly Ipv6Address Dst6 = Ipv6Address.Parse("2001:db8:2::20");
    private static readonly Ipv4Address Src4 = Ipv4Address.Parse("192.0.2.10");
    private static readonly Ipv4Address Dst4 = Ipv4Address.Parse("198.51.100.20");

    [Fact]
    public void Parser_reads_every_field_of_the_scapy_ipv6_syn()
    {
        var bytes = Hex.Bytes(Ipv6SynVector);
        Assert.True(Ipv6Packet.TryCreate(bytes, out var ip, out var err), err.ToString());
        Assert.Equal(IpProtocol.Tcp, ip.NextHeader);
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out err), err.ToString());
        Assert.Equal(43210, tcp.SourcePort);
        Assert.Equal(5201, tcp.DestinationPort);
        Assert.Equal(0x1a2b3c4du, tcp.SequenceNumber);
        Assert.Equal(0u, tcp.AcknowledgmentNumber);
        Assert.Equal(40, tcp.HeaderLength);
        Assert.Equal(TcpFlags.Syn, tcp.Flags);
        Assert.Equal(64800, tcp.Window);
        Assert.Equal(0xab81, tcp.Checksum);
        Assert.Equal(0, tcp.UrgentPointer);
        Assert.Equal(20, tcp.Options.Length);
        Assert.Equal(0, tcp.Payload.Length);
        Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.True(tcp.IsChecksumValid(ip.PseudoHeaderSum(tcp.Buffer.Length, IpProtocol.Tcp)));
        Assert.False(tcp.IsChecksumValid(Src6, Ipv6Address.Parse("2001:db8:2::21")));

        Assert.True(tcp.TryGetMss(out var mss));
        Assert.Equal(1440, mss);
        Assert.True(tcp.IsSackPermitted);
        Assert.True(tcp.TryGetTimestamps(out var tsval, out var tsecr));
        Assert.Equal(12345u, tsval);
        Assert.Equal(0u, tsecr);
        Assert.True(tcp.TryGetWindowScale(out var shift));
        Assert.Equal(7, shift);

        // The raw walk: NOP is skipped, the rest come in wire order with their offsets.
        var reader = new TcpOptionReader(tcp.Options);
        var seen = new List<(TcpOptionKind, int, int)>();
        while (reader.MoveNext()) seen.Add((reader.CurrentKind, reader.CurrentOffset, reader.CurrentData.Length));
        Assert.Equal(WireError.None, reader.Error);
        Assert.Equal(
            [(TcpOptionKind.MaximumSegmentSize, 0, 2), (TcpOptionKind.SackPermitted, 4, 0),
             (TcpOptionKind.Timestamps, 6, 8), (TcpOptionKind.WindowScale, 17, 1)],
            seen);
    }

    [Fact]
    public void Builder_reproduces_the_scapy_ipv6_syn()
    {
        var buffer = new byte[80];
        int at = Ipv6Packet.WriteHeader(buffer, Src6, Dst6, IpProtocol.Tcp, 40);
        var options = new TcpOptionBuilder(buffer.AsSpan(at + TcpSegment.OptionsOffset));
        options.AddMaximumSegmentSize(1440);
        options.AddSackPermitted();
        options.AddTimestamps(12345, 0);
        options.AddNoOperation();
        options.AddWindowScale(7);
        int optionsLength = options.Finish();
        Assert.Equal(20, optionsLength);
        int header = TcpSegment.WriteHeader(buffer.AsSpan(at), 43210, 5201, 0x1a2b3c4d, 0, TcpFlags.Syn, 64800, optionsLength);
        Assert.Equal(40, header);
        Assert.True(TcpSegment.TryCreate(buffer.AsSpan(at, header), out var tcp, out _));
        tcp.FillChecksum(Src6, Dst6);
        Assert.Equal(Ipv6SynVector, Hex.Of(buffer.AsSpan(0, at + header)));
    }

    [Fact]
    public void Parser_reads_every_field_of_the_scapy_ipv4_segment_with_data()
    {
        var bytes = Hex.Bytes(Ipv4PshAckVector);
        Assert.True(Ipv4Packet.TryCreate(bytes, out var ip, out var err), err.ToString());
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp, out err), err.ToString());
        Assert.Equal(43211, tcp.SourcePort);
        Assert.Equal(80, tcp.DestinationPort);
        Assert.Equal(0xfffffff0u, tcp.SequenceNumber);
        Assert.Equal(0x01020304u, tcp.AcknowledgmentNumber);
        Assert.Equal(32, tcp.HeaderLength);
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, tcp.Flags);
        Assert.Equal(502, tcp.Window);
        Assert.Equal(0x7635, tcp.Checksum);
        Assert.Equal(HttpRequest, Encoding.ASCII.GetString(tcp.Payload));
        Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.True(tcp.IsChecksumValid(ip.PseudoHeaderSum));
        Assert.False(tcp.TryGetMss(out _));
        Assert.False(tcp.IsSackPermitted);
        Assert.True(tcp.TryGetTimestamps(out var tsval, out var tsecr));
        Assert.Equal(0x11223344u, tsval);
        Assert.Equal(0x55667788u, tsecr);
    }

    [Fact]
    public void Builder_reproduces_the_scapy_ipv4_segment_with_data()
    {
        var data = Encoding.ASCII.GetBytes(HttpRequest);
        var buffer = new byte[Ipv4Packet.MinHeaderLength + 32 + data.Length];
        int at = Ipv4Packet.WriteHeader(buffer, Src4, Dst4, IpProtocol.Tcp, 32 + data.Length, identification: 0x4321);
        var options = new TcpOptionBuilder(buffer.AsSpan(at + TcpSegment.OptionsOffset));
        options.AddNoOperation();
        options.AddNoOperation();
        options.AddTimestamps(0x11223344, 0x55667788);
        int header = TcpSegment.WriteHeader(buffer.AsSpan(at), 43211, 80, 0xfffffff0, 0x01020304, TcpFlags.Psh | TcpFlags.Ack, 502,
            options.Finish());
        data.CopyTo(buffer.AsSpan(at + header));
        Assert.True(TcpSegment.TryCreate(buffer.AsSpan(at), out var tcp, out _));
        tcp.FillChecksum(Src4, Dst4);
        Assert.Equal(Ipv4PshAckVector, Hex.Of(buffer));
    }

    [Fact]
    public void Mss_clamp_updates_the_checksum_incrementally()
    {
        var bytes = Hex.Bytes(Ipv6SynVector);
        Assert.True(TcpSegment.TryCreate(bytes.AsSpan(Ipv6Packet.HeaderLength), out var tcp, out _));
        Assert.True(tcp.TrySetMss(1220));
        Assert.True(tcp.TryGetMss(out var mss));
        Assert.Equal(1220, mss);
        Assert.True(tcp.IsChecksumValid(Src6, Dst6));
        ushort patched = tcp.Checksum;
        tcp.FillChecksum(Src6, Dst6);
        Assert.Equal(patched, tcp.Checksum);
        // Only the two value bytes and the checksum changed.
        var original = Hex.Bytes(Ipv6SynVector);
        var diff = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != original[i]).ToArray();
        Assert.All(diff, i => Assert.Contains(i - Ipv6Packet.HeaderLength, new[] { 16, 17, 22, 23 }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)] // MSS value at an odd offset: the patch spans two checksum words
    [InlineData(2)]
    [InlineData(3)]
    public void Mss_clamp_verifies_whatever_the_option_alignment(int nops)
    {
        foreach (ushort newMss in new ushort[] { 0, 1, 536, 1220, 1380, 0xFFFF })
        {
            var segment = new byte[TcpSegment.MinHeaderLength + 8 + 5];
            var options = new TcpOptionBuilder(segment.AsSpan(TcpSegment.OptionsOffset));
            for (int i = 0; i < nops; i++) options.AddNoOperation();
            options.AddMaximumSegmentSize(0xABCD);
            int header = TcpSegment.WriteHeader(segment, 1000, 2000, 7, 0, TcpFlags.Syn, 1024, options.Finish());
            "hello"u8.CopyTo(segment.AsSpan(header));
            Assert.True(TcpSegment.TryCreate(segment, out var tcp, out _));
            tcp.FillChecksum(Src4, Dst4);

            Assert.True(tcp.TrySetMss(newMss));
            Assert.True(tcp.TryGetMss(out var read));
            Assert.Equal(newMss, read);
            Assert.True(tcp.IsChecksumValid(Src4, Dst4), $"nops={nops} mss={newMss}");
        }
    }

    [Fact]
    public void Mss_clamp_on_a_segment_without_the_option_changes_nothing()
    {
        var bytes = Hex.Bytes(Ipv4PshAckVector);
        Assert.True(TcpSegment.TryCreate(bytes.AsSpan(Ipv4Packet.MinHeaderLength), out var tcp, out _));
        Assert.False(tcp.TrySetMss(1200));
        Assert.Equal(Ipv4PshAckVector, Hex.Of(bytes));
    }

    [Fact]
    public void A_corrupted_byte_fails_the_checksum()
    {
        var bytes = Hex.Bytes(Ipv4PshAckVector);
        bytes[^5] ^= 0x20;
        Assert.True(TcpSegment.TryCreate(bytes.AsSpan(Ipv4Packet.MinHeaderLength), out var tcp, out _));
        Assert.False(tcp.IsChecksumValid(Src4, Dst4));
    }

    [Fact]
    public void Setters_write_the_fields_and_leave_the_rest_alone()
    {
        var bytes = Hex.Bytes(Ipv6SynVector);
        Assert.True(TcpSegment.TryCreate(bytes.AsSpan(Ipv6Packet.HeaderLength), out var tcp, out _));
        bytes[Ipv6Packet.HeaderLength + 12] |= 0x0F; // reserved bits set: Flags must not disturb them
        tcp.SourcePort = 1;
        tcp.DestinationPort = 2;
        tcp.SequenceNumber = 3;
        tcp.AcknowledgmentNumber = 4;
        tcp.Flags = TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Ece | TcpFlags.Cwr;
        tcp.Window = 5;
        tcp.UrgentPointer = 6;
        Assert.Equal(
            "000100020000000300000004af" + "d2" + "0005ab810006",
            Hex.Of(tcp.Buffer[..TcpSegment.MinHeaderLength]));
        Assert.Equal(40, tcp.HeaderLength);
        tcp.FillChecksum(Src6, Dst6);
        Assert.True(tcp.IsChecksumValid(Src6, Dst6));
    }

    [Theory]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, true, false, TcpFlags.Ack | TcpFlags.Cwr)]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, false, false, TcpFlags.Ack)]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, false, true, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin)]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, true, true, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr)]
    [InlineData(TcpFlags.Ack | TcpFlags.Ece, false, false, TcpFlags.Ack | TcpFlags.Ece)]
    public void Segment_flags_follow_linux_gso(TcpFlags original, bool first, bool last, TcpFlags expected) =>
        Assert.Equal(expected, TcpSegment.FlagsForSegment(original, first, last));

    [Fact]
    public void Splitting_a_segment_the_way_a_segmenter_will_gives_valid_pieces()
    {
        // What a userspace TSO segmenter does per piece: copy the header, append a slice of the data,
        // set the sequence number and flags, fill the checksum with the piece's own pseudo-header.
        var big = Hex.Bytes(Ipv4PshAckVector).AsSpan(Ipv4Packet.MinHeaderLength);
        Assert.True(TcpSegment.TryCreate(big, out var original, out _));
        int header = original.HeaderLength;
        const int Mss = 16;
        var received = new List<byte>();
        int pieces = 0;
        for (int offset = 0; offset < original.Payload.Length; offset += Mss)
        {
            int length = Math.Min(Mss, original.Payload.Length - offset);
            var piece = new byte[header + length];
            original.Buffer[..header].CopyTo(piece);
            original.Payload.Slice(offset, length).CopyTo(piece.AsSpan(header));
            Assert.True(TcpSegment.TryCreate(piece, out var tcp, out _));
            tcp.SequenceNumber = unchecked(original.SequenceNumber + (uint)offset);
            tcp.Flags = TcpSegment.FlagsForSegment(original.Flags, offset == 0, offset + length == original.Payload.Length);
            tcp.FillChecksum(Src4, Dst4);

            Assert.True(tcp.IsChecksumValid(Src4, Dst4));
            Assert.Equal(offset + length == original.Payload.Length ? TcpFlags.Psh | TcpFlags.Ack : TcpFlags.Ack, tcp.Flags);
            received.AddRange(tcp.Payload.ToArray());
            pieces++;
        }
        Assert.Equal(2, pieces);
        Assert.Equal(HttpRequest, Encoding.ASCII.GetString(received.ToArray()));
    }

    [Theory]
    [InlineData(19, 0x50, WireError.Truncated)]
    [InlineData(20, 0x40, WireError.BadLength)]  // data offset 4 → 16 bytes
    [InlineData(20, 0x00, WireError.BadLength)]
    [InlineData(20, 0x60, WireError.Truncated)]  // data offset 6 → 24 bytes, 20 present
    [InlineData(59, 0xF0, WireError.Truncated)]  // data offset 15 → 60 bytes, 59 present
    public void Bad_data_offsets_are_rejected(int length, byte dataOffsetByte, WireError expected)
    {
        var bytes = new byte[length];
        if (length > 12) bytes[12] = dataOffsetByte;
        Assert.False(TcpSegment.TryCreate(bytes, out _, out var err));
        Assert.Equal(expected, err);
        Assert.False(TcpSegment.TryValidate(bytes, out _, out err));
        Assert.Equal(expected, err);
    }

    [Fact]
    public void Largest_data_offset_is_accepted()
    {
        var bytes = new byte[60];
        bytes[12] = 0xF0;
        Assert.True(TcpSegment.TryCreate(bytes, out var tcp, out _));
        Assert.Equal(60, tcp.HeaderLength);
        Assert.Equal(40, tcp.Options.Length);
        Assert.Equal(0, tcp.Payload.Length);
        Assert.False(tcp.TryGetMss(out _)); // all EOL
    }

    [Theory]
    [InlineData("020305a0", WireError.BadOption)]     // MSS with length 3
    [InlineData("020505a000000000", WireError.BadOption)] // MSS with length 5
    [InlineData("0300", WireError.BadOption)]         // length 0 would never advance
    [InlineData("0401", WireError.BadOption)]         // length 1 would never pass its own header
    [InlineData("08", WireError.BadOption)]           // kind with no length byte
    [InlineData("0a0c0000", WireError.BadOption)]     // unknown kind, length past the end
    [InlineData("05060000000000000000", WireError.BadOption)] // SACK not 2 + 8n
    [InlineData("0502", WireError.BadOption)]         // SACK with no block
    [InlineData("0303", WireError.BadOption)]         // window scale running past the end
    public void Bad_option_lengths_are_reported(string optionsHex, WireError expected)
    {
        Assert.False(TcpOptionReader.IsWellFormed(Hex.Bytes(optionsHex), out var err));
        Assert.Equal(expected, err);
    }

    [Theory]
    [InlineData("01010100")]                    // NOPs, then EOL
    [InlineData("00ffffff")]                    // EOL first: what follows is padding, even garbage
    [InlineData("fe04abcd01010000")]            // unknown kind (254, experimental) skipped by its length
    [InlineData("050a0000000100000002")]         // one SACK block
    [InlineData("")]
    public void Well_formed_options_parse(string optionsHex)
    {
        Assert.True(TcpOptionReader.IsWellFormed(Hex.Bytes(optionsHex), out var err));
        Assert.Equal(WireError.None, err);
    }

    [Fact]
    public void Malformed_options_make_the_typed_lookups_return_false_not_throw()
    {
        var segment = new byte[24];
        segment[12] = 0x60;
        // Length 0 first: a naive walk would loop forever or read the MSS after it.
        Hex.Bytes("0200").CopyTo(segment, 20);
        Assert.True(TcpSegment.TryCreate(segment, out var tcp, out _));
        Assert.False(tcp.TryGetMss(out _));
        Assert.False(tcp.TrySetMss(1000));
        Assert.False(tcp.TryGetWindowScale(out _));
        Assert.False(tcp.TryGetTimestamps(out _, out _));
        Assert.False(tcp.IsSackPermitted);
    }

    [Fact]
    public void Header_builder_rejects_impossible_option_lengths()
    {
        var buffer = new byte[80];
        Assert.Throws<ArgumentOutOfRangeException>(() => TcpSegment.WriteHeader(buffer, 1, 2, 3, 4, TcpFlags.Ack, 5, optionsLength: 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => TcpSegment.WriteHeader(buffer, 1, 2, 3, 4, TcpFlags.Ack, 5, optionsLength: 44));
        Assert.Throws<InvalidOperationException>(() =>
        {
            var b = new TcpOptionBuilder(buffer);
            for (int i = 0; i < 5; i++) b.AddTimestamps(1, 2); // 50 bytes
        });
    }

    [Fact]
    public void Random_bytes_never_make_an_accessor_throw()
    {
        Gen.Byte.Array[0, 80].Sample(input =>
        {
            if (!TcpSegment.TryCreate(input, out var tcp, out _)) return;
            _ = (tcp.SourcePort, tcp.DestinationPort, tcp.SequenceNumber, tcp.AcknowledgmentNumber, tcp.HeaderLength,
                 tcp.Flags, tcp.Window, tcp.Checksum, tcp.UrgentPointer, tcp.Options.Length, tcp.Payload.Length,
                 tcp.IsChecksumValid(Src6, Dst6), tcp.IsChecksumValid(Src4, Dst4), tcp.IsSackPermitted);
            _ = tcp.TryGetMss(out _) && tcp.TrySetMss(1200);
            _ = tcp.TryGetWindowScale(out _);
            _ = tcp.TryGetTimestamps(out _, out _);
            var reader = new TcpOptionReader(tcp.Options);
            while (reader.MoveNext()) Assert.InRange(reader.CurrentOffset, 0, tcp.Options.Length - 2);
        }, iter: 20_000);
    }
}
