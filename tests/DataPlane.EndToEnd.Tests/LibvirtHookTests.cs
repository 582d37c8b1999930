using DataPlane.Tests.Shared;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// scripts/libvirt-qemu called as libvirt calls it (name, operation, sub-operation, extra; the domain XML on
/// standard input; no environment but PATH), for the cases that need no MAG: what it must leave alone, and what it
/// must never print. (LibvirtTests runs it under a real libvirt with real MAGs.)
/// </summary>
public sealed class LibvirtHookTests : IDisposable
{
    private static readonly string Hook = Path.Combine(Testbed.Root, "scripts", "libvirt-qemu");
    private readonly string _dir;
    private readonly string _ns;

    public LibvirtHookTests()
    {
        var id = RunNames.Next("");
        _dir = Path.Combine(Path.GetTempPath(), $"dp-hook-{id}");
        _ns = $"dphook{id}";
        Directory.CreateDirectory(_dir);
        Shell.Check("ip", "netns", "add", _ns);
        var deps = Shell.Run(QemuGuest.InstallDeps, ["libxml2-utils"], TimeSpan.FromMinutes(10));
        Assert.True(deps.ExitCode == 0, deps.Output);
        // A MAG that cannot be reached: any attempt to use it fails loudly.
        File.WriteAllText(Conf, $"""
            DATAPLANE={Testbed.Dataplane}
            DATAPLANE_SOCKET={_dir}/no-mag.sock
            DATAPLANE_HOOK_STATE={_dir}/state
            DATAPLANE_HOOK_LOG={_dir}/hook.log
            """);
    }

    private string Conf => Path.Combine(_dir, "hook.conf");

    private static string Domain(string iface) => $"""
        <domain type='kvm'>
          <name>web1</name>
          <devices>
            {iface}
          </devices>
        </domain>
        """;

    private const string DataPlanePort = "<interface type='ethernet'><mac address='52:54:00:00:00:07'/><target dev='dp-web1' managed='no'/><model type='virtio'/></interface>";

    /// <summary>Run the hook in a network namespace of this test's own (it may create a TAP).</summary>
    private ShellResult Call(string xml, string operation, string subOperation = "begin", string? path = null)
    {
        var xmlFile = Path.Combine(_dir, "domain.xml");
        File.WriteAllText(xmlFile, xml);
        // As libvirt runs it: an environment of PATH (and LC_ALL, HOME) only; here also the test's settings file.
        return Shell.Run("ip", ["netns", "exec", _ns, "env", "-i", $"PATH={path ?? "/usr/sbin:/usr/bin:/sbin:/bin"}", "LC_ALL=C", $"DATAPLANE_LIBVIRT_CONF={Conf}",
            "/bin/sh", "-c", "exec \"$0\" web1 \"$1\" \"$2\" - < \"$3\"", Hook, operation, subOperation, xmlFile], TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("<interface type='bridge'><mac address='52:54:00:00:00:07'/><source bridge='br0'/><model type='virtio'/></interface>")]
    [InlineData("<interface type='ethernet'><mac address='52:54:00:00:00:07'/><target dev='vnet7' managed='no'/></interface>")]
    [InlineData("<interface type='ethernet'><mac address='52:54:00:00:00:07'/><target dev='dp-web1'/></interface>")]
    public void Domains_without_a_dataplane_port_are_left_alone(string iface)
    {
        foreach (var op in new[] { "migrate", "prepare", "started", "stopped", "release", "reconnect" })
        {
            var r = Call(Domain(iface), op, op is "stopped" or "release" ? "end" : "begin");
            Assert.True(r.ExitCode == 0, $"{op}: {r.Output}");
            Assert.Equal("", r.Stdout);
        }
        Assert.False(Directory.Exists(Path.Combine(_dir, "state")), "the hook kept state for a domain that is not DataPlane's");
        Assert.False(File.Exists(Path.Combine(_dir, "hook.log")), "the hook logged about a domain that is not DataPlane's");
    }

    [Fact]
    public void Migrate_and_restore_print_nothing_so_libvirt_keeps_the_domain_xml_and_mark_the_start_incoming()
    {
        foreach (var op in new[] { "migrate", "restore" })
        {
            var r = Call(Domain(DataPlanePort), op);
            Assert.True(r.ExitCode == 0, r.Output);
            Assert.Equal("", r.Stdout); // libvirt would take any output as the new domain XML
            Assert.True(File.Exists(Path.Combine(_dir, "state", "web1.incoming")));
        }
        Assert.Contains("web1 migrate: migration phase incoming port=dp-web1 mac=52:54:00:00:00:07", File.ReadAllText(Path.Combine(_dir, "hook.log")));
    }

    [Fact]
    public void Stop_and_release_of_a_start_that_attached_nothing_touch_nothing()
    {
        // No record of attached ports (prepare never succeeded): the unreachable MAG is never asked.
        foreach (var op in new[] { "stopped", "release" })
        {
            var r = Call(Domain(DataPlanePort), op, "end");
            Assert.True(r.ExitCode == 0, r.Output);
            Assert.Equal("", r.Stdout);
        }
        Assert.DoesNotContain("detached", File.Exists(Path.Combine(_dir, "hook.log")) ? File.ReadAllText(Path.Combine(_dir, "hook.log")) : "");
    }

    [Fact]
    public void Prepare_fails_with_the_reason_when_the_mag_cannot_be_reached_and_reconnect_never_fails()
    {
        var prepare = Call(Domain(DataPlanePort), "prepare");
        Assert.Equal(1, prepare.ExitCode);
        Assert.Equal("", prepare.Stdout);
        Assert.Contains("dataplane libvirt hook: web1 prepare: cannot attach port dp-web1 (mac 52:54:00:00:00:07) to the MAG at", prepare.Stderr);
        Assert.Contains("cannot reach the daemon", prepare.Stderr);
        // It created the TAP, then deleted it again when the MAG could not be reached.
        Assert.NotEqual(0, Shell.Run("ip", ["-n", _ns, "link", "show", "dev", "dp-web1"], TimeSpan.FromSeconds(10)).ExitCode);
        // A failing reconnect hook would make libvirt kill the running guest: it reports and exits 0.
        var reconnect = Call(Domain(DataPlanePort), "reconnect");
        Assert.Equal(0, reconnect.ExitCode);
        Assert.Contains("error: cannot re-attach dp-web1", File.ReadAllText(Path.Combine(_dir, "hook.log")));
    }

    [Fact]
    public void Without_xmllint_a_dataplane_domain_fails_with_the_package_to_install()
    {
        // A PATH with the shell's basics but no xmllint.
        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        foreach (var tool in new[] { "cat", "date", "logger" })
            File.CreateSymbolicLink(Path.Combine(bin, tool), $"/usr/bin/{tool}");
        var r = Call(Domain(DataPlanePort), "prepare", path: bin);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("xmllint is missing (Debian package libxml2-utils)", r.Stderr);
        // A domain that is not DataPlane's still starts.
        Assert.Equal(0, Call(Domain("<interface type='network'><source network='default'/></interface>"), "prepare", path: bin).ExitCode);
    }

    public void Dispose()
    {
        Shell.Run("ip", ["netns", "del", _ns], TimeSpan.FromSeconds(30));
        Directory.Delete(_dir, recursive: true);
    }
}
