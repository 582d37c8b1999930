using System.Text;
using BenchmarkDotNet.Attributes;
using DataPlane.Wire;

namespace DataPlane.Benchmarks;

/// <summary>
/// The wire layer's share of the per-packet cost: parsing and classifying a data frame (the fast path,
/// which must allocate nothing) and building a PBU (the signalling path). The checksum over the
/// frame is the baseline the others can be read against.
/// </summary>
[MemoryDiagnoser]
public class WireBenchmarks
{
    private static readonly Ipv6Address VmAddress = Ipv6Address.Parse("2001:db8:1::5054:ff:fe12:3456");
    private static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:2::1");
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:100::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:12:34:56");
    private static readonly MacAddress SharedMac = MacAddress.Parse("00:00:5e:00:52:13");
    private static readonly byte[] Nai = Encoding.UTF8.GetBytes("vm1@example.com");

    private readonly byte[] _frame = new byte[14 + 40 + 20 + 1400];
    private readonly byte[] _pbu = new byte[256];
    private BindingUpdate _pbuRepr = null!;

    [GlobalSetup]
    public void Setup()
    {
        int at = EthernetFrame.WriteHeader(_frame, SharedMac, VmMac, EtherType.Ipv6);
        at += Ipv6Packet.WriteHeader(_frame.AsSpan(at), VmAddress, Client, IpProtocol.Tcp, 20 + 1400);
        TcpSegment.WriteHeader(_frame.AsSpan(at), 40000, 5201, 123456, 1, TcpFlags.Ack, 65535);
        _pbuRepr = new BindingUpdate(1, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
        {
            Options = new([
                new HomeNetworkPrefixOption(Ipv6Prefix.Parse("2001:db8:1::/64")),
                new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
                new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
                new TimestampOption(new PmipTimestamp(0x00006553f1008000)),
                MobileNodeLinkLayerIdentifierOption.ForMac(VmMac),
                new LinkLocalAddressOption(Ipv6Address.Parse("fe80::1")),
                MobileNodeIdentifierOption.ForNai("vm1@example.com"),
            ]),
        };
        // A benchmark that silently takes an error branch measures nothing: check each does the work.
        if (ParseEthernetIpv6Tcp() != 123456 + 5201 + 64) throw new InvalidOperationException("parse benchmark took an error path");
        if (ClassifyFrame() != (int)FrameKind.Ipv6 + 5201) throw new InvalidOperationException("classify benchmark took an error path");
        if (BuildPbu() != 112 || WritePbuRepr() != 112) throw new InvalidOperationException("PBU benchmarks did not build the 112-byte PBU");
    }

    /// <summary>Baseline: one pass of the Internet checksum over the whole 1474-byte frame.</summary>
    [Benchmark(Baseline = true)]
    public ushort ChecksumFrame() => InternetChecksum.Compute(_frame);

    /// <summary>Ethernet → IPv6 → extension walk → TCP header fields, through the checked views.</summary>
    [Benchmark]
    public uint ParseEthernetIpv6Tcp()
    {
        if (!EthernetFrame.TryCreate(_frame, out var eth, out _)) return 0;
        if (!Ipv6Packet.TryCreate(eth.Payload, out var ip, out _)) return 0;
        if (!ip.TryWalkHeaders(out var chain, out _)) return 0;
        if (!TcpSegment.TryCreate(ip.Payload[chain.UpperLayerOffset..], out var tcp, out _)) return 0;
        return tcp.SequenceNumber + tcp.DestinationPort + (uint)ip.HopLimit;
    }

    /// <summary>The one-pass classification the switch does on every frame.</summary>
    [Benchmark]
    public int ClassifyFrame()
    {
        FrameClassifier.Classify(_frame, out var info);
        return (int)info.Kind + info.DestinationPort;
    }

    /// <summary>A full PBU (the reference vector) through the zero-allocation builder.</summary>
    [Benchmark]
    public int BuildPbu()
    {
        var b = new MobilityHeaderBuilder(_pbu, MobilityHeaderType.BindingUpdate, MobilityHeader.BindingUpdateBodyLength);
        BindingUpdate.WriteBody(b.Body, 1, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900);
        b.AddHomeNetworkPrefix(new Ipv6Prefix(new Ipv6Address(0x20010db800010000UL, 0), 64));
        b.AddHandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
        b.AddAccessTechnologyType(AccessTechnologyType.Virtual);
        b.AddTimestamp(new PmipTimestamp(0x00006553f1008000));
        b.AddMobileNodeLinkLayerIdentifier(VmMac);
        b.AddLinkLocalAddress(new Ipv6Address(0xfe80_0000_0000_0000UL, 1));
        b.AddMobileNodeIdentifierNai(Nai);
        return b.Finish(Mag, Lma);
    }

    /// <summary>The same PBU from its parsed representation (what the protocol core hands the I/O layer).</summary>
    [Benchmark]
    public int WritePbuRepr() => _pbuRepr.WriteTo(_pbu, Mag, Lma);
}
