using CsCheck;

namespace DataPlane.Wire.Tests;

/// <summary>parse(write(x)) == x for generated ND, error, ARP and DHCP messages.</summary>
public class GeneratedRoundTripTests
{
    private const long Iterations = 3_000;
    private static readonly Ipv6Address Src = Ipv6Address.Parse("fe80::200:5eff:fe00:5213");
    private static readonly Ipv6Address Dst = Ipv6Address.Parse("fe80::5054:ff:fe12:3456");

    private static readonly Gen<MacAddress?> OptionalMac = Gen.Frequency((1, Gen.Const((MacAddress?)null)), (3, Generators.Mac.Select(m => (MacAddress?)m)));
    private static readonly Gen<Ipv6Address> UnicastV6 = Generators.Ipv6.Where(a => !a.IsMulticast);

    private static readonly Gen<PrefixInformation> Prefix = Gen.Select(Generators.Prefix, Gen.Byte, Gen.UInt, Gen.UInt,
        (p, f, v, pr) => new PrefixInformation(p, (PrefixInformationFlags)(f & 0xE0), v, pr));

    private static readonly Gen<RouterAdvertisement> Ra = Gen.Select(
        Gen.Select(Gen.Byte, Gen.Byte, Gen.UShort, Gen.UInt, Gen.UInt, (h, f, l, r, t) => new RouterAdvertisementFields(h, (RouterAdvertisementFlags)f, l, r, t)),
        OptionalMac,
        Gen.Frequency((1, Gen.Const((uint?)null)), (2, Gen.UInt.Select(m => (uint?)m))),
        Prefix.Array[0, 4],
        Gen.Frequency((1, Gen.Const((RecursiveDnsServerOption?)null)),
            (1, Gen.Select(Gen.UInt, UnicastV6.Array[1, 3], (l, a) => (RecursiveDnsServerOption?)new RecursiveDnsServerOption(l, new EquatableArray<Ipv6Address>(a))))),
        (f, mac, mtu, p, dns) => new RouterAdvertisement(f, mac, mtu, new EquatableArray<PrefixInformation>(p), dns));

    private static void RoundTrip<T>(T message, Func<T, int> length, Func<T, byte[], int> write, TryParse<T> parse)
    {
        var buffer = new byte[length(message)];
        Assert.Equal(buffer.Length, write(message, buffer));
        Assert.True(Icmpv6Packet.IsChecksumValid(buffer, Src, Dst));
        Assert.True(parse(buffer, out var back, out var err), err.ToString());
        Assert.Equal(message, back);
    }

    private delegate bool TryParse<T>(ReadOnlySpan<byte> b, out T value, out WireError error);

    [Fact]
    public void Router_advertisements() => Ra.Sample(ra =>
        RoundTrip(ra, m => m.GetLength(), (m, b) => m.WriteTo(b, Src, Dst), RouterAdvertisement.TryParse), iter: Iterations);

    [Fact]
    public void Router_solicitations() => OptionalMac.Select(m => new RouterSolicitation(m)).Sample(rs =>
        RoundTrip(rs, m => m.GetLength(), (m, b) => m.WriteTo(b, Src, Dst), RouterSolicitation.TryParse), iter: Iterations);

    [Fact]
    public void Neighbor_solicitations() => Gen.Select(UnicastV6, OptionalMac, (t, m) => new NeighborSolicitation(t, m)).Sample(ns =>
        RoundTrip(ns, m => m.GetLength(), (m, b) => m.WriteTo(b, Src, Dst), NeighborSolicitation.TryParse), iter: Iterations);

    [Fact]
    public void Neighbor_advertisements() => Gen.Select(Gen.Byte, UnicastV6, OptionalMac,
        (f, t, m) => new NeighborAdvertisement((NeighborAdvertisementFlags)(f & 0xE0), t, m)).Sample(na =>
        RoundTrip(na, m => m.GetLength(), (m, b) => m.WriteTo(b, Src, Dst), NeighborAdvertisement.TryParse), iter: Iterations);

    [Fact]
    public void Packet_too_big() => Gen.Select(Gen.UInt, Gen.Byte.Array[0, 1232], (mtu, p) => new PacketTooBig(mtu, new OctetString(p))).Sample(ptb =>
        RoundTrip(ptb, m => m.GetLength(), (m, b) => m.WriteTo(b, Src, Dst), PacketTooBig.TryParse), iter: 500);

    [Fact]
    public void Arp_and_rarp() => Gen.Select(Gen.UShort[1, 4], Generators.Mac, Generators.Ipv4, Generators.Mac, Generators.Ipv4,
        (op, sha, spa, tha, tpa) => new ArpRepr((ArpOperation)op, sha, spa, tha, tpa)).Sample(arp =>
        {
            var b = new byte[ArpPacket.Length];
            arp.WriteTo(b);
            Assert.True(ArpRepr.TryParse(b, out var back, out _));
            Assert.Equal(arp, back);
        }, iter: Iterations);

    private static readonly Gen<OctetString?> OptionalText = Gen.Frequency((1, Gen.Const((OctetString?)null)),
        (1, Gen.Byte[0x21, 0x7e].Array[1, 30].Select(b => (OctetString?)new OctetString(b))));

    private static readonly Gen<DhcpRepr> Dhcp =
        Gen.Select(Gen.Int[1, 8], Gen.UInt, Generators.Mac, Gen.Bool, Generators.Ipv4.Array[4],
            (type, xid, mac, broadcast, addrs) => new DhcpRepr((DhcpMessageType)type, xid, mac)
            {
                Flags = broadcast ? DhcpFlags.Broadcast : DhcpFlags.None,
                ClientAddress = addrs[0], YourAddress = addrs[1], ServerAddress = addrs[2], RelayAgentAddress = addrs[3],
            })
        .SelectMany(d => Gen.Select(
            Gen.Frequency((1, Gen.Const((Ipv4Address?)null)), (1, Generators.Ipv4.Select(a => (Ipv4Address?)a))).Array[3],
            Gen.Frequency((1, Gen.Const((uint?)null)), (1, Gen.UInt.Select(a => (uint?)a))).Array[3],
            Generators.Ipv4.Array[0, 3], Generators.Ipv4.Array[0, 3],
            Gen.Frequency((1, Gen.Const((ushort?)null)), (1, Gen.UShort[68, ushort.MaxValue].Select(a => (ushort?)a))),
            Gen.Select(OptionalText, OptionalText, OptionalText),
            Gen.Byte[1, 254].Where(c => c != 52).Select(c => (DhcpOptionCode)c).Array[0, 6],
            (a, t, routers, dns, mtu, texts, prl) => d with
            {
                RequestedIpAddress = a[0], ServerIdentifier = a[1], SubnetMask = a[2],
                LeaseTime = t[0], RenewalTime = t[1], RebindingTime = t[2],
                Routers = new EquatableArray<Ipv4Address>(routers), DomainNameServers = new EquatableArray<Ipv4Address>(dns),
                InterfaceMtu = mtu,
                HostName = texts.Item1, DomainName = texts.Item2,
                ClientIdentifier = texts.Item3 is { Length: >= 2 } ? texts.Item3 : null,
                ParameterRequestList = new EquatableArray<DhcpOptionCode>(prl),
            }));

    [Fact]
    public void Dhcp_messages() => Dhcp.Sample(m =>
    {
        var b = new byte[m.GetLength()];
        Assert.Equal(b.Length, m.WriteTo(b));
        Assert.True(b.Length >= 300);
        Assert.True(DhcpRepr.TryParse(b, out var back, out var err), err.ToString());
        Assert.Equal(m, back);
    }, iter: Iterations);
}
