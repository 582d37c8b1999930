namespace DataPlane.LineRate;

/// <summary>VM → host → anchor → client, built twice: once with the kernel's bridge and routing, once with DataPlane.</summary>
public interface ITopology : IDisposable
{
    string Label { get; }
    string VmNs { get; }
    string ClientNs { get; }
    string ClientAddress { get; }
    string VmAddress { get; }
    /// <summary>Every (namespace, interface) on the path, for switching offloads on and off.</summary>
    IReadOnlyList<(string Ns, string Dev)> Interfaces { get; }
}

/// <summary>
/// The baseline the issue names: a Linux bridge on the VM host (the VM's veth enslaved, the host's
/// gateway address on the bridge) and kernel routing on the host and the anchor. No encapsulation: this
/// kernel has no ip6ip6 tunnel, so the baseline is an upper bound for any tunnelling design.
/// </summary>
public sealed class KernelTopology : ITopology
{
    private readonly string _p;

    public KernelTopology(string prefix)
    {
        _p = prefix;
        foreach (var n in new[] { "vm", "host", "lma", "client" }) Sh.Check("ip", "netns", "add", Ns(n));
        Link(Ns("vm"), "eth0", Ns("host"), "vmport");
        Link(Ns("host"), "eth-lma", Ns("lma"), "eth-host");
        Link(Ns("lma"), "eth-client", Ns("client"), "eth-lma");
        foreach (var n in new[] { "vm", "host", "lma", "client" })
        {
            Sh.Check("ip", "netns", "exec", Ns(n), "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
            Sh.Check("ip", "-n", Ns(n), "link", "set", "lo", "up");
        }
        Sh.Check("ip", "-n", Ns("host"), "link", "add", "br0", "type", "bridge");
        Sh.Check("ip", "-n", Ns("host"), "link", "set", "vmport", "master", "br0");
        foreach (var (n, dev) in new[] { ("host", "br0"), ("host", "vmport"), ("vm", "eth0"), ("host", "eth-lma"), ("lma", "eth-host"), ("lma", "eth-client"), ("client", "eth-lma") })
            Sh.Check("ip", "-n", Ns(n), "link", "set", dev, "up");
        Addr("vm", "eth0", "2001:db8:1001:1::10/64");
        Addr("host", "br0", "2001:db8:1001:1::1/64");
        Addr("host", "eth-lma", "2001:db8:100:1::2/64");
        Addr("lma", "eth-host", "2001:db8:100:1::1/64");
        Addr("lma", "eth-client", "2001:db8:2::1/64");
        Addr("client", "eth-lma", "2001:db8:2::10/64");
        Sh.Check("ip", "-n", Ns("vm"), "-6", "route", "add", "default", "via", "2001:db8:1001:1::1");
        Sh.Check("ip", "-n", Ns("host"), "-6", "route", "add", "default", "via", "2001:db8:100:1::1");
        Sh.Check("ip", "-n", Ns("lma"), "-6", "route", "add", "2001:db8:1001::/48", "via", "2001:db8:100:1::2");
        Sh.Check("ip", "-n", Ns("client"), "-6", "route", "add", "default", "via", "2001:db8:2::1");
        foreach (var n in new[] { "host", "lma" }) Sh.Check("ip", "netns", "exec", Ns(n), "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        // Same MTU as the DataPlane VM sees (its RA advertises the 1460-byte tunnel MTU), so TCP segments compare.
        Sh.Check("ip", "-n", Ns("vm"), "link", "set", "eth0", "mtu", "1460");
        WaitReachable();
    }

    private void WaitReachable()
    {
        for (int i = 0; i < 100; i++)
        {
            if (Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ping", "-6", "-c", "1", "-W", "1", ClientAddress).ExitCode == 0) return;
            Thread.Sleep(100);
        }
        throw new InvalidOperationException("kernel topology: the VM cannot reach the client");
    }

    private string Ns(string n) => $"{_p}-{n}";
    private static void Link(string ns1, string d1, string ns2, string d2) =>
        Sh.Check("ip", "link", "add", d1, "netns", ns1, "type", "veth", "peer", "name", d2, "netns", ns2);
    private void Addr(string n, string dev, string a) => Sh.Check("ip", "-n", Ns(n), "-6", "addr", "add", a, "dev", dev, "nodad");

    public string Label => "kernel";
    public string VmNs => Ns("vm");
    public string ClientNs => Ns("client");
    public string ClientAddress => "2001:db8:2::10";
    public string VmAddress => "2001:db8:1001:1::10";
    public IReadOnlyList<(string Ns, string Dev)> Interfaces =>
    [
        (Ns("vm"), "eth0"), (Ns("host"), "vmport"), (Ns("host"), "br0"), (Ns("host"), "eth-lma"),
        (Ns("lma"), "eth-host"), (Ns("lma"), "eth-client"), (Ns("client"), "eth-lma"),
    ];

    public void Dispose()
    {
        foreach (var n in new[] { "vm", "host", "lma", "client" }) Sh.Run("ip", ["netns", "del", Ns(n)]);
    }
}

/// <summary>The same path through DataPlane: the namespace testbed with one VM, no WAN delay.</summary>
public sealed class DataplaneTopology : ITopology
{
    private readonly string _name;
    private readonly string _script;

    /// <param name="tuning">The daemons' "dataplane" section (packet-loop tuning) as JSON, or null for the defaults.</param>
    public DataplaneTopology(string name, string root, string? tuning = null)
    {
        _name = name;
        _script = Path.Combine(root, "scripts", "testbed");
        string[] up = ["up", "--name", name, "--vms", "1", "--owner-pid", Environment.ProcessId.ToString()];
        if (tuning is not null) up = [.. up, "--tuning", tuning];
        var r = Sh.Run(_script, up, TimeSpan.FromMinutes(2));
        if (r.ExitCode != 0) throw new InvalidOperationException("testbed up: " + r.Stdout + r.Stderr);
        for (int i = 0; i < 150; i++)
        {
            var a = Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global").Stdout;
            if (a.Contains(VmAddress, StringComparison.Ordinal) && !a.Contains("tentative", StringComparison.Ordinal)) return;
            Thread.Sleep(100);
        }
        throw new InvalidOperationException("DataPlane topology: the VM got no address");
    }

    public string Label => "dataplane";
    public string VmNs => $"{_name}-vm1";
    public string ClientNs => $"{_name}-client";
    public string ClientAddress => "2001:db8:2::10";
    public string VmAddress => "2001:db8:1001:1:5054:ff:fe00:1";
    public IReadOnlyList<(string Ns, string Dev)> Interfaces =>
    [
        ($"{_name}-vm1", "eth0"), ($"{_name}-mag1", "vm1"), ($"{_name}-mag1", "eth-lma"),
        ($"{_name}-lma", "eth-mag1"), ($"{_name}-lma", "eth-client"), ($"{_name}-lma", "dphome"), ($"{_name}-client", "eth-lma"),
    ];

    public void Dispose() => Sh.Run(_script, ["down", "--name", _name], TimeSpan.FromMinutes(1));
}
