namespace DataPlane.Linux.Tests;

public sealed class NetworkNamespaceTests
{
    [Fact]
    public void Run_executes_inside_the_namespace_and_leaves_the_caller_where_it_was()
    {
        using var ns = TestNamespace.Create();
        using var here = NetworkNamespace.Current();
        using var there = NetworkNamespace.Open(ns.Name);
        ulong inside = there.Run(() =>
        {
            using var current = NetworkNamespace.Current();
            return current.Inode;
        });
        Assert.Equal(there.Inode, inside);
        Assert.NotEqual(here.Inode, inside);
        using var after = NetworkNamespace.Current();
        Assert.Equal(here.Inode, after.Inode);
        Assert.True(NetworkNamespace.Exists(ns.Name));
    }

    [Fact]
    public void A_socket_created_inside_keeps_its_namespace()
    {
        using var ns = TestNamespace.Create();
        ns.Ip("link", "add", "only-here", "type", "veth", "peer", "name", "only-peer");
        // The link exists only in ns: opening it works inside, fails outside.
        using var port = ns.Run(() => PacketSocket.Open("only-here"));
        Assert.Equal(PortLinkState.Down, port.RefreshLinkState()); // ioctls go to the socket's namespace
        Assert.Throws<LinuxIoException>(() => PacketSocket.Open("only-here"));
    }

    [Fact]
    public void Exceptions_come_back_to_the_caller_and_a_missing_namespace_is_named()
    {
        using var ns = TestNamespace.Create();
        var e = Assert.Throws<InvalidOperationException>(() => ns.Run(() => throw new InvalidOperationException("inside")));
        Assert.Equal("inside", e.Message);
        var missing = Assert.Throws<LinuxIoException>(() => NetworkNamespace.Open("dpt-no-such-namespace"));
        Assert.Equal("open network namespace /run/netns/dpt-no-such-namespace: ENOENT", missing.Message);
        Assert.False(NetworkNamespace.Exists("dpt-no-such-namespace"));
    }
}
