using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DataPlane.Tests.Shared;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// One namespace testbed (scripts/testbed) for one test: a unique name per run and per test, torn down
/// in <see cref="Dispose"/> whatever happened (and stale testbeds of dead test runs are removed first).
/// </summary>
public sealed partial class Testbed : IDisposable
{
    private readonly List<Process> _background = [];
    private readonly ITestOutputHelper _output;

    public static readonly string Root = FindRoot();
    public static readonly string Script = Path.Combine(Root, "scripts", "testbed");
    public static readonly string Dataplane = Path.Combine(Root, "artifacts", "publish", "dataplane", "dataplane");
    public static readonly string Probe = Path.Combine(Root, "artifacts", "publish", "dataplane-probe", "dataplane-probe");

    public const string Client = "2001:db8:2::10";
    public const string LmaAddress = "2001:db8:100::1";
    public const string Mag1Address = "2001:db8:100:1::2";
    public const string Mag2Address = "2001:db8:100:2::2";
    public const string SharedLinkLocal = "fe80::200:5eff:fe00:5213";
    public const string SharedMac = "00:00:5e:00:52:13";
    /// <summary>The client node's IPv4 address, and the IPv4 home network (the LMA's ipv4Pool) with its default router.</summary>
    public const string Client4 = "198.51.100.10";
    public const string Ipv4Subnet = "10.200.0.0/24";
    public const string Ipv4Router = "10.200.0.1";

    public string Name { get; }
    public string RunDir => $"/run/dataplane-testbed/{Name}";

    /// <param name="policy">The daemons' "policy" section (JSON) instead of the testbed's policy file, e.g. a RADIUS one.</param>
    /// <param name="tuning">The daemons' "dataplane" section (JSON, `--tuning`), e.g. <c>{"uplink":"raw"}</c>.</param>
    /// <param name="keys">ESP on the Mobility Header with fresh manual keys (`up --keys ALGORITHM`), e.g. "null-hmac-sha256-128".</param>
    /// <param name="metrics">The daemons' "metrics" section (JSON, `--metrics`), e.g. a short vmRetention.</param>
    /// <param name="ipv4">The VMs' IP versions (`--ipv4`): none, dual or ipv4, or a list with one per VM ("ipv4,dual").
    /// An IPv4 VM runs busybox udhcpc against its MAG's DHCP server.</param>
    /// <param name="magLink">A direct MAG1–MAG2 link outside the WAN emulator (`up --mag-link`), as two hosts of one data centre.</param>
    /// <param name="optimizedRouting">False: local and localized routing off on every daemon (`up --optimized-routing off`).</param>
    /// <param name="wan">WAN emulation on the LMA's links (`up` options such as <c>["--delay", "5ms"]</c>).</param>
    /// <param name="dataplane">The daemon command (`--dataplane`), e.g. the binary under <c>setpriv</c> with fewer capabilities.</param>
    /// <param name="ha">Two LMA daemons (lmaa, lmab: active and standby of one shard) on an etcd in N-lma (`up --ha`).</param>
    public Testbed(ITestOutputHelper output, int vms = 1, bool attach = true, string? policy = null, string? tuning = null, string? keys = null, string? metrics = null, string? ipv4 = null,
        bool magLink = false, bool optimizedRouting = true, string[]? wan = null, string? dataplane = null,
        bool ha = false)
    {
        _output = output;
        foreach (var binary in new[] { Dataplane, Probe })
            if (!File.Exists(binary)) throw new InvalidOperationException($"{binary} is missing: run `make build` first (make test does)");
        Name = RunNames.Next("dpt");
        Shell.Run(Script, ["down", "--all-stale"], TimeSpan.FromSeconds(60));
        var args = new List<string> { "up", "--name", Name, "--vms", vms.ToString(), "--owner-pid", Environment.ProcessId.ToString() };
        if (!attach) args.Add("--no-attach");
        if (policy is not null) args.AddRange(["--policy", policy]);
        if (tuning is not null) args.AddRange(["--tuning", tuning]);
        if (keys is not null) args.AddRange(["--keys", keys]);
        if (metrics is not null) args.AddRange(["--metrics", metrics]);
        if (ipv4 is not null) args.AddRange(["--ipv4", ipv4]);
        if (magLink) args.Add("--mag-link");
        if (!optimizedRouting) args.AddRange(["--optimized-routing", "off"]);
        if (wan is not null) args.AddRange(wan);
        if (dataplane is not null) args.AddRange(["--dataplane", dataplane]);
        if (ha) args.Add("--ha");
        var r = Shell.Run(Script, args, TimeSpan.FromSeconds(90));
        if (r.ExitCode != 0) throw new InvalidOperationException($"testbed up failed:\n{r.Output}");
        _output.WriteLine($"testbed {Name} up");
    }

