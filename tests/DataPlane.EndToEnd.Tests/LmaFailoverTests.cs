using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// LMA redundancy on the namespace testbed (`up --ha`): two real LMA daemons of one shard on a real etcd; the
/// active is killed with SIGKILL while a VM streams TCP to the client. The standby takes over, the route to the
/// LMA address moves (its announce hook), the TCP connection survives, no MAG re-registers, every binding is
/// there.
/// </summary>
public sealed class LmaFailoverTests(ITestOutputHelper output)
{
    private static string Role(Testbed tb, string lma)
    {
        try
        {
            return tb.Ctl(lma, "ha")?["role"]?.GetValue<string>() ?? "?";
        }
        catch (InvalidOperationException)
        {
            return "unreachable";
        }
    }

    /// <summary>Every PBU the MAG sent, by kind, and the re-registrations a restart counter change caused.</summary>
    private static (long Pbus, long AfterRestart) MagSignalling(Testbed tb, string mag)
    {
        var protocol = tb.Ctl(mag, "stats")!["protocol"]!;
        long pbus = protocol["pbusSent"] is JsonObject o ? o.Sum(kv => kv.Value!.GetValue<long>()) : protocol["pbusSent"]!.GetValue<long>();
        return (pbus, protocol["reregistrationsAfterLmaRestart"]!.GetValue<long>());
    }

    [Fact]
    public void Killing_the_active_lma_hands_over_to_the_standby_without_losing_the_vms_tcp_connection_or_a_binding()
    {
        using var tb = new Testbed(output, vms: 2, ha: true);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(20));
        tb.WaitForAddress(2, TimeSpan.FromSeconds(20));
        string active = Role(tb, "lmaa") == "active" ? "lmaa" : "lmab";
        string standby = active == "lmaa" ? "lmab" : "lmaa";
        Assert.Equal("active", Role(tb, active));
        Assert.True(Testbed.WaitFor(() => Role(tb, standby) == "standby" && tb.Ctl(standby, "ha")!["replication"]!["replicaBindings"]!.GetValue<int>() == 2,
            TimeSpan.FromSeconds(20)), $"the standby has not caught up: {tb.Ctl(standby, "ha")}");
        uint counter = tb.Ctl(active, "ha")!["restartCounter"]!.GetValue<uint>();
        // One VM on each MAG.
        tb.Migrate(2, "mag2");
        Assert.True(Testbed.WaitFor(() => tb.Ctl(active, "bindings")!.AsArray().Count(b => b!["mag"]?.GetValue<string>() == Testbed.Mag2Address) == 1, TimeSpan.FromSeconds(10)));
        var bindingsBefore = Bindings(tb, active);

        var tcpJson = Path.Combine(tb.RunDir, "tcp-server.json");
        var server = tb.Background("client", Testbed.Probe, "tcp-server", "--port", "7001", "--json", tcpJson, "--accept-timeout", "30s", "--idle-timeout", "30s");
        Testbed.WaitForLine(server, "listening", TimeSpan.FromSeconds(10));
        var tcpClient = tb.Background("vm1", Testbed.Probe, "tcp-client", "--target", Testbed.Client, "--port", "7001", "--interval", "10ms", "--duration", "12s");
        Thread.Sleep(2000);
        var mag1 = MagSignalling(tb, "mag1");
        var mag2 = MagSignalling(tb, "mag2");

        int pid = int.Parse(File.ReadAllText(Path.Combine(tb.RunDir, $"{active}.pid")).Trim(), CultureInfo.InvariantCulture);
        var killed = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill(); // SIGKILL: no resignation, no cleanup; the lease has to run out
        Assert.True(Testbed.WaitFor(() => Role(tb, standby) == "active", TimeSpan.FromSeconds(15)), $"{standby} did not take over: {tb.Ctl(standby, "ha")}\n{tb.Logs()}");
        var takeover = killed.Elapsed;
        var ha = tb.Ctl(standby, "ha")!;
        output.WriteLine($"{standby} active {takeover.TotalMilliseconds:0} ms after SIGKILL of {active}: {ha}");

        Assert.True(tcpClient.WaitForExit(60_000), "the TCP client did not finish");
        Assert.True(server.WaitForExit(30_000), "the TCP server did not finish");
        var tcp = JsonNode.Parse(File.ReadAllText(tcpJson))!;
        output.WriteLine($"TCP: {tcp.ToJsonString()}");
        Assert.True(tcp["survived"]!.GetValue<bool>(), $"the TCP session was lost: {tcp["outcome"]} {tcp["error"]}\n{tb.Logs()}");

