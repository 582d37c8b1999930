using System.Text.Json.Nodes;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// Issue 4, test 5: a hostile VM (its own RA, a redirect, spoofed sources, another VM's prefix, a second
/// MAC, a malformed header chain, a DHCPv6 server, an RS flood) is dropped and counted; the other VM keeps
/// its connectivity and both daemons keep running.
/// </summary>
public sealed class HostileVmTests(ITestOutputHelper output)
{
    [Fact]
    public void Hostile_frames_are_dropped_and_counted_and_the_other_vm_is_unaffected()
    {
        using var tb = new Testbed(output, vms: 2);
        var vm1 = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        var vm2 = tb.WaitForAddress(2, TimeSpan.FromSeconds(15));
        var before = tb.PortDrops("mag1", "vm1");

        // vm2 pings throughout the attack.
        var ping = tb.Background("vm2", "ping", "-6", "-c", "60", "-i", "0.05", "-W", "1", Testbed.Client);
        var script = Path.Combine(AppContext.BaseDirectory, "hostile_vm.py");
        var attack = tb.Exec("vm1", TimeSpan.FromSeconds(60), "/usr/bin/python3", script, "eth0", Testbed.Mac(1), vm1, vm2, Testbed.Client);
        output.WriteLine(attack.Output);
        Assert.Equal(0, attack.ExitCode);
        Assert.True(ping.WaitForExit(30_000));
        var pingOutput = ping.StandardOutput.ReadToEnd();
        output.WriteLine(pingOutput);
        Assert.Contains(" 0% packet loss", pingOutput);

        var after = tb.PortDrops("mag1", "vm1");
        long Delta(string reason) => after.GetValueOrDefault(reason) - before.GetValueOrDefault(reason);
        output.WriteLine("drops on vm1's port: " + string.Join(", ", after.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.True(Delta("RouterAdvertisementGuard") >= 1, "RA not counted");
        Assert.True(Delta("RedirectGuard") >= 1, "redirect not counted");
        Assert.True(Delta("SpoofedSource") >= 10, "spoofed and other-VM sources not counted");
        Assert.True(Delta("ForeignSourceMac") >= 5, "second MAC not counted");
        Assert.True(Delta("Malformed") >= 5, "malformed chain not counted");
        Assert.True(Delta("DhcpServerGuard") >= 1, "DHCPv6 server message not counted");
        // The port passes 20 control frames a second after a burst of 10 (MagDatapathOptions.ControlFrameRate);
        // everything else of the 500-RS flood is dropped. How many pass depends on how long the flood took to
        // send, which the script reports (a second is added for the frames sent before and after it).
        var flood = attack.Output.Split('\n').Single(l => l.StartsWith("rs-flood ", StringComparison.Ordinal)).Split(' ');
        double floodSeconds = double.Parse(flood[2], System.Globalization.CultureInfo.InvariantCulture);
        long mayPass = 10 + (long)Math.Ceiling(20 * (floodSeconds + 1));
        Assert.True(Delta("RateLimited") >= 500 - mayPass, $"RS flood not rate-limited: {Delta("RateLimited")} of 500 dropped in {floodSeconds} s");

        // vm2 never learnt the rogue prefix, the daemons still answer, and both VMs still reach the client.
        Assert.DoesNotContain("2001:db8:bad:", string.Join(' ', tb.GlobalAddresses(2)));
        foreach (var role in new[] { "lma", "mag1", "mag2" }) Assert.True(tb.DaemonAlive(role), $"{role} died");
        Assert.True(tb.Ping("vm2", Testbed.Client));
        Assert.True(tb.Ping("vm1", Testbed.Client));
        Assert.Equal("Established", tb.Ctl("mag1", "ports")!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "vm1")!["session"]!.GetValue<string>());
    }
}
