using System.Diagnostics;
using System.Globalization;

namespace DataPlane.Experiment;

/// <summary>Where the repository's scripts and the published native tools are.</summary>
public sealed record Tools(string Root)
{
    /// <summary>
    /// Four hex digits drawn once per process, part of every testbed name: pid_max is 32768 here, so a pid comes back
    /// within one test run and pid + counter alone met testbeds an earlier run had left behind (and a concurrent
    /// run's cleanup of them).
    /// </summary>
    public static readonly string RunToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();

    public string TestbedScript => Path.Combine(Root, "scripts", "testbed");
    /// <summary>The real guest's hypervisor driver and image builder (docs/real-guest.md).</summary>
    public string QemuVm => Path.Combine(Root, "scripts", "guest", "qemu-vm");
    public string BuildImage => Path.Combine(Root, "scripts", "guest", "build-image");
    public string Dataplane { get; init; } = Path.Combine(Root, "artifacts", "publish", "dataplane", "dataplane");
    public string Probe { get; init; } = Path.Combine(Root, "artifacts", "publish", "dataplane-probe", "dataplane-probe");
    public string Wan { get; init; } = Path.Combine(Root, "artifacts", "publish", "dataplane-wan", "dataplane-wan");

    /// <summary>Copies of the three native tools in <paramref name="directory"/>, so that a rebuild in the work tree
    /// during a long experiment cannot change the binaries half-way (every RTT starts fresh daemons).</summary>
    public Tools Snapshot(string directory)
    {
        Require();
        Directory.CreateDirectory(directory);
        string Copy(string file)
        {
            string to = Path.Combine(directory, Path.GetFileName(file));
            File.Copy(file, to, overwrite: true);
            File.SetUnixFileMode(to, File.GetUnixFileMode(file));
            return to;
        }
        return this with { Dataplane = Copy(Dataplane), Probe = Copy(Probe), Wan = Copy(Wan) };
    }

    public void Require()
    {
        foreach (var f in new[] { TestbedScript, Dataplane, Probe, Wan })
            if (!File.Exists(f)) throw new InvalidOperationException($"{f} is missing: run `make build` first");
    }

    public static Tools Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return new Tools(d.FullName);
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return new Tools(d.FullName);
        throw new InvalidOperationException("cannot find the repository root (DataPlane.sln)");
    }
}

/// <summary>The step timestamps `testbed migrate` printed (epoch ms by step name), and what precopy-end carried;
/// for a real guest, the steps of `qemu-vm migrate` and QEMU's own figures (<see cref="QemuMigrateReport"/>).</summary>
public sealed record MigrationSteps(Dictionary<string, long> At, string? PrecopyJson)
{
    /// <summary>QEMU's figures when a real guest migrated; null on the namespace testbed.</summary>
    public QemuFigures? Qemu { get; init; }

    public double? Between(string from, string to) =>
        At.TryGetValue(from, out long a) && At.TryGetValue(to, out long b) ? b - a : null;

    /// <summary>When the VM was back on a network: port-add (namespace) or QEMU's RESUME on the destination.</summary>
    public long? ResumedAt => At.TryGetValue("port-add", out long p) ? p : At.TryGetValue("vm-resume", out long r) ? r : null;

    /// <summary>The hypervisor's share: the VM stops (vm-stop, or link-down before there was one) → port-add (namespace), or QEMU's STOP → RESUME.</summary>
    public double? VmStoppedMs => At.ContainsKey("port-add")
        ? Between("vm-stop", "port-add") ?? Between("link-down", "port-add")
        : Between("vm-stop", "vm-resume");

    public static MigrationSteps Parse(string stdout)
    {
        var at = new Dictionary<string, long>();
        string? precopy = null;
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', 6);
            if (f.Length < 2 || !long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long ms)) continue;
            at[f[1]] = ms;
            if (f[1] == "precopy-end" && f.Length >= 6) precopy = f[5];
        }
        return new MigrationSteps(at, precopy);
    }
}

/// <summary>
/// The seam between the experiment and whatever migrates the VM. The namespace testbed's emulated
/// migration (<see cref="NamespaceMigrationDriver"/>) is the one that exists today; a real QEMU/KVM guest
/// live-migrated between the two MAG namespaces plugs in here when that issue lands: it must bring the
/// domain up at an RTT, run the probes' VM-side ends inside the guest, and perform one migration,
/// returning the same steps (start … finished) so the analysis stays the same.
/// </summary>
public interface IMigrationDriver : IDisposable
{
    /// <summary>A short description for the results README.</summary>
    string Description { get; }

    /// <summary>The testbed's name (namespaces N-client, N-lma, N-wan, N-mag1, N-mag2, N-vm1).</summary>
    string Name { get; }

