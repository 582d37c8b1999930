using System.CommandLine;
using System.Text.Json.Nodes;
using DataPlane.Host.Control;
using DataPlane.Wire;

namespace DataPlane.Host.Cli;

/// <summary>
/// `dataplane ctl`: talk to a running daemon over its control socket. Each subcommand sends one request
/// and prints the answer as a table (or the raw JSON with --json). Exit code 0 on success, 1 when the
/// daemon refused, 2 when it could not be reached.
/// </summary>
public static class CtlCommand
{
    public static Command Create()
    {
        var socket = new Option<string>("--socket", "-s")
        {
            Description = "the daemon's control socket",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DATAPLANE_SOCKET") ?? "/run/dataplane/mag.sock",
            Recursive = true,
        };
        var json = new Option<bool>("--json") { Description = "print the daemon's JSON answer", Recursive = true };
        var ctl = new Command("ctl", "control a running MAG or LMA daemon");
        ctl.Options.Add(socket);
        ctl.Options.Add(json);

        var port = new Command("port", "attach or detach an access port (MAG)");
        var name = new Argument<string>("name") { Description = "interface name (vif1.0, tap0, ...)" };
        var mac = new Option<string?>("--mac") { Description = "the VM's MAC; frames from other MACs are dropped" };
        var kind = new Option<string>("--kind") { Description = "packet (existing interface, AF_PACKET) or tap (create a TAP device)", DefaultValueFactory = _ => "packet" };
        var incoming = new Option<bool>("--incoming") { Description = "this is the destination of a live migration: with --mac the VM is pre-registered now (migration.preRegistration) and its downlink buffered until it resumes; its first frame here completes the handover (HI 3)" };
        var running = new Option<bool>("--now") { Description = "the VM already runs on this interface: register it at once instead of on its first frame" };
        var add = new Command("add", "attach an interface as an access port (what the hotplug script calls on online)") { name, mac, kind, incoming, running };
        add.SetAction((r, ct) =>
        {
            var args = new JsonObject { ["name"] = r.GetValue(name), ["kind"] = r.GetValue(kind) };
            if (r.GetValue(incoming)) args["incoming"] = true;
            if (r.GetValue(running)) args["now"] = true;
            if (r.GetValue(mac) is { } m)
            {
                if (!MacAddress.TryParse(m, out _)) return Task.FromResult(Fail($"--mac: \"{m}\" is not a MAC address"));
                args["mac"] = m;
            }
            return Send(r.GetValue(socket)!, "port.add", args, r.GetValue(json), ct);
        });
        var del = new Command("del", "detach an access port (what the hotplug script calls on offline)") { name };
        del.SetAction((r, ct) => Send(r.GetValue(socket)!, "port.del", new JsonObject { ["name"] = r.GetValue(name) }, r.GetValue(json), ct));
        var expectMac = new Option<string>("--mac") { Description = "the arriving VM's MAC (required: it is what is pre-registered)", Required = true };
        var expect = new Command("expect", "a live migration's VM will arrive on this interface, which does not exist yet: pre-register it now; `port add` attaches the interface when it appears") { name, expectMac };
        expect.SetAction((r, ct) =>
        {
            var m = r.GetValue(expectMac)!;
            if (!MacAddress.TryParse(m, out _)) return Task.FromResult(Fail($"--mac: \"{m}\" is not a MAC address"));
            return Send(r.GetValue(socket)!, "port.expect", new JsonObject { ["name"] = r.GetValue(name), ["mac"] = m }, r.GetValue(json), ct);
        });
        var stoppedAt = new Option<string>("--at") { Description = "when the hypervisor stopped the VM, in microseconds since 1970 on this host's clock (QEMU's STOP event timestamp): what was delivered after it goes to the destination instead of being lost in the stopped guest's port" };
        var stopped = new Command("stopped", "the VM on this port stopped for a live migration's last copy (QEMU's STOP): hand its downlink to the destination") { name, stoppedAt };
        stopped.SetAction((r, ct) =>
        {
            var args = new JsonObject { ["name"] = r.GetValue(name) };
            if (r.GetValue(stoppedAt) is { } at)
            {
                if (!long.TryParse(at, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                    return Task.FromResult(Fail($"--at: \"{at}\" is not a time in microseconds since 1970"));
                args["atUnixMicroseconds"] = at;
            }
            return Send(r.GetValue(socket)!, "port.stopped", args, r.GetValue(json), ct);
        });
        var resumed = new Command("resumed", "the VM on this port runs again after `port stopped` (the migration failed): take its downlink back") { name };
        resumed.SetAction((r, ct) => Send(r.GetValue(socket)!, "port.resumed", new JsonObject { ["name"] = r.GetValue(name) }, r.GetValue(json), ct));
        port.Subcommands.Add(add);
        port.Subcommands.Add(del);
        port.Subcommands.Add(expect);
        port.Subcommands.Add(stopped);
        port.Subcommands.Add(resumed);
        ctl.Subcommands.Add(port);

        foreach (var (cmd, request, help) in new[]
        {
            ("ports", "ports", "list access ports with their VM session and counters (MAG)"),
            ("sessions", "sessions", "list VM sessions: state, HNP, LMA, age, last trigger (MAG)"),
            ("bindings", "bindings", "the binding update list (MAG) or binding cache (LMA)"),
            ("tunnels", "tunnels", "tunnels with their packet and byte counters"),
            ("stats", "stats", "protocol and data path counters, drops by reason"),
            ("ha", "ha", "LMA redundancy on etcd: role, etcd health, replication lag, last takeover (LMA)"),
            ("vms", "vms", "VMs with their traffic, drops and handovers, including those gone for less than metrics.vmRetention (MAG)"),
            ("routes", "routes", "optimized routing: the direct MAG-MAG routes (MAG) or localized routing pairs (LMA) of RFC 6705"),
        })
        {
            var c = new Command(cmd, help);
            c.SetAction((r, ct) => Send(r.GetValue(socket)!, request, [], r.GetValue(json), ct));
            ctl.Subcommands.Add(c);
        }
        ctl.Subcommands.Add(CaptureCommand.Create(socket, json));

        var policy = new Command("policy", "policy store");
        var reload = new Command("reload", "re-read the policy file (a bad file keeps the old policy)");
        reload.SetAction((r, ct) => Send(r.GetValue(socket)!, "policy.reload", [], r.GetValue(json), ct));
        policy.Subcommands.Add(reload);
        ctl.Subcommands.Add(policy);

        var sas = new Command("sas", "the signalling security associations (ESP on the Mobility Header) with their counters; never the keys");
        sas.SetAction((r, ct) => Send(r.GetValue(socket)!, "sas", [], r.GetValue(json), ct));
        var sasReload = new Command("reload", "re-read the keys (a key rollover step; a bad file keeps the old keys)");
        sasReload.SetAction((r, ct) => Send(r.GetValue(socket)!, "sas.reload", [], r.GetValue(json), ct));
        sas.Subcommands.Add(sasReload);
        ctl.Subcommands.Add(sas);
        return ctl;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"dataplane ctl: {message}");
        return 1;
    }

    private static async Task<int> Send(string socket, string command, JsonObject args, bool json, CancellationToken ct)
    {
        ControlResponse response;
        try
        {
            response = await ControlClient.SendAsync(socket, new ControlRequest(command, args), TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or FormatException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"dataplane ctl: {e.Message}");
            return 2;
        }
        if (!response.Ok) return Fail(response.Error ?? "the daemon refused");
        Console.WriteLine(json ? (response.Result?.ToJsonString(new() { WriteIndented = true }) ?? "null") : CtlTables.Render(command, response.Result));
        return 0;
    }
}