    public static string Mac(int vm) => $"52:54:00:00:00:{vm:x2}";
    public static string Prefix(int vm) => $"2001:db8:1001:{vm:x}::/64";
    /// <summary>VM K's SLAAC address in its fixed prefix (EUI-64 from its MAC).</summary>
    public static string Address(int vm) => $"2001:db8:1001:{vm:x}:5054:ff:fe00:{vm:x}";
    public string Ns(string node) => $"{Name}-{node}";

    /// <summary>Run a command inside one of the testbed's namespaces.</summary>
    public ShellResult Exec(string node, TimeSpan timeout, params string[] command) =>
        Shell.Run("ip", ["netns", "exec", Ns(node), .. command], timeout);

    public ShellResult Exec(string node, params string[] command) => Exec(node, TimeSpan.FromSeconds(30), command);

    /// <summary>Start a long-running program in a namespace; killed at Dispose if still running.</summary>
    /// <summary>As <see cref="Background"/>, with its standard input ours to write (udp-client --until-settled's end mark).</summary>
    public Process BackgroundWithInput(string node, params string[] command)
    {
        var p = Shell.Start("ip", ["netns", "exec", Ns(node), .. command], redirectInput: true);
        _background.Add(p);
        return p;
    }

    public Process Background(string node, params string[] command)
    {
        var p = Shell.Start("ip", ["netns", "exec", Ns(node), .. command]);
        _background.Add(p);
        return p;
    }

    /// <summary>
    /// Start tshark in a namespace and return once it is really capturing (it says "Capturing on" on
    /// stderr); a fixed sleep was not enough on a loaded machine and the first frames went unseen.
    /// </summary>
    public System.Diagnostics.Process Capture(string node, params string[] tsharkArgs)
    {
        var p = Background(node, ["tshark", .. tsharkArgs]);
        var ready = Task.Run(() =>
        {
            string? line;
            while ((line = p.StandardError.ReadLine()) is not null)
                if (line.Contains("Capturing on", StringComparison.Ordinal)) return true;
            return false;
        });
        if (!ready.Wait(TimeSpan.FromSeconds(30)) || !ready.Result) throw new InvalidOperationException($"tshark in {node} did not start capturing");
        // Keep draining stderr so tshark never blocks on a full pipe.
        _ = Task.Run(() => p.StandardError.ReadToEnd());
        return p;
    }

    /// <summary>`dataplane ctl --json` against a daemon (mag1, mag2, lma).</summary>
    public JsonNode? Ctl(string daemon, params string[] args)
    {
        var r = Shell.Run(Dataplane, ["ctl", "--socket", $"{RunDir}/{daemon}.sock", "--json", .. args], TimeSpan.FromSeconds(20));
        if (r.ExitCode != 0) throw new InvalidOperationException($"ctl {daemon} {string.Join(' ', args)}: exit {r.ExitCode}: {r.Output}");
        return JsonNode.Parse(r.Stdout);
    }

    /// <summary>Stop a daemon (SIGTERM) and start it again with the same configuration and state files.</summary>
    public void Restart(string role) => Check(Shell.Run(Script, ["restart", role, "--name", Name], TimeSpan.FromSeconds(60)), "restart");

    /// <summary>tshark preferences that make it verify every ICV of a testbed started with keys (its esp_sa.uat).</summary>
    public string[] TsharkEspArgs() =>
    [
        "-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE",
        .. File.ReadAllLines(Path.Combine(RunDir, "esp_sa.uat")).Where(l => l.Length > 0).SelectMany(l => new[] { "-o", "uat:esp_sa:" + l }),
    ];

    /// <summary>A MAG port's drop counters by reason (`ctl ports`' dropsByReason).</summary>
    public Dictionary<string, long> PortDrops(string mag, string port)
    {
        var p = Ctl(mag, "ports")!.AsArray().Single(x => x!["name"]!.GetValue<string>() == port)!;
        var d = new Dictionary<string, long>();
        if (p["dropsByReason"] is JsonObject o)
            foreach (var (k, v) in o) d[k] = v!.GetValue<long>();
        return d;
    }

