using BenchmarkDotNet.Attributes;
using DataPlane.Datapath;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Benchmarks;

/// <summary>
/// The data path's cost per packet in process (no syscalls): a VM's frame classified, checked and turned
/// into a tunnel verdict (hop limit decremented in place); a tunnelled packet checked and given its
/// Ethernet header for the VM; the LMA's two directions; and a 64 KB TSO super-frame from a VM cut into
/// MSS-sized segments with their checksums, cut with partial checksums, or kept whole for a tunnel path that carries
/// super-frames. Baseline: copying the same 1062-byte frame into the buffer,
/// which every benchmark also does so the frame is fresh each time.
/// </summary>
[MemoryDiagnoser]
public class DatapathBenchmarks
{
    private static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:100:1::2");
    private static readonly Ipv6Address LmaAddress = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:1001:1::/64");
    private static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:00:00:01");
    private static readonly Ipv6Address VmAddress = Hnp.WithInterfaceIdentifier(Ipv6Address.InterfaceIdentifierFromMac(VmMac));
    private static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:2::10");
    private static readonly PortId Port = new(1);
    private const int Headroom = 128;

    /// <summary>A tunnel path that carries super-frames whole (the packet uplink with its relabel program), or only completes checksums.</summary>
    private sealed class Offloads(bool superFrames) : ITunnelOffloads
    {
        public bool CarriesSuperFrames(Ipv6Address peer) => superFrames;
        public bool CompletesChecksums(Ipv6Address peer) => true;
    }

    private static readonly ITunnelOffloads Whole = new Offloads(superFrames: true), PartialChecksums = new Offloads(superFrames: false);

