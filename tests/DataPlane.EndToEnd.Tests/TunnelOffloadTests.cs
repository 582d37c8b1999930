using System.Text.Json.Nodes;
using DataPlane.Linux;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// TCP super-frames through the tunnel on the namespace testbed (the packet uplink, the default): iperf3 in both
/// directions with the super-frames seen whole on the far side by an independent vnet-header capture; with the
/// uplink's IPXIP6 segmentation off, tshark judges the RFC 2473 segments the kernel cut; Packet Too Big by segment
/// size for a VM that ignores the advertised MTU; the fallbacks (switched off, or no CAP_BPF) still carry TCP; and
/// the relabel program is attached once, survives nothing of a crash and goes with a clean stop.
/// </summary>
public sealed class TunnelOffloadTests(ITestOutputHelper output)
{
    private static double Received(JsonNode iperf) => iperf["end"]!["sum_received"]!["bytes"]!.GetValue<double>();

    private static JsonObject Stats(Testbed tb, string daemon) => tb.Ctl(daemon, "stats")!.AsObject();

    private static JsonObject Path(Testbed tb, string daemon) => Stats(tb, daemon)["uplink"]!["paths"]!.AsArray().Single()!.AsObject();

    private static long Datapath(Testbed tb, string daemon, string counter) => Stats(tb, daemon)["datapath"]![counter]!.GetValue<long>();

    /// <summary>Programs named dp_gso_relabel on the interface's tcx egress hook, as the kernel lists them.</summary>
    private static int RelabelPrograms(Testbed tb, string node, string device) => NetworkNamespace.Run(tb.Ns(node), () =>
    {
        using var nl = DataPlane.Linux.RtNetlink.Open();
        return TunnelGsoRelabel.CountOnTcxEgress(nl.GetIfIndex(device));
    });

    private static string IngressFilters(Testbed tb, string node, string device) => tb.Exec(node, "tc", "filter", "show", "dev", device, "ingress").Stdout;

