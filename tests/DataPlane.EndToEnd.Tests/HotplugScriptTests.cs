namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// The hotplug scripts users install, driven as Xen and QEMU drive them, against a running MAG:
/// vif-pmip online/offline (Xen's $vif environment, no xenstore here) and qemu-ifup/qemu-ifdown.
/// </summary>
public sealed class HotplugScriptTests(ITestOutputHelper output)
{
    private static string ScriptPath(string name) => Path.Combine(Testbed.Root, "scripts", name);

    [Fact]
    public void Vif_pmip_and_qemu_ifup_attach_and_detach_a_vm()
    {
        using var tb = new Testbed(output, vms: 1, attach: false);
        var env = $"DATAPLANE={Testbed.Dataplane} DATAPLANE_SOCKET={tb.RunDir}/mag1.sock";

        // Xen: "online" with $vif set attaches the port; the VM autoconfigures and reaches the client.
        var online = tb.Exec("mag1", "env", $"vif=vm1", $"DATAPLANE={Testbed.Dataplane}", $"DATAPLANE_SOCKET={tb.RunDir}/mag1.sock",
            ScriptPath("vif-pmip"), "online");
        Assert.True(online.ExitCode == 0, $"{env} vif-pmip online: {online.Output}");
        // The hypervisor plugs the vif in before the guest runs; the guest's boot (its link coming up: DAD,
        // RS, MLD) is what registers it. Bring the VM's link up now, as a booting guest would.
        Shell.Check("ip", "-n", tb.Ns("vm1"), "link", "set", "eth0", "down");
        Shell.Check("ip", "-n", tb.Ns("vm1"), "link", "set", "eth0", "up");
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        Assert.True(tb.Ping("vm1", Testbed.Client));
        var port = Assert.Single(tb.Ctl("mag1", "ports")!.AsArray());
        Assert.Equal("vm1", port!["name"]!.GetValue<string>());
        Assert.Equal("packet", port["kind"]!.GetValue<string>());

        // "offline" detaches it: the session is gone from the MAG and de-registered at the LMA.
        var offline = tb.Exec("mag1", "env", "vif=vm1", $"DATAPLANE={Testbed.Dataplane}", $"DATAPLANE_SOCKET={tb.RunDir}/mag1.sock",
            ScriptPath("vif-pmip"), "offline");
        Assert.Equal(0, offline.ExitCode);
        Assert.Empty(tb.Ctl("mag1", "ports")!.AsArray());
        var binding = Assert.Single(tb.Ctl("lma", "bindings")!.AsArray());
        Assert.Equal("AwaitingDeletion", binding!["state"]!.GetValue<string>()); // kept for MinDelayBeforeBCEDelete

        // QEMU: qemu-ifup NAME with the guest's MAC pinned, as the destination of a migration.
        var up = tb.Exec("mag1", "env", $"DATAPLANE={Testbed.Dataplane}", $"DATAPLANE_SOCKET={tb.RunDir}/mag1.sock",
            $"DATAPLANE_VM_MAC={Testbed.Mac(1)}", "DATAPLANE_INCOMING=1", ScriptPath("qemu-ifup"), "vm1");
        Assert.True(up.ExitCode == 0, "qemu-ifup: " + up.Output);
        Assert.True(tb.Ping("vm1", Testbed.Client), "vm1 lost connectivity after qemu-ifup\n" + tb.Logs());
        Assert.Equal("HotplugIncomingMigration", Assert.Single(tb.Ctl("mag1", "sessions")!.AsArray())!["trigger"]!.GetValue<string>());
        Assert.Equal("Active", Assert.Single(tb.Ctl("lma", "bindings")!.AsArray())!["state"]!.GetValue<string>());

        var down = tb.Exec("mag1", "env", $"DATAPLANE={Testbed.Dataplane}", $"DATAPLANE_SOCKET={tb.RunDir}/mag1.sock", ScriptPath("qemu-ifdown"), "vm1");
        Assert.Equal(0, down.ExitCode);
        Assert.Empty(tb.Ctl("mag1", "ports")!.AsArray());
        // A second offline for a port already gone is not an error (Xen may call it twice).
        Assert.Equal(0, tb.Exec("mag1", "env", $"DATAPLANE={Testbed.Dataplane}", $"DATAPLANE_SOCKET={tb.RunDir}/mag1.sock", ScriptPath("qemu-ifdown"), "vm1").ExitCode);
    }
}
