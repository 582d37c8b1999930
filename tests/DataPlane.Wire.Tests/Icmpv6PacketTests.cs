using DataPlane.Tests.Shared;
using CsCheck;

namespace DataPlane.Wire.Tests;

/// <summary>The generic ICMPv6 view, checksums, error-message truncation, allocation and robustness.</summary>
public class Icmpv6PacketTests
{
    private static readonly Ipv6Address Source = Ipv6Address.Parse("fe80::200:5eff:fe00:5213");
    private static readonly Ipv6Address Destination = Ipv6Address.Parse("fe80::5054:ff:fe12:3456");
    private static readonly MacAddress Mac = MacAddress.Parse("00:00:5e:00:52:13");

    [Theory]
    [InlineData(Icmpv6Type.DestinationUnreachable, 8)]
    [InlineData(Icmpv6Type.PacketTooBig, 8)]
    [InlineData(Icmpv6Type.TimeExceeded, 8)]
    [InlineData(Icmpv6Type.ParameterProblem, 8)]
    [InlineData(Icmpv6Type.EchoRequest, 8)]
    [InlineData(Icmpv6Type.EchoReply, 8)]
    [InlineData(Icmpv6Type.MulticastListenerQuery, 24)]
    [InlineData(Icmpv6Type.MulticastListenerReport, 24)]
    [InlineData(Icmpv6Type.MulticastListenerDone, 24)]
    [InlineData(Icmpv6Type.Version2MulticastListenerReport, 8)]
    [InlineData(Icmpv6Type.RouterSolicitation, 8)]
    [InlineData(Icmpv6Type.RouterAdvertisement, 16)]
    [InlineData(Icmpv6Type.NeighborSolicitation, 24)]
    [InlineData(Icmpv6Type.NeighborAdvertisement, 24)]
    [InlineData(Icmpv6Type.Redirect, 40)]
    [InlineData((Icmpv6Type)200, 4)]
    public void Each_type_needs_its_fixed_part(Icmpv6Type type, int minimum)
    {
        var buffer = new byte[minimum];
        buffer[0] = (byte)type;
        Assert.True(Icmpv6Packet.TryCreate(buffer, out var p, out var err), err.ToString());
        Assert.Equal(type, p.Type);
        Assert.Equal(minimum - 4, p.MessageBody.Length);
        Assert.False(Icmpv6Packet.TryCreate(buffer.AsSpan(0, minimum - 1), out _, out err));
        Assert.Equal(WireError.Truncated, err);
    }

    [Fact]
    public void Fewer_than_four_bytes_is_truncated()
    {
        Assert.False(Icmpv6Packet.TryCreate(new byte[3], out _, out var err));
        Assert.Equal(WireError.Truncated, err);
        Assert.False(Icmpv6Packet.IsChecksumValid(new byte[3], Source, Destination));
    }

    [Fact]
    public void Truncated_nd_messages_are_truncated_to_every_parser()
    {
        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborAdvertisement(buffer, Source, Destination, NeighborAdvertisementFlags.Solicited, Source, null);
        var cut = buffer.AsSpan(0, n - 1);
        Assert.False(NeighborAdvertisementView.TryCreate(cut, out _, out var err));
        Assert.Equal(WireError.Truncated, err);
        Assert.False(NeighborAdvertisement.TryParse(cut, out _, out err));
        Assert.Equal(WireError.Truncated, err);

        n = Icmpv6Writer.WriteRouterAdvertisement(buffer, Source, Destination, default, null, null, []);
        Assert.Equal(16, n);
        Assert.False(RouterAdvertisement.TryParse(buffer.AsSpan(0, 15), out _, out err));
        Assert.Equal(WireError.Truncated, err);
        Assert.False(PacketTooBig.TryParse(new byte[] { 2, 0, 0, 0, 0, 0, 5 }, out _, out err));
        Assert.Equal(WireError.Truncated, err);
    }