    /// <summary>SIGTERM (not SIGINT, which a test run started from a background job inherits as ignored): the capture ends its file and reports.</summary>
    private static void Terminate(System.Diagnostics.Process p) =>
        Shell.Run("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));

    private static bool ReadsLine(StreamReader reader, TimeSpan timeout)
    {
        var read = Task.Run(reader.ReadLine);
        return read.Wait(timeout) && read.Result is not null;
    }

    private static void WaitFor(Func<bool> condition, string what, Testbed tb, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} not within {seconds} s\n{tb.Logs()}");
            Thread.Sleep(100);
        }
    }

    [Fact]
    public void Iperf3_crosses_both_ways_with_super_frames_seen_whole_on_the_far_side()
    {
        using var tb = new Testbed(output);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        WaitFor(() => Path(tb, "mag1")["superFrames"]!.GetValue<bool>() && Stats(tb, "lma")["uplink"]!["paths"]!.AsArray().Count == 1,
            "both daemons' uplink paths", tb);

        // An AF_PACKET socket with PACKET_VNET_HDR of its own on the LMA's side of the link, in Python.
        var capture = tb.Background("lma", "python3", System.IO.Path.Combine(AppContext.BaseDirectory, "vnet_capture.py"), "eth-mag1", "300");
        Assert.True(ReadsLine(capture.StandardError, TimeSpan.FromSeconds(20)), "the vnet capture did not start");
        var up = tb.Iperf("vm1", reverse: false, "-t", "2");
        Terminate(capture);
        Assert.True(capture.WaitForExit(30_000), "the vnet capture did not end");
        var seen = JsonNode.Parse(capture.StandardOutput.ReadToEnd())!;
        output.WriteLine($"VM → client: {Received(up) / 1e6:F0} MB; on the LMA's side of the link: {seen.ToJsonString()}");
        Assert.True(Received(up) > 0);
        Assert.True(seen["superframes"]!.GetValue<int>() > 0, $"no super-frame arrived whole: {seen}");
        Assert.True(seen["largest"]!.GetValue<int>() > 1514);
        Assert.InRange(seen["gso_size"]!.GetValue<int>(), 1, 1460 - 40 - 20);

        var down = tb.Iperf("vm1", reverse: true, "-t", "2");
        output.WriteLine($"client → VM: {Received(down) / 1e6:F0} MB");
        Assert.True(Received(down) > 0);

        foreach (var daemon in new[] { "mag1", "lma" })
        {
            var path = Path(tb, daemon);
            output.WriteLine($"{daemon}: {path.ToJsonString()}");
            Assert.True(path["superFrames"]!.GetValue<bool>());
            Assert.Equal("tcx", path["relabel"]!.GetValue<string>());
            Assert.True(path["receiver"]!.GetValue<bool>());
            Assert.True(Datapath(tb, daemon, "superFramesForwarded") > 0, $"{daemon} sent no super-frame whole");
            Assert.True(Datapath(tb, daemon, "superFramesDelivered") > 0, $"{daemon} received no super-frame whole");
        }
        Assert.Equal(1, RelabelPrograms(tb, "mag1", "eth-lma"));
        Assert.Equal(1, RelabelPrograms(tb, "lma", "eth-mag1"));
    }

    [Fact]
    public void Ipv4_iperf3_crosses_both_ways_as_tcpv4_super_frames_on_the_packet_uplink()
    {
        using var tb = new Testbed(output, ipv4: "dual");
        tb.WaitForIpv4Address(1, TimeSpan.FromSeconds(20));
        WaitFor(() => Path(tb, "mag1")["superFrames"]!.GetValue<bool>() && Stats(tb, "lma")["uplink"]!["paths"]!.AsArray().Count == 1,
            "both daemons' uplink paths", tb);
        long forwardedBefore = Datapath(tb, "mag1", "superFramesForwarded");

        var capture = tb.Background("lma", "python3", System.IO.Path.Combine(AppContext.BaseDirectory, "vnet_capture.py"), "eth-mag1", "300");
        Assert.True(ReadsLine(capture.StandardError, TimeSpan.FromSeconds(20)), "the vnet capture did not start");
        var up = tb.Iperf4("vm1", reverse: false, "-t", "2");
        Terminate(capture);
        Assert.True(capture.WaitForExit(30_000), "the vnet capture did not end");
        var seen = JsonNode.Parse(capture.StandardOutput.ReadToEnd())!;
        output.WriteLine($"VM → client over IPv4: {Received(up) / 1e6:F0} MB; on the LMA's side of the link: {seen.ToJsonString()}");
        Assert.True(Received(up) > 0);
        // IPv4-in-IPv6 (next header 4) by the AF_PACKET sender, TCPv4 super-frames among it, whole.
        Assert.True(seen["superframes4"]!.GetValue<int>() > 0, $"no IPv4 super-frame arrived whole: {seen}");
        Assert.True(seen["largest4"]!.GetValue<int>() > 1514);
        Assert.InRange(seen["gso_size4"]!.GetValue<int>(), 1, 1460 - 20 - 20);

        var down = tb.Iperf4("vm1", reverse: true, "-t", "2");
        output.WriteLine($"client → VM over IPv4: {Received(down) / 1e6:F0} MB");
        Assert.True(Received(down) > 0);

        foreach (var daemon in new[] { "mag1", "lma" })
        {
            var stats = Stats(tb, daemon);
            output.WriteLine($"{daemon}: ipv4Tunnel {stats["ipv4Tunnel"]!.ToJsonString()}, datapath super-frames forwarded " +
                $"{Datapath(tb, daemon, "superFramesForwarded")}, delivered {Datapath(tb, daemon, "superFramesDelivered")}");
            Assert.True(stats["ipv4Tunnel"]!["packetUplinkPackets"]!.GetValue<long>() > 0, $"{daemon} sent no IPv4 by the packet uplink");
            Assert.True(Datapath(tb, daemon, "superFramesDelivered") > 0, $"{daemon} received no super-frame whole");
        }
        Assert.True(Datapath(tb, "mag1", "superFramesForwarded") > forwardedBefore, "the MAG sent no IPv4 super-frame whole");
        Assert.True(Datapath(tb, "lma", "superFramesForwarded") > 0, "the LMA sent no IPv4 super-frame whole");
    }

    [Fact]
    public void With_ipxip6_segmentation_off_the_wire_carries_rfc2473_segments_tshark_finds_valid()
    {
        using var tb = new Testbed(output);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        WaitFor(() => Path(tb, "mag1")["superFrames"]!.GetValue<bool>(), "the MAG's relabel program", tb);
        // As a NIC without IPXIP6 TSO: the kernel's GSO cuts the relabelled super-frame; with checksumming off it
        // also computes each segment's checksum, so what crosses the link is what a wire would carry.
        Assert.Equal(0, tb.Exec("mag1", "ethtool", "-K", "eth-lma", "tx-ipxip6-segmentation", "off", "tx", "off").ExitCode);
        // Captured where they leave the MAG's host (taps see a device's output after GSO): the LMA's interface merges
        // them again with GRO before any capture there could see them.
        var pcap = System.IO.Path.Combine(tb.RunDir, "segments.pcap");
        var tshark = tb.Capture("mag1", "-i", "eth-lma", "-f", $"ip6 proto 41 and src host {Testbed.Mag1Address}", "-a", "duration:300", "-w", pcap);
        var up = tb.Iperf("vm1", reverse: false, "-n", "4M", "-b", "200M");
        Assert.True(Received(up) > 0);
        Terminate(tshark);
        Assert.True(tshark.WaitForExit(30_000), "tshark did not stop");

        var r = Shell.Run("tshark", ["-r", pcap, "-o", "tcp.check_checksum:TRUE", "-Y", $"tcp.len > 0 && ipv6.src == {Testbed.Address(1)}",
            "-T", "fields", "-E", "separator=;", "-e", "frame.len", "-e", "ipv6.plen", "-e", "tcp.seq_raw", "-e", "tcp.len", "-e", "tcp.checksum.status",
            "-e", "tcp.stream"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, r.ExitCode);
        var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(';')).ToList();
        output.WriteLine($"{rows.Count} data segments captured; first: {string.Join(' ', rows.FirstOrDefault() ?? [])}");
        Assert.True(rows.Count > 100, $"only {rows.Count} segments captured");
        var ranges = new List<(string Stream, uint Start, uint End)>();
        foreach (var f in rows)
        {
            int frame = int.Parse(f[0]);
            var plen = f[1].Split(',').Select(int.Parse).ToArray(); // outer, inner
            uint seq = uint.Parse(f[2]);
            int len = int.Parse(f[3]);
            Assert.True(frame <= 1514, $"a {frame}-byte frame on a 1500-byte link");
            Assert.Equal(2, plen.Length);
            Assert.Equal(plen[1] + 40, plen[0]);          // outer payload = the inner packet
            Assert.Equal(14 + 40 + plen[0], frame);         // and the frame is exactly that
            Assert.True(40 + plen[1] <= 1460, "an inner packet over the tunnel MTU");
            Assert.Equal("1", f[4]);                        // tshark: checksum good
            ranges.Add((f[5], seq, seq + (uint)len));
        }
        // Per connection (iperf3's control and data streams), the sequence numbers leave no hole between the first and
        // the last byte captured (retransmissions may repeat some). Relative to the first, so a wrap does not matter.
        foreach (var stream in ranges.GroupBy(x => x.Stream))
        {
            uint origin = stream.First().Start - (1u << 30); // a retransmission of something earlier stays above it
            var sorted = stream.Select(x => (Start: x.Start - origin, End: x.End - origin)).OrderBy(x => x.Start).ToList();
            uint covered = sorted[0].End;
            foreach (var (start, end) in sorted.Skip(1))
            {
                Assert.True(start <= covered, $"stream {stream.Key}: a gap in the sequence numbers at +{covered}..+{start}");
                covered = Math.Max(covered, end);
            }
        }
    }

    [Fact]
    public void A_vm_that_ignores_the_advertised_mtu_gets_packet_too_big_for_its_segment_size()
    {
        using var tb = new Testbed(output);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        // The guest ignores the RA's 1460 and sends TSO super-frames cut for 1500: each segment is too big for the tunnel.
        Assert.Equal(0, tb.Exec("vm1", "sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_ra_mtu=0", "net.ipv6.conf.eth0.mtu=1500").ExitCode);
        Assert.Equal(0, tb.Exec("vm1", "ip", "-6", "route", "add", "default", "via", Testbed.SharedLinkLocal, "dev", "eth0", "metric", "1", "mtu", "1500").ExitCode);
        var up = tb.Iperf("vm1", reverse: false, "-t", "2");
        Assert.True(Received(up) > 0);
        var stats = Stats(tb, "mag1");
        output.WriteLine(stats["datapath"]!.ToJsonString());
        Assert.True((stats["datapath"]!["all"]!["drops"]!["PacketTooBig"]?.GetValue<long>() ?? 0) > 0, "no super-frame was refused for its segment size");
        Assert.True((stats["datapath"]!["controlSent"]!["PacketTooBig"]?.GetValue<long>() ?? 0) > 0, "no Packet Too Big was sent");
        // The guest's kernel took it: its path MTU to the client is the tunnel MTU now.
        Assert.Contains("mtu 1460", tb.Exec("vm1", "ip", "-6", "route", "get", Testbed.Client).Stdout);
    }

    [Fact]
    public void Switched_off_the_super_frames_are_cut_with_partial_checksums_and_tcp_still_flows()
    {
        using var tb = new Testbed(output, tuning: """{"tunnelOffload":false}""");
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        WaitFor(() => Stats(tb, "mag1")["uplink"]!["paths"]!.AsArray().Count == 1 && Stats(tb, "lma")["uplink"]!["paths"]!.AsArray().Count == 1,
            "both daemons' uplink paths", tb);
        Assert.True(Received(tb.Iperf("vm1", reverse: false, "-t", "2")) > 0);
        Assert.True(Received(tb.Iperf("vm1", reverse: true, "-t", "2")) > 0);
        foreach (var daemon in new[] { "mag1", "lma" })
        {
            var path = Path(tb, daemon);
            Assert.False(path["superFrames"]!.GetValue<bool>());
            Assert.Contains("tunnelOffload is false", path["superFrameFallback"]!.GetValue<string>());
            Assert.True(Datapath(tb, daemon, "superFramesSegmented") > 0, $"{daemon} cut no super-frame");
            Assert.Equal(0, Datapath(tb, daemon, "superFramesForwarded"));
            Assert.Contains("cut in userspace and sent with partial checksums", File.ReadAllText(System.IO.Path.Combine(tb.RunDir, $"{daemon}.log")));
        }
        Assert.Equal(0, RelabelPrograms(tb, "mag1", "eth-lma"));
    }

    [Fact]
    public void Without_cap_bpf_the_daemons_fall_back_and_tcp_still_flows_both_ways()
    {
        // The daemons may not load BPF programs (no CAP_BPF, no CAP_SYS_ADMIN).
        using var tb = new Testbed(output, dataplane: $"setpriv --bounding-set=-bpf,-sys_admin {Testbed.Dataplane}");
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        WaitFor(() => Stats(tb, "mag1")["uplink"]!["paths"]!.AsArray().Count == 1, "the MAG's uplink path", tb);
        var path = Path(tb, "mag1");
        output.WriteLine(path.ToJsonString());
        Assert.False(path["superFrames"]!.GetValue<bool>());
        Assert.Contains("EPERM", path["superFrameFallback"]!.GetValue<string>());
        // Its receiver works without the BPF filter that bypasses the kernel's input; the raw socket's copies go.
        Assert.True(path["receiver"]!.GetValue<bool>());
        Assert.False(path["kernelInputBypassed"]!.GetValue<bool>());
        Assert.Contains("cut in userspace and sent with partial checksums", File.ReadAllText(System.IO.Path.Combine(tb.RunDir, "mag1.log")));
        Assert.True(Received(tb.Iperf("vm1", reverse: false, "-t", "2")) > 0);
        Assert.True(Received(tb.Iperf("vm1", reverse: true, "-t", "2")) > 0);
        Assert.True(Datapath(tb, "mag1", "superFramesSegmented") > 0);
        Assert.True(Stats(tb, "mag1")["uplink"]!["rawDuplicatesDiscarded"]!.GetValue<long>() > 0);
    }

    [Fact]
    public void The_program_is_attached_once_gone_after_a_stop_or_a_crash_and_replaced_on_restart()
    {
        using var tb = new Testbed(output);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        WaitFor(() => RelabelPrograms(tb, "mag1", "eth-lma") == 1, "the MAG's relabel program", tb);
        Assert.Contains("generic-receive-offload: on", tb.Exec("mag1", "ethtool", "-k", "eth-lma").Stdout);
        Assert.Equal("50000", tb.Exec("mag1", "cat", "/sys/class/net/eth-lma/gro_flush_timeout").Stdout.Trim());

        // A clean stop takes everything off the interface again and puts GRO back as it found it.
        tb.Stop("mag1");
        Assert.Equal(0, RelabelPrograms(tb, "mag1", "eth-lma"));
        Assert.DoesNotContain("dataplane", IngressFilters(tb, "mag1", "eth-lma"));
        Assert.Contains("generic-receive-offload: off", tb.Exec("mag1", "ethtool", "-k", "eth-lma").Stdout);
        Assert.Equal("0", tb.Exec("mag1", "cat", "/sys/class/net/eth-lma/gro_flush_timeout").Stdout.Trim());

        tb.Start("mag1");
        WaitFor(() => RelabelPrograms(tb, "mag1", "eth-lma") == 1 && Path(tb, "mag1")["receiver"]!.GetValue<bool>(), "the path after a start", tb);
        // A crash: the kernel detaches the tcx link with the process; the ingress filter stays behind.
        tb.Stop("mag1", "KILL");
        Assert.Equal(0, RelabelPrograms(tb, "mag1", "eth-lma"));
        Assert.Contains("dataplane-ip6ip6", IngressFilters(tb, "mag1", "eth-lma"));
        // The next start replaces it rather than failing on it or stacking a second, and traffic flows again.
        tb.Start("mag1");
        WaitFor(() => RelabelPrograms(tb, "mag1", "eth-lma") == 1 && Path(tb, "mag1")["receiver"]!.GetValue<bool>(), "the path after a restart", tb);
        Assert.Single(IngressFilters(tb, "mag1", "eth-lma").Split('\n'), l => l.Contains("dataplane-ip6ip6", StringComparison.Ordinal));
        Assert.True(tb.Ping("vm1", Testbed.Client, count: 3), "no traffic after the restart\n" + tb.Logs());
        Assert.True(Received(tb.Iperf("vm1", reverse: false, "-t", "1")) > 0);
    }
}
