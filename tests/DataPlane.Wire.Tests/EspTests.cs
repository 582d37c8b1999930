using System.Security.Cryptography;
using CsCheck;

namespace DataPlane.Wire.Tests;

/// <summary>The ESP format (RFC 4303 §2): byte vectors, validation, padding, round trips, and tshark verifying an ICV we computed.</summary>
public sealed class EspTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-esp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Writes_header_payload_default_padding_trailer_and_icv()
    {
        var repr = new EspRepr(0x1001, 1, 135, [1, 2, 3, 4, 5, 6, 7, 8], new(Enumerable.Repeat((byte)0xaa, 16).ToArray()));
        var bytes = new byte[repr.Length];
        Assert.Equal(36, repr.WriteTo(bytes));
        // 8 header + 8 payload + 2 trailer = 18: two padding bytes (1, 2) put the ICV on a 4-byte boundary.
        Assert.Equal(Hex.Bytes("00001001 00000001 0102030405060708 0102 02 87" + string.Concat(Enumerable.Repeat("aa", 16))), bytes);
        Assert.True(EspRepr.TryParse(bytes, 16, out var parsed, out var error), error.ToString());
        Assert.Equal(repr, parsed);
    }

    [Fact]
    public void A_payload_already_aligned_needs_no_padding()
    {
        var repr = new EspRepr(0x100, 7, 135, [9, 9], []);
        var bytes = new byte[repr.Length];
        repr.WriteTo(bytes);
        Assert.Equal(Hex.Bytes("00000100 00000007 0909 00 87"), bytes);
    }

    [Theory]
    [InlineData("00001001 00000001 0102", 16, WireError.Truncated)]
    [InlineData("00001001 00000001 01020287 0000000000000000000000000000000000", 16, WireError.BadAlignment)]
    [InlineData("00000000 00000001 01020287 00000000000000000000000000000000", 16, WireError.BadValue)]
    public void Validation_names_the_problem(string hex, int icv, WireError expected)
    {
        Assert.False(EspPacket.TryValidate(Hex.Bytes(hex), icv, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void The_view_cuts_header_body_and_icv_where_the_sa_says()
    {
        var bytes = Hex.Bytes("00001001 0000002a 0102030405060708 0102 02 87" + string.Concat(Enumerable.Repeat("bb", 16)));
        Assert.True(EspPacket.TryCreate(bytes, 16, out var esp, out _));
        Assert.Equal(0x1001u, esp.Spi);
        Assert.Equal(42u, esp.SequenceNumber);
        Assert.Equal(12, esp.Body.Length);
        Assert.Equal(20, esp.Authenticated.Length);
        Assert.All(esp.Icv.ToArray(), b => Assert.Equal(0xbb, b));
    }

    [Theory]
    [InlineData("0102030405 0103 03 87", WireError.BadValue)] // padding 1, 3, … is not the default 1, 2, 3
    [InlineData("01 09 87", WireError.BadLength)]            // pad length 9 runs past the start
    public void The_trailer_reader_checks_padding_contents_and_length(string hex, WireError expected)
    {
        Assert.False(EspTrailer.TryRead(Hex.Bytes(hex), out _, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Any_payload_round_trips_with_at_most_three_padding_bytes()
    {
        Gen.Byte.Array[0, 300].Select(Gen.UInt[1, uint.MaxValue], Gen.UInt, Gen.Byte).Sample((payload, spi, seq, nh) =>
        {
            var repr = new EspRepr(Math.Max(spi, 1), seq, nh, new(payload), new(new byte[16]));
            var bytes = new byte[repr.Length];
            repr.WriteTo(bytes);
            Assert.Equal(0, (bytes.Length - 16) % 4);
            Assert.InRange(bytes.Length - 16 - 8 - payload.Length - 2, 0, 3);
            Assert.True(EspRepr.TryParse(bytes, 16, out var parsed, out _));
            Assert.Equal(repr, parsed);
        });
    }

    [Fact]
    public void Parsing_never_throws_on_arbitrary_bytes()
    {
        Gen.Byte.Array[0, 80].Select(Gen.Int[0, 32]).Sample((bytes, icv) =>
        {
            if (EspRepr.TryParse(bytes, icv, out var repr, out _)) Assert.InRange(repr!.Payload.Count, 0, bytes.Length - icv - EspPacket.HeaderLength - EspPacket.TrailerLength);
        });
    }

    /// <summary>
    /// An ESP-NULL packet carrying a PBU, its ICV computed here with the BCL's HMAC-SHA-256 (no DataPlane crypto
    /// involved), decoded by tshark given the SA: the inner PBU is dissected and the ICV is "[correct]"; a copy
    /// with one flipped bit is not.
    /// </summary>
    [Fact]
    public void Tshark_verifies_the_icv_and_dissects_the_inner_pbu()
    {
        var key = Hex.Bytes("8f3c2a7be1d94f06a5c3127e9b4d80f1c6a2e57d03b9481fa6e2c5d7190b3e4a");
        var mh = new byte[JudgeFrames.Pbu().GetLength()];
        JudgeFrames.Pbu().WriteTo(mh, JudgeFrames.Mag, JudgeFrames.Lma);
        var repr = new EspRepr(0x2000, 5, (byte)IpProtocol.Mobility, new(mh), new(new byte[16]));
        var esp = new byte[repr.Length];
        repr.WriteTo(esp);
        HMACSHA256.HashData(key, esp.AsSpan(0, esp.Length - 16)).AsSpan(0, 16).CopyTo(esp.AsSpan(esp.Length - 16));
        var tampered = (byte[])esp.Clone();
        tampered[12] ^= 0x01;

        var pcap = Path.Combine(_dir, "esp.pcap");
        using (var w = new PcapWriter(File.Create(pcap)))
        {
            w.Write(Frame(esp), TimeSpan.FromSeconds(1_700_000_000));
            w.Write(Frame(tampered), TimeSpan.FromSeconds(1_700_000_001));
        }
        var sa = $"uat:esp_sa:\"IPv6\",\"{JudgeFrames.Mag}\",\"{JudgeFrames.Lma}\",\"0x00002000\",\"NULL\",\"\",\"HMAC-SHA-256-128 [RFC4868]\",\"0x{Convert.ToHexString(key)}\"";
        var fields = Tshark.Fields(pcap, ["-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE", "-o", sa],
            "esp.spi", "esp.sequence", "esp.icv_good", "esp.icv_bad", "esp.protocol", "mip6.mhtype", "mip6.bu.seqnr");
        Assert.Equal("0x00002000", fields[1]["esp.spi"]);
        Assert.Equal("5", fields[1]["esp.sequence"]);
        Assert.Equal("0x87", fields[1]["esp.protocol"]); // 135, the Mobility Header
        Assert.Equal("5", fields[1]["mip6.mhtype"]);
        Assert.Equal("1", fields[1]["mip6.bu.seqnr"]);
        Assert.Equal("1", fields[1]["esp.icv_good"]);
        Assert.Equal("0", fields[1]["esp.icv_bad"]);
        Assert.Equal("0", fields[2]["esp.icv_good"]);
        Assert.Equal("1", fields[2]["esp.icv_bad"]);
    }

    private static byte[] Frame(byte[] esp)
    {
        var f = new byte[14 + 40 + esp.Length];
        EthernetFrame.WriteHeader(f, JudgeFrames.LmaMac, JudgeFrames.MagMac, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(f.AsSpan(14), JudgeFrames.Mag, JudgeFrames.Lma, IpProtocol.Esp, esp.Length);
        esp.CopyTo(f, 54);
        return f;
    }
}
