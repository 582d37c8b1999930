using BenchmarkDotNet.Attributes;
using DataPlane.Datapath;
using DataPlane.Wire;

namespace DataPlane.Benchmarks;

/// <summary>
/// Userspace GRO (<see cref="TcpCoalescer"/>) on what the LMA's tunnel socket hands it during a bulk TCP
/// transfer: a batch of 46 consecutive 1400-byte-payload segments of one flow (a 64 KB TSO write cut by the
/// MAG), each verified and appended to the first, which leaves as one GSO super-packet. Reported per batch;
/// divide by 46 for the cost per segment. Baseline: restoring the head's bytes and the entries, which every
/// run also does. The second case mixes in a second flow and a UDP packet every few segments.
/// </summary>
[MemoryDiagnoser]
public class CoalescerBenchmarks
{
    private const int Segments = 46;
    private const int Mss = 1400;
    private const int Headroom = 128;
    private static readonly Ipv6Address Vm = Ipv6Address.Parse("2001:db8:1001:1:5054:ff:fe00:1");
    private static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:2::10");

    private byte[][] _slots = null!;
    private CoalesceEntry[] _template = null!, _entries = null!;
    private byte[] _head = null!;
    private byte[][] _mixedSlots = null!;
    private CoalesceEntry[] _mixedTemplate = null!, _mixedEntries = null!;
    private byte[][] _mixedHeads = null!;
    private readonly TcpCoalescer _gro = new(linkHeaderLength: 0);

    private readonly struct Slots(byte[][] slots) : IFrameSlots
    {
        public Span<byte> Slot(int slot) => slots[slot];
    }

    [GlobalSetup]
    public void Setup()
    {
        (_slots, _template) = Flow(Vm, 40000, 0);
        _entries = new CoalesceEntry[Segments];
        _head = _slots[0].AsSpan(Headroom, _template[0].Length).ToArray();

        // Two flows interleaved, a UDP packet after every 8 segments.
        var (a, ea) = Flow(Vm, 40000, 0);
        var (b, eb) = Flow(Vm, 40001, Segments);
        var slots = new List<byte[]>(a.Concat(b));
        var entries = new List<CoalesceEntry>();
        for (int i = 0; i < Segments; i++)
        {
            entries.Add(ea[i]);
            entries.Add(eb[i]);
            if (i % 8 == 7)
            {
                var u = new byte[Headroom + 1500];
                Ipv6Packet.WriteHeader(u.AsSpan(Headroom), Client, Vm, IpProtocol.Udp, 8 + 500, 64);
                slots.Add(u);
                entries.Add(new CoalesceEntry(slots.Count - 1, Headroom, 40 + 8 + 500));
            }
        }
        _mixedSlots = [.. slots];
        _mixedTemplate = [.. entries];
        _mixedEntries = new CoalesceEntry[_mixedTemplate.Length];
        _mixedHeads = [_mixedSlots[0].AsSpan(Headroom, ea[0].Length).ToArray(), _mixedSlots[Segments].AsSpan(Headroom, eb[0].Length).ToArray()];

        if (OneFlow() != 1 || TwoFlowsAndUdp() != 2 + Segments / 8) throw new InvalidOperationException("did not coalesce");
    }

    [Benchmark(Baseline = true)]
    public int Restore()
    {
        _head.CopyTo(_slots[0], Headroom);
        _template.CopyTo(_entries, 0);
        return _entries.Length;
    }

    /// <summary>46 segments of one flow → one super-packet.</summary>
    [Benchmark]
    public int OneFlow()
    {
        _head.CopyTo(_slots[0], Headroom);
        _template.CopyTo(_entries, 0);
        return _gro.Coalesce(new Slots(_slots), _entries);
    }

    /// <summary>92 segments of two interleaved flows and 5 UDP packets → two super-packets and the UDP ones.</summary>
    [Benchmark]
    public int TwoFlowsAndUdp()
    {
        _mixedHeads[0].CopyTo(_mixedSlots[0], Headroom);
        _mixedHeads[1].CopyTo(_mixedSlots[Segments], Headroom);
        _mixedTemplate.CopyTo(_mixedEntries, 0);
        return _gro.Coalesce(new Slots(_mixedSlots), _mixedEntries);
    }

    /// <summary>Segments of a bulk flow as the tunnel delivers them, each in its own 64 KB slot.</summary>
    private static (byte[][], CoalesceEntry[]) Flow(Ipv6Address source, ushort port, int firstSlot)
    {
        var slots = new byte[Segments][];
        var entries = new CoalesceEntry[Segments];
        const int tcpHeader = 32;
        for (int i = 0; i < Segments; i++)
        {
            var s = slots[i] = new byte[Headroom + 65536 + 256];
            var p = s.AsSpan(Headroom);
            Ipv6Packet.WriteHeader(p, source, Client, IpProtocol.Tcp, tcpHeader + Mss, 63);
            TcpSegment.WriteHeader(p[40..], port, 5201, 1_000_000 + (uint)(i * Mss), 77, TcpFlags.Ack, 512, optionsLength: 12);
            p[60] = 1; p[61] = 1; p[62] = 8; p[63] = 10;
            for (int k = 0; k < Mss; k++) p[40 + tcpHeader + k] = (byte)(k * 7 + i);
            TcpSegment.TryCreate(p.Slice(40, tcpHeader + Mss), out var tcp, out _);
            tcp.FillChecksum(source, Client);
            entries[i] = new CoalesceEntry(firstSlot + i, Headroom, 40 + tcpHeader + Mss);
        }
        return (slots, entries);
    }
}