    [Fact]
    public void Bad_checksum_is_detected()
    {
        var buffer = new byte[64];
        int n = Icmpv6Writer.WriteNeighborSolicitation(buffer, Source, Destination, Destination, Mac);
        var message = buffer.AsSpan(0, n);
        Assert.True(Icmpv6Packet.TryCreate(message, Source, Destination, out _, out var err), err.ToString());

        message[20] ^= 0x01;
        Assert.False(Icmpv6Packet.IsChecksumValid(message, Source, Destination));
        Assert.False(Icmpv6Packet.TryCreate(message, Source, Destination, out _, out err));
        Assert.Equal(WireError.BadChecksum, err);

        // The parser itself cannot see it (it has no addresses); FillChecksum repairs it.
        Assert.True(NeighborSolicitation.TryParse(message, out _, out _));
        Assert.True(Icmpv6Packet.TryCreate(message, out var p, out _));
        p.FillChecksum(Source, Destination);
        Assert.True(p.IsChecksumValid(Source, Destination));
        Assert.False(p.IsChecksumValid(Destination, Source.SolicitedNodeMulticast));
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(100, 108)]
    [InlineData(1232, 1240)]
    [InlineData(1233, 1240)]
    [InlineData(9000, 1240)]
    public void Error_messages_keep_the_ipv6_packet_within_1280_bytes(int invokingLength, int expected)
    {
        var invoking = new byte[invokingLength];
        for (int i = 0; i < invoking.Length; i++) invoking[i] = (byte)(i * 7);
        var buffer = new byte[1300];
        int n = Icmpv6Writer.WriteDestinationUnreachable(buffer, Source, Destination, DestinationUnreachableCode.AddressUnreachable, invoking);
        Assert.Equal(expected, n);
        Assert.Equal(expected, Icmpv6Writer.ErrorMessageLength(invokingLength));
        Assert.True(Icmpv6Packet.IsChecksumValid(buffer.AsSpan(0, n), Source, Destination));
        Assert.True(buffer.AsSpan(8, n - 8).SequenceEqual(invoking.AsSpan(0, n - 8)));
        Assert.True(Ipv6Packet.HeaderLength + n <= Icmpv6Packet.MinimumMtu);
    }

