using System.Globalization;
using System.Text.RegularExpressions;
using DataPlane.Tests.Shared;

namespace DataPlane.WanEmulator.Tests;

/// <summary>
/// scripts/testbed with WAN emulation, end to end: `up --delay` puts the emulator on all three of the LMA's
/// links (so the MAG–LMA RTT is half the client–VM RTT, as in the seed's Figure 8), `wan --delay` retunes a
/// running testbed, `migrate --memory-mb` sends the pre-copy stream through the LMA first. Needs root and the
/// native dataplane and dataplane-probe (`make build`); the emulator is the published one when it exists (`make
/// build` publishes it), else this project's own build of it. Unique name per run (dpt&lt;pid&gt;w&lt;n&gt;), torn down in Dispose.
/// </summary>
public sealed partial class TestbedWanTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();
    private static readonly string Script = Path.Combine(Root, "scripts", "testbed");

    private static string WanCommand()
    {
        var published = Path.Combine(Root, "artifacts", "publish", "dataplane-wan", "dataplane-wan");
        return File.Exists(published) ? published : Path.Combine(AppContext.BaseDirectory, "dataplane-wan");
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return d.FullName;
        throw new InvalidOperationException("no DataPlane.sln above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Stdout, string Stderr) Testbed(params string[] args) =>
        BridgedPair.Shell("env", ["DATAPLANE_WAN=" + WanCommand(), Script, .. args]);

    /// <summary>iperf3 for 2 s from vm1 to the client node (one stream); the bytes the server received.</summary>
    private static long IperfVmToClient(string name)
    {
        const string port = "5299";
        var server = Task.Run(() => BridgedPair.Shell("ip", "netns", "exec", $"{name}-client", "timeout", "40", "iperf3", "-s", "-1", "-p", port));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!BridgedPair.Shell("ip", "netns", "exec", $"{name}-client", "ss", "-Hltn", $"sport = :{port}").Stdout.Contains(port, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the iperf3 server in the client node is not listening");
            Thread.Sleep(50);
        }
        var client = BridgedPair.Shell("ip", "netns", "exec", $"{name}-vm1", "iperf3", "-c", "2001:db8:2::10", "-p", port, "-t", "2", "-J");
        server.Wait(TimeSpan.FromSeconds(45));
        Assert.True(client.Code == 0, "iperf3: " + client.Stdout + client.Stderr);
        var root = System.Text.Json.JsonDocument.Parse(client.Stdout).RootElement;
        Assert.False(root.TryGetProperty("error", out var error), "iperf3: " + error);
        var end = root.GetProperty("end");
        return (long)end.GetProperty("sum_received").GetProperty("bytes").GetDouble();
    }

    private static double[] Pings(string ns, string target)
    {
        var r = BridgedPair.Shell("ip", "netns", "exec", ns, "ping", "-6", "-c", "10", "-i", "0.05", "-W", "3", target);
        var v = TimeRegex().Matches(r.Stdout).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order().ToArray();
        Assert.True(v.Length >= 8, $"ping {target} from {ns}: {r.Stdout}{r.Stderr}");
        return v;
    }

    [GeneratedRegex(@"time=([\d.]+) ms")]
    private static partial Regex TimeRegex();

    [Fact]
    public void Delayed_lma_links_give_the_seeds_rtt_ratio_retune_live_and_carry_the_precopy()
    {
        foreach (var binary in new[] { "dataplane/dataplane", "dataplane-probe/dataplane-probe" })
            Assert.True(File.Exists(Path.Combine(Root, "artifacts", "publish", binary)), $"artifacts/publish/{binary} is missing: run `make build` first");
        string name = RunNames.Next("dpt", "w");
        Testbed("down", "--all-stale");
        try
        {
            var up = Testbed("up", "--name", name, "--owner-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--delay", "5ms");
            Assert.True(up.Code == 0, up.Stdout + up.Stderr);
            var check = Testbed("check", "--name", name);
            Assert.True(check.Code == 0, check.Stdout + check.Stderr);

            const string vm = "2001:db8:1001:1:5054:ff:fe00:1";
            var clientVm = Pings($"{name}-client", vm);
            var magLma = Pings($"{name}-mag1", "2001:db8:100::1");
            output.WriteLine($"--delay 5ms: client–VM RTT min {clientVm[0]} median {clientVm[clientVm.Length / 2]} ms, MAG–LMA RTT min {magLma[0]} median {magLma[magLma.Length / 2]} ms");
            BridgeNamespaceTests.AssertDelayAppliedOnce(clientVm, 20.0);   // four passes of 5 ms
            BridgeNamespaceTests.AssertDelayAppliedOnce(magLma, 10.0);     // half of it

            var wan = Testbed("wan", "--name", name, "--delay", "0");
            Assert.True(wan.Code == 0, wan.Stdout + wan.Stderr);
            Assert.Contains("mag2: delay=0ms", wan.Stdout);
            Assert.True(Pings($"{name}-client", vm)[0] < 10.0, "the 20 ms round trip is gone after `wan --delay 0`");

            var migrate = Testbed("migrate", "vm1", "mag2", "--name", name, "--memory-mb", "16", "--pause", "50");
            output.WriteLine(migrate.Stdout);
            Assert.True(migrate.Code == 0, migrate.Stdout + migrate.Stderr);
            var steps = migrate.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[1]).ToList();
            // The destination expects (pre-registers) the VM before the pre-copy; the source is told the VM stopped before its port goes.
            Assert.Equal(["start", "port-expect", "precopy-start", "precopy-end", "vm-stop", "port-del", "link-down", "pause-end", "moved", "link-up", "oper-up", "port-add", "announced", "resumed", "finished"], steps);
            Assert.Contains("\"bytes\":16777216", migrate.Stdout);
            Assert.True(Pings($"{name}-client", vm)[0] < 10.0); // still reachable, now through MAG2, undelayed

            // A TCP stream from the VM, now behind MAG2, to the client: MAG2 tunnels its TSO super-frames whole (issue
            // 14), so IPv6-in-IPv6 super-frames cross the emulator on MAG2's link. It must send them on whole (it
            // relabels them on egress, as the daemons do on their uplinks), not lose them or stop: it once exited on the
            // ENOMEM the kernel gives such a frame sent with a virtio-net header, which cut MAG2 off from the LMA.
            long received = IperfVmToClient(name);
            output.WriteLine($"iperf3 vm1 → client through MAG2's emulated link: {received} bytes received");
            Assert.True(received > 1_000_000, $"the TCP stream through the emulator carried {received} bytes");
            var mag2Stats = Testbed("wan", "--name", name, "--link", "mag2", "--stats");
            Assert.True(mag2Stats.Code == 0, "MAG2's emulator is not running any more: " + mag2Stats.Stdout + mag2Stats.Stderr);
            output.WriteLine(mag2Stats.Stdout);
            Assert.Contains("tunnel super-frames relabelled on egress of lma-mag2 (", File.ReadAllText($"/run/dataplane-testbed/{name}/wan-mag2.stdout"));

            var stats = Testbed("wan", "--name", name, "--link", "mag1", "--stats");
            Assert.True(stats.Code == 0, stats.Stderr);
            output.WriteLine(stats.Stdout);
            // The pre-copy crossed MAG1's link: at least its 16 MiB went through that emulator.
            long sent = Regex.Matches(stats.Stdout, "\"sentBytes\":(\\d+)").Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            Assert.True(sent > 16_000_000, stats.Stdout);
        }
        finally
        {
            var down = Testbed("down", "--name", name);
            output.WriteLine(down.Stdout + down.Stderr);
            Assert.False(File.Exists($"/run/netns/{name}-wan"), "the wan namespace is gone after down");
        }
    }
}