    private MagDatapath _mag = null!;
    private LmaDatapath _lma = null!;
    private byte[] _fromVm = null!, _toVm = null!, _fromHome = null!, _fromMag = null!, _tso = null!;
    private byte[] _buffer = null!;
    private OffloadInfo _tsoOffload;
    private Instant _now = Instant.FromDateTime(new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc));

    [GlobalSetup]
    public void Setup()
    {
        var magOptions = MagOptions.RecommendedForMigration(Coa, TimeSpan.FromMilliseconds(1));
        _mag = new MagDatapath(new MobileAccessGateway(magOptions, new SplitMix64Random(1)), new MagDatapathOptions { TunnelMtu = 1460 });
        _mag.AddPort(Port, "b0", VmMac);
        _mag.Execute(new MagAction.InstallSession(Port, VmMac, [Hnp], LmaAddress, null));
        var lmaOptions = new LmaOptions { LocalMobilityAnchorAddress = LmaAddress, AuthorizedMags = new HashSet<Ipv6Address> { Coa } };
        _lma = new LmaDatapath(new LocalMobilityAnchor(lmaOptions, new InMemoryLmaPolicy(), new SplitMix64Random(2)), new LmaDatapathOptions { TunnelMtu = 1460 });
        _lma.Execute(new LmaAction.TunnelUp(Coa));
        _lma.Execute(new LmaAction.RouteAdd(Hnp, Coa));

        _fromVm = EthernetUdp(VmAddress, Client, 1000);
        _toVm = Udp(Client, VmAddress, 1000);
        _fromHome = Udp(Client, VmAddress, 1000);
        _fromMag = Udp(VmAddress, Client, 1000);
        (_tso, _tsoOffload) = TsoFrame(64_000 - 14 - 40 - 20, 1400); // MSS for the 1460-byte tunnel MTU
        _buffer = new byte[Headroom + 70_000];

        // A benchmark that takes an error path measures nothing: check each verdict once.
        Expect(VmToTunnel(), VerdictKind.ToTunnel);
        Expect(TunnelToVm(), VerdictKind.ToPort);
        Expect(HomeToTunnel(), VerdictKind.ToTunnel);
        Expect(TunnelToHome(), VerdictKind.ToHome);
        var tso = TsoSegmentAndEncapsulate();
        if (tso < 40) throw new InvalidOperationException($"TSO frame cut into {tso} segments");
        if (TsoSegmentWithPartialChecksums() < 40) throw new InvalidOperationException("TSO frame not cut with partial checksums");
        var whole = TsoWhole();
        if (whole.Kind != VerdictKind.ToTunnel || !whole.Offload.IsGso) throw new InvalidOperationException($"TSO frame not kept whole: {whole}");
    }

    private static void Expect(Verdict v, VerdictKind kind)
    {
        if (v.Kind != kind) throw new InvalidOperationException($"expected {kind}, got {v}");
    }

    [Benchmark(Baseline = true)]
    public int CopyFrame()
    {
        _fromVm.CopyTo(_buffer, Headroom);
        return _buffer[Headroom + 20];
    }

    /// <summary>Classify + guards + hop limit + tunnel verdict for a VM's 1062-byte frame.</summary>
    [Benchmark]
    public Verdict VmToTunnel()
    {
        _fromVm.CopyTo(_buffer, Headroom);
        _now += TimeSpan.FromMilliseconds(1);
        return _mag.FromPort(Port, _buffer, Headroom, _fromVm.Length, OffloadInfo.None, _now);
    }

    /// <summary>Decapsulated packet checked against the session's LMA and prefix, Ethernet header written in the headroom.</summary>
    [Benchmark]
    public Verdict TunnelToVm()
    {
        _toVm.CopyTo(_buffer, Headroom);
        return _mag.FromTunnel(_buffer, Headroom, _toVm.Length, LmaAddress, Coa, _now);
    }

    [Benchmark]
    public Verdict HomeToTunnel()
    {
        _fromHome.CopyTo(_buffer, Headroom);
        return _lma.FromHome(_buffer, Headroom, _fromHome.Length, _now);
    }

    [Benchmark]
    public Verdict TunnelToHome()
    {
        _fromMag.CopyTo(_buffer, Headroom);
        return _lma.FromTunnel(_buffer, Headroom, _fromMag.Length, Coa, LmaAddress, _now);
    }

    /// <summary>A 64 KB TCPv6 TSO super-frame with a partial checksum, cut into 1400-byte segments ready for the tunnel.</summary>
    [Benchmark]
    public int TsoSegmentAndEncapsulate()
    {
        _tso.CopyTo(_buffer, Headroom);
        _now += TimeSpan.FromMilliseconds(1);
        var v = _mag.FromPort(Port, _buffer, Headroom, _tso.Length, _tsoOffload, _now);
        int n = v.Kind == VerdictKind.Segmented ? v.SegmentCount : 0;
        _mag.Segments.Clear();
        return n;
    }

    /// <summary>The same frame where the tunnel path only completes checksums: cut, each segment with a partial checksum (no pass over the payload).</summary>
    [Benchmark]
    public int TsoSegmentWithPartialChecksums()
    {
        _mag.TunnelOffloads = PartialChecksums;
        try
        {
            return TsoSegmentAndEncapsulate();
        }
        finally
        {
            _mag.TunnelOffloads = null;
        }
    }

    /// <summary>The same frame where the tunnel path carries super-frames: checked once and forwarded whole with its GSO descriptor.</summary>
    [Benchmark]
    public Verdict TsoWhole()
    {
        _mag.TunnelOffloads = Whole;
        try
        {
            _tso.CopyTo(_buffer, Headroom);
            _now += TimeSpan.FromMilliseconds(1);
            return _mag.FromPort(Port, _buffer, Headroom, _tso.Length, _tsoOffload, _now);
        }
        finally
        {
            _mag.TunnelOffloads = null;
        }
    }

    private static byte[] Udp(Ipv6Address src, Ipv6Address dst, int payload)
    {
        var p = new byte[40 + 8 + payload];
        Ipv6Packet.WriteHeader(p, src, dst, IpProtocol.Udp, 8 + payload, hopLimit: 64);
        UdpDatagram.WriteHeader(p.AsSpan(40), 5000, 6000, payload);
        UdpDatagram.TryCreate(p.AsSpan(40), out var udp, out _);
        udp.FillChecksum(src, dst);
        return p;
    }

    private static byte[] EthernetUdp(Ipv6Address src, Ipv6Address dst, int payload)
    {
        var ip = Udp(src, dst, payload);
        var f = new byte[14 + ip.Length];
        EthernetFrame.WriteHeader(f, PmipDefaults.SharedMagMacAddress, VmMac, EtherType.Ipv6);
        ip.CopyTo(f, 14);
        return f;
    }

    /// <summary>What a VM hands a vnet_hdr port for a large TCP write: one frame, NEEDS_CSUM, GSO TCPv6.</summary>
    private static (byte[], OffloadInfo) TsoFrame(int payload, ushort mss)
    {
        var f = new byte[14 + 40 + 20 + payload];
        EthernetFrame.WriteHeader(f, PmipDefaults.SharedMagMacAddress, VmMac, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(f.AsSpan(14), VmAddress, Client, IpProtocol.Tcp, 20 + payload, hopLimit: 64);
        TcpSegment.WriteHeader(f.AsSpan(54), 40000, 5201, 1, 1, TcpFlags.Ack | TcpFlags.Psh, 65535);
        // Partial checksum: the pseudo-header sum only, as the kernel leaves it.
        uint pseudo = InternetChecksum.PseudoHeader(VmAddress, Client, (uint)(20 + payload), (byte)IpProtocol.Tcp);
        ushort partial = (ushort)~InternetChecksum.Finish(pseudo);
        f[54 + 16] = (byte)(partial >> 8);
        f[54 + 17] = (byte)partial;
        return (f, OffloadInfo.TcpSegmentation(GsoType.TcpV6, mss, 14 + 40 + 20, 14 + 40, 16));
    }
}
