using DataPlane.Host.Configuration;
using DataPlane.Host.Policy;

namespace DataPlane.Host.Tests;

/// <summary>The files in examples/ are what users copy: they must stay valid as the code changes.</summary>
public class ExampleConfigTests
{
    private static string Examples()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "examples")) && File.Exists(Path.Combine(d.FullName, "DataPlane.sln")))
                return Path.Combine(d.FullName, "examples");
        throw new DirectoryNotFoundException("examples/ not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Example_lma_and_two_mags_and_policy_are_valid_and_consistent()
    {
        var dir = Examples();
        var lma = LmaConfig.Load(Path.Combine(dir, "lma.json"));
        var mag1 = MagConfig.Load(Path.Combine(dir, "mag1.json"));
        var mag2 = MagConfig.Load(Path.Combine(dir, "mag2.json"));
        var policy = PolicyFile.Load(Path.Combine(dir, "policy.json"));
        Assert.Equal(lma.Protocol.LocalMobilityAnchorAddress, mag1.LocalMobilityAnchor);
        Assert.Equal(lma.Protocol.LocalMobilityAnchorAddress, mag2.LocalMobilityAnchor);
        Assert.Contains(mag1.Protocol.ProxyCareOfAddress, lma.Protocol.AuthorizedMags);
        Assert.Contains(mag2.Protocol.ProxyCareOfAddress, lma.Protocol.AuthorizedMags);
        Assert.NotEqual(mag1.Protocol.ProxyCareOfAddress, mag2.Protocol.ProxyCareOfAddress);
        // The shared router MAC and link-local address must be the same on every MAG.
        Assert.Equal(mag1.Protocol.SharedMacAddress, mag2.Protocol.SharedMacAddress);
        Assert.Equal(mag1.Protocol.SharedLinkLocalAddress, mag2.Protocol.SharedLinkLocalAddress);
        Assert.Equal(4, policy.Vms.Count);
        // IPv4 (RFC 5844): the static address is assignable in the LMA's home network, and every MAG's DHCP server
        // says the same (§3.4: the same options on every MAG).
        var ipv4 = lma.Protocol.Ipv4HomeNetwork!;
        foreach (var a in policy.StaticIpv4HomeAddresses) Assert.True(ipv4.IsAssignable(a), $"{a} is not assignable in {ipv4.Subnet}");
        Assert.Single(policy.StaticIpv4HomeAddresses);
        Assert.Equal(mag1.Datapath.DhcpServerIdentifier, mag2.Datapath.DhcpServerIdentifier);
        Assert.Equal(mag1.Datapath.DhcpLeaseTime, mag2.Datapath.DhcpLeaseTime);
        Assert.Equal(mag1.Datapath.DhcpDnsServers, mag2.Datapath.DhcpDnsServers);
        Assert.Equal(mag1.Datapath.DhcpDomainName, mag2.Datapath.DhcpDomainName);
    }

    [Fact]
    public void Example_lma_shard_member_replicates_the_example_lma_on_etcd()
    {
        var dir = Examples();
        var lma = LmaConfig.Load(Path.Combine(dir, "lma.json"));
        var member = LmaConfig.Load(Path.Combine(dir, "lma-a1.json"));
        Assert.Null(lma.Etcd);
        var etcd = Assert.IsType<EtcdConfig>(member.Etcd);
        Assert.Equal(lma.Protocol.LocalMobilityAnchorAddress, member.Protocol.LocalMobilityAnchorAddress);
        Assert.Equal(lma.Protocol.HomeNetworkPrefixPool, member.Protocol.HomeNetworkPrefixPool);
        Assert.Equal(DataPlane.Protocol.Lma.BindingPersistence.AcknowledgeAfterCommit, member.Protocol.Persistence);
        Assert.Equal(3, etcd.Store.Endpoints.Count);
        Assert.Equal(("lma-a", "lma-a1", "lo"), (etcd.Shard, etcd.Member, etcd.AddressInterface));
    }
}
