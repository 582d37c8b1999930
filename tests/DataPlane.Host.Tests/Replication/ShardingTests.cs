using DataPlane.Etcd.Tests;
using DataPlane.Host.Lma.Replication;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;
using Xunit.Abstractions;

namespace DataPlane.Host.Tests.Replication;

/// <summary>Several shards in one etcd: each owns its address and pool; a shard that would overlap another does not serve.</summary>
[Collection("etcd failover")]
public sealed class ShardingTests(ITestOutputHelper output)
{
    private static int _n;
    private static readonly System.Diagnostics.Stopwatch Clock = System.Diagnostics.Stopwatch.StartNew();
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private static readonly Ipv6Address AddressA = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address AddressB = Ipv6Address.Parse("2001:db8:0:1::2");
    private static readonly Ipv6Prefix PoolA = Ipv6Prefix.Parse("2001:db8:100::/48");
    private static readonly Ipv6Prefix PoolB = Ipv6Prefix.Parse("2001:db8:200::/48");

    private string Shard(string s) => $"{s}{Environment.ProcessId}x{Interlocked.Increment(ref _n)}";

    [Theory]
    [InlineData("2001:db8:0:1::2", "2001:db8:200::/48", null)]
    [InlineData("2001:db8:0:1::1", "2001:db8:200::/48", "same LMA address")]
    [InlineData("2001:db8:0:1::2", "2001:db8:100:8000::/49", "overlaps")]
    [InlineData("2001:db8:0:1::2", "2001:db8::/32", "overlaps")]
    public void A_shard_conflicts_with_another_that_has_its_address_or_an_overlapping_pool(string address, string pool, string? expected)
    {
        var registered = new Dictionary<string, string>
        {
            ["a"] = ShardRegistry.Describe(AddressA, PoolA),
            ["garbage"] = "{not json",
        };
        var conflict = ShardRegistry.Conflict("b", Ipv6Address.Parse(address), Ipv6Prefix.Parse(pool), registered);
        if (expected is null) Assert.Null(conflict);
        else Assert.Contains(expected, conflict);
        // Its own earlier registration is no conflict.
        Assert.Null(ShardRegistry.Conflict("a", AddressA, PoolA, registered));
    }

    [Theory]
    [InlineData("10.201.0.0/24", null)]
    [InlineData("10.200.0.128/25", "IPv4 pool 10.200.0.0/24, which overlaps")]
    [InlineData("10.0.0.0/8", "overlaps")]
    public void A_shard_conflicts_with_another_whose_ipv4_pool_overlaps(string ipv4Pool, string? expected)
    {
        var registered = new Dictionary<string, string> { ["a"] = ShardRegistry.Describe(AddressA, PoolA, Wire.Ipv4Prefix.Parse("10.200.0.0/24")) };
        var conflict = ShardRegistry.Conflict("b", Ipv6Address.Parse("2001:db8:0:1::2"), Ipv6Prefix.Parse("2001:db8:200::/48"), registered, Wire.Ipv4Prefix.Parse(ipv4Pool));
        if (expected is null) Assert.Null(conflict);
        else Assert.Contains(expected, conflict);
    }

    [Fact]
    public void Two_shards_are_active_at_once_with_their_own_bindings_and_an_overlapping_third_does_not_campaign()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        string a = Shard("a"), b = Shard("b"), c = Shard("c");
        using var lmaA = new ReplicaMember("a1", a, etcd.Endpoints, new OutputLogger(output, "a1", Clock), address: AddressA, pool: PoolA);
        using var lmaB = new ReplicaMember("b1", b, etcd.Endpoints, new OutputLogger(output, "b1", Clock), address: AddressB, pool: PoolB);
        Assert.True(ReplicaMember.WaitFor(() => lmaA.Role == LmaRole.Active && lmaB.Role == LmaRole.Active, Long), $"a {lmaA.Role}, b {lmaB.Role}");
        lmaA.Register(ReplicaMember.Mag1, "vm1@t", 1);
        lmaB.Register(ReplicaMember.Mag2, "vm2@t", 2);
        Assert.True(ReplicaMember.WaitFor(() => lmaA.AcceptedPbas == 1 && lmaB.AcceptedPbas == 1, Long));
        Assert.True(PoolA.Contains(Assert.Single(lmaA.Machine.Bindings).HomeNetworkPrefixes[0].Address));
        Assert.True(PoolB.Contains(Assert.Single(lmaB.Machine.Bindings).HomeNetworkPrefixes[0].Address));

        // A standby of shard b sees b's binding only.
        using var lmaB2 = new ReplicaMember("b2", b, etcd.Endpoints, new OutputLogger(output, "b2", Clock), address: AddressB, pool: PoolB);
        Assert.True(ReplicaMember.WaitFor(() => lmaB2.Role == LmaRole.Standby && lmaB2.Replicator.Status.ReplicaBindings == 1, Long));

        // A misconfigured shard whose pool overlaps a's never serves, and says why.
        using var lmaC = new ReplicaMember("c1", c, etcd.Endpoints, new OutputLogger(output, "c1", Clock), address: Ipv6Address.Parse("2001:db8:0:1::3"),
            pool: Ipv6Prefix.Parse("2001:db8:100:4000::/50"));
        Assert.True(ReplicaMember.WaitFor(() => lmaC.Replicator.Status.RegistryError is not null, Long));
        Assert.Contains("overlaps", lmaC.Replicator.Status.RegistryError);
        Assert.Equal(LmaRole.Unelected, lmaC.Role);
        Assert.Equal(LmaRole.Active, lmaA.Role);
    }
}
