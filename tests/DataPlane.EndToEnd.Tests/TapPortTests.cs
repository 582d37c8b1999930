namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// The other port backend: a TAP device the switch creates (`ctl port add NAME --kind tap`), whose netdev
/// is then handed to a VM — here moved into a VM namespace, as a hypervisor would attach it to a guest.
/// The VM autoconfigures from our RA over it and reaches the client through the tunnel.
/// </summary>
public sealed class TapPortTests(ITestOutputHelper output)
{
    [Fact]
    public void A_tap_port_created_by_the_switch_serves_a_vm()
    {
        using var tb = new Testbed(output, vms: 1);
        const int vm = 9; // not in the policy file: the defaults admit it and the LMA assigns from its pool
        var ns = tb.Ns($"vm{vm}");
        Shell.Check("ip", "netns", "add", ns);
        var mac = Testbed.Mac(vm);
        var created = tb.Ctl("mag1", "port", "add", "dptap9", "--kind", "tap", "--mac", mac);
        Assert.Equal("dptap9", created!["name"]!.GetValue<string>());

        // Hand the TAP's netdev to the "guest": it keeps the switch's file descriptor on the other side.
        Shell.Check("ip", "-n", tb.Ns("mag1"), "link", "set", "dptap9", "netns", ns);
        foreach (var (key, value) in new[] { ("accept_ra", "1"), ("autoconf", "1"), ("forwarding", "0") })
            Shell.Check("ip", "netns", "exec", ns, "sysctl", "-q", "-w", $"net.ipv6.conf.dptap9.{key}={value}");
        Shell.Check("ip", "-n", ns, "link", "set", "dptap9", "address", mac);
        Shell.Check("ip", "-n", ns, "link", "set", "dptap9", "up");

        string? global = null;
        for (int i = 0; i < 150 && global is null; i++)
        {
            var addrs = Shell.Run("ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "dptap9", "scope", "global").Stdout;
            global = addrs.Split('\n').Where(l => l.Contains("2001:db8:1000:", StringComparison.Ordinal) && !l.Contains("tentative", StringComparison.Ordinal))
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3].Split('/')[0]).FirstOrDefault();
            if (global is null) Thread.Sleep(100);
        }
        Assert.True(global is not null, "the VM behind the TAP got no address from the pool\n" + tb.Logs());
        Assert.EndsWith(":5054:ff:fe00:9", global);
        Assert.Equal(0, Shell.Run("ip", ["netns", "exec", ns, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", Testbed.Client], TimeSpan.FromSeconds(20)).ExitCode);
        var port = tb.Ctl("mag1", "ports")!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "dptap9")!;
        Assert.Equal("tap", port["kind"]!.GetValue<string>());
        Assert.Equal("Established", port["session"]!.GetValue<string>());
        Assert.Equal("52-54-00-00-00-09@vm.dataplane.test", port["nai"]!.GetValue<string>());
    }
}