    /// <summary>The run directory with the daemons' logs (magK.log).</summary>
    string RunDir { get; }

    /// <summary>Bring the domain up with the LMA's links delayed for this client–VM RTT; the VM gets its address.</summary>
    void Up(double rttMs);

    /// <summary>The VM's home address.</summary>
    string VmAddress { get; }

    /// <summary>The VM's IPv4 home address when it runs dual stack (<see cref="ExperimentOptions.Ipv4"/>), else null.</summary>
    string? VmIpv4Address { get; }

    /// <summary>Where the VM is now (mag1 or mag2).</summary>
    string VmAt { get; }

    /// <summary>Start the probes' VM-side ends for one run: the UDP responder on <paramref name="udpPort"/> (a real
    /// guest runs it from boot) and the TCP survivability client sending every 10 ms to the server.</summary>
    IVmSide StartVmSide(int udpPort, string tcpServer, int tcpPort);

    /// <summary>A command line that runs <paramref name="command"/> on node (client, lma, mag1, mag2).</summary>
    string[] On(string node, params string[] command);

    /// <summary>Migrate the VM to the other MAG and return the steps.</summary>
    MigrationSteps Migrate();

    void Down();
}

/// <summary>The probes' ends inside the VM for one run; disposing stops whatever is still running.</summary>
public interface IVmSide : IDisposable
{
    /// <summary>Ask the TCP client to send its END marker and close (the server then gives its verdict).</summary>
    void StopTcpClient();
}

/// <summary>The namespace testbed (scripts/testbed): emulated stop-and-copy pause, pre-copy as a bulk TCP stream.</summary>
public sealed class NamespaceMigrationDriver(Tools tools, ExperimentOptions options, TextWriter log) : IMigrationDriver
{
    private static int s_counter;
    private bool _up;

    public string Name { get; } = $"dpt{Environment.ProcessId}e{Tools.RunToken}x{Interlocked.Increment(ref s_counter)}";
    public string RunDir => $"/run/dataplane-testbed/{Name}";
    public string VmAddress => "2001:db8:1001:1:5054:ff:fe00:1";
    public string? VmIpv4Address { get; private set; }
    public string VmAt { get; private set; } = "mag1";

    public string Description => string.Create(CultureInfo.InvariantCulture,
        $"namespace testbed (scripts/testbed): veth VM{(options.Ipv4 ? " (dual stack, IPv4 by busybox udhcpc from its MAG; probes over IPv4)" : "")}, emulated stop-and-copy pause {options.PauseMs} ms, pre-copy {options.MemoryMb} MiB as one TCP stream MAG→MAG through the LMA, announce {options.Announce}, WAN emulation dataplane-wan on the LMA's three links (one-way delay RTT/4 each way{(options.Rate is null ? "" : ", rate " + options.Rate)})");

