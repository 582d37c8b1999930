using System.Globalization;
using System.Text.Json;

namespace DataPlane.Experiment;

/// <summary>
/// A real Linux guest under QEMU (docs/real-guest.md): the testbed comes up with VM 1's veth unattached and the
/// WAN delay on the LMA's links, the guest boots on MAG1 with VM 1's identity through scripts/guest/qemu-vm (the
/// same driver the end-to-end tests use, so the QEMU command line, the hotplug and the QMP handling live in one
/// place), and each migration is `qemu-vm migrate` to the other MAG: a destination QEMU with -incoming in that
/// MAG's namespace, the stream MAG → LMA → MAG across two emulated links, QEMU's own figures from query-migrate.
/// The UDP responder runs in the guest from boot (it survives the migrations); the TCP client is started per run
/// by writing a command line to the guest's control serial port.
/// </summary>
public sealed class QemuMigrationDriver(Tools tools, ExperimentOptions options, TextWriter log) : IMigrationDriver
{
    private const string Guest = "g1";
    private static int s_counter;
    private bool _up;
    private int _tcpClients;

    /// <summary>What differs when reading a real guest's results (the README's "How to read this" is the namespace testbed's).</summary>
    public const string ReadmeNote = """
        **This run used a real guest** (`--driver qemu`): the VM is a Linux kernel under QEMU (TCG), and the hypervisor's
        share is measured, not emulated: QEMU's pre-copy stream replaces the bulk TCP stream (the "migration" class of the
        overhead table is QEMU's stream), and "VM stopped" is QEMU's STOP event on the source → its RESUME event on the
        destination. QEMU's own `query-migrate` figures (downtime, total time, setup time, RAM transferred) are reported
        beside the end-to-end ones: QEMU's downtime ends when the source has sent the last bytes, so "downtime − QEMU
        downtime" is what the destination's resume, the switch's handover (registration across the emulated WAN) and the
        path added. While the guest is paused its tap queues the client's probes, so some come back late rather than being
        lost: the longest probe RTT shows it. The guest has 1 vCPU under TCG on a two-core machine, so its own CPU time
        is not the seed's Xen guest's.

        """;

    public string Name { get; } = $"dpt{Environment.ProcessId}q{Tools.RunToken}x{Interlocked.Increment(ref s_counter)}";
    public string RunDir => $"/run/dataplane-testbed/{Name}";
    public string VmAddress { get; private set; } = "2001:db8:1001:1:5054:ff:fe00:1";
    public string? VmIpv4Address { get; private set; }
    public string VmAt { get; private set; } = "mag1";