    public void Attach(int vm) => Check(Shell.Run(Script, ["attach", $"vm{vm}", "--name", Name], TimeSpan.FromSeconds(30)), "attach");

    /// <summary>Stop one daemon (TERM: a clean stop; KILL: as a crash would) and wait until it is gone.</summary>
    public void Stop(string role, string signal = "TERM") =>
        Check(Shell.Run(Script, ["stop", role, "--name", Name, "--signal", signal], TimeSpan.FromSeconds(60)), $"stop {role}");

    /// <summary>Start a stopped daemon again (a MAG gets its VMs' ports back) and wait for its control socket.</summary>
    public void Start(string role) => Check(Shell.Run(Script, ["start", role, "--name", Name], TimeSpan.FromSeconds(60)), $"start {role}");

    /// <summary>
    /// One iperf3 TCP transfer from <paramref name="node"/> to an iperf3 server on the client (reversed: from the
    /// client), as JSON; throws with iperf3's own error when it did not complete.
    /// </summary>
    public JsonNode Iperf(string node, bool reverse, params string[] extra) => Iperf(node, reverse, Client, extra);

    /// <summary>As <see cref="Iperf(string, bool, string[])"/>, over IPv4 to the client's <see cref="Client4"/>.</summary>
    public JsonNode Iperf4(string node, bool reverse, params string[] extra) => Iperf(node, reverse, Client4, extra);

    private JsonNode Iperf(string node, bool reverse, string client, string[] extra)
    {
        var server = Background("client", "iperf3", "-s", "-1", "-B", client);
        try
        {
            JsonNode? result = null;
            string text = "";
            // The server needs a moment to listen; a refused connection is retried, anything else is the answer.
            for (int attempt = 0; attempt < 20; attempt++)
            {
                var r = Exec(node, TimeSpan.FromSeconds(60), ["iperf3", "-c", client, "-J", .. (reverse ? new[] { "-R" } : []), .. extra]);
                text = r.Stdout + r.Stderr;
                result = string.IsNullOrWhiteSpace(r.Stdout) ? null : JsonNode.Parse(r.Stdout);
                if (result?["error"]?.GetValue<string>() is { } e && e.Contains("Connection refused", StringComparison.Ordinal))
                {
                    Thread.Sleep(200);
                    continue;
                }
                break;
            }
            if (result is null || result["error"] is not null || result["end"]?["sum_received"] is null)
                throw new InvalidOperationException($"iperf3 from {node}{(reverse ? " (reverse)" : "")} failed: {text}\n{Logs()}");
            return result;
        }
        finally
        {
            server.WaitForExit(5000);
        }
    }

