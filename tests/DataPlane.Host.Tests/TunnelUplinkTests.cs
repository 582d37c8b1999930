using DataPlane.Tests.Shared;
using DataPlane.Host.Configuration;
using DataPlane.Host.Runtime;
using DataPlane.Linux;
using DataPlane.Linux.Tests;
using DataPlane.Wire;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Host.Tests;

/// <summary>
/// `dataplane.uplink: "packet"` in a pair of namespaces: the next hop comes from the kernel's tables and follows
/// a changed neighbour; peers without one go by the raw socket in the same call; sending allocates nothing.
/// </summary>
public sealed class TunnelUplinkTests
{
    private static readonly Ipv6Address Unresolved = Ipv6Address.Parse("2001:db8:a::3");

    private static byte[] Inner(int length)
    {
        var p = new byte[length];
        Ipv6Packet.WriteHeader(p, Ipv6Address.Parse("2001:db8:1001:1::10"), Ipv6Address.Parse("2001:db8:2::10"), (IpProtocol)59, (ushort)(length - Ipv6Packet.HeaderLength), 64);
        return p;
    }

    [Fact]
    public void Packet_uplink_sends_by_af_packet_falls_back_per_packet_follows_the_neighbour_and_allocates_nothing()
    {
        using var pair = new NamespacePair();
        pair.A.Ip("neigh", "replace", NamespacePair.AddressB.ToString(), "lladdr", NamespacePair.Macs.B.ToString(), "dev", NamespacePair.VethA, "nud", "permanent");
        using var raw = pair.A.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressA }));
        using var far = pair.B.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressB }));
        using var uplink = new TunnelUplink(raw, UplinkKind.Packet, NamespacePair.AddressA, 1 << 20, NullLogger.Instance);
        Assert.True(uplink.RefreshDue);
        pair.A.Run(() => uplink.Refresh([NamespacePair.AddressB, Unresolved]));
        var sender = Assert.Single(uplink.Senders);
        Assert.Equal(NamespacePair.VethA, sender.Options.Interface);
        Assert.True(sender.TryGetNextHop(NamespacePair.AddressB, out var mac));
        Assert.Equal(NamespacePair.Macs.B, mac);
        Assert.False(sender.HasNextHop(Unresolved));

        // Half the batch to the resolved peer (AF_PACKET), half to the unresolved one (the raw socket).
        const int batch = 32;
        using var tx = new PacketBatch(batch, 2048);
        using var rx = new PacketBatch(64, 2048);
        var inner = Inner(200);
        for (int i = 0; i < batch; i++) tx.Meta(tx.Add(inner)).Destination = i % 2 == 0 ? NamespacePair.AddressB : Unresolved;
        int received = 0;
        void Round()
        {
            uplink.Send(tx, batch);
            int got = 0;
            for (long deadline = Environment.TickCount64 + 5000; got < batch / 2 && Environment.TickCount64 < deadline;)
            {
                int n = far.Receive(rx);
                got += n;
                if (n == 0) Thread.Sleep(1);
            }
            received += got;
        }
        Round();
        Assert.Equal(batch / 2, received);
        Assert.Equal(batch / 2, sender.Counters.TxPackets);
        Assert.Equal(batch / 2, uplink.RawFallbackPackets);
        Assert.Equal(inner, tx.Frame(0).ToArray()); // the slots are as they were

        int rounds = 1;
        Assert.Equal(0, Allocations.BestWindow(() => { Round(); rounds++; }, rounds: 50));
        Assert.Equal(rounds * batch / 2, received);

        // The neighbour's address changes: the next refresh rewrites the header.
        var moved = MacAddress.Parse("02:00:00:00:00:0c");
        pair.A.Ip("neigh", "replace", NamespacePair.AddressB.ToString(), "lladdr", moved.ToString(), "dev", NamespacePair.VethA, "nud", "permanent");
        Thread.Sleep(TunnelUplink.RefreshInterval + TimeSpan.FromMilliseconds(100));
        Assert.True(uplink.RefreshDue);
        pair.A.Run(() => uplink.Refresh([NamespacePair.AddressB]));
        Assert.True(sender.TryGetNextHop(NamespacePair.AddressB, out mac));
        Assert.Equal(moved, mac);

        // Its tunnel goes away: its packets go by the raw socket again.
        Thread.Sleep(TunnelUplink.RefreshInterval + TimeSpan.FromMilliseconds(100));
        pair.A.Run(() => uplink.Refresh([]));
        Assert.False(sender.HasNextHop(NamespacePair.AddressB));
    }

    [Fact]
    public void With_the_tunnel_path_options_each_interface_gets_relabel_receiver_and_gro_and_gives_them_back()
    {
        using var pair = new NamespacePair();
        pair.A.Ip("neigh", "replace", NamespacePair.AddressB.ToString(), "lladdr", NamespacePair.Macs.B.ToString(), "dev", NamespacePair.VethA, "nud", "permanent");
        using var raw = pair.A.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressA }));
        var uplink = new TunnelUplink(raw, UplinkKind.Packet, NamespacePair.AddressA, 1 << 20, NullLogger.Instance, new TunnelPathOptions());
        var opened = new List<PacketTunnelReceiver>();
        uplink.ReceiverOpened += opened.Add;
        try
        {
            Assert.False(uplink.CarriesSuperFrames(NamespacePair.AddressB)); // nothing set up yet: cut and complete
            Assert.False(uplink.CompletesChecksums(NamespacePair.AddressB));
            pair.A.Run(() => uplink.Refresh([NamespacePair.AddressB, Unresolved]));
            var path = Assert.Single(uplink.Interfaces);
            Assert.Equal(NamespacePair.VethA, path.Name);
            Assert.NotNull(path.Relabel);
            Assert.Equal(RelabelAttachment.Tcx, path.Relabel.Attachment);
            Assert.Same(path.Receiver, Assert.Single(opened));
            Assert.True(path.Receiver!.BypassesKernelInput);
            Assert.True(path.Gro!.GroActive);
            Assert.Contains("gro on", path.Gro.Changes);
            Assert.Contains("generic-receive-offload: on", pair.A.Exec("ethtool", "-k", NamespacePair.VethA).Stdout);
            // The data path's questions: only the peer with a header on an interface that relabels.
            Assert.True(uplink.CarriesSuperFrames(NamespacePair.AddressB));
            Assert.True(uplink.CompletesChecksums(NamespacePair.AddressB));
            Assert.False(uplink.CarriesSuperFrames(Unresolved));
            Assert.False(uplink.CompletesChecksums(Unresolved));
            var json = uplink.ToJson()["paths"]!.AsArray().Single()!;
            Assert.True(json["superFrames"]!.GetValue<bool>());
            Assert.Equal("tcx", json["relabel"]!.GetValue<string>());
            Assert.True(json["gro"]!.GetValue<bool>());
            // Refreshed again: nothing is opened or attached twice.
            Thread.Sleep(TunnelUplink.RefreshInterval + TimeSpan.FromMilliseconds(100));
            pair.A.Run(() => uplink.Refresh([NamespacePair.AddressB]));
            Assert.Single(uplink.Interfaces);
            Assert.Single(opened);
            Assert.Equal(1, pair.A.Run(() => TunnelGsoRelabel.CountOnTcxEgress(path.IfIndex)));
        }
        finally
        {
            uplink.Dispose();
        }
        // Everything given back: no program, no ingress filter, GRO off again as the veth had it.
        Assert.Equal(0, pair.A.Run(() => TunnelGsoRelabel.CountOnTcxEgress(pair.A.Run(() => { using var nl = RtNetlink.Open(); return nl.GetIfIndex(NamespacePair.VethA); }))));
        Assert.DoesNotContain("dataplane", pair.A.Exec("tc", "filter", "show", "dev", NamespacePair.VethA, "ingress").Stdout);
        Assert.Contains("generic-receive-offload: off", pair.A.Exec("ethtool", "-k", NamespacePair.VethA).Stdout);
    }

    [Fact]
    public void Raw_uplink_never_opens_af_packet()
    {
        using var pair = new NamespacePair();
        using var raw = pair.A.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Ipv6, LocalAddress = NamespacePair.AddressA }));
        using var uplink = new TunnelUplink(raw, UplinkKind.Raw, NamespacePair.AddressA, 1 << 20, NullLogger.Instance);
        Assert.False(uplink.RefreshDue);
        pair.A.Run(() => uplink.Refresh([NamespacePair.AddressB]));
        Assert.Empty(uplink.Senders);
        Assert.Null(uplink.PacketCounters);
        Assert.Equal("raw", uplink.ToJson()["kind"]!.GetValue<string>());
    }
}