    public string Description => string.Create(CultureInfo.InvariantCulture,
        $"real guest under QEMU (scripts/guest/qemu-vm; TCG, 1 vCPU, {options.MemoryMb} MB, Debian cloud kernel + busybox initramfs from scripts/guest/build-image{(options.Ipv4 ? "; dual stack, IPv4 by its udhcpc from the MAG, probes over IPv4" : "")}), live-migrated over QMP between QEMUs in the MAGs' namespaces (destination started with -incoming on TCP port {options.MemoryPort}, stream MAG→LMA→MAG across two emulated links), QEMU downtime-limit {(options.DowntimeLimitMs is { } d ? d + " ms" : "default (300 ms)")}, max-bandwidth {options.MaxBandwidth ?? "QEMU's default"}{(options.Multifd is { } m ? $", multifd {m} channels" : "")}, pre-registration {(options.PreRegistration ? "on" : "off")}{(options.Bicast ? "" : ", LMA bicast off (switch on the source's stop notice)")}; WAN emulation dataplane-wan on the LMA's three links (one-way delay RTT/4 each way{(options.Rate is null ? "" : ", rate " + options.Rate)})");

    public void Up(double rttMs)
    {
        // Idempotent: returns at once when the image exists and was built from the same inputs.
        var image = Proc.Run(tools.BuildImage, [], TimeSpan.FromMinutes(10));
        if (image.ExitCode != 0) throw new InvalidOperationException($"build-image failed:\n{image.Output}");
        var args = new List<string> { "up", "--name", Name, "--owner-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--vms", "1", "--no-attach",
            "--delay", NamespaceMigrationDriver.OneWayDelay(rttMs), "--dataplane", tools.Dataplane, "--probe", tools.Probe, "--wan-cmd", tools.Wan };
        if (options.Rate is { } rate) args.AddRange(["--rate", rate]);
        if (options.Ipv4) args.AddRange(["--ipv4", "dual"]);
        args.AddRange(options.TestbedMigrationArgs());
        var r = Proc.Run(tools.TestbedScript, args, TimeSpan.FromSeconds(120));
        if (r.ExitCode != 0) throw new InvalidOperationException($"testbed up failed:\n{r.Output}");
        _up = true;
        VmAt = "mag1";
        _tcpClients = 0;
        log.WriteLine($"  testbed {Name} up (VM 1 unattached), one-way delay {NamespaceMigrationDriver.OneWayDelay(rttMs)} per LMA link; booting the guest on mag1…");
        string[] ipv4 = options.Ipv4 ? ["--ipv4", "dhcp"] : [];
        using var start = QemuVm(TimeSpan.FromSeconds(180), "start", Guest, ["--on", "mag1", "--vm", "1", "--memory", options.MemoryMb.ToString(CultureInfo.InvariantCulture),
            "--udp-port", Runner.UdpPort.ToString(CultureInfo.InvariantCulture), "--wait-ready", "--timeout", "150", .. ipv4]);
        VmAddress = start.RootElement.GetProperty("address").GetString() ?? VmAddress;
        VmIpv4Address = options.Ipv4 ? start.RootElement.GetProperty("ipv4").GetString() : null;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  guest {Guest} at {VmAddress}{(VmIpv4Address is null ? "" : " and " + VmIpv4Address)} after {start.RootElement.GetProperty("bootToReadyMs").GetDouble() / 1000:F1} s"));
    }

    public string[] On(string node, params string[] command) => ["ip", "netns", "exec", $"{Name}-{node}", .. command];

    public IVmSide StartVmSide(int udpPort, string tcpServer, int tcpPort)
    {
        if (udpPort != Runner.UdpPort) throw new InvalidOperationException($"the guest's UDP responder listens on {Runner.UdpPort} (started at boot), not {udpPort}");
        Exec($"guest-probe tcp-client {tcpServer} {tcpPort.ToString(CultureInfo.InvariantCulture)} 1800000 10 10000");
        // Each client prints one "connected" record with its pid; the n-th of this guest is this run's.
        using var rec = QemuVm(TimeSpan.FromSeconds(60), "wait", Guest, "--for", "tcp-client", "--match", "\"connected\": true",
            "--count", (++_tcpClients).ToString(CultureInfo.InvariantCulture), "--timeout", "30");
        return new GuestTcpClient(this, rec.RootElement.GetProperty("data").GetProperty("pid").GetInt32());
    }

    public MigrationSteps Migrate()
    {
        string to = VmAt == "mag1" ? "mag2" : "mag1";
        var args = new List<string> { "migrate", Guest, "--testbed", Name, "--to", to, "--port", options.MemoryPort.ToString(CultureInfo.InvariantCulture), "--timeout", "240" };
        if (options.DowntimeLimitMs is { } limit) args.AddRange(["--downtime-limit", limit.ToString(CultureInfo.InvariantCulture)]);
        if (options.MaxBandwidth is { } bandwidth) args.AddRange(["--max-bandwidth", bandwidth]);
        if (options.Multifd is { } channels) args.AddRange(["--multifd", channels.ToString(CultureInfo.InvariantCulture)]);
        var r = Proc.Run(tools.QemuVm, args, TimeSpan.FromSeconds(300));
        // Exit 2: QEMU did not complete; the guest keeps running where it was (the driver stopped the destination).
        if (r.ExitCode != 0) throw new InvalidOperationException($"qemu-vm migrate to {to} failed (exit {r.ExitCode}):\n{r.Output}");
        // The guest runs on the destination now, whatever we make of the report.
        VmAt = to;
        try
        {
            return QemuMigrateReport.Parse(r.Stdout);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"qemu-vm migrate to {to}: no JSON ({e.Message}):\n{r.Output}", e);
        }
    }

    private void Exec(string commandLine)
    {
        using var _ = QemuVm(TimeSpan.FromSeconds(20), "exec", Guest, "--", commandLine);
    }

    private JsonDocument QemuVm(TimeSpan timeout, string command, string guest, params string[] rest)
    {
        var r = Proc.Run(tools.QemuVm, [command, guest, "--testbed", Name, .. rest], timeout);
        if (r.ExitCode != 0) throw new InvalidOperationException($"qemu-vm {command} failed (exit {r.ExitCode}):\n{r.Output}");
        try
        {
            return JsonDocument.Parse(r.Stdout);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"qemu-vm {command}: no JSON ({e.Message}):\n{r.Output}", e);
        }
    }

    public void Down()
    {
        if (!_up) return;
        // QEMU first, cleanly (its qemu-ifdown detaches the port), then the testbed.
        var q = Proc.Run(tools.QemuVm, ["cleanup", "--testbed", Name], TimeSpan.FromSeconds(60));
        if (q.ExitCode != 0) log.WriteLine($"qemu-vm cleanup {Name}: {q.Output}");
        var r = Proc.Run(tools.TestbedScript, ["down", "--name", Name], TimeSpan.FromSeconds(60));
        if (r.ExitCode != 0) log.WriteLine($"testbed down {Name}: {r.Output}");
        _up = false;
    }

    public void Dispose() => Down();

    /// <summary>guest-probe's TCP client in the guest: SIGUSR1 makes it send END and close; SIGTERM if the run failed.</summary>
    private sealed class GuestTcpClient(QemuMigrationDriver driver, int pid) : IVmSide
    {
        private bool _stopped;

        public void StopTcpClient()
        {
            _stopped = true;
            driver.Exec($"kill -USR1 {pid.ToString(CultureInfo.InvariantCulture)}");
        }

        public void Dispose()
        {
            if (_stopped) return;
            _stopped = true;
            try
            {
                driver.Exec($"kill -TERM {pid.ToString(CultureInfo.InvariantCulture)}");
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or JsonException)
            {
                // The guest is gone (a failed run); the testbed's teardown stops QEMU.
            }
        }
    }
}
