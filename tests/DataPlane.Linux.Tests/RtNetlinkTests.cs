using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

public sealed class RtNetlinkTests
{
    /// <summary>A namespace with a veth pair n0/n1 (both ends inside it), down.</summary>
    private static TestNamespace WithVeth()
    {
        var ns = TestNamespace.Create();
        ns.Ip("link", "add", "n0", "type", "veth", "peer", "name", "n1");
        return ns;
    }

    [Fact]
    public void Link_state_MTU_and_MAC_are_set_and_read_back()
    {
        using var ns = WithVeth();
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            var mac = MacAddress.Parse("02:aa:bb:cc:dd:ee");
            nl.SetMtu("n0", 1400);
            nl.SetMacAddress("n0", mac);
            nl.SetLinkUp("n0");
            nl.SetLinkUp("n1");

            var link = nl.GetLink("n0");
            Assert.Equal(1400, link.Mtu);
            Assert.Equal(mac, link.MacAddress);
            Assert.True(link.IsUp);
            Assert.Equal("veth", link.Kind);
            Assert.Equal(link.Index, nl.GetIfIndex("n0"));

            nl.SetLinkDown("n0");
            Assert.False(nl.GetLink("n0").IsUp);
        });
        // And `ip` agrees.
        var j = ns.IpJson("link", "show", "n0")[0];
        Assert.Equal(1400, j.GetProperty("mtu").GetInt32());
        Assert.Equal("02:aa:bb:cc:dd:ee", j.GetProperty("address").GetString());
        Assert.DoesNotContain("UP", j.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
    }

    [Fact]
    public void List_links_notices_an_interface_that_disappeared()
    {
        using var ns = WithVeth();
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            var names = nl.ListLinks().Select(l => l.Name).ToList();
            Assert.Contains("lo", names);
            Assert.Contains("n0", names);
            Assert.Contains("n1", names);
            int index = nl.GetIfIndex("n0");
            Assert.True(nl.TryGetIfIndex("n1", out _));

            nl.DeleteLink("n0"); // deleting one end of a veth deletes both
            var after = nl.ListLinks();
            Assert.DoesNotContain(after, l => l.Index == index);
            Assert.DoesNotContain(after, l => l.Name == "n1");
            Assert.False(nl.TryGetIfIndex("n0", out _));
            Assert.Null(nl.FindLink("n0"));
        });
    }

    [Fact]
    public void IPv6_addresses_are_added_listed_and_deleted()
    {
        using var ns = WithVeth();
        var address = Ipv6Address.Parse("2001:db8:5::1");
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            nl.SetLinkUp("n0");
            nl.AddAddress("n0", address, 64, noDad: true);
            var listed = nl.ListAddresses("n0");
            var a = Assert.Single(listed, x => x.Address == address);
            Assert.Equal(64, a.PrefixLength);
            Assert.False(a.IsTentative);
            Assert.Equal(nl.GetIfIndex("n0"), a.IfIndex);
            Assert.Contains(nl.ListAddresses(), x => x.Address == address);
        });
        Assert.Contains(ns.IpJson("-6", "addr", "show", "dev", "n0")[0].GetProperty("addr_info").EnumerateArray(),
            x => x.GetProperty("local").GetString() == "2001:db8:5::1" && x.GetProperty("prefixlen").GetInt32() == 64);
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            nl.DeleteAddress("n0", address, 64);
            Assert.DoesNotContain(nl.ListAddresses("n0"), x => x.Address == address);
        });
    }

    [Fact]
    public void Routes_are_added_replaced_and_deleted_with_gateway_and_metric()
    {
        using var ns = WithVeth();
        var prefix = Ipv6Prefix.Parse("2001:db8:6::/64");
        var gateway = Ipv6Address.Parse("2001:db8:5::2");
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            nl.SetLinkUp("n0");
            nl.SetLinkUp("n1");
            nl.AddAddress("n0", Ipv6Address.Parse("2001:db8:5::1"), 64, noDad: true);
            int n0 = nl.GetIfIndex("n0");
            // AddAddress returned once the address is live: its local route exists.
            Assert.Contains(nl.ListRoutes(), x => x.Table == 255 && x.Destination == Ipv6Prefix.Parse("2001:db8:5::1/128"));

            nl.AddRoute(prefix, "n0", metric: 100);
            var r = Assert.Single(nl.ListRoutes(), x => x.Destination == prefix);
            Assert.Equal(n0, r.OutputIfIndex);
            Assert.Equal(100u, r.Metric);
            Assert.Null(r.Gateway);
            Assert.Equal(254u, r.Table);

            nl.ReplaceRoute(prefix, "n0", gateway, metric: 100);
            r = Assert.Single(nl.ListRoutes(), x => x.Destination == prefix);
            Assert.Equal(gateway, r.Gateway);

            nl.AddRoute(Ipv6Prefix.Parse("::/0"), "n0", gateway);
            Assert.Contains(nl.ListRoutes(), x => x.Destination.Length == 0 && x.Gateway == gateway && x.Table == 254);
        });
        var ip = ns.IpJson("-6", "route", "show", "2001:db8:6::/64")[0];
        Assert.Equal("2001:db8:5::2", ip.GetProperty("gateway").GetString());
        Assert.Equal("n0", ip.GetProperty("dev").GetString());
        Assert.Equal(100, ip.GetProperty("metric").GetInt32());
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            nl.DeleteRoute(prefix, "n0", gateway, metric: 100);
            nl.DeleteRoute(Ipv6Prefix.Parse("::/0"), "n0", gateway);
            Assert.DoesNotContain(nl.ListRoutes(), x => x.Destination == prefix || (x.Destination.Length == 0 && x.Table == 254));
        });
    }

    [Fact]
    public void Errors_name_the_operation_and_the_errno()
    {
        using var ns = WithVeth();
        ns.Run(() =>
        {
            using var nl = RtNetlink.Open();
            nl.SetLinkUp("n0");
            var prefix = Ipv6Prefix.Parse("2001:db8:1::/64");
            nl.AddRoute(prefix, "n0");
            var e = Assert.Throws<NetlinkException>(() => nl.AddRoute(prefix, "n0"));
            Assert.StartsWith("add route 2001:db8:1::/64 dev n0: EEXIST", e.Message);
            Assert.Equal(Errno.EEXIST, e.Errno);

            e = Assert.Throws<NetlinkException>(() => nl.AddRoute(prefix, "dp-home"));
            Assert.StartsWith("add route 2001:db8:1::/64 dev dp-home: ENODEV", e.Message);

            e = Assert.Throws<NetlinkException>(() => nl.GetLink("nosuch"));
            Assert.Equal("get link nosuch: ENODEV", e.Message);

            e = Assert.Throws<NetlinkException>(() => nl.DeleteRoute(Ipv6Prefix.Parse("2001:db8:2::/64"), "n0"));
            Assert.StartsWith("delete route 2001:db8:2::/64 dev n0: ESRCH", e.Message);

            // Below the veth's min_mtu (ETH_MIN_MTU 68): the extended ack explains in words.
            e = Assert.Throws<NetlinkException>(() => nl.SetMtu("n0", 40));
            Assert.StartsWith("set mtu 40 dev n0: EINVAL", e.Message);
            Assert.NotNull(e.KernelMessage);
            Assert.Contains(e.KernelMessage!, e.Message);
        });
    }
}
