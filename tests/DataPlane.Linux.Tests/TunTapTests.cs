using System.Net;
using System.Net.Sockets;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

public sealed class TunTapTests
{
    private static readonly MacAddress TapMac = MacAddress.Parse("02:00:00:00:01:01");
    private static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:01:02");
    private static readonly Ipv6Address TapAddress = Ipv6Address.Parse("2001:db8:7::1");
    private static readonly Ipv6Address PeerAddress = Ipv6Address.Parse("2001:db8:7::2");

    [Fact]
    public void A_TAP_is_created_with_its_name_MAC_and_MTU_and_comes_up()
    {
        using var ns = TestNamespace.Create();
        using var tap = ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dptap0", MacAddress = TapMac, Mtu = 1400 }));
        Assert.Equal("dptap0", tap.Name);
        var link = ns.IpJson("link", "show", "dptap0")[0];
        Assert.Equal(tap.IfIndex, link.GetProperty("ifindex").GetInt32());
        Assert.Equal(TapMac.ToString(), link.GetProperty("address").GetString());
        Assert.Equal(1400, link.GetProperty("mtu").GetInt32());
        Assert.Contains("UP", link.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(PortLinkState.Up, tap.RefreshLinkState());
    }

    [Fact]
    public void A_TAP_without_a_name_gets_one_from_the_kernel_and_vanishes_when_closed()
    {
        using var ns = TestNamespace.Create();
        var tap = ns.Run(() => TapDevice.Create());
        Assert.StartsWith("tap", tap.Name);
        Assert.Single(ns.IpJson("link", "show", tap.Name).EnumerateArray());
        tap.Dispose();
        Assert.NotEqual(0, Shell.Run("ip", "-n", ns.Name, "link", "show", tap.Name).ExitCode);
    }

    [Fact]
    public void The_kernel_answers_an_echo_request_written_to_a_TAP()
    {
        using var ns = TestNamespace.Create();
        using var tap = ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dptap0", MacAddress = TapMac }));
        ns.AddAddress("dptap0", TapAddress, 64);
        // A static neighbour entry so the reply comes straight back instead of after an NS.
        ns.Ip("neigh", "add", PeerAddress.ToString(), "lladdr", PeerMac.ToString(), "dev", "dptap0", "nud", "permanent");
        using var batch = new PacketBatch(8);
        batch.Add(Frames.WithEthernet(TapMac, PeerMac, Frames.EchoRequestPacket(PeerAddress, TapAddress, 0x1234, 1)));
        Assert.Equal(1, tap.Send(batch, 0, 1));

        var reply = Assert.Single(Frames.Collect(tap, batch, r => Frames.IsIcmpv6(r.Bytes.AsSpan(14), 129, TapAddress), 1));
        Assert.Equal(PeerMac, MacAddress.ReadFrom(reply.Bytes));
        Assert.Equal(TapMac, MacAddress.ReadFrom(reply.Bytes.AsSpan(6)));
        Assert.Equal(0x12, reply.Bytes[14 + 44]);
        Assert.Equal(tap.IfIndex, reply.Meta.IfIndex);
    }

    [Fact]
    public void A_TAP_with_vnet_header_reads_and_writes_the_header()
    {
        using var ns = TestNamespace.Create();
        using var tap = ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dptap0", MacAddress = TapMac, VnetHeader = true }));
        ns.AddAddress("dptap0", TapAddress, 64);
        ns.Ip("neigh", "add", PeerAddress.ToString(), "lladdr", PeerMac.ToString(), "dev", "dptap0", "nud", "permanent");
        using var batch = new PacketBatch(8);
        batch.Add(Frames.WithEthernet(TapMac, PeerMac, Frames.EchoRequestPacket(PeerAddress, TapAddress, 7, 7)));
        batch.Meta(0).Vnet = default; // GSO_NONE, checksum complete
        Assert.Equal(1, tap.Send(batch, 0, 1));
        var reply = Assert.Single(Frames.Collect(tap, batch, r => Frames.IsIcmpv6(r.Bytes.AsSpan(14), 129, TapAddress), 1));
        Assert.Equal(VirtioGsoType.None, reply.Meta.Vnet.GsoType);
    }

    [Fact]
    public void The_kernel_answers_an_echo_request_written_to_a_TUN()
    {
        using var ns = TestNamespace.Create();
        using var tun = ns.Run(() => TunDevice.Create(new TunTapOptions { Name = "dphome0", Mtu = 1500 }));
        ns.AddAddress("dphome0", TapAddress, 64);
        using var batch = new PacketBatch(8);
        batch.Add(Frames.EchoRequestPacket(PeerAddress, TapAddress, 0x4321, 9));
        Assert.Equal(1, tun.Send(batch, 0, 1));
        var reply = Assert.Single(Frames.Collect(tun, batch, r => Frames.IsIcmpv6(r.Bytes, 129, TapAddress), 1));
        Assert.Equal(PeerAddress, Ipv6Address.ReadFrom(reply.Bytes.AsSpan(24)));
    }

    [Fact]
    public void A_TUN_with_vnet_header_and_offloads_hands_us_TCP_with_a_partial_checksum()
    {
        using var ns = TestNamespace.Create();
        using var tun = ns.Run(() => TunDevice.Create(new TunTapOptions { Name = "dphome0", VnetHeader = true, Offloads = TunOffloads.TcpSegmentation }));
        ns.AddAddress("dphome0", TapAddress, 64);
        // The kernel's SYN towards a peer behind the TUN: with TUN_F_CSUM the checksum is left to us.
        using var client = ns.Run(() => new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp));
        _ = client.ConnectAsync(new IPEndPoint(PeerAddress.ToIPAddress(), 80));
        using var batch = new PacketBatch(8);
        var syn = Assert.Single(Frames.Collect(tun, batch, r => r.Bytes.Length >= 60 && r.Bytes[6] == (byte)IpProtocol.Tcp, 1));
        Assert.True(syn.Meta.Vnet.NeedsChecksum, syn.Meta.Vnet.ToString());
        Assert.Equal(40, syn.Meta.Vnet.CsumStart); // no Ethernet header on a TUN
        Assert.Equal(16, syn.Meta.Vnet.CsumOffset);
    }

