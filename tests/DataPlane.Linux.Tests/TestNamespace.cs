using System.Text.RegularExpressions;
using DataPlane.Tests.Shared;

namespace DataPlane.Linux.Tests;

/// <summary>
/// A uniquely named network namespace (dpt-PID-TOKENxN, RunNames) for one test, deleted in Dispose even when the
/// test fails. Deleting the namespace also deletes the veths and TAPs inside it. The first use in a
/// process removes dpt-* namespaces left behind by earlier runs whose process is gone.
/// </summary>
internal sealed partial class TestNamespace : IDisposable
{
    private static readonly Lazy<int> s_janitor = new(RemoveStaleNamespaces);

    private TestNamespace(string name) => Name = name;

    public string Name { get; }

    public static TestNamespace Create()
    {
        _ = s_janitor.Value;
        string name = RunNames.Next("dpt-", "-");
        Shell.Ip("netns", "add", name);
        var ns = new TestNamespace(name);
        try
        {
            ns.Ip("link", "set", "lo", "up");
            // Quiet links: no router solicitations or DAD probes mixed into the frames tests look at.
            ns.Sysctl("net.ipv6.conf.default.router_solicitations", "0");
            ns.Sysctl("net.ipv6.conf.all.router_solicitations", "0");
            ns.Sysctl("net.ipv6.conf.default.accept_dad", "0");
            ns.Sysctl("net.ipv6.conf.all.accept_dad", "0");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>`ip -n NAME ARGS`.</summary>
    public string Ip(params string[] args) => Shell.Ip(["-n", Name, .. args]);

    public System.Text.Json.JsonElement IpJson(params string[] args) => Shell.IpJson(["-n", Name, .. args]);

    public Shell.Result Exec(params string[] command) => Shell.Run("ip", ["netns", "exec", Name, .. command]);

    /// <summary>Add an address without DAD through our netlink, which returns once the address is live
    /// (`ip addr add … nodad` returns before the kernel has inserted its local route).</summary>
    public void AddAddress(string device, Wire.Ipv6Address address, int prefixLength) => Run(() =>
    {
        using var nl = RtNetlink.Open();
        nl.AddAddress(device, address, prefixLength, noDad: true);
    });

    public void Sysctl(string key, string value)
    {
        var r = Exec("sysctl", "-q", "-w", $"{key}={value}");
        if (r.ExitCode != 0) throw new InvalidOperationException($"sysctl {key}={value} in {Name}: {r.Stderr}");
    }

    public T Run<T>(Func<T> f) => NetworkNamespace.Run(Name, f);

    public void Run(Action a) => NetworkNamespace.Run(Name, a);

    public void Dispose() => Shell.Run("ip", "netns", "del", Name);

    /// <summary>
    /// Wait until linkwatch has run for the link (operstate UP). Until then the device still has the
    /// noop qdisc and drops what we send, so the first neighbour solicitation is lost and the first
    /// packet waits a whole 1 s retransmission; linkwatch may defer the event by up to a second.
    /// </summary>
    public void WaitOperUp(string link)
    {
        const byte IF_OPER_UP = 6;
        Run(() =>
        {
            using var nl = RtNetlink.Open();
            var deadline = DateTime.UtcNow.AddSeconds(3);
            while (nl.GetLink(link).OperState != IF_OPER_UP)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{link} in {Name} did not come up");
                Thread.Sleep(5);
            }
        });
    }

    public override string ToString() => Name;

    [GeneratedRegex(@"^dpt-(\d+)-(?:[0-9a-f]+x)?\d+$")]
    private static partial Regex StaleName();

    private static int RemoveStaleNamespaces()
    {
        int removed = 0;
        if (!Directory.Exists(NetworkNamespace.NamedNamespaceDirectory)) return 0;
        foreach (var path in Directory.GetFiles(NetworkNamespace.NamedNamespaceDirectory, "dpt-*"))
        {
            string name = Path.GetFileName(path);
            var m = StaleName().Match(name);
            if (!m.Success || !int.TryParse(m.Groups[1].Value, out int pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue; // a live run owns it
            if (Shell.Run("ip", "netns", "del", name).ExitCode == 0) removed++;
        }
        return removed;
    }
}

/// <summary>
/// Two namespaces joined by a veth pair: "va" in A, "vb" in B, fixed MACs, both up, with
/// 2001:db8:a::1/64 on A and 2001:db8:a::2/64 on B (no DAD, so they are usable at once).
/// </summary>
internal sealed class NamespacePair : IDisposable
{
    public static readonly MacAddressPair Macs = new(Wire.MacAddress.Parse("02:00:00:00:00:0a"), Wire.MacAddress.Parse("02:00:00:00:00:0b"));
    public static readonly Wire.Ipv6Address AddressA = Wire.Ipv6Address.Parse("2001:db8:a::1");
    public static readonly Wire.Ipv6Address AddressB = Wire.Ipv6Address.Parse("2001:db8:a::2");
    public const string VethA = "va";
    public const string VethB = "vb";

    public NamespacePair(bool addresses = true)
    {
        A = TestNamespace.Create();
        try
        {
            B = TestNamespace.Create();
            A.Ip("link", "add", VethA, "address", Macs.A.ToString(), "type", "veth", "peer", "name", VethB, "address", Macs.B.ToString(), "netns", B.Name);
            A.Ip("link", "set", VethA, "up");
            B.Ip("link", "set", VethB, "up");
            A.WaitOperUp(VethA);
            B.WaitOperUp(VethB);
            // After the links are up: the kernel finishes an address (local route) only on a ready link.
            if (addresses)
            {
                A.AddAddress(VethA, AddressA, 64);
                B.AddAddress(VethB, AddressB, 64);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNamespace A { get; }
    public TestNamespace B { get; } = null!;

    public void Dispose()
    {
        A?.Dispose();
        B?.Dispose();
    }
}

internal readonly record struct MacAddressPair(Wire.MacAddress A, Wire.MacAddress B);
