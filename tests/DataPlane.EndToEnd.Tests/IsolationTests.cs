namespace DataPlane.EndToEnd.Tests;

/// <summary>Issue 4, test 2: two VMs on one MAG see nothing of each other at layer 2.</summary>
public sealed class IsolationTests(ITestOutputHelper output)
{
    [Fact]
    public void Two_vms_on_one_mag_never_see_each_others_frames_or_ras()
    {
        using var tb = new Testbed(output, vms: 2);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        tb.WaitForAddress(2, TimeSpan.FromSeconds(15));

        var pcap = Path.Combine(tb.RunDir, "vm2.pcap");
        // Stopped once the scenario is over (-a is only a backstop): a capture that ended early would see
        // nothing of vm1 and pass for the wrong reason.
        var capture = tb.Capture("vm2", "-i", "eth0", "-a", "duration:300", "-w", pcap);
        // vm1 asks for RAs, talks to the router and the client, and announces itself to ff02::1.
        tb.Exec("vm1", TimeSpan.FromSeconds(20), "rdisc6", "-1", "-r", "2", "-w", "500", "eth0");
        Assert.True(tb.Ping("vm1", Testbed.Client, 5));
        tb.Exec("vm1", "ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", "ff02::1%eth0"); // multicast to all nodes: only the frames matter
        tb.Exec("vm1", Testbed.Probe, "announce-na", "--dev", "eth0");
        Assert.True(tb.Ping("vm2", Testbed.Client, 3), "vm2 cannot reach the client\n" + tb.Logs());
        Shell.Run("kill", ["-TERM", capture.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(capture.WaitForExit(20_000));

        var fromVm1 = Shell.Check("tshark", "-r", pcap, "-Y", $"eth.src == {Testbed.Mac(1)}", "-T", "fields", "-e", "frame.number");
        Assert.True(string.IsNullOrWhiteSpace(fromVm1), "vm2 received frames from vm1's MAC: " + fromVm1);
        var raPrefixes = Shell.Check("tshark", "-r", pcap, "-Y", "icmpv6.type == 134", "-T", "fields", "-e", "icmpv6.opt.prefix", "-e", "eth.dst", "-e", "ipv6.src");
        output.WriteLine("RAs seen by vm2:\n" + raPrefixes);
        foreach (var line in raPrefixes.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            Assert.Equal("2001:db8:1001:2::", f[0]);               // only its own prefix
            Assert.Equal(Testbed.Mac(2), f[1]);                     // unicast to its MAC
            Assert.Equal(Testbed.SharedLinkLocal, f[2]);            // from the shared router address
        }
        var anyOfVm1 = Shell.Check("tshark", "-r", pcap, "-Y", "ipv6.addr == 2001:db8:1001:1::/64", "-T", "fields", "-e", "frame.number");
        Assert.True(string.IsNullOrWhiteSpace(anyOfVm1), "vm2 saw packets of vm1's prefix: " + anyOfVm1);
        int frames = Shell.Check("tshark", "-r", pcap, "-T", "fields", "-e", "frame.number").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.True(frames > 0, "the capture in vm2 saw nothing at all (its own ping should be there)");
    }
}