    [Fact]
    public void Error_writer_refuses_informational_types_and_small_buffers()
    {
        var buffer = new byte[64];
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            Icmpv6Writer.WriteErrorMessage(buffer, Source, Destination, Icmpv6Type.EchoRequest, 0, 0, []));
        // A destination too small is a programming error: it throws (ArgumentException or a subclass).
        Assert.ThrowsAny<ArgumentException>(() =>
            Icmpv6Writer.WritePacketTooBig(buffer, Source, Destination, 1280, new byte[100]));
        Assert.ThrowsAny<ArgumentException>(() =>
            Icmpv6Writer.WriteNeighborAdvertisement(new byte[31], Source, Destination, default, Source, Mac));
    }

    [Fact]
    public void Data_path_writers_and_views_do_not_allocate()
    {
        var buffer = new byte[1500];
        var prefixes = new[]
        {
            new PrefixInformation(Ipv6Prefix.Parse("2001:db8:1::/64"), PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 3600, 1800),
        };
        var dns = new[] { Ipv6Address.Parse("2001:db8::53") };
        var invoking = new byte[1500];
        var fields = new RouterAdvertisementFields(64, RouterAdvertisementFlags.None, 1800, 0, 0);

        long total = WriteAndReadEverything(buffer, prefixes, dns, invoking, fields); // warm up (JIT)
        long allocated = Allocations.BestWindow(() => total += WriteAndReadEverything(buffer, prefixes, dns, invoking, fields), rounds: 100, warmUp: 0);

        Assert.Equal(0, allocated);
        Assert.True(total > 0);
    }

    private static long WriteAndReadEverything(byte[] buffer, PrefixInformation[] prefixes, Ipv6Address[] dns, byte[] invoking,
        RouterAdvertisementFields fields)
    {
        long sum = 0;
        int n = Icmpv6Writer.WriteRouterAdvertisement(buffer, Source, Destination, fields, Mac, 1460, prefixes, 600, dns);
        if (RouterAdvertisementView.TryCreate(buffer.AsSpan(0, n), out var ra, out _))
        {
            var options = ra.Options;
            while (options.MoveNext())
            {
                if (options.CurrentType == NdOptionType.PrefixInformation && NdOption.TryReadPrefixInformation(options.Current, out var pio, out _))
                    sum += pio.ValidLifetime;
                if (options.CurrentType == NdOptionType.RecursiveDnsServer && NdOption.TryReadRecursiveDnsServer(options.Current, out var r, out _))
                    foreach (var a in r) sum += (long)(a.Low & 0xFF);
            }
            sum += ra.RouterLifetime;
        }
        n = Icmpv6Writer.WriteNeighborSolicitation(buffer, Source, Destination, Destination, Mac);
        if (NeighborSolicitationView.TryCreate(buffer.AsSpan(0, n), out var ns, out _) && ns.TryGetSourceLinkLayerAddress(out var slla, out _))
            sum += (long)(slla?.Value ?? 0) & 0xFF;
        n = Icmpv6Writer.WriteNeighborAdvertisement(buffer, Source, Destination, NeighborAdvertisementFlags.Solicited, Source, Mac);
        if (NeighborAdvertisementView.TryCreate(buffer.AsSpan(0, n), out var na, out _) && na.Packet.IsChecksumValid(Source, Destination))
            sum += (long)(na.Target.Low & 0xFF);
        n = Icmpv6Writer.WritePacketTooBig(buffer, Source, Destination, 1460, invoking);
        if (Icmpv6ErrorView.TryCreate(buffer.AsSpan(0, n), out var ptb, out _))
            sum += ptb.Mtu + ptb.InvokingPacket.Length;
        n = Icmpv6Writer.WriteRouterSolicitation(buffer, Destination, Ipv6Address.AllRouters, Mac);
        sum += n;
        return sum;
    }

    // ---------------------------------------------------------------- robustness

    [Fact]
    public void Random_bytes_never_throw()
    {
        Gen.Byte.Array[0, 80].Sample(ParseEverything, iter: 20_000);
    }

    [Fact]
    public void Mutated_valid_messages_never_throw_and_what_parses_round_trips()
    {
        byte[][] seeds = [.. ValidMessages()];
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 200], Gen.Byte, Gen.Int[0, 200])
            .Sample((which, at, value, cut) =>
            {
                var b = (byte[])seeds[which].Clone();
                if (at < b.Length) b[at] = value;
                ParseEverything(b.AsSpan(0, Math.Min(cut, b.Length)).ToArray());
            }, iter: 20_000);
    }

    private static IEnumerable<byte[]> ValidMessages()
    {
        var buffer = new byte[256];
        PrefixInformation[] prefixes =
        [
            new(Ipv6Prefix.Parse("2001:db8:1::/64"), PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 3600, 1800),
        ];
        Ipv6Address[] dns = [Ipv6Address.Parse("2001:db8::53"), Ipv6Address.Parse("2001:db8::35")];
        int n = Icmpv6Writer.WriteRouterAdvertisement(buffer, Source, Destination, new(64, 0, 1800, 0, 0), Mac, 1460, prefixes, 600, dns);
        yield return buffer[..n];
        n = Icmpv6Writer.WriteRouterSolicitation(buffer, Source, Destination, Mac);
        yield return buffer[..n];
        n = Icmpv6Writer.WriteNeighborSolicitation(buffer, Source, Destination, Destination, Mac);
        yield return buffer[..n];
        n = Icmpv6Writer.WriteNeighborAdvertisement(buffer, Source, Destination, NeighborAdvertisementFlags.Override, Source, Mac);
        yield return buffer[..n];
        n = Icmpv6Writer.WritePacketTooBig(buffer, Source, Destination, 1280, new byte[48]);
        yield return buffer[..n];
        n = Icmpv6Writer.WriteEchoRequest(buffer, Source, Destination, 1, 2, "abc"u8);
        yield return buffer[..n];
        yield return Hex.Bytes("89009e0600000000fe80000000000000000000000000000120010db800ff000000000000000000010201020000000001");
    }

    /// <summary>Every parser and every accessor of every view that accepts the bytes; parsed forms must survive a write and re-parse.</summary>
    private static void ParseEverything(byte[] bytes)
    {
        var src = Source;
        var dst = Destination;
        if (Icmpv6Packet.TryCreate(bytes, out var p, out _))
        {
            _ = (p.Type, p.Code, p.Checksum, p.MessageBody.Length, p.IsError, p.IsChecksumValid(src, dst));
        }
        if (RouterSolicitationView.TryCreate(bytes, out var rs, out _))
        {
            _ = rs.TryGetSourceLinkLayerAddress(out _, out _);
            WalkOptions(rs.Options);
        }
        if (RouterAdvertisementView.TryCreate(bytes, out var ra, out _))
        {
            _ = (ra.CurHopLimit, ra.Flags, ra.RouterLifetime, ra.ReachableTime, ra.RetransTimer, ra.Fields);
            WalkOptions(ra.Options);
        }
        if (NeighborSolicitationView.TryCreate(bytes, out var ns, out _))
        {
            _ = (ns.Target, ns.TryGetSourceLinkLayerAddress(out _, out _));
            WalkOptions(ns.Options);
        }
        if (NeighborAdvertisementView.TryCreate(bytes, out var na, out _))
        {
            _ = (na.Flags, na.Target, na.TryGetTargetLinkLayerAddress(out _, out _));
            WalkOptions(na.Options);
        }
        if (RedirectView.TryCreate(bytes, out var rd, out _))
        {
            _ = (rd.Target, rd.Destination);
            WalkOptions(rd.Options);
        }
        if (Icmpv6ErrorView.TryCreate(bytes, out var ev, out _)) _ = (ev.Type, ev.Code, ev.Parameter, ev.InvokingPacket.Length);
        if (EchoView.TryCreate(bytes, out var echo, out _)) _ = (echo.Identifier, echo.SequenceNumber, echo.Data.Length);

        var buffer = new byte[2048];
        if (RouterSolicitation.TryParse(bytes, out var rsr, out _)) AssertRoundTrip(rsr, rsr.WriteTo(buffer, src, dst), rsr.GetLength(), buffer, RouterSolicitation.TryParse);
        if (RouterAdvertisement.TryParse(bytes, out var rar, out _)) AssertRoundTrip(rar, rar.WriteTo(buffer, src, dst), rar.GetLength(), buffer, RouterAdvertisement.TryParse);
        if (NeighborSolicitation.TryParse(bytes, out var nsr, out _)) AssertRoundTrip(nsr, nsr.WriteTo(buffer, src, dst), nsr.GetLength(), buffer, NeighborSolicitation.TryParse);
        if (NeighborAdvertisement.TryParse(bytes, out var nar, out _)) AssertRoundTrip(nar, nar.WriteTo(buffer, src, dst), nar.GetLength(), buffer, NeighborAdvertisement.TryParse);
        if (PacketTooBig.TryParse(bytes, out var ptb, out _)) AssertRoundTrip(ptb, ptb.WriteTo(buffer, src, dst), ptb.GetLength(), buffer, PacketTooBig.TryParse);
        if (Icmpv6ErrorMessage.TryParse(bytes, out var em, out _)) AssertRoundTrip(em, em.WriteTo(buffer, src, dst), em.GetLength(), buffer, Icmpv6ErrorMessage.TryParse);
    }

    private static void WalkOptions(NdOptionReader reader)
    {
        while (reader.MoveNext())
        {
            var o = reader.Current;
            _ = NdOption.TryReadLinkLayerAddress(o, out _, out _);
            _ = NdOption.TryReadPrefixInformation(o, out _, out _);
            _ = NdOption.TryReadMtu(o, out _, out _);
            _ = NdOption.TryReadRedirectedHeader(o, out _, out _);
            if (NdOption.TryReadRecursiveDnsServer(o, out var r, out _))
                foreach (var a in r) _ = a;
        }
    }

    private delegate bool Parser<T>(ReadOnlySpan<byte> icmpv6, out T repr, out WireError error);

    private static void AssertRoundTrip<T>(T repr, int written, int length, byte[] buffer, Parser<T> parse)
    {
        Assert.Equal(length, written);
        Assert.True(Icmpv6Packet.IsChecksumValid(buffer.AsSpan(0, written), Source, Destination));
        Assert.True(parse(buffer.AsSpan(0, written), out var again, out var err), err.ToString());
        Assert.Equal(repr, again);
    }
}
