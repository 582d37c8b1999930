using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using DataPlane.Host.Cli;
using DataPlane.Host.Configuration;
using DataPlane.Host.Logging;
using DataPlane.Host.Runtime;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Tests;

/// <summary>What operators touch besides metrics: the new configuration keys, log lines, sd_notify, the unit files, `ctl` tables.</summary>
public class OperationsTests
{
    private static MagConfig Mag(string extra) =>
        MagConfig.Parse(ConfigObject.Parse($$"""{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p.json"}{{extra}}}""", "mag.json"));

    [Fact]
    public void Metrics_are_on_by_default_on_loopback_with_a_documented_port_per_role()
    {
        var mag = Mag("");
        Assert.True(mag.Metrics.Enabled);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, MetricsConfig.DefaultMagPort), mag.Metrics.Listen);
        var lma = LmaConfig.Parse(ConfigObject.Parse("""{"address":"2001:db8:100::1","policy":{"file":"p.json"}}""", "lma.json"));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, MetricsConfig.DefaultLmaPort), lma.Metrics.Listen);
        Assert.Equal(TimeSpan.FromMinutes(10), lma.Metrics.VmRetention);
    }

    [Theory]
    [InlineData("[2001:db8::2]:9100", "2001:db8::2", 9100)]
    [InlineData("[::1]:9465", "::1", 9465)]
    [InlineData("0.0.0.0:80", "0.0.0.0", 80)]
    [InlineData("[::]", "::", 9465)]
    [InlineData("10.1.2.3", "10.1.2.3", 9465)]
    public void Metrics_listen_takes_ipv4_and_bracketed_ipv6(string listen, string address, int port)
    {
        var c = Mag($$""","metrics":{"listen":"{{listen}}","vmRetention":"30m","snapshotTimeout":"500ms"}""");
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), c.Metrics.Listen);
        Assert.Equal(TimeSpan.FromMinutes(30), c.Metrics.VmRetention);
        Assert.Equal(TimeSpan.FromMilliseconds(500), c.Metrics.SnapshotTimeout);
    }

    [Theory]
    [InlineData(""","metrics":{"listen":"localhost:9465"}""", "mag.json: metrics.listen: \"localhost:9465\" is not ADDRESS:PORT")]
    [InlineData(""","metrics":{"listen":"[::1"}""", "metrics.listen")]
    [InlineData(""","metrics":{"listen":"127.0.0.1:99999"}""", "metrics.listen")]
    [InlineData(""","metrics":{"enabled":"yes"}""", "metrics.enabled: expected true or false")]
    [InlineData(""","metrics":{"port":9465}""", "metrics.port: unknown key")]
    [InlineData(""","metrics":{"vmRetention":"0"}""", "metrics.vmRetention: 0 is out of range")]
    [InlineData(""","logging":{"format":"json"}""", "logging.format: \"json\" is not a format")]
    [InlineData(""","logging":{"format":"journal","file":"/var/log/x.log"}""", "logging.format: \"journal\" writes to standard error")]
    public void Bad_metrics_and_logging_keys_are_rejected_naming_the_key(string extra, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Mag(extra));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Config_check_covers_the_new_keys()
    {
        var dir = Directory.CreateTempSubdirectory("dp-config-");
        try
        {
            var good = Path.Combine(dir.FullName, "mag.json");
            File.WriteAllText(good, """{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p.json"},"metrics":{"listen":"[::1]:9100"},"logging":{"format":"journal"}}""");
            var bad = Path.Combine(dir.FullName, "bad.json");
            File.WriteAllText(bad, """{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p.json"},"metrics":{"listen":"nowhere"}}""");
            var (code, output) = RunCli(["config", "check", good]);
            Assert.Equal(0, code);
            Assert.Contains("metrics http://[::1]:9100/metrics", output);
            Assert.Contains("(journal)", output);
            (code, output) = RunCli(["config", "check", bad]);
            Assert.Equal(1, code);
            Assert.Contains("metrics.listen", output);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static (int Code, string Output) RunCli(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (o, e) = (Console.Out, Console.Error);
        lock (ConsoleLock)
        {
            try
            {
                Console.SetOut(stdout);
                Console.SetError(stderr);
                var root = new System.CommandLine.RootCommand { ConfigCheckCommand.Create() };
                int code = root.Parse(args).Invoke();
                return (code, stdout.ToString() + stderr);
            }
            finally
            {
                Console.SetOut(o);
                Console.SetError(e);
            }
        }
    }

    private static readonly object ConsoleLock = new();

    [Fact]
    public async Task Log_lines_carry_the_vms_identity_and_journal_lines_a_priority_instead_of_a_timestamp()
    {
        var dir = Directory.CreateTempSubdirectory("dp-log-");
        try
        {
            var file = Path.Combine(dir.FullName, "mag.log");
            using (var provider = new LineLoggerProvider(file, LogLevel.Information))
            using (var factory = LoggerFactory.Create(b => b.AddProvider(provider)))
            {
                var log = factory.CreateLogger("DataPlane.mag");
                using (log.BeginScope(new VmLogScope("vm1@test", "52:54:00:00:00:01", "vif1.0")))
                    log.LogInformation("handover: {Nai} done", "vm1@test");
                log.LogWarning("not about a VM");
            }
            var lines = await File.ReadAllLinesAsync(file);
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  mag: handover: vm1@test done mn_id=vm1@test mac=52:54:00:00:00:01 port=vif1.0$", lines[0]);
            Assert.EndsWith("warn  mag: not about a VM", lines[1]);
        }
        finally
        {
            dir.Delete(true);
        }

        var captured = new StringWriter();
        var old = Console.Error;
        lock (ConsoleLock)
        {
            Console.SetError(captured);
            try
            {
                using var provider = new LineLoggerProvider(null, LogLevel.Debug, LogFormat.Journal);
                using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(provider));
                var log = factory.CreateLogger("DataPlane.lma");
                using (log.BeginScope(new BindingLogScope("vm1@test", "2001:db8:1::/64", null)))
                    log.LogInformation("binding: created");
                log.LogError("routes: failed");
                log.LogDebug("detail");
            }
            finally
            {
                Console.SetError(old);
            }
        }
        var journal = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["<6>lma: binding: created mn_id=vm1@test hnp=2001:db8:1::/64", "<3>lma: routes: failed", "<7>lma: detail"], journal);
    }

    [Theory]
    [InlineData("8:12345", "socket:[12345]", true)]
    [InlineData("8:12345", "socket:[54321]", false)]
    [InlineData("8:12345", "/dev/pts/0", false)]
    [InlineData(null, "socket:[12345]", false)]
    [InlineData("garbage", "socket:[12345]", false)]
    public void The_journal_is_recognised_only_when_standard_error_is_still_its_stream(string? journalStream, string target, bool expected) =>
        Assert.Equal(expected, JournalStream.Matches(journalStream, target));

    [Fact]
    public void Sd_notify_reaches_the_socket_systemd_names_path_or_abstract()
    {
        foreach (var abstractName in new[] { false, true })
        {
            var name = abstractName ? $"@dataplane-test-{Environment.ProcessId}-{Guid.NewGuid():N}" : Path.Combine(Path.GetTempPath(), $"dp-notify-{Guid.NewGuid():N}.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(abstractName ? "\0" + name[1..] : name));
            try
            {
                Environment.SetEnvironmentVariable("NOTIFY_SOCKET", name);
                using var notifier = SystemdNotifier.FromEnvironment();
                Assert.NotNull(notifier);
                Assert.True(notifier.Notify("READY=1\nSTATUS=running"));
                var buffer = new byte[256];
                listener.ReceiveTimeout = 5000;
                int n = listener.Receive(buffer);
                Assert.Equal("READY=1\nSTATUS=running", Encoding.UTF8.GetString(buffer, 0, n));
            }
            finally
            {
                Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
                if (!abstractName) File.Delete(name);
            }
        }
        Assert.Null(SystemdNotifier.FromEnvironment());
    }

    [Fact]
    public void The_unit_files_pass_systemd_analyze_verify()
    {
        const string analyze = "/usr/bin/systemd-analyze";
        if (!File.Exists(analyze)) return;
        var root = MetricsTests.RepositoryRoot();
        var dir = Directory.CreateTempSubdirectory("dp-units-");
        try
        {
            foreach (var unit in new[] { "dataplane-mag.service", "dataplane-lma.service", "dataplane-libvirt-events.service" })
            {
                var text = File.ReadAllText(Path.Combine(root, "deploy", "systemd", unit));
                if (unit != "dataplane-libvirt-events.service")
                {
                    Assert.Contains("Type=notify", text);
                    Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID", text);
                    Assert.Contains("RuntimeDirectory=dataplane", text);
                    Assert.Contains("StateDirectory=dataplane", text);
                }
                // The installed programs are not here: point ExecStart at one that exists, keep everything else.
                var copy = Path.Combine(dir.FullName, unit);
                File.WriteAllText(copy, text.Replace("/usr/bin/dataplane", "/bin/true").Replace("/usr/lib/dataplane/libvirt-events", "/bin/true"));
                // --man=no: Documentation= names dataplane(8), which the Debian package installs, not this checkout.
                var psi = new ProcessStartInfo(analyze, ["verify", "--man=no", copy]) { RedirectStandardOutput = true, RedirectStandardError = true };
                using var p = Process.Start(psi)!;
                var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
                p.WaitForExit();
                var ours = output.Split('\n').Where(l => l.Contains(unit, StringComparison.Ordinal)).ToList();
                Assert.True(ours.Count == 0, string.Join('\n', ours));
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Ctl_sessions_is_a_table_with_age_and_last_trigger()
    {
        var answer = JsonNode.Parse("""
            [{"port":"vif1.0","mac":"52:54:00:00:00:01","nai":"vm1@test","state":"Established","trigger":"Rarp","hnp":["2001:db8:1::/64"],
              "lma":"2001:db8:100::1","ageSeconds":754,"lastTrigger":"Rarp","handovers":3,"lastHandover":{"firstRaMs":41.5,"firstDownlinkMs":47.25}}]
            """);
        var table = CtlTables.Render("sessions", answer).Split('\n');
        Assert.StartsWith("PORT", table[0]);
        Assert.Contains("AGE", table[0]);
        Assert.Contains("LAST TRIGGER", table[0]);
        Assert.Contains("12m34s", table[1]);
        Assert.Contains("Rarp", table[1]);
        Assert.Contains("41.5", table[1]);
        Assert.Contains("47.3", table[1]);
    }

    [Fact]
    public void Ctl_stats_groups_counters_by_section_one_row_per_label()
    {
        var answer = JsonNode.Parse("""
            {"sessions":2,"protocol":{"pbusRetransmitted":0,"pbasByStatus":{"Accepted":12,"MagNotAuthorizedForProxyRegistration":1},
             "heartbeat":{"requestsSent":5,"misses":0}},"tunnelSocket":{"rxPackets":7}}
            """)!.AsObject();
        var text = CtlTables.Stats(answer);
        Assert.Contains("PROTOCOL", text);
        Assert.Contains("TUNNEL SOCKET", text);
        Assert.Matches(@"pbasByStatus\s+Accepted\s+12", text);
        Assert.Matches(@"pbasByStatus\s+MagNotAuthorizedForProxyRegistration\s+1", text);
        Assert.Matches(@"heartbeat\.requestsSent\s+5", text);
        Assert.DoesNotContain("pbusRetransmitted", text);
        Assert.Contains("2 counters at zero not shown", text);
    }
}
