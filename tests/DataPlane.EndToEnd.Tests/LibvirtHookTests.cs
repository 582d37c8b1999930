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

    /// <summary>
    /// A stand-in for the dataplane CLI that records each call's arguments (one line each) and answers like a MAG
    /// that has no ports: it checks what the hook asks of the MAG, not the MAG (LibvirtTests runs the real one).
    /// </summary>
    private string RecordingDataplane()
    {
        var stub = Path.Combine(_dir, "dataplane-stub");
        File.WriteAllText(stub, $"#!/bin/sh\necho \"$*\" >>{_dir}/calls\ncase \"$*\" in *--json*) echo '[]' ;; esac\nexit 0\n");
        File.SetUnixFileMode(stub, (UnixFileMode)0b111_101_101);
        File.WriteAllText(Conf, $"""
            DATAPLANE={stub}
            DATAPLANE_SOCKET={_dir}/mag.sock
            DATAPLANE_HOOK_STATE={_dir}/state
            DATAPLANE_HOOK_LOG={_dir}/hook.log
            """);
        return Path.Combine(_dir, "calls");
    }

    private static string[] Calls(string file) => File.Exists(file) ? File.ReadAllLines(file) : [];

    [Fact]
    public void Migrate_begin_pre_registers_the_port_and_a_migration_that_never_got_to_prepare_leaves_nothing_expected()
    {
        var calls = RecordingDataplane();
        var sock = $"--socket {_dir}/mag.sock";
        Assert.Equal(0, Call(Domain(DataPlanePort), "migrate").ExitCode);
        Assert.Equal([$"ctl {sock} port expect dp-web1 --mac 52:54:00:00:00:07"], Calls(calls));
        Assert.Equal("dp-web1", File.ReadAllText(Path.Combine(_dir, "state", "web1.expected")).Trim());
        // The migration failed before prepare: release gives the pre-registration up.
        Assert.Equal(0, Call(Domain(DataPlanePort), "release", "end").ExitCode);
        Assert.Equal($"ctl {sock} port del dp-web1", Calls(calls).Last());
        Assert.False(File.Exists(Path.Combine(_dir, "state", "web1.expected")));
        Assert.Contains("no longer expecting dp-web1", File.ReadAllText(Path.Combine(_dir, "hook.log")));
    }

    [Fact]
    public void Prepare_attaches_the_expected_port_as_incoming_and_stop_and_resume_reach_the_mag_for_the_domains_ports()
    {
        var calls = RecordingDataplane();
        var sock = $"--socket {_dir}/mag.sock";
        Assert.Equal(0, Call(Domain(DataPlanePort), "migrate").ExitCode);
        var prepare = Call(Domain(DataPlanePort), "prepare");
        Assert.True(prepare.ExitCode == 0, prepare.Output);
        Assert.Equal($"ctl {sock} port add dp-web1 --mac 52:54:00:00:00:07 --incoming", Calls(calls).Last());
        Assert.False(File.Exists(Path.Combine(_dir, "state", "web1.expected"))); // an ordinary port now
        // scripts/libvirt-events passes the lifecycle events on as vm-stopped and vm-resumed.
        Assert.Equal(0, Call(Domain(DataPlanePort), "vm-stopped").ExitCode);
        Assert.Equal($"ctl {sock} port stopped dp-web1", Calls(calls).Last());
        Assert.Equal(0, Call(Domain(DataPlanePort), "vm-resumed").ExitCode);
        Assert.Equal($"ctl {sock} port resumed dp-web1", Calls(calls).Last());
        Assert.Contains("migration phase vm-stopped port=dp-web1 mac=52:54:00:00:00:07", File.ReadAllText(Path.Combine(_dir, "hook.log")));
    }

    [Fact]
    public void Stop_and_resume_of_a_domain_whose_ports_this_host_did_not_attach_ask_nothing()
    {
        var calls = RecordingDataplane();
        Assert.Equal(0, Call(Domain(DataPlanePort), "vm-stopped").ExitCode);
        Assert.Equal(0, Call(Domain(DataPlanePort), "vm-resumed").ExitCode);
        Assert.Empty(Calls(calls));
    }

    [Fact]
    public void The_event_listener_passes_a_migrations_stop_and_a_failed_ones_resume_to_the_hook_and_nothing_else()
    {
        // A stand-in virsh: `event` prints what libvirt's would for a source whose migration failed after the stop, then
        // a second domain's ordinary pause/resume; `dumpxml` prints the domain.
        var xml = Path.Combine(_dir, "domain.xml");
        File.WriteAllText(xml, Domain(DataPlanePort));
        var virsh = Path.Combine(_dir, "virsh-stub");
        File.WriteAllText(virsh, $$"""
            #!/bin/sh
            case $1 in
              event)
                echo "event 'lifecycle' for domain 'web1': Started Booted"
                echo "event 'lifecycle' for domain 'web1': Suspended Migrated"
                echo "event 'lifecycle' for domain 'other': Resumed Unpaused"
                echo "event 'lifecycle' for domain 'web1': Resumed Migrated"
                echo "event 'lifecycle' for domain 'web1': Resumed Unpaused"
                echo "events received: 5" ;;
              dumpxml) cat {{xml}} ;;
            esac

            """);
        File.SetUnixFileMode(virsh, (UnixFileMode)0b111_101_101);
        var hook = Path.Combine(_dir, "hook-stub");
        File.WriteAllText(hook, $$"""
            #!/bin/sh
            name=$(cat | grep -o '<name>[^<]*' | cut -c7-)
            echo "$1 $2 $3 $4 $name" >>{{_dir}}/hook-calls

            """);
        File.SetUnixFileMode(hook, (UnixFileMode)0b111_101_101);
        var r = Shell.Run(Path.Combine(Testbed.Root, "scripts", "libvirt-events"), ["--hook", hook, "--virsh", virsh], TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Equal(["web1 vm-stopped begin - web1", "web1 vm-resumed begin - web1"], File.ReadAllLines(Path.Combine(_dir, "hook-calls")));
    }

    public void Dispose()
    {
        Shell.Run("ip", ["netns", "del", _ns], TimeSpan.FromSeconds(30));
        Directory.Delete(_dir, recursive: true);
    }
}
