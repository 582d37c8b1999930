using DataPlane.Tests.Shared;
using DataPlane.Wire;
using Xunit.Abstractions;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// Steady-state forwarding allocates nothing: every hot path runs 10,000 times after a warm-up and the
/// bytes the thread allocated in between must be zero. Time advances 1 ms per frame, so the once-a-second
/// reachability reports to the MAG machine are part of what is measured.
/// </summary>
public class AllocationTests(ITestOutputHelper output)
{
    private const int Frames = 10_000;

    /// <summary>
    /// Bytes allocated over <see cref="Frames"/> frames after a warm-up. The tiered JIT can allocate on the
    /// thread that triggers a tier transition (observed: about 6 KB, only while other tests load the machine
    /// and only with tiered compilation on), so the window is retried a few times and the best one counts: an
    /// allocation per frame, or one per report interval (10 of them fall in every window), shows in every window.
    /// </summary>
    private long Measure(string name, Action perFrame) =>
        Allocations.BestWindow(perFrame, Frames, warmUp: Frames / 5, log: line => output.WriteLine($"{name}: {line}"));

    /// <summary>
    /// A live migration's per-packet paths: the LMA copying downlink to both MAGs (bicast), the destination holding it
    /// in its handover buffer (which wraps and evicts in steady state), and uplink from the pre-registered destination.
    /// </summary>
    [Fact]
    public void A_migrations_bicast_and_buffering_allocate_nothing()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);
        var incoming = new DataPlane.Protocol.PortId(2);
        d.M2.AddPort(incoming, "incoming", MagFixture.VmMac);
        d.M2.PortOnline(incoming, d.Now, PortOnlineKind.IncomingMigration);
        d.Settle();

        var fromClient = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 1000);
        var homeBuffer = new byte[Packet.DefaultHeadroom + fromClient.Length];
        Assert.Equal(0, Measure("home → both tunnels", () =>
        {
            fromClient.CopyTo(homeBuffer, Packet.DefaultHeadroom);
            var v = d.Lma.FromHome(homeBuffer, Packet.DefaultHeadroom, fromClient.Length, d.Now);
            if (v.Kind != VerdictKind.Segmented || v.SegmentCount != 2) throw new InvalidOperationException(v.ToString());
            d.Lma.Segments.Clear();
        }));

        var toVm = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 1000);
        var decapBuffer = new byte[Packet.DefaultHeadroom + toVm.Length];
        toVm.CopyTo(decapBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("tunnel → handover buffer", () =>
        {
            var v = d.M2.FromTunnel(decapBuffer, Packet.DefaultHeadroom, toVm.Length, DomainFixture.LmaAddress, DomainFixture.Mag2, d.Now);
            if (v.Kind != VerdictKind.Consumed) throw new InvalidOperationException(v.ToString());
        }));

        // With super-frames carried whole (issue 14): one super-frame bicast whole to both MAGs, a super-frame a path
        // cannot take cut for both, and the destination holding a super-frame as its segments.
        const int mss = 1460 - 40 - 32;
        var gso = OffloadInfo.TcpSegmentation(GsoType.TcpV6, mss, 40 + 32, 40, 16);
        var superFrame = TestFrames.TcpSuperFrame(true, 20_000, TcpFlags.Ack, source: MagFixture.Client, destination: MagFixture.VmAddress)[EthernetFrame.HeaderLength..];
        var superBuffer = new byte[Packet.DefaultHeadroom + superFrame.Length];
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);
        Assert.Equal(0, Measure("home super-frame → both tunnels whole", () =>
        {
            superFrame.CopyTo(superBuffer, Packet.DefaultHeadroom);
            var v = d.Lma.FromHome(superBuffer, Packet.DefaultHeadroom, superFrame.Length, gso, d.Now);
            if (v.Kind != VerdictKind.ToTunnel || !v.HasTunnelCopy) throw new InvalidOperationException(v.ToString());
        }));
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: false, partialChecksums: true);
        Assert.Equal(0, Measure("home super-frame → both tunnels cut", () =>
        {
            superFrame.CopyTo(superBuffer, Packet.DefaultHeadroom);
            var v = d.Lma.FromHome(superBuffer, Packet.DefaultHeadroom, superFrame.Length, gso, d.Now);
            if (v.Kind != VerdictKind.Segmented) throw new InvalidOperationException(v.ToString());
            d.Lma.Segments.Clear();
        }));
        d.Lma.TunnelOffloads = null;
        var superDecap = new byte[Packet.DefaultHeadroom + superFrame.Length];
        Assert.Equal(0, Measure("tunnel super-frame → handover buffer as segments", () =>
        {
            superFrame.CopyTo(superDecap, Packet.DefaultHeadroom);
            var v = d.M2.FromTunnel(superDecap, Packet.DefaultHeadroom, superFrame.Length, DomainFixture.LmaAddress, DomainFixture.Mag2, 0, gso, d.Now);
            if (v.Kind != VerdictKind.Consumed) throw new InvalidOperationException(v.ToString());
        }));

        var upstream = TestFrames.Ipv6Udp(MagFixture.VmAddress, MagFixture.Client, payload: 1000);
        var upBuffer = new byte[Packet.DefaultHeadroom + upstream.Length];
        upstream.CopyTo(upBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("pre-registered destination's tunnel → home", () =>
        {
            var v = d.Lma.FromTunnel(upBuffer, Packet.DefaultHeadroom, upstream.Length, DomainFixture.Mag2, DomainFixture.LmaAddress, d.Now);
            if (v.Kind != VerdictKind.ToHome) throw new InvalidOperationException(v.ToString());
        }));
    }

    [Fact]
    public void Optimized_routing_allocates_nothing_between_ports_into_a_direct_tunnel_or_out_of_one()
    {
        var f = LocalRoutingTests.TwoVms();
        LocalRoutingTests.Receive(f, LocalRoutingTests.Lri(10));
        LocalRoutingTests.Receive(f, LocalRoutingTests.Lri(11));

        // VM → MAG → the other VM's port (the route's use is reported once a second: part of what is measured)
        var local = TestFrames.FromVm(payload: 200, destination: LocalRoutingTests.Vm2Address);
        var localBuffer = new byte[Packet.DefaultHeadroom + local.Length];
        Assert.Equal(0, Measure("VM → VM on the same MAG", () =>
        {
            local.CopyTo(localBuffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, localBuffer, Packet.DefaultHeadroom, local.Length, OffloadInfo.None, f.Now);
            if (v.Kind != VerdictKind.ToPort) throw new InvalidOperationException(v.ToString());
        }));

        // VM → MAG → direct tunnel to the peer MAG
        var direct = TestFrames.FromVm(payload: 200, destination: LocalRoutingTests.RemoteVm);
        var directBuffer = new byte[Packet.DefaultHeadroom + direct.Length];
        Assert.Equal(0, Measure("VM → direct tunnel", () =>
        {
            direct.CopyTo(directBuffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, directBuffer, Packet.DefaultHeadroom, direct.Length, OffloadInfo.None, f.Now);
            if (v.Kind != VerdictKind.ToTunnel || v.TunnelDestination != LocalRoutingTests.PeerMag) throw new InvalidOperationException(v.ToString());
        }));

        // direct tunnel → MAG → VM
        var inbound = TestFrames.Ipv6Udp(LocalRoutingTests.RemoteVm, MagFixture.VmAddress, payload: 200);
        var inboundBuffer = new byte[Packet.DefaultHeadroom + inbound.Length];
        inbound.CopyTo(inboundBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("direct tunnel → VM", () =>
        {
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromTunnel(inboundBuffer, Packet.DefaultHeadroom, inbound.Length, LocalRoutingTests.PeerMag, MagFixture.Coa, f.Now);
            if (v.Kind != VerdictKind.ToPort) throw new InvalidOperationException(v.ToString());
        }));

        // A TSO super-frame to the other VM, kept whole
        var super = TestFrames.TcpSuperFrame(ipv6: true, payload: 30_000, TcpFlags.Ack, destination: LocalRoutingTests.Vm2Address);
        var superBuffer = new byte[Packet.DefaultHeadroom + super.Length];
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV6, 1380, 86, EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength, 16);
        Assert.Equal(0, Measure("super-frame → VM on the same MAG", () =>
        {
            super.CopyTo(superBuffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, superBuffer, Packet.DefaultHeadroom, super.Length, offload, f.Now);
            if (v.Kind != VerdictKind.ToPort || !v.Offload.IsGso) throw new InvalidOperationException(v.ToString());
        }));
    }

    [Fact]
    public void Ipv4_local_routing_allocates_nothing_for_packets_or_super_frames()
    {
        var f = LocalRoutingIpv4Tests.TwoIpv4Vms();
        var local = LocalRoutingIpv4Tests.Udp4(MagFixture.VmIpv4, LocalRoutingIpv4Tests.Vm2Ipv4, length: 228);
        var localBuffer = new byte[Packet.DefaultHeadroom + local.Length];
        Assert.Equal(0, Measure("IPv4 VM → VM on the same MAG", () =>
        {
            local.CopyTo(localBuffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, localBuffer, Packet.DefaultHeadroom, local.Length, OffloadInfo.None, f.Now);
            if (v.Kind != VerdictKind.ToPort) throw new InvalidOperationException(v.ToString());
        }));

        var super = TestFrames.TcpSuperFrame(ipv6: false, payload: 30_000, TcpFlags.Ack, source4: MagFixture.VmIpv4,
            destination4: LocalRoutingIpv4Tests.Vm2Ipv4);
        var superBuffer = new byte[Packet.DefaultHeadroom + super.Length];
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV4, 1380, 66, EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength, 16);
        Assert.Equal(0, Measure("IPv4 super-frame → VM on the same MAG", () =>
        {
            super.CopyTo(superBuffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, superBuffer, Packet.DefaultHeadroom, super.Length, offload, f.Now);
            if (v.Kind != VerdictKind.ToPort || !v.Offload.IsGso) throw new InvalidOperationException(v.ToString());
        }));
    }

    [Fact]
    public void Noticing_vm_to_vm_traffic_at_the_lma_allocates_nothing()
    {
        var d = LmaLocalizedRoutingTests.TwoMags(new LmaDatapathOptions { TrafficObservationInterval = TimeSpan.FromMilliseconds(100) });
        // The first packet starts a pair (its LRIs are never answered here); the later reports find it and change nothing:
        // what is measured is the noticing on the per-packet path.
        var upstream = TestFrames.Ipv6Udp(MagFixture.VmAddress, DomainFixture.SecondAddress, payload: 200);
        var buffer = new byte[Packet.DefaultHeadroom + upstream.Length];
        upstream.CopyTo(buffer, Packet.DefaultHeadroom);
        d.Lma.FromTunnel(buffer, Packet.DefaultHeadroom, upstream.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
        d.Lma.ControlOutput.Clear();
        Assert.Equal(0, Measure("tunnel → LMA, VM to VM, observed every 100 ms", () =>
        {
            d.Now += TimeSpan.FromMilliseconds(1);
            var v = d.Lma.FromTunnel(buffer, Packet.DefaultHeadroom, upstream.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
            if (v.Kind != VerdictKind.ToHome) throw new InvalidOperationException(v.ToString());
        }));
        Assert.True(d.Lma.Counters.TrafficObservations > 100);
    }

    [Fact]
    public void Forwarding_in_every_direction_allocates_nothing()
    {
        var d = new DomainFixture();
        d.Attach(d.M1, ScapyVectors.RouterSolicitation);

        // VM → MAG → tunnel
        var fromVm = Hex.Bytes(ScapyVectors.UdpFromVm);
        var vmBuffer = new byte[Packet.DefaultHeadroom + fromVm.Length];
        Assert.Equal(0, Measure("VM → tunnel", () =>
        {
            fromVm.CopyTo(vmBuffer, Packet.DefaultHeadroom); // the hop limit is decremented in place each time
            d.Now += TimeSpan.FromMilliseconds(1);
            var v = d.M1.FromPort(MagFixture.Port, vmBuffer, Packet.DefaultHeadroom, fromVm.Length, OffloadInfo.None, d.Now);
            if (v.Kind != VerdictKind.ToTunnel) throw new InvalidOperationException(v.ToString());
        }));

        // Tunnel → MAG → VM
        var toVm = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 1000);
        var decapBuffer = new byte[Packet.DefaultHeadroom + toVm.Length];
        toVm.CopyTo(decapBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("tunnel → VM", () =>
        {
            var v = d.M1.FromTunnel(decapBuffer, Packet.DefaultHeadroom, toVm.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, d.Now);
            if (v.Kind != VerdictKind.ToPort) throw new InvalidOperationException(v.ToString());
        }));

        // Home → LMA → tunnel
        var fromClient = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 1000);
        var homeBuffer = new byte[Packet.DefaultHeadroom + fromClient.Length];
        Assert.Equal(0, Measure("home → tunnel", () =>
        {
            fromClient.CopyTo(homeBuffer, Packet.DefaultHeadroom);
            var v = d.Lma.FromHome(homeBuffer, Packet.DefaultHeadroom, fromClient.Length, d.Now);
            if (v.Kind != VerdictKind.ToTunnel) throw new InvalidOperationException(v.ToString());
        }));

        // Super-frames out of the tunnel, whole: to the VM and to the home network.
        var superDown = TestFrames.TcpSuperFrame(true, 64_000, TcpFlags.Ack, source: MagFixture.Client, destination: MagFixture.VmAddress)[EthernetFrame.HeaderLength..];
        var superDownBuffer = new byte[Packet.DefaultHeadroom + superDown.Length];
        superDown.CopyTo(superDownBuffer, Packet.DefaultHeadroom);
        var gso = OffloadInfo.TcpSegmentation(GsoType.TcpV6, 1388, 72, 40, 16);
        Assert.Equal(0, Measure("tunnel super-frame → VM", () =>
        {
            var v = d.M1.FromTunnel(superDownBuffer, Packet.DefaultHeadroom, superDown.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, 0, gso, d.Now);
            if (v.Kind != VerdictKind.ToPort || !v.Offload.IsGso) throw new InvalidOperationException(v.ToString());
        }));
        var superUp = TestFrames.TcpSuperFrame(true, 64_000, TcpFlags.Ack)[EthernetFrame.HeaderLength..];
        var superUpBuffer = new byte[Packet.DefaultHeadroom + superUp.Length];
        superUp.CopyTo(superUpBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("tunnel super-frame → home", () =>
        {
            var v = d.Lma.FromTunnel(superUpBuffer, Packet.DefaultHeadroom, superUp.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, 0, gso, d.Now);
            if (v.Kind != VerdictKind.ToHome || !v.Offload.IsGso) throw new InvalidOperationException(v.ToString());
        }));
        d.Lma.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);
        var homeSuperBuffer = new byte[Packet.DefaultHeadroom + superDown.Length];
        Assert.Equal(0, Measure("home super-frame → tunnel whole", () =>
        {
            superDown.CopyTo(homeSuperBuffer, Packet.DefaultHeadroom);
            var v = d.Lma.FromHome(homeSuperBuffer, Packet.DefaultHeadroom, superDown.Length, gso, d.Now);
            if (v.Kind != VerdictKind.ToTunnel || !v.Offload.IsGso) throw new InvalidOperationException(v.ToString());
        }));
        d.Lma.TunnelOffloads = null;

        // Tunnel → LMA → home
        var upstream = TestFrames.Ipv6Udp(MagFixture.VmAddress, MagFixture.Client, payload: 1000);
        var upBuffer = new byte[Packet.DefaultHeadroom + upstream.Length];
        upstream.CopyTo(upBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("tunnel → home", () =>
        {
            var v = d.Lma.FromTunnel(upBuffer, Packet.DefaultHeadroom, upstream.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
            if (v.Kind != VerdictKind.ToHome) throw new InvalidOperationException(v.ToString());
        }));
    }

    [Fact]
    public void Ipv4_forwarding_in_every_direction_allocates_nothing()
    {
        var d = new DomainFixture(ipv4: true);
        d.Attach(d.M1, ScapyIpv4Vectors.Discover);

        var fromVm = Hex.Bytes(ScapyIpv4Vectors.UdpToClient);
        var vmBuffer = new byte[Packet.DefaultHeadroom + fromVm.Length];
        Assert.Equal(0, Measure("IPv4 VM → tunnel", () =>
        {
            fromVm.CopyTo(vmBuffer, Packet.DefaultHeadroom); // the TTL is decremented in place each time
            d.Now += TimeSpan.FromMilliseconds(1);
            var v = d.M1.FromPort(MagFixture.Port, vmBuffer, Packet.DefaultHeadroom, fromVm.Length, OffloadInfo.None, d.Now);
            if (v.Kind != VerdictKind.ToTunnel) throw new InvalidOperationException(v.ToString());
        }));

        var toVm = MagIpv4Tests.Ipv4Udp(MagFixture.Client4, MagFixture.VmIpv4, 1000, true);
        var decapBuffer = new byte[Packet.DefaultHeadroom + toVm.Length];
        toVm.CopyTo(decapBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("IPv4 tunnel → VM", () =>
        {
            var v = d.M1.FromTunnel(decapBuffer, Packet.DefaultHeadroom, toVm.Length, DomainFixture.LmaAddress, DomainFixture.Mag1, d.Now);
            if (v.Kind != VerdictKind.ToPort) throw new InvalidOperationException(v.ToString());
        }));

        var homeBuffer = new byte[Packet.DefaultHeadroom + toVm.Length];
        Assert.Equal(0, Measure("IPv4 home → tunnel", () =>
        {
            toVm.CopyTo(homeBuffer, Packet.DefaultHeadroom);
            var v = d.Lma.FromHome(homeBuffer, Packet.DefaultHeadroom, toVm.Length, d.Now);
            if (v.Kind != VerdictKind.ToTunnel) throw new InvalidOperationException(v.ToString());
        }));

        var upstream = MagIpv4Tests.Ipv4Udp(MagFixture.VmIpv4, MagFixture.Client4, 1000, true);
        var upBuffer = new byte[Packet.DefaultHeadroom + upstream.Length];
        upstream.CopyTo(upBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("IPv4 tunnel → home", () =>
        {
            var v = d.Lma.FromTunnel(upBuffer, Packet.DefaultHeadroom, upstream.Length, DomainFixture.Mag1, DomainFixture.LmaAddress, d.Now);
            if (v.Kind != VerdictKind.ToHome) throw new InvalidOperationException(v.ToString());
        }));

        var spoofed = Hex.Bytes(ScapyIpv4Vectors.UdpToClient);
        spoofed[EthernetFrame.HeaderLength + 15] = 20;
        Assert.True(Ipv4Packet.TryCreate(spoofed.AsSpan(EthernetFrame.HeaderLength), out var ip, out _));
        ip.FillHeaderChecksum();
        var spoofBuffer = new byte[Packet.DefaultHeadroom + spoofed.Length];
        spoofed.CopyTo(spoofBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("IPv4 spoofed source (drop path)", () =>
        {
            d.Now += TimeSpan.FromMilliseconds(1);
            var v = d.M1.FromPort(MagFixture.Port, spoofBuffer, Packet.DefaultHeadroom, spoofed.Length, OffloadInfo.None, d.Now);
            if (v.Reason != DropReason.SpoofedSource) throw new InvalidOperationException(v.ToString());
        }));
    }

    [Fact]
    public void Segmenting_a_tso_super_frame_and_refusing_spoofed_traffic_allocate_nothing()
    {
        var f = new MagFixture();
        f.Establish();
        var super = TestFrames.TcpSuperFrame(ipv6: true, 64_000, TcpFlags.Ack | TcpFlags.Psh);
        var buffer = new byte[Packet.DefaultHeadroom + super.Length];
        var offload = OffloadInfo.TcpSegmentation(GsoType.TcpV6, 1388, 86, 54, 16);
        Assert.Equal(0, Measure("64 KB TSO frame → 47 segments", () =>
        {
            super.CopyTo(buffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, buffer, Packet.DefaultHeadroom, super.Length, offload, f.Now);
            if (v.Kind != VerdictKind.Segmented) throw new InvalidOperationException(v.ToString());
            f.Dp.Segments.Clear(); // the host sent them
        }));

        // The same frame where the tunnel path carries super-frames (it leaves whole), and where it only completes
        // checksums (cut, with partial checksums).
        f.Dp.TunnelOffloads = new FixedTunnelOffloads(superFrames: true, partialChecksums: true);
        Assert.Equal(0, Measure("64 KB TSO frame → tunnel whole", () =>
        {
            super.CopyTo(buffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, buffer, Packet.DefaultHeadroom, super.Length, offload, f.Now);
            if (v.Kind != VerdictKind.ToTunnel || !v.Offload.IsGso) throw new InvalidOperationException(v.ToString());
        }));
        f.Dp.TunnelOffloads = new FixedTunnelOffloads(superFrames: false, partialChecksums: true);
        Assert.Equal(0, Measure("64 KB TSO frame → 47 segments with partial checksums", () =>
        {
            super.CopyTo(buffer, Packet.DefaultHeadroom);
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, buffer, Packet.DefaultHeadroom, super.Length, offload, f.Now);
            if (v.Kind != VerdictKind.Segmented) throw new InvalidOperationException(v.ToString());
            f.Dp.Segments.Clear();
        }));
        f.Dp.TunnelOffloads = null;

        var spoofed = TestFrames.FromVm(source: Ipv6Address.Parse("2001:db8:66::1"));
        var spoofBuffer = new byte[Packet.DefaultHeadroom + spoofed.Length];
        spoofed.CopyTo(spoofBuffer, Packet.DefaultHeadroom);
        Assert.Equal(0, Measure("spoofed source (drop path)", () =>
        {
            f.Now += TimeSpan.FromMilliseconds(1);
            var v = f.Dp.FromPort(MagFixture.Port, spoofBuffer, Packet.DefaultHeadroom, spoofed.Length, OffloadInfo.None, f.Now);
            if (v.Reason != DropReason.SpoofedSource) throw new InvalidOperationException(v.ToString());
        }));
    }
}
