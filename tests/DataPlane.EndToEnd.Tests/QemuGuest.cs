using System.Text.Json.Nodes;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// A real Linux guest under QEMU on a testbed, through the hypervisor driver scripts/guest/qemu-vm (every
/// call returns the driver's JSON). The guest takes VM 1's identity (MAC 52:54:00:00:00:01, HNP
/// 2001:db8:1001:1::/64): bring the testbed up with <c>attach: false</c> so VM 1's veth stays unattached.
/// <see cref="Dispose"/> stops every QEMU the guest ever had (the testbed's teardown would kill them anyway).
/// </summary>
public sealed class QemuGuest : IDisposable
{
    private static int _counter;
    private static readonly object ImageLock = new();
    private static bool _imageReady;
    private readonly Testbed _tb;
    private readonly ITestOutputHelper _output;

    public static readonly string Driver = Path.Combine(Testbed.Root, "scripts", "guest", "qemu-vm");
    public static readonly string BuildImage = Path.Combine(Testbed.Root, "scripts", "guest", "build-image");
    public static readonly string InstallDeps = Path.Combine(Testbed.Root, "scripts", "install-deps");
    public const string Mac = "52:54:00:00:00:01";
    public const string SharedMac = "00:00:5e:00:52:13";

    public string Name { get; }

    private QemuGuest(Testbed tb, ITestOutputHelper output, string name)
    {
        _tb = tb;
        _output = output;
        Name = name;
    }

    /// <summary>QEMU and busybox-static installed, the guest image built (cached under artifacts/guest).</summary>
    public static void EnsureImage(ITestOutputHelper output)
    {
        lock (ImageLock)
        {
            if (_imageReady) return;
            var deps = Shell.Run(InstallDeps, ["qemu-system-x86", "busybox-static"], TimeSpan.FromMinutes(10));
            if (deps.ExitCode != 0) throw new InvalidOperationException($"install-deps failed:\n{deps.Output}");
            var r = Shell.Run(BuildImage, [], TimeSpan.FromMinutes(5));
            if (r.ExitCode != 0) throw new InvalidOperationException($"build-image failed:\n{r.Output}");
            output.WriteLine($"guest image: {r.Stdout.Trim()}");
            _imageReady = true;
        }
    }

    /// <summary>Boot a guest on <paramref name="host"/>; returns once it has its global address (the driver's JSON).</summary>
    public static (QemuGuest Guest, JsonNode Start) Boot(Testbed tb, ITestOutputHelper output, string host = "mag1", params string[] extra)
    {
        var guest = new QemuGuest(tb, output, $"g{Interlocked.Increment(ref _counter)}");
        try
        {
            var start = guest.Run(TimeSpan.FromSeconds(150), ["start", guest.Name, "--on", host, "--vm", "1", "--wait-ready", "--timeout", "120", .. extra]);
            return (guest, start);
        }
        catch
        {
            guest.Dispose();
            throw;
        }
    }

    public JsonNode Migrate(string to, params string[] extra) => Run(TimeSpan.FromSeconds(150), ["migrate", Name, "--to", to, .. extra]);

    /// <summary>Run a command line in the guest (its output goes to the console, as DPGUEST records).</summary>
    public void Exec(string commandLine) => Run(TimeSpan.FromSeconds(20), ["exec", Name, "--", commandLine]);

    /// <summary>Wait for the <paramref name="count"/>-th console record of a kind (optionally containing text).</summary>
    public JsonNode WaitFor(string kind, string? match = null, int count = 1, double timeoutSeconds = 30)
    {
        var args = new List<string> { "wait", Name, "--for", kind, "--count", count.ToString(), "--timeout", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (match is not null) args.AddRange(["--match", match]);
        return Run(TimeSpan.FromSeconds(timeoutSeconds + 30), [.. args]);
    }

    public JsonArray Records() => Run(TimeSpan.FromSeconds(20), ["console", Name, "--records"]).AsArray();

    public JsonNode Status() => Run(TimeSpan.FromSeconds(20), ["status", Name]);

    /// <summary>Every QEMU instance's serial console, concatenated.</summary>
    public string Console()
    {
        var r = Shell.Run(Driver, ["console", Name, "--testbed", _tb.Name], TimeSpan.FromSeconds(20));
        return r.Stdout;
    }

    /// <summary>The guest's global IPv6 addresses now (dp-addrs in the guest), as "address flags" strings.</summary>
    public string[] GlobalAddresses(int nth) => Addresses(nth).Global;

    /// <summary>
    /// The guest's addresses now (dp-addrs, the <paramref name="nth"/> call): global IPv6 as "address flags", and
    /// IPv4 as "address/len".
    /// </summary>
    public (string[] Global, string[] Ipv4) Addresses(int nth)
    {
        Exec("dp-addrs");
        var rec = WaitFor("addrs", count: nth, timeoutSeconds: 20);
        string[] global = [.. rec["data"]!["eth0"]!.AsArray()
            .Where(a => a!["scope"]!.GetValue<string>() == "00")
            .Select(a => $"{System.Net.IPAddress.Parse(a!["address"]!.GetValue<string>())} flags={a["flags"]}")
            .Order()];
        string[] ipv4 = rec["data"]!["ipv4"] is JsonArray v4 ? [.. v4.Select(a => a!.GetValue<string>()).Order()] : [];
        return (global, ipv4);
    }

    private JsonNode Run(TimeSpan timeout, string[] args)
    {
        var full = new List<string>(args);
        full.InsertRange(2, ["--testbed", _tb.Name]);
        var r = Shell.Run(Driver, full, timeout);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"qemu-vm {string.Join(' ', args)}: exit {r.ExitCode}\n{r.Stdout}{r.Stderr}\n{SafeConsole()}\n{_tb.Logs()}");
        return JsonNode.Parse(r.Stdout) ?? throw new InvalidOperationException($"qemu-vm {args[0]}: no JSON");
    }

    private string SafeConsole()
    {
        try
        {
            return "--- guest console\n" + Console();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            return "";
        }
    }

    public void Dispose()
    {
        try
        {
            var r = Shell.Run(Driver, ["stop", Name, "--testbed", _tb.Name], TimeSpan.FromSeconds(60));
            if (r.ExitCode != 0) _output.WriteLine($"qemu-vm stop {Name}: {r.Output}");
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            _output.WriteLine($"qemu-vm stop {Name}: {e.Message}");
        }
    }
}