    /// <summary>Migrate through the hotplug path; returns the script's step timestamps (epoch ms by step).</summary>
    public Dictionary<string, long> Migrate(int vm, string to, int pauseMs = 0, string announce = "na")
    {
        var r = Shell.Run(Script, ["migrate", $"vm{vm}", to, "--name", Name, "--pause", pauseMs.ToString(), "--announce", announce], TimeSpan.FromSeconds(60));
        Check(r, "migrate");
        var steps = new Dictionary<string, long>();
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            if (f.Length >= 2 && long.TryParse(f[0], out long ms)) steps[f[1]] = ms;
        }
        return steps;
    }

    private void Check(ShellResult r, string what)
    {
        if (r.ExitCode != 0) throw new InvalidOperationException($"testbed {what} failed:\n{r.Output}\n{Logs()}");
    }

    /// <summary>Wait until the VM has a preferred (non-tentative) global address in its prefix.</summary>
    public string WaitForAddress(int vm, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        string last = "";
        while (deadline.Elapsed < timeout)
        {
            last = Exec($"vm{vm}", "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global").Stdout;
            foreach (var line in last.Split('\n'))
                if (line.Contains(Address(vm) + "/64") && !line.Contains("tentative")) return Address(vm);
            Thread.Sleep(100);
        }
        throw new TimeoutException($"vm{vm} has no usable address in {Prefix(vm)} after {timeout.TotalSeconds} s: {last}\n{Logs()}");
    }

    /// <summary>The VM's global addresses now (to check nothing changed across a migration).</summary>
    public string[] GlobalAddresses(int vm) =>
        [.. AddressRegex().Matches(Exec($"vm{vm}", "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global").Stdout).Select(m => m.Groups[1].Value).Order()];

    [GeneratedRegex(@"inet6 ([0-9a-f:]+)/\d+")]
    private static partial Regex AddressRegex();

    /// <summary>Wait until the VM's DHCP client has put an address of the IPv4 home network on eth0; returns it.</summary>
    public string WaitForIpv4Address(int vm, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            var addresses = Ipv4Addresses(vm);
            if (addresses.Length > 0) return addresses[0];
            Thread.Sleep(100);
        }
        throw new TimeoutException($"vm{vm} has no IPv4 address from its MAG's DHCP server after {timeout.TotalSeconds} s:\n{DhcpLog(vm)}\n{Logs()}");
    }

    /// <summary>The VM's IPv4 addresses on eth0 now, without the length.</summary>
    public string[] Ipv4Addresses(int vm) =>
        [.. Ipv4AddressRegex().Matches(Exec($"vm{vm}", "ip", "-4", "-o", "addr", "show", "dev", "eth0").Stdout).Select(m => m.Groups[1].Value).Order()];

    [GeneratedRegex(@"inet ([0-9.]+)/\d+")]
    private static partial Regex Ipv4AddressRegex();

    /// <summary>The VM's DHCP client: start, renew (SIGUSR1), release (SIGUSR2) or stop.</summary>
    public void Dhcp(int vm, string action) => Check(Shell.Run(Script, ["dhcp", $"vm{vm}", action, "--name", Name], TimeSpan.FromSeconds(30)), "dhcp");

    /// <summary>The VM's DHCP events (scripts/udhcpc-script), one line each: "SECONDS EVENT ip=… serverid=… mtu=…".</summary>
    public string[] DhcpEvents(int vm)
    {
        var path = Path.Combine(RunDir, $"vm{vm}.dhcp.log");
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    public string DhcpLog(int vm) => string.Join('\n', DhcpEvents(vm));

    public bool Ping4(string node, string target, int count = 3) =>
        Exec(node, TimeSpan.FromSeconds(30), "ping", "-4", "-c", count.ToString(), "-i", "0.2", "-W", "2", target).ExitCode == 0;

    public bool Ping(string node, string target, int count = 3) =>
        Exec(node, TimeSpan.FromSeconds(30), "ping", "-6", "-c", count.ToString(), "-i", "0.2", "-W", "2", target).ExitCode == 0;

    /// <summary>Poll a condition until it holds or the deadline passes (never a fixed sleep).</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition()) return true;
            Thread.Sleep(50);
        }
        return condition();
    }

    /// <summary>Wait for a line containing <paramref name="text"/> on a background program's stdout, then keep draining it.</summary>
    public static void WaitForLine(Process p, string text, TimeSpan timeout)
    {
        var found = Task.Run(() =>
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null)
                if (line.Contains(text, StringComparison.Ordinal)) return true;
            return false;
        });
        if (!found.Wait(timeout) || !found.Result) throw new InvalidOperationException($"no \"{text}\" from {p.StartInfo.FileName}");
        _ = Task.Run(() => p.StandardOutput.ReadToEnd());
    }

    public string Logs()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var f in new[] { "lma.log", "lmaa.log", "lmab.log", "mag1.log", "mag2.log", "announce.log" })
        {
            var path = Path.Combine(RunDir, f);
            if (!File.Exists(path)) continue;
            var lines = File.ReadAllLines(path);
            sb.AppendLine($"--- {f} (last 30 lines)");
            foreach (var l in lines.TakeLast(30)) sb.AppendLine(l);
        }
        return sb.ToString();
    }

    public bool DaemonAlive(string role)
    {
        var pidFile = Path.Combine(RunDir, $"{role}.pid");
        return File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid) && Directory.Exists($"/proc/{pid}");
    }

    public void Dispose()
    {
        foreach (var p in _background)
        {
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        try
        {
            _output.WriteLine(Logs());
        }
        catch (IOException) { }
        var r = Shell.Run(Script, ["down", "--name", Name], TimeSpan.FromSeconds(60));
        if (r.ExitCode != 0) _output.WriteLine($"testbed down {Name}: {r.Output}");
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (DataPlane.sln) above " + AppContext.BaseDirectory);
    }
}