    [Fact]
    public void A_persistent_TAP_outlives_its_fd_and_netlink_deletes_it()
    {
        using var ns = TestNamespace.Create();
        ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dppers0", Persistent = true })).Dispose();
        Assert.Single(ns.IpJson("link", "show", "dppers0").EnumerateArray());
        // Attach again by name, then delete through netlink.
        ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dppers0", Persistent = true })).Dispose();
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            nl.DeleteLink("dppers0");
            Assert.Null(nl.FindLink("dppers0"));
        });
    }

    [Fact]
    public void A_TAP_deleted_under_us_reads_as_removed_and_writes_are_dropped()
    {
        using var ns = TestNamespace.Create();
        using var tap = ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dptap0", MacAddress = TapMac }));
        ns.Ip("link", "del", "dptap0");
        using var batch = new PacketBatch(2);
        Assert.Equal(0, tap.Receive(batch));
        Assert.Equal(PortLinkState.Removed, tap.LinkState);
        Assert.Equal(Errno.EBADFD, tap.Counters.LastError); // tun_detach_all left the fd without a device
        batch.Add(Frames.Experimental(PeerMac, TapMac, 1));
        Assert.Equal(1, tap.Send(batch, 0, 1));
        Assert.Equal(1, tap.Counters.TxLinkDrops);
    }

    [Fact]
    public void A_TAP_that_is_down_drops_writes_as_link_down()
    {
        using var ns = TestNamespace.Create();
        using var tap = ns.Run(() => TapDevice.Create(new TunTapOptions { Name = "dptap0", Up = false }));
        using var batch = new PacketBatch(2);
        batch.Add(Frames.Experimental(PeerMac, TapMac, 1));
        Assert.Equal(1, tap.Send(batch, 0, 1));
        Assert.Equal(PortLinkState.Down, tap.LinkState);
        Assert.Equal(Errno.EIO, tap.Counters.LastError); // tun_get_user refuses while !IFF_UP
        Assert.Equal(PortLinkState.Down, tap.RefreshLinkState());
    }
}
