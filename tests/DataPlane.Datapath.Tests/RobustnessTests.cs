using CsCheck;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// Random and mutated frames, with random offload metadata, into every entry point: none may throw (C#'s
/// bounds checks turn any out-of-bounds access into an exception, so this also means no stray reads or
/// writes), every call returns a verdict, and every forwarding verdict points inside the buffer.
/// </summary>
public class RobustnessTests
{
    private const long Iterations = 10_000;

    private static readonly byte[][] Seeds =
    [
        .. new[]
        {
            ScapyVectors.RouterSolicitation, ScapyVectors.NeighborSolicitationForSharedLinkLocal, ScapyVectors.RouterAdvertisementFromVm,
            ScapyVectors.RedirectFromVm, ScapyVectors.Dhcpv6AdvertiseFromVm, ScapyVectors.Dhcpv4OfferFromVm, ScapyVectors.UdpFromVm,
            ScapyVectors.UnsolicitedNeighborAdvertisement, ScapyVectors.DadNeighborSolicitation, ScapyVectors.Mldv2Report,
            ScapyVectors.GratuitousArp, ScapyVectors.QemuRarp,
        }.Select(Hex.Bytes),
        TestFrames.FromVm(hopLimit: 1),
        TestFrames.FromVm(payload: 1500),
        TestFrames.TcpSuperFrame(ipv6: true, 6000, TcpFlags.Ack | TcpFlags.Psh),
        TestFrames.TcpSuperFrame(ipv6: false, 6000, TcpFlags.Ack | TcpFlags.Fin),
    ];

    /// <summary>A seed with a few bytes changed and possibly truncated, or plain random bytes.</summary>
    private static readonly Gen<byte[]> Frames = Gen.Frequency(
        (1, Gen.Byte.Array[0, 200]),
        (6, Gen.Select(Gen.Int[0, Seeds.Length - 1], Gen.Int[0, 1 << 16], Gen.Select(Gen.Int[0, 1 << 16], Gen.Byte).Array[0, 6],
            (seed, keep, flips) =>
            {
                var s = Seeds[seed];
                var b = s.AsSpan(0, Math.Min(s.Length, keep % (s.Length + 1) + (keep % 3 == 0 ? s.Length : 0))).ToArray();
                foreach (var (at, value) in flips)
                    if (b.Length > 0) b[at % b.Length] = value;
                return b;
            })));

    private static readonly Gen<OffloadInfo> Offloads = Gen.Frequency(
        (4, Gen.Const(OffloadInfo.None)),
        (3, Gen.Select(Gen.Byte[0, 3], Gen.OneOf<byte>(0, 1, 3, 4, 5, 0x81, 0x84, 9), Gen.UShort[0, 2000], Gen.UShort[0, 120], Gen.UShort[0, 40],
            (flags, gso, size, start, offset) => new OffloadInfo
            {
                Flags = (OffloadFlags)flags, GsoType = (GsoType)gso, GsoSize = size, ChecksumStart = start, ChecksumOffset = offset, HeaderLength = 74,
            })));

    private static void CheckBounds(Verdict v, int bufferLength)
    {
        if (!v.IsForwarded) return;
        Assert.InRange(v.Offset, 0, bufferLength);
        Assert.InRange(v.Length, 1, bufferLength - v.Offset);
    }

    [Fact]
    public void Mag_port_entry_point_survives_anything()
    {
        var f = new MagFixture();
        f.Establish();
        var seen = new HashSet<VerdictKind>();
        Gen.Select(Frames, Offloads, Gen.Int[0, 300]).Sample((frame, offload, ms) =>
        {
            f.Now += TimeSpan.FromMilliseconds(ms);
            var p = Packet.Of(frame);
            var v = f.FromVm(p, offload);
            Assert.True(Enum.IsDefined(v.Kind));
            lock (seen) seen.Add(v.Kind);
            CheckBounds(v, p.Buffer.Length);
            if (v.Kind == VerdictKind.Segmented)
            {
                for (int i = 0; i < v.SegmentCount; i++) CheckBounds(f.Dp.Segments.VerdictOf(v.FirstSegment + i), f.Dp.Segments.SlotSize);
            }
            if (f.Dp.Segments.Count > 256) f.Dp.Segments.Clear();
            if (f.Dp.ControlOutput.Count > 200) f.Dp.ControlOutput.Clear();
            f.Dp.ClearHostActions();
        }, iter: Iterations, threads: 1);
        // The generators reach every outcome, so the property is not vacuous.
        Assert.Superset(new HashSet<VerdictKind> { VerdictKind.Drop, VerdictKind.Consumed, VerdictKind.ToTunnel, VerdictKind.Segmented }, seen);
    }

    [Fact]
    public void Tunnel_and_home_entry_points_survive_anything()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        var inner = Gen.Select(Frames, Gen.Bool).Select((frame, strip) => strip && frame.Length > EthernetFrame.HeaderLength ? frame[EthernetFrame.HeaderLength..] : frame);
        var sources = Gen.OneOf(DomainFixture.LmaAddress, DomainFixture.Mag1, DomainFixture.Mag2, MagFixture.Client);
        Gen.Select(inner, sources, Gen.Int[0, 3], Offloads).Sample((packet, source, which, offload) =>
        {
            var p = Packet.Of(packet, headroom: which == 3 ? 8 : Packet.DefaultHeadroom);
            d.Now += TimeSpan.FromMilliseconds(7);
            var v = which switch
            {
                0 => d.M1.FromTunnel(p.Buffer, p.Offset, p.Length, source, DomainFixture.Mag1, d.Now),
                1 => d.Lma.FromHome(p.Buffer, p.Offset, p.Length, offload, d.Now),
                _ => d.Lma.FromTunnel(p.Buffer, p.Offset, p.Length, source, DomainFixture.LmaAddress, d.Now),
            };
            Assert.True(Enum.IsDefined(v.Kind));
            CheckBounds(v, p.Buffer.Length);
            if (v.Kind == VerdictKind.Segmented)
            {
                for (int i = 0; i < v.SegmentCount; i++) CheckBounds(d.Lma.Segments.VerdictOf(v.FirstSegment + i), d.Lma.Segments.SlotSize);
            }
            d.Lma.Segments.Clear();
            d.M1.ControlOutput.Clear();
            d.Lma.ControlOutput.Clear();
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void A_full_control_output_drops_and_counts_instead_of_growing()
    {
        var f = new MagFixture(options: new MagDatapathOptions { ControlOutputCapacity = 2, IcmpErrorRate = RateLimit.PerSecond(1000, burst: 100) });
        f.Establish();
        for (int i = 0; i < 5; i++) f.FromVm(TestFrames.FromVm(hopLimit: 1));
        Assert.Equal(2, f.Dp.ControlOutput.Count);
        Assert.Equal(3, f.Dp.Counters.ControlOutputOverflows);
        Assert.Equal(3, f.Dp.ControlOutput.Overflows);
    }
}
