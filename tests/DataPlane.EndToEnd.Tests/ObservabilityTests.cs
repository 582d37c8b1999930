using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// Issue 8: what operators see of real daemons. A real Prometheus scrapes a MAG during traffic and migrations
/// and promtool checks every daemon's exposition; `ctl capture` records a migration that tshark reads; a daemon
/// started the way systemd starts it reports readiness, pings the watchdog, reloads on SIGHUP and logs for
/// the journal.
/// </summary>
public sealed class ObservabilityTests(ITestOutputHelper output)
{
    private const string Vm1Mac = "52:54:00:00:00:01";

    [Fact]
    public void Prometheus_sees_a_vms_bytes_grow_and_its_handovers_match_the_migrations()
    {
        if (!File.Exists("/usr/bin/prometheus") || !File.Exists("/usr/bin/promtool"))
            throw new InvalidOperationException("needs Debian's prometheus package (promtool, prometheus): scripts/install-deps");
        using var tb = new Testbed(output, vms: 1);
        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));

        // Prometheus inside MAG1's namespace, where the MAG's metrics listen on loopback (the default).
        int port = 20000 + Random.Shared.Next(10000);
        var dir = Path.Combine(tb.RunDir, "prometheus");
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "prometheus.yml");
        File.WriteAllText(config, """
            global:
              scrape_interval: 1s
              scrape_timeout: 900ms
            scrape_configs:
              - job_name: dataplane-mag
                static_configs:
                  - targets: ["127.0.0.1:9465"]
            """);
        var prometheus = tb.Background("mag1", "/usr/bin/prometheus", $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn");
        var api = $"http://127.0.0.1:{port}";
        WaitFor(() => Curl(tb, $"{api}/-/ready").Contains("Ready", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "Prometheus ready",
            () => Drain(prometheus));

        // Traffic to and from the VM for the whole test.
        // No -w: with a deadline ping exits at the first ICMP error (the LMA's "unreachable" while the VM moves).
        tb.Background("client", "ping", "-6", "-q", "-i", "0.05", address);
        var bytes = $"dataplane_vm_bytes_total{{mac=\"{Vm1Mac}\",direction=\"downlink\"}}";
        double first = 0;
        WaitFor(() => Query(tb, api, bytes) is { } v && (first = v) > 0, TimeSpan.FromSeconds(15), "the VM's byte counter in Prometheus");

        // Two round trips: two migrations into MAG1 (and two into MAG2).
        const int roundTrips = 2;
        for (int i = 0; i < roundTrips; i++)
        {
            tb.Migrate(1, "mag2");
            Thread.Sleep(1500);
            tb.Migrate(1, "mag1");
            Assert.True(tb.Ping("client", address, 2), $"vm1 unreachable after round trip {i + 1}\n{tb.Logs()}");
        }
        var handovers = $"dataplane_vm_handovers_total{{mac=\"{Vm1Mac}\"}}";
        WaitFor(() => Query(tb, api, handovers) == roundTrips, TimeSpan.FromSeconds(10), $"{handovers} == {roundTrips}",
            () => $"handovers {Query(tb, api, handovers)}");
        // Prometheus scrapes once a second: each figure is waited for (a late scrape on a busy machine only
        // delays it), and a wrong figure fails at the deadline with what Prometheus last had.
        WaitFor(() => Query(tb, api, bytes) > first, TimeSpan.FromSeconds(20), "the VM's byte counter grows",
            () => $"{first} -> {Query(tb, api, bytes)}");
        WaitFor(() => Query(tb, api, $"increase({bytes}[20s])") > 0, TimeSpan.FromSeconds(20), "increase() over the last 20 s is positive");
        var registrations = $"dataplane_vm_registrations_total{{mac=\"{Vm1Mac}\"}}";
        WaitFor(() => Query(tb, api, registrations) == roundTrips + 1, TimeSpan.FromSeconds(20), $"{registrations} == {roundTrips + 1}",
            () => $"registrations {Query(tb, api, registrations)}");
        WaitFor(() => Query(tb, api, $"dataplane_vm_binding_state{{mac=\"{Vm1Mac}\",state=\"established\"}}") == 1, TimeSpan.FromSeconds(20),
            "the binding is established");
        WaitFor(() => Query(tb, api, "dataplane_loop_responsive") == 1, TimeSpan.FromSeconds(20), "the loop answers snapshots");
        WaitFor(() => Query(tb, api, "sum(dataplane_mag_handover_duration_seconds_count{stage=\"first_ra\"})") >= roundTrips + 1,
            TimeSpan.FromSeconds(20), "every handover's first RA is in the histogram");
        WaitFor(() => Query(tb, api, "up{job=\"dataplane-mag\"}") == 1, TimeSpan.FromSeconds(20), "the MAG is up");
        Assert.Equal(roundTrips, Query(tb, api, handovers)); // and no more than that

        // promtool on every daemon's scrape, after traffic and migrations; the other MAG counts the other two.
        foreach (var (node, metricsPort) in new[] { ("mag1", 9465), ("mag2", 9465), ("lma", 9466) })
        {
            var scrape = Curl(tb, $"http://127.0.0.1:{metricsPort}/metrics", node);
            var file = Path.Combine(dir, $"{node}.prom");
            File.WriteAllText(file, scrape);
            var check = Shell.Run("sh", ["-c", $"/usr/bin/promtool check metrics < '{file}'"], TimeSpan.FromSeconds(20));
            Assert.True(check.ExitCode == 0, $"promtool on {node}: {check.Output}");
            if (node == "mag2") Assert.Contains($"dataplane_vm_handovers_total{{mn_id=\"vm1@vm.dataplane.test\",mac=\"{Vm1Mac}\",port=\"vm1\",hnp=\"2001:db8:1001:1::/64\"}} {roundTrips}", scrape);
            if (node == "lma") Assert.Contains($"dataplane_lma_binding_handoffs_total{{mn_id=\"vm1@vm.dataplane.test\",hnp=\"2001:db8:1001:1::/64\"}} {2 * roundTrips}", scrape);
        }

        // The same story in `ctl`, as tables.
        var sessions = Shell.Check(Testbed.Dataplane, "ctl", "--socket", $"{tb.RunDir}/mag1.sock", "sessions");
        output.WriteLine(sessions);
        Assert.Contains("AGE", sessions);
        Assert.Contains("LAST TRIGGER", sessions);
        var vms = tb.Ctl("mag1", "vms")!.AsArray();
        Assert.Equal(roundTrips, Assert.Single(vms)!["handovers"]!.GetValue<long>());
    }

    [Fact]
    public void A_capture_of_a_migration_opens_in_tshark_with_the_announce_and_the_router_advertisement()
    {
        using var tb = new Testbed(output, vms: 1);
        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        var portPcap = Path.Combine(tb.RunDir, "vm1-at-mag2.pcap");
        var uplinkPcap = Path.Combine(tb.RunDir, "uplink-mag2.pcap");
        var countedPcap = Path.Combine(tb.RunDir, "uplink-mag2-3.pcap");
        var mag2 = $"{tb.RunDir}/mag2.sock";
        // The port does not exist on MAG2 yet: the capture is armed by name and starts with it (the VM's first frame).
        // Stopped with SIGTERM (as Ctrl-C would; not SIGINT, which a test run started from a background job inherits
        // as ignored) once the scenario is over: a fixed --duration may end before a slow
        // migration on a loaded machine does (--duration is only a backstop here).
        var port = Shell.Start(Testbed.Dataplane, ["ctl", "--socket", mag2, "capture", "vm1", "-w", portPcap, "--duration", "5m"]);
        var uplink = Shell.Start(Testbed.Dataplane, ["ctl", "--socket", mag2, "capture", "uplink", "-w", uplinkPcap, "--duration", "5m"]);
        var counted = Shell.Start(Testbed.Dataplane, ["ctl", "--socket", mag2, "capture", "uplink", "-w", countedPcap, "-c", "3"]);
        foreach (var p in new[] { port, uplink, counted }) WaitForLine(p.StandardError, "capturing on", TimeSpan.FromSeconds(10));
        tb.Background("client", "ping", "-6", "-q", "-i", "0.1", address);
        Thread.Sleep(300);

        tb.Migrate(1, "mag2", announce: "rarp");
        Assert.True(tb.Ping("client", address, 2), $"vm1 unreachable after the migration\n{tb.Logs()}");
        foreach (var p in new[] { port, uplink })
            Shell.Run("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        foreach (var p in new[] { port, uplink, counted })
        {
            Assert.True(p.WaitForExit(15_000), "a capture did not stop by itself");
            var summary = p.StandardError.ReadToEnd();
            output.WriteLine(summary);
            Assert.Equal(0, p.ExitCode);
            Assert.Contains("frames captured to", summary);
        }

        // The VM's port: QEMU's RARP announce from the VM, and our unicast RA to it from the shared router addresses
        // (which of the two comes first depends on whether the guest's MLD report after its carrier came back beat the
        // announce: either registers it).
        var frames = Tshark(portPcap, "frame.number", "eth.src", "eth.dst", "_ws.col.Protocol", "_ws.col.Info");
        output.WriteLine(string.Join('\n', frames));
        var rarp = Tshark(portPcap, "arp.opcode == 3 && eth.src == 52:54:00:00:00:01", "frame.number");
        var ra = Tshark(portPcap, "icmpv6.type == 134 && eth.src == 00:00:5e:00:52:13 && eth.dst == 52:54:00:00:00:01 && ipv6.src == fe80::200:5eff:fe00:5213", "frame.number");
        Assert.NotEmpty(rarp);
        Assert.NotEmpty(ra);
        Assert.NotEmpty(Tshark(portPcap, "icmpv6.type == 128 && ipv6.dst == " + address, "frame.number")); // the client's pings reach it

        // The uplink (raw IPv6 with the synthesized outer header): the PBU and PBA of the handover, tunnelled pings.
        output.WriteLine(string.Join('\n', Tshark(uplinkPcap, "", "frame.number", "ipv6.src", "ipv6.dst", "_ws.col.Info")));
        Assert.NotEmpty(Tshark(uplinkPcap, "mip6.mhtype == 5 && ipv6.src == " + Testbed.Mag2Address, "frame.number"));
        Assert.NotEmpty(Tshark(uplinkPcap, "mip6.mhtype == 6 && ipv6.src == " + Testbed.LmaAddress, "frame.number"));
        Assert.NotEmpty(Tshark(uplinkPcap, "ipv6.nxt == 41 && icmpv6.type == 128", "frame.number"));
        Assert.Equal(3, Tshark(countedPcap, "", "frame.number").Count);
    }

    [Fact]
    public void Started_like_systemd_does_the_daemon_reports_ready_pings_the_watchdog_reloads_on_sighup_and_logs_for_the_journal()
    {
        var ns = $"dpt-{Environment.ProcessId}-sd";
        var dir = Directory.CreateTempSubdirectory("dp-systemd-");
        var notifyPath = Path.Combine(dir.FullName, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        notify.ReceiveTimeout = 15_000;
        Process? daemon = null;
        try
        {
            Shell.Run("ip", ["netns", "del", ns], TimeSpan.FromSeconds(10));
            Shell.Check("ip", "netns", "add", ns);
            Shell.Check("ip", "-n", ns, "link", "set", "lo", "up");
            Shell.Check("ip", "-n", ns, "addr", "add", "2001:db8:ff::2/128", "dev", "lo", "nodad");
            var policy = Path.Combine(dir.FullName, "policy.json");
            File.WriteAllText(policy, """{ "defaults": { "allowed": true } }""");
            var config = Path.Combine(dir.FullName, "mag.json");
            File.WriteAllText(config, $$"""
                {
                  "proxyCareOfAddress": "2001:db8:ff::2",
                  "localMobilityAnchor": "2001:db8:ff::1",
                  "controlSocket": "{{dir.FullName}}/mag.sock",
                  "restartCounterFile": "{{dir.FullName}}/mag.restart",
                  "policy": { "file": "{{policy}}" },
                  "metrics": { "listen": "[::1]:9465" },
                  "logging": { "level": "information", "format": "journal" }
                }
                """);
            Assert.Equal(0, Shell.Run(Testbed.Dataplane, ["config", "check", config], TimeSpan.FromSeconds(20)).ExitCode);
            // SIGHUP back to its default first: a test run started under nohup (or by anything else that ignores
            // hangups) passes SIGHUP on as ignored, and .NET leaves an ignored signal ignored. systemd never does.
            daemon = Shell.Start("ip", ["netns", "exec", ns, "env", "--default-signal=HUP", Testbed.Dataplane, "mag", "--config", config],
                new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath, ["WATCHDOG_USEC"] = "1000000" });
            var stderr = new StringBuilder();
            daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            daemon.BeginErrorReadLine();

            var ready = Receive(notify, m => m.Contains("READY=1", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
            output.WriteLine(ready);
            Assert.Contains("STATUS=running", ready);
            Receive(notify, m => m == "WATCHDOG=1", TimeSpan.FromSeconds(3));
            // Ready means the endpoint is up: the IPv6 literal listen address works.
            var scrape = Shell.Check("ip", "netns", "exec", ns, "curl", "-sf", "http://[::1]:9465/metrics");
            Assert.Contains("dataplane_info{role=\"mag\"", scrape);

            // `ip netns exec` and `env` exec the daemon: the process we started is the daemon.
            Shell.Check("kill", "-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture));
            WaitFor(() => { lock (stderr) return stderr.ToString().Contains("reloaded", StringComparison.Ordinal); }, TimeSpan.FromSeconds(10), "the SIGHUP reload");

            Shell.Check("kill", "-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture));
            Receive(notify, m => m.Contains("STOPPING=1", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            Assert.True(daemon.WaitForExit(10_000), "the daemon did not stop on SIGTERM");
            daemon.WaitForExit();
            Assert.Equal(0, daemon.ExitCode);
            string log;
            lock (stderr) log = stderr.ToString();
            output.WriteLine(log);
            var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(lines, l => Assert.Matches(@"^<[0-7]>[a-z]+: ", l));
            Assert.Contains(lines, l => l.StartsWith("<6>mag: running", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("<6>policy: reloaded", StringComparison.Ordinal));
        }
        finally
        {
            if (daemon is { HasExited: false }) daemon.Kill(entireProcessTree: true);
            daemon?.Dispose();
            Shell.Run("ip", ["netns", "del", ns], TimeSpan.FromSeconds(10));
            dir.Delete(true);
        }
    }

    private static string Receive(Socket socket, Func<string, bool> match, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        var deadline = Stopwatch.StartNew();
        var seen = new List<string>();
        while (deadline.Elapsed < timeout)
        {
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException)
            {
                break;
            }
            var message = Encoding.UTF8.GetString(buffer, 0, n);
            seen.Add(message);
            if (match(message)) return message;
        }
        throw new TimeoutException($"no matching sd_notify message in {timeout.TotalSeconds} s; got: {string.Join(" | ", seen)}");
    }

    private static string Curl(Testbed tb, string url, string node = "mag1") =>
        tb.Exec(node, TimeSpan.FromSeconds(20), "curl", "-s", "--max-time", "10", url).Stdout;

    /// <summary>An instant PromQL query over the HTTP API; the single result's value, or null when there is none.</summary>
    private static double? Query(Testbed tb, string api, string promql)
    {
        var r = tb.Exec("mag1", TimeSpan.FromSeconds(20), "curl", "-s", "--max-time", "10", "-G", "--data-urlencode", $"query={promql}", $"{api}/api/v1/query");
        if (r.ExitCode != 0 || string.IsNullOrWhiteSpace(r.Stdout)) return null;
        var json = JsonNode.Parse(r.Stdout);
        if (json?["status"]?.GetValue<string>() != "success") throw new InvalidOperationException($"query {promql}: {r.Stdout}");
        var result = json["data"]!["result"]!.AsArray();
        if (result.Count == 0) return null;
        if (result.Count > 1) throw new InvalidOperationException($"query {promql}: {result.Count} series");
        return double.Parse(result[0]!["value"]![1]!.GetValue<string>(), CultureInfo.InvariantCulture);
    }

    private static List<string> Tshark(string pcap, string filter, params string[] fields)
    {
        var args = new List<string> { "-r", pcap, "-T", "fields" };
        if (filter.Length > 0) args.AddRange(["-Y", filter]);
        foreach (var f in fields) args.AddRange(["-e", f]);
        var r = Shell.Run("tshark", args, TimeSpan.FromSeconds(30));
        if (r.ExitCode != 0) throw new InvalidOperationException($"tshark {string.Join(' ', args)}: {r.Output}");
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static void WaitFor(Func<bool> condition, TimeSpan timeout, string what, Func<string>? detail = null)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition()) return;
            Thread.Sleep(200);
        }
        throw new TimeoutException($"{what}: not within {timeout.TotalSeconds} s. {detail?.Invoke()}");
    }

    private static void WaitForLine(StreamReader reader, string text, TimeSpan timeout)
    {
        var read = Task.Run(() =>
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
                if (line.Contains(text, StringComparison.Ordinal)) return true;
            return false;
        });
        Assert.True(read.Wait(timeout) && read.Result, $"no \"{text}\"");
    }

    private static string Drain(Process p)
    {
        try
        {
            return p.HasExited ? p.StandardError.ReadToEnd() : "(still running)";
        }
        catch (InvalidOperationException)
        {
            return "";
        }
    }
}
