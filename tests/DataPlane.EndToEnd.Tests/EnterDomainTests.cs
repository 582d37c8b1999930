namespace DataPlane.EndToEnd.Tests;

/// <summary>Issue 4, test 1: a VM boots into the domain and autoconfigures from our unicast RA.</summary>
public sealed class EnterDomainTests(ITestOutputHelper output)
{
    [Fact]
    public void Vm_autoconfigures_from_the_unicast_ra_and_reaches_the_client()
    {
        using var tb = new Testbed(output, vms: 1);
        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));

        // rdisc6 solicits and prints the RA it gets: from the shared link-local, only this VM's prefix, our MTU.
        var ra = tb.Exec("vm1", TimeSpan.FromSeconds(20), "rdisc6", "-1", "-r", "3", "-w", "1500", "eth0");
        output.WriteLine(ra.Output);
        Assert.Equal(0, ra.ExitCode);
        Assert.Contains($"from {Testbed.SharedLinkLocal}", ra.Stdout);
        var prefixes = ra.Stdout.Split('\n').Where(l => l.TrimStart().StartsWith("Prefix", StringComparison.Ordinal)).ToList();
        Assert.Single(prefixes);
        Assert.Contains(Testbed.Prefix(1), prefixes[0]);
        Assert.Contains("1460", ra.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("MTU", StringComparison.Ordinal)));
        Assert.Contains("00:00:5E:00:52:13", ra.Stdout.ToUpperInvariant());

        // The VM's default router is the shared link-local address, and it reaches the client through MAG and LMA.
        Assert.Contains($"default via {Testbed.SharedLinkLocal}", tb.Exec("vm1", "ip", "-6", "route").Stdout);
        Assert.True(tb.Ping("vm1", Testbed.Client), "vm1 cannot ping the client\n" + tb.Logs());
        Assert.True(tb.Ping("client", address), "the client cannot ping vm1\n" + tb.Logs());

        var ports = tb.Ctl("mag1", "ports")!.AsArray();
        var port = Assert.Single(ports);
        Assert.Equal("Established", port!["session"]!.GetValue<string>());
        Assert.Equal("vm1@vm.dataplane.test", port["nai"]!.GetValue<string>());
        var binding = Assert.Single(tb.Ctl("lma", "bindings")!.AsArray());
        Assert.Equal(Testbed.Mag1Address, binding!["mag"]!.GetValue<string>());
    }
}
