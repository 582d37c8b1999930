using System.Text.Json.Nodes;

namespace DataPlane.EndToEnd.Tests;

/// <summary>`dataplane.uplink: "packet"`: both daemons send tunnel packets on AF_PACKET, receiving stays on the raw socket.</summary>
public sealed class PacketUplinkTests(ITestOutputHelper output)
{
    [Fact]
    public void Tunnel_traffic_leaves_by_af_packet_in_both_directions()
    {
        using var tb = new Testbed(output, vms: 1, tuning: """{"uplink":"packet"}""");
        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        // The first packets to a peer go by the raw socket (the kernel resolves the neighbour); the daemons
        // pick the next hop up within a second of it being resolved.
        Assert.True(tb.Ping("vm1", Testbed.Client), "vm1 cannot ping the client\n" + tb.Logs());
        Assert.True(tb.Ping("client", address), "the client cannot ping vm1\n" + tb.Logs());

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!(Peers("mag1") >= 1 && Peers("lma") >= 1))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no AF_PACKET next hop after 10 s: mag1 {Uplink("mag1")}, lma {Uplink("lma")}\n{tb.Logs()}");
            Thread.Sleep(200);
        }

        // A capture on the MAG's uplink still sees the tunnel packets it sends by AF_PACKET (and receives on the raw socket).
        var pcap = Path.Combine(tb.RunDir, "uplink-mag1-packet.pcap");
        var capture = Shell.Start(Testbed.Dataplane, ["ctl", "--socket", $"{tb.RunDir}/mag1.sock", "capture", "uplink", "-w", pcap, "-c", "10"]);
        Assert.True(WaitForLine(capture.StandardError, "capturing on", TimeSpan.FromSeconds(10)), "the uplink capture did not start");

        var magBefore = Uplink("mag1");
        var lmaBefore = Uplink("lma");
        Assert.True(tb.Ping("vm1", Testbed.Client, count: 5), "vm1 cannot ping the client over the packet uplink\n" + tb.Logs());
        Assert.True(tb.Ping("client", address, count: 5), "the client cannot ping vm1 over the packet uplink\n" + tb.Logs());
        var magAfter = Uplink("mag1");
        var lmaAfter = Uplink("lma");
        output.WriteLine($"mag1 uplink {magAfter}\nlma uplink {lmaAfter}");
        // 10 of the 20 tunnel packets the pings make (10 sent by AF_PACKET, 10 received on the raw socket).
        Assert.True(capture.WaitForExit(15_000), "the uplink capture did not stop after 10 frames");
        var summary = capture.StandardError.ReadToEnd();
        output.WriteLine(summary);
        Assert.Equal(0, capture.ExitCode);
        Assert.Contains("10 frames captured to", summary);
        var sent = Shell.Run("tshark", ["-r", pcap, "-T", "fields", "-Y", $"ipv6.nxt == 41 && ipv6.src == {Testbed.Mag1Address}", "-e", "frame.number"], TimeSpan.FromSeconds(30));
        Assert.Equal(0, sent.ExitCode);
        Assert.NotEmpty(sent.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        foreach (var (before, after) in new[] { (magBefore, magAfter), (lmaBefore, lmaAfter) })
        {
            Assert.Equal("packet", after["kind"]!.GetValue<string>());
            // 5 requests (MAG) or 5 replies (LMA) and the other direction's 5: at least 10 each way, all by AF_PACKET.
            Assert.True(Long(after, "packetTxPackets") - Long(before, "packetTxPackets") >= 10, $"too few AF_PACKET sends: {before} -> {after}");
            Assert.Equal(Long(before, "rawFallbackPackets"), Long(after, "rawFallbackPackets"));
            Assert.Equal(0, Long(after, "packetTxErrors"));
        }

        JsonObject Uplink(string daemon) => tb.Ctl(daemon, "stats")!["uplink"]!.AsObject();
        long Peers(string daemon) => Long(Uplink(daemon), "peers");
    }

    [Fact]
    public void After_a_migration_the_lma_sends_to_the_new_mag_by_af_packet_on_its_interface()
    {
        using var tb = new Testbed(output, vms: 1, tuning: """{"uplink":"packet"}""");
        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        Assert.True(tb.Ping("client", address), "the client cannot ping vm1\n" + tb.Logs());
        tb.Migrate(1, "mag2", announce: "rarp");
        Assert.True(tb.Ping("client", address), "vm1 unreachable after the migration\n" + tb.Logs());

        // The LMA reaches MAG2 through another interface (eth-mag2): a second AF_PACKET socket.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!(Interfaces("lma").Contains("eth-mag2") && Long(Uplink("mag2"), "peers") >= 1))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no AF_PACKET path to MAG2 after 10 s: lma {Uplink("lma")}, mag2 {Uplink("mag2")}\n{tb.Logs()}");
            Thread.Sleep(200);
        }
        var lmaBefore = Uplink("lma");
        var mag2Before = Uplink("mag2");
        Assert.True(tb.Ping("client", address, count: 5), "the client cannot ping vm1 at MAG2 over the packet uplink\n" + tb.Logs());
        var lmaAfter = Uplink("lma");
        var mag2After = Uplink("mag2");
        output.WriteLine($"lma uplink {lmaAfter}\nmag2 uplink {mag2After}");
        foreach (var (before, after) in new[] { (lmaBefore, lmaAfter), (mag2Before, mag2After) })
        {
            Assert.True(Long(after, "packetTxPackets") - Long(before, "packetTxPackets") >= 5, $"too few AF_PACKET sends: {before} -> {after}");
            Assert.Equal(Long(before, "rawFallbackPackets"), Long(after, "rawFallbackPackets"));
        }

        JsonObject Uplink(string daemon) => tb.Ctl(daemon, "stats")!["uplink"]!.AsObject();
        string[] Interfaces(string daemon) => [.. Uplink(daemon)["interfaces"]!.AsArray().Select(n => n!.GetValue<string>())];
    }

    private static bool WaitForLine(StreamReader reader, string text, TimeSpan timeout)
    {
        var read = Task.Run(() =>
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
                if (line.Contains(text, StringComparison.Ordinal)) return true;
            return false;
        });
        return read.Wait(timeout) && read.Result;
    }

    private static long Long(JsonObject o, string key) => o[key]!.GetValue<long>();
}