        // State survived: same restart counter, every binding at the same MAG, nobody re-registered.
        Assert.Equal(counter, ha["restartCounter"]!.GetValue<uint>());
        Assert.Equal(bindingsBefore, Bindings(tb, standby));
        Assert.Equal(mag1, MagSignalling(tb, "mag1"));
        Assert.Equal(mag2, MagSignalling(tb, "mag2"));
        Assert.True(tb.Ping("vm2", Testbed.Client), "vm2 (on mag2) cannot reach the client after the takeover");
        // The metrics say it too (the LMA's endpoint, on loopback in its namespace).
        var metrics = tb.Exec(standby, "curl", "-s", "--max-time", "10", "http://127.0.0.1:9466/metrics").Stdout;
        Assert.Matches(@"(?m)^dataplane_lma_role\{shard=""testbed"",role=""active""\} 1(\.0)?$", metrics);
        Assert.Matches(@"(?m)^dataplane_lma_takeovers_total 1(\.0)?$", metrics);
        Assert.Matches(@"(?m)^dataplane_lma_last_takeover_bindings 2(\.0)?$", metrics);
        Assert.Matches(@"(?m)^dataplane_lma_etcd_up 1(\.0)?$", metrics);
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"takeover {takeover.TotalMilliseconds:0} ms after SIGKILL (lease TTL {ha["lease"]!["ttlSeconds"]} s, install {ha["lastTakeover"]!["durationMs"]} ms); " +
            $"longest TCP gap {tcp["longestGapMs"]} ms; PBUs mag1 {mag1.Pbus}→{MagSignalling(tb, "mag1").Pbus}, mag2 {mag2.Pbus}→{MagSignalling(tb, "mag2").Pbus}");
        output.WriteLine(summary);
        var results = Path.Combine(Testbed.Root, "artifacts", "e2e");
        Directory.CreateDirectory(results);
        File.AppendAllText(Path.Combine(results, "lma-failover.txt"), summary + "\n");
    }

    /// <summary>
    /// The same with signalling in ESP and a dual-stack VM: the new active continues the shard's ESP sequences from
    /// etcd, so the MAGs take its messages for new (no replay drop) and a migration after the takeover is signalled
    /// through it; the VM keeps its IPv4 home address and reaches the client over IPv4 through the new active.
    /// </summary>
    [Fact]
    public void After_a_failover_the_mags_accept_the_new_actives_esp_and_the_vm_keeps_its_ipv4_home_address()
    {
        using var tb = new Testbed(output, vms: 1, ha: true, keys: "null-hmac-sha256-128", ipv4: "dual");
        tb.WaitForAddress(1, TimeSpan.FromSeconds(20));
        var ipv4 = tb.WaitForIpv4Address(1, TimeSpan.FromSeconds(30));
        string active = Role(tb, "lmaa") == "active" ? "lmaa" : "lmab";
        string standby = active == "lmaa" ? "lmab" : "lmaa";
        Assert.True(Testbed.WaitFor(() => Role(tb, standby) == "standby" && tb.Ctl(standby, "ha")!["replication"]!["replicaBindings"]!.GetValue<int>() == 1,
            TimeSpan.FromSeconds(20)), $"the standby has not caught up: {tb.Ctl(standby, "ha")}");
        Assert.True(tb.Ping4("vm1", ClientAddress4), "no IPv4 to the client before the failover");
        var mag1 = MagSignalling(tb, "mag1");

        int pid = int.Parse(File.ReadAllText(Path.Combine(tb.RunDir, $"{active}.pid")).Trim(), CultureInfo.InvariantCulture);
        Process.GetProcessById(pid).Kill();
        Assert.True(Testbed.WaitFor(() => Role(tb, standby) == "active", TimeSpan.FromSeconds(15)), $"{standby} did not take over: {tb.Ctl(standby, "ha")}\n{tb.Logs()}");

        // The binding with its IPv4 home address, routed: the VM reaches the client over IPv4 through the new active.
        var binding = Assert.Single(tb.Ctl(standby, "bindings")!.AsArray())!;
        Assert.Equal($"{ipv4}/24", binding["ipv4"]!.GetValue<string>());
        Assert.True(Testbed.WaitFor(() => tb.Ping4("vm1", ClientAddress4, 1), TimeSpan.FromSeconds(20)), $"no IPv4 to the client after the takeover\n{tb.Logs()}");
        Assert.Equal(mag1, MagSignalling(tb, "mag1")); // nobody re-registered

        // A migration after the takeover: PBUs and PBAs in ESP between both MAGs and the new active.
        tb.Migrate(1, "mag2");
        Assert.True(Testbed.WaitFor(() => tb.Ctl(standby, "bindings")!.AsArray().SingleOrDefault()?["mag"]?.GetValue<string>() == Testbed.Mag2Address,
            TimeSpan.FromSeconds(20)), $"the migration after the takeover did not register at {standby}: {tb.Ctl(standby, "bindings")}\n{tb.Logs()}");
        Assert.Equal([ipv4], tb.Ipv4Addresses(1));
        Assert.True(Testbed.WaitFor(() => tb.Ping4("vm1", ClientAddress4, 1), TimeSpan.FromSeconds(20)), "no IPv4 to the client after the migration");
        // The MAGs took every ESP message of the new active for new: its sequences continued past the dead one's.
        foreach (var mag in new[] { "mag1", "mag2" })
        {
            var drops = tb.Ctl(mag, "stats")!["policy"]!["security"]!["drops"]!.AsObject();
            Assert.False(drops.ContainsKey("replay"), $"{mag} dropped the new active's ESP as replays: {drops}");
        }
        var sa = tb.Ctl(standby, "sas")!.AsArray().First(a => a!["peer"]!.GetValue<string>() == Testbed.Mag2Address && a["direction"]!.GetValue<string>() == "out")!;
        output.WriteLine($"{standby}'s SA to mag2 after the takeover: {sa.ToJsonString()}");
        Assert.True(sa["packets"]!.GetValue<long>() > 0);
    }

    private const string ClientAddress4 = "198.51.100.10";

    private static List<(string Nai, string Hnp, string? Mag)> Bindings(Testbed tb, string lma) =>
        [.. tb.Ctl(lma, "bindings")!.AsArray().Select(b => (b!["nai"]!.GetValue<string>(), b["hnp"]!.ToJsonString(), b["mag"]?.GetValue<string>()))
            .OrderBy(b => b.Item1, StringComparer.Ordinal)];
}