    public void Up(double rttMs)
    {
        Proc.Run(tools.TestbedScript, ["down", "--all-stale"], TimeSpan.FromSeconds(60));
        var args = new List<string> { "up", "--name", Name, "--owner-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            "--delay", OneWayDelay(rttMs), "--dataplane", tools.Dataplane, "--probe", tools.Probe, "--wan-cmd", tools.Wan };
        if (options.Rate is { } rate) args.AddRange(["--rate", rate]);
        if (options.Ipv4) args.AddRange(["--ipv4", "dual"]);
        args.AddRange(options.TestbedMigrationArgs());
        var r = Proc.Run(tools.TestbedScript, args, TimeSpan.FromSeconds(120));
        if (r.ExitCode != 0) throw new InvalidOperationException($"testbed up failed:\n{r.Output}");
        _up = true;
        VmAt = "mag1";
        log.WriteLine($"  testbed {Name} up, one-way delay {OneWayDelay(rttMs)} per LMA link");
        WaitForAddress(TimeSpan.FromSeconds(20));
        if (options.Ipv4)
        {
            VmIpv4Address = WaitForIpv4Address(TimeSpan.FromSeconds(30));
            log.WriteLine($"  vm1's IPv4 home address {VmIpv4Address} (DHCP)");
        }
    }

    /// <summary>The one-way delay per LMA link for a client–VM RTT: the round trip crosses two delayed links twice.</summary>
    public static string OneWayDelay(double rttMs)
    {
        // The seed's 0.02 ms is the testbed's natural RTT without NetEm: no added delay.
        double us = rttMs < 1 ? 0 : rttMs * 1000 / 4;
        return us == 0 ? "0" : us.ToString("0.###", CultureInfo.InvariantCulture) + "us";
    }

    private void WaitForAddress(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        string last = "";
        while (sw.Elapsed < timeout)
        {
            last = Proc.Run("ip", ["netns", "exec", $"{Name}-vm1", "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"], TimeSpan.FromSeconds(10)).Stdout;
            if (last.Contains(VmAddress + "/64", StringComparison.Ordinal) && !last.Contains("tentative", StringComparison.Ordinal)) return;
            Thread.Sleep(100);
        }
        throw new TimeoutException($"vm1 has no address {VmAddress} after {timeout.TotalSeconds} s: {last}");
    }

    /// <summary>The address vm1's DHCP client put on eth0 (the testbed runs busybox udhcpc with --ipv4).</summary>
    private string WaitForIpv4Address(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        string last = "";
        while (sw.Elapsed < timeout)
        {
            last = Proc.Run("ip", ["netns", "exec", $"{Name}-vm1", "ip", "-4", "-o", "addr", "show", "dev", "eth0"], TimeSpan.FromSeconds(10)).Stdout;
            if (Ipv4Of(last) is { } a) return a;
            Thread.Sleep(100);
        }
        throw new TimeoutException($"vm1 has no IPv4 address from its MAG's DHCP server after {timeout.TotalSeconds} s: {last}");
    }

    /// <summary>The first address of `ip -4 -o addr show` output ("… inet 10.200.0.7/24 …"), without its length.</summary>
    public static string? Ipv4Of(string ipOutput)
    {
        int i = ipOutput.IndexOf(" inet ", StringComparison.Ordinal);
        if (i < 0) return null;
        var cidr = ipOutput[(i + 6)..].Split(' ', 2)[0];
        int slash = cidr.IndexOf('/', StringComparison.Ordinal);
        var address = slash < 0 ? cidr : cidr[..slash];
        return System.Net.IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? address : null;
    }

    private string[] InVm(params string[] command) => ["ip", "netns", "exec", $"{Name}-vm1", .. command];

    public IVmSide StartVmSide(int udpPort, string tcpServer, int tcpPort)
    {
        var side = new NamespaceVmSide();
        try
        {
            side.Responder = Start(InVm(tools.Probe, "udp-responder", "--port", udpPort.ToString(CultureInfo.InvariantCulture)));
            if (!side.Responder.WaitForOutput("listening", TimeSpan.FromSeconds(10))) throw new InvalidOperationException("udp-responder did not start: " + side.Responder.Stderr);
            side.Client = Start(InVm(tools.Probe, "tcp-client", "--target", tcpServer, "--port", tcpPort.ToString(CultureInfo.InvariantCulture),
                "--interval", "10ms", "--duration", "30m", "--connect-timeout", "10s"));
            return side;
        }
        catch
        {
            side.Dispose();
            throw;
        }
    }

    private static Background Start(string[] command) => Proc.Start(command[0], command[1..]);

    /// <summary>dataplane-probe's responder and TCP client in the VM's namespace.</summary>
    private sealed class NamespaceVmSide : IVmSide
    {
        public Background? Responder, Client;

        public void StopTcpClient()
        {
            Client?.Interrupt(); // SIGTERM: END marker, orderly close
            Client?.WaitForExit(TimeSpan.FromSeconds(15));
        }

        public void Dispose()
        {
            foreach (var b in new[] { Client, Responder })
            {
                if (b is null) continue;
                b.Interrupt();
                b.WaitForExit(TimeSpan.FromSeconds(3));
                b.Dispose();
            }
        }
    }

    public string[] On(string node, params string[] command) => ["ip", "netns", "exec", $"{Name}-{node}", .. command];

    public MigrationSteps Migrate()
    {
        string to = VmAt == "mag1" ? "mag2" : "mag1";
        var args = new List<string> { "migrate", "vm1", to, "--name", Name, "--pause", options.PauseMs.ToString(CultureInfo.InvariantCulture), "--announce", options.Announce };
        if (options.MemoryMb > 0) args.AddRange(["--memory-mb", options.MemoryMb.ToString(CultureInfo.InvariantCulture), "--memory-port", options.MemoryPort.ToString(CultureInfo.InvariantCulture)]);
        var r = Proc.Run(tools.TestbedScript, args, TimeSpan.FromSeconds(300));
        if (r.ExitCode != 0) throw new InvalidOperationException($"testbed migrate failed:\n{r.Output}");
        VmAt = to;
        return MigrationSteps.Parse(r.Stdout);
    }

    public void Down()
    {
        if (!_up) return;
        var r = Proc.Run(tools.TestbedScript, ["down", "--name", Name], TimeSpan.FromSeconds(60));
        if (r.ExitCode != 0) log.WriteLine($"testbed down {Name}: {r.Output}");
        _up = false;
    }

    public void Dispose() => Down();
}
