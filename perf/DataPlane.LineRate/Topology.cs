namespace DataPlane.LineRate;

/// <summary>VM → host → anchor → client, built three times: the kernel's bridge and routing, the kernel's bridge and VXLAN, and DataPlane.</summary>
public interface ITopology : IDisposable
{
    string Label { get; }
    string VmNs { get; }
    string ClientNs { get; }
    string ClientAddress { get; }
    string VmAddress { get; }
    /// <summary>Every (namespace, interface) on the path, for switching offloads on and off.</summary>
    IReadOnlyList<(string Ns, string Dev)> Interfaces { get; }

    /// <summary>The client's and the VM's IPv4 addresses, when the path carries IPv4 (null: IPv6 only).</summary>
    string? ClientAddress4 => null;
    string? VmAddress4 => null;
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
        AddIpv4();
        WaitReachable();
    }

    /// <summary>
    /// The same path for IPv4, as an IPv4 data centre routes it: the VM's subnet on the bridge with the host as its
    /// gateway, routed host → anchor → client (DataPlane's IPv4 crosses the same hops inside IPv6, RFC 5844).
    /// </summary>
    private void AddIpv4()
    {
        Addr4("vm", "eth0", "10.200.0.10/24");
        Addr4("host", "br0", "10.200.0.1/24");
        Addr4("host", "eth-lma", "192.0.2.2/24");
        Addr4("lma", "eth-host", "192.0.2.1/24");
        Addr4("lma", "eth-client", "198.51.100.1/24");
        Addr4("client", "eth-lma", "198.51.100.10/24");
        Sh.Check("ip", "-n", Ns("vm"), "-4", "route", "add", "default", "via", "10.200.0.1");
        Sh.Check("ip", "-n", Ns("host"), "-4", "route", "add", "default", "via", "192.0.2.1");
        Sh.Check("ip", "-n", Ns("lma"), "-4", "route", "add", "10.200.0.0/24", "via", "192.0.2.2");
        Sh.Check("ip", "-n", Ns("client"), "-4", "route", "add", "default", "via", "198.51.100.1");
        foreach (var n in new[] { "host", "lma" }) Sh.Check("ip", "netns", "exec", Ns(n), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    }

    private void WaitReachable()
    {
        for (int i = 0; i < 100; i++)
        {
            if (Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ping", "-6", "-c", "1", "-W", "1", ClientAddress).ExitCode == 0
                && Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ping", "-4", "-c", "1", "-W", "1", ClientAddress4).ExitCode == 0) return;
            Thread.Sleep(100);
        }
        throw new InvalidOperationException("kernel topology: the VM cannot reach the client");
    }

    private string Ns(string n) => $"{_p}-{n}";
    private static void Link(string ns1, string d1, string ns2, string d2) =>
        Sh.Check("ip", "link", "add", d1, "netns", ns1, "type", "veth", "peer", "name", d2, "netns", ns2);
    private void Addr(string n, string dev, string a) => Sh.Check("ip", "-n", Ns(n), "-6", "addr", "add", a, "dev", dev, "nodad");
    private void Addr4(string n, string dev, string a) => Sh.Check("ip", "-n", Ns(n), "-4", "addr", "add", a, "dev", dev);

    public string Label => "kernel";
    public string VmNs => Ns("vm");
    public string ClientNs => Ns("client");
    public string ClientAddress => "2001:db8:2::10";
    public string VmAddress => "2001:db8:1001:1::10";
    public string ClientAddress4 => "198.51.100.10";
    public string VmAddress4 => "10.200.0.10";
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

/// <summary>
/// The encapsulating kernel path people would pick instead of us: the VM's segment stretched from the VM host to the
/// anchor by kernel VXLAN over IPv6 (a Linux bridge on each side, as EVPN deployments run it), the VM's gateway and
/// the routing to the client on the anchor. This kernel has VXLAN but no ip6ip6, so this is the fair tunnel-to-tunnel
/// comparison. VXLAN over IPv6 costs 70 bytes (outer Ethernet 14, IPv6 40, UDP 8, VXLAN 8) on a 1500-byte underlay, so
/// the VM's MTU is 1430 (DataPlane's VM sees 1460: IPv6-in-IPv6 costs 40); UDP checksums on, the kernel's default.
/// </summary>
public sealed class VxlanTopology : ITopology
{
    private readonly string _p;

    public VxlanTopology(string prefix)
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
        foreach (var (n, dev) in new[] { ("host", "vmport"), ("vm", "eth0"), ("host", "eth-lma"), ("lma", "eth-host"), ("lma", "eth-client"), ("client", "eth-lma") })
            Sh.Check("ip", "-n", Ns(n), "link", "set", dev, "up");
        // Underlay between the VM host and the anchor.
        Addr("host", "eth-lma", "2001:db8:100:1::2/64");
        Addr("lma", "eth-host", "2001:db8:100:1::1/64");
        // The overlay: vx0 in a bridge on both sides; the VM port is bridged on the host.
        foreach (var (n, local, remote) in new[] { ("host", "2001:db8:100:1::2", "2001:db8:100:1::1"), ("lma", "2001:db8:100:1::1", "2001:db8:100:1::2") })
        {
            Sh.Check("ip", "-n", Ns(n), "link", "add", "vx0", "type", "vxlan", "id", "4242", "local", local, "remote", remote, "dstport", "4789");
            Sh.Check("ip", "-n", Ns(n), "link", "add", "br0", "type", "bridge");
            Sh.Check("ip", "-n", Ns(n), "link", "set", "vx0", "master", "br0");
            Sh.Check("ip", "-n", Ns(n), "link", "set", "vx0", "up");
            Sh.Check("ip", "-n", Ns(n), "link", "set", "br0", "up");
        }
        Sh.Check("ip", "-n", Ns("host"), "link", "set", "vmport", "master", "br0");
        Sh.Check("ip", "-n", Ns("vm"), "link", "set", "eth0", "mtu", "1430");
        Addr("vm", "eth0", "2001:db8:1001:1::10/64");
        Addr("lma", "br0", "2001:db8:1001:1::1/64");
        Addr("lma", "eth-client", "2001:db8:2::1/64");
        Addr("client", "eth-lma", "2001:db8:2::10/64");
        Sh.Check("ip", "-n", Ns("vm"), "-6", "route", "add", "default", "via", "2001:db8:1001:1::1");
        Sh.Check("ip", "-n", Ns("client"), "-6", "route", "add", "default", "via", "2001:db8:2::1");
        Sh.Check("ip", "netns", "exec", Ns("lma"), "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        // IPv4 on the same overlay: VXLAN carries Ethernet, so the VM's IPv4 subnet is stretched to the anchor like
        // its IPv6 one (the underlay stays IPv6-only, as DataPlane's), and the anchor routes it to the client.
        Addr4("vm", "eth0", "10.200.0.10/24");
        Addr4("lma", "br0", "10.200.0.1/24");
        Addr4("lma", "eth-client", "198.51.100.1/24");
        Addr4("client", "eth-lma", "198.51.100.10/24");
        Sh.Check("ip", "-n", Ns("vm"), "-4", "route", "add", "default", "via", "10.200.0.1");
        Sh.Check("ip", "-n", Ns("client"), "-4", "route", "add", "default", "via", "198.51.100.1");
        Sh.Check("ip", "netns", "exec", Ns("lma"), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        for (int i = 0; i < 100; i++)
        {
            if (Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ping", "-6", "-c", "1", "-W", "1", ClientAddress).ExitCode == 0
                && Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ping", "-4", "-c", "1", "-W", "1", ClientAddress4).ExitCode == 0) return;
            Thread.Sleep(100);
        }
        throw new InvalidOperationException("VXLAN topology: the VM cannot reach the client");
    }

    private string Ns(string n) => $"{_p}-{n}";
    private static void Link(string ns1, string d1, string ns2, string d2) =>
        Sh.Check("ip", "link", "add", d1, "netns", ns1, "type", "veth", "peer", "name", d2, "netns", ns2);
    private void Addr(string n, string dev, string a) => Sh.Check("ip", "-n", Ns(n), "-6", "addr", "add", a, "dev", dev, "nodad");
    private void Addr4(string n, string dev, string a) => Sh.Check("ip", "-n", Ns(n), "-4", "addr", "add", a, "dev", dev);

    public string Label => "vxlan";
    public string VmNs => Ns("vm");
    public string ClientNs => Ns("client");
    public string ClientAddress => "2001:db8:2::10";
    public string VmAddress => "2001:db8:1001:1::10";
    public string ClientAddress4 => "198.51.100.10";
    public string VmAddress4 => "10.200.0.10";
    public IReadOnlyList<(string Ns, string Dev)> Interfaces =>
    [
        (Ns("vm"), "eth0"), (Ns("host"), "vmport"), (Ns("host"), "br0"), (Ns("host"), "vx0"), (Ns("host"), "eth-lma"),
        (Ns("lma"), "eth-host"), (Ns("lma"), "vx0"), (Ns("lma"), "br0"), (Ns("lma"), "eth-client"), (Ns("client"), "eth-lma"),
    ];

    public void Dispose()
    {
        foreach (var n in new[] { "vm", "host", "lma", "client" }) Sh.Run("ip", ["netns", "del", Ns(n)]);
    }
}

/// The same path through DataPlane: the namespace testbed with one dual-stack VM (IPv4 from its MAG's DHCP server,
/// busybox udhcpc; IPv4-in-IPv6 to the LMA, RFC 5844), no WAN delay.
/// </summary>
public sealed class DataplaneTopology : ITopology
{
    private readonly string _name;
    private readonly string _script;

    /// <param name="tuning">The daemons' "dataplane" section (packet-loop tuning) as JSON, or null for the defaults.</param>
    public DataplaneTopology(string name, string root, string? tuning = null)
    {
        _name = name;
        _script = Path.Combine(root, "scripts", "testbed");
        string[] up = ["up", "--name", name, "--vms", "1", "--ipv4", "dual", "--owner-pid", Environment.ProcessId.ToString()];
        if (tuning is not null) up = [.. up, "--tuning", tuning];
        var r = Sh.Run(_script, up, TimeSpan.FromMinutes(2));
        if (r.ExitCode != 0) throw new InvalidOperationException("testbed up: " + r.Stdout + r.Stderr);
        for (int i = 0; i < 150; i++)
        {
            var a = Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global").Stdout;
            var a4 = Sh.InNs(VmNs, TimeSpan.FromSeconds(5), "ip", "-4", "-o", "addr", "show", "dev", "eth0").Stdout;
            if (a.Contains(VmAddress, StringComparison.Ordinal) && !a.Contains("tentative", StringComparison.Ordinal) && Ipv4Of(a4) is { } v4)
            {
                VmAddress4 = v4;
                return;
            }
            Thread.Sleep(100);
        }
        throw new InvalidOperationException("DataPlane topology: the VM got no IPv6 address or no IPv4 lease");
    }

    private static string? Ipv4Of(string ipOutput)
    {
        var m = System.Text.RegularExpressions.Regex.Match(ipOutput, @" inet ([0-9.]+)/");
        return m.Success ? m.Groups[1].Value : null;
    }

    public string Label => "dataplane";
    public string VmNs => $"{_name}-vm1";
    public string ClientNs => $"{_name}-client";
    public string ClientAddress => "2001:db8:2::10";
    public string VmAddress => "2001:db8:1001:1:5054:ff:fe00:1";
    public string ClientAddress4 => "198.51.100.10";
    public string? VmAddress4 { get; private set; }
    public IReadOnlyList<(string Ns, string Dev)> Interfaces =>
    [
        ($"{_name}-vm1", "eth0"), ($"{_name}-mag1", "vm1"), ($"{_name}-mag1", "eth-lma"),
        ($"{_name}-lma", "eth-mag1"), ($"{_name}-lma", "eth-client"), ($"{_name}-lma", "dphome"), ($"{_name}-client", "eth-lma"),
    ];

    public void Dispose() => Sh.Run(_script, ["down", "--name", _name], TimeSpan.FromMinutes(1));
}
