using System.Text.Json.Nodes;
using DataPlane.Testing;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// Issue 7: the daemons' policy from a real FreeRADIUS, as in the seed's testbed: the server runs in the LMA's
/// namespace (listening on every address there; the LMA asks it at 2001:db8:100::1, the MAGs over their links),
/// started by the test with the VMs' profiles, stopped at the end whatever happens.
/// </summary>
public sealed class RadiusTests(ITestOutputHelper output)
{
    private const string Secret = "testbed-radius-secret";
    private const string Realm = "vm.dataplane.test";

    /// <summary>VM K's MN identifier under naiFormat "{machex}@vm.dataplane.test".</summary>
    private static string Nai(int vm) => $"5254000000{vm:x2}@{Realm}";

    private static string Policy(string secret = Secret) => $$$"""
        {"radius": {"servers": [{"address": "{{{Testbed.LmaAddress}}}", "secret": "{{{secret}}}"}],
                    "timeout": "400ms", "retries": 1, "naiFormat": "{machex}@{{{Realm}}}", "cacheTtl": "5m"}}
        """;

    /// <summary>vm1 and vm3 allowed with their fixed prefixes (the testbed's addressing), vm2 refused.</summary>
    private static readonly string Users = $"""
        {Nai(1)} Auth-Type := Accept
        	Framed-IPv6-Prefix = "{Testbed.Prefix(1)}"

        {Nai(2)} Auth-Type := Reject
        	Reply-Message = "vm2 is not allowed here"

        {Nai(3)} Auth-Type := Accept
        	Framed-IPv6-Prefix = "{Testbed.Prefix(3)}"
        """;

    private static FreeRadiusServer Server(Testbed tb) => new("::", 1812,
    [
        new FreeRadiusClient("lma", Testbed.LmaAddress, Secret),
        new FreeRadiusClient("mag1", Testbed.Mag1Address, Secret),
        new FreeRadiusClient("mag2", Testbed.Mag2Address, Secret),
    ], Users, tb.Ns("lma"));

    private static JsonObject PolicyStats(Testbed tb, string daemon) => tb.Ctl(daemon, "stats")!["policy"]!.AsObject();

    private static long Get(JsonObject o, params string[] path)
    {
        JsonNode? n = o;
        foreach (var p in path) n = n?[p];
        return n?.GetValue<long>() ?? 0;
    }

    private bool HasBinding(Testbed tb, int vm) => tb.Ctl("lma", "bindings")!.AsArray().Any(b => b!["nai"]!.GetValue<string>() == Nai(vm));

    private static void AssertNoRouterAdvertisement(Testbed tb, int vm)
    {
        var ra = tb.Exec($"vm{vm}", TimeSpan.FromSeconds(20), "rdisc6", "-1", "-r", "2", "-w", "700", "eth0");
        Assert.NotEqual(0, ra.ExitCode);
        Assert.DoesNotContain("Prefix", ra.Stdout);
        Assert.Empty(tb.GlobalAddresses(vm));
    }

    [Fact]
    public void An_allowed_vm_gets_its_prefix_from_radius_and_a_refused_vm_gets_no_ra_and_no_binding()
    {
        using var tb = new Testbed(output, vms: 2, attach: false, policy: Policy());
        using var radius = Server(tb);
        radius.Start();
        tb.Attach(1);
        tb.Attach(2);

        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        Assert.True(tb.Ping("vm1", Testbed.Client), "vm1 cannot ping the client\n" + tb.Logs());
        Assert.True(tb.Ping("client", address), "the client cannot ping vm1\n" + tb.Logs());
        var binding = Assert.Single(tb.Ctl("lma", "bindings")!.AsArray());
        Assert.Equal(Nai(1), binding!["nai"]!.GetValue<string>());
        Assert.Equal(Testbed.Prefix(1), binding["hnp"]![0]!.GetValue<string>());

        AssertNoRouterAdvertisement(tb, 2);
        Assert.False(HasBinding(tb, 2));
        var vm2Port = tb.Ctl("mag1", "ports")!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "vm2");
        Assert.Equal("Failed", vm2Port!["session"]!.GetValue<string>());
        Assert.Contains("vm2 is not allowed here", File.ReadAllText(Path.Combine(tb.RunDir, "mag1.log")));

        var mag = PolicyStats(tb, "mag1");
        output.WriteLine($"mag1 policy: {mag.ToJsonString()}\nlma policy: {PolicyStats(tb, "lma").ToJsonString()}");
        Assert.Equal(1, Get(mag, "radius", "accepts"));
        Assert.Equal(1, Get(mag, "radius", "rejects"));
        Assert.Empty(mag["failures"]!.AsObject());
        // The LMA asked too (by NAI), once: every later PBU for vm1 is answered from its cache.
        Assert.Equal(1, Get(PolicyStats(tb, "lma"), "radius", "accepts"));
    }

    [Fact]
    public void A_wrong_shared_secret_fails_closed_and_says_why()
    {
        using var tb = new Testbed(output, vms: 1, attach: false, policy: Policy(secret: "not-" + Secret));
        using var radius = Server(tb);
        radius.Start();
        tb.Attach(1);

        // FreeRADIUS drops requests whose Message-Authenticator does not verify: the MAG hears nothing and,
        // failing closed, admits nothing.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Get(PolicyStats(tb, "mag1"), "failClosedDenials") == 0 && DateTime.UtcNow < deadline) Thread.Sleep(100);
        var mag = PolicyStats(tb, "mag1");
        output.WriteLine($"mag1 policy: {mag.ToJsonString()}");
        Assert.Equal(1, Get(mag, "failures", "serverUnreachable"));
        Assert.Equal(0, Get(mag, "allowed"));
        AssertNoRouterAdvertisement(tb, 1);
        Assert.False(HasBinding(tb, 1));
        Assert.Contains("[ServerUnreachable]", File.ReadAllText(Path.Combine(tb.RunDir, "mag1.log")));
        Assert.Contains("Message-Authenticator", radius.Log(1000));
    }

    [Fact]
    public void After_the_server_stops_a_cached_vm_still_migrates_and_a_new_vm_is_refused()
    {
        using var tb = new Testbed(output, vms: 3, attach: false, policy: Policy());
        using var radius = Server(tb);
        radius.Start();
        tb.Attach(1);
        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        var before = tb.GlobalAddresses(1);
        // vm1 visits mag2 and comes back while the server is up: both MAGs (and the LMA) now hold its profile.
        tb.Migrate(1, "mag2");
        Assert.True(tb.Ping("vm1", Testbed.Client), "vm1 lost after moving to mag2\n" + tb.Logs());
        tb.Migrate(1, "mag1");
        Assert.True(tb.Ping("vm1", Testbed.Client), "vm1 lost after moving back to mag1\n" + tb.Logs());
        long mag2Requests = Get(PolicyStats(tb, "mag2"), "radius", "requests");

        radius.Stop();
        tb.Migrate(1, "mag2");
        Assert.True(tb.Ping("vm1", Testbed.Client), "vm1 lost after moving to mag2 with the server stopped\n" + tb.Logs());
        Assert.True(tb.Ping("client", address), "the client cannot reach vm1\n" + tb.Logs());
        Assert.Equal(before, tb.GlobalAddresses(1));
        var mag2 = PolicyStats(tb, "mag2");
        Assert.Equal(mag2Requests, Get(mag2, "radius", "requests")); // answered from the cache: no round trip
        Assert.True(Get(mag2, "cacheHits") >= 1, mag2.ToJsonString());
        Assert.Equal(Testbed.Mag2Address, tb.Ctl("lma", "bindings")!.AsArray().Single(b => b!["nai"]!.GetValue<string>() == Nai(1))!["mag"]!.GetValue<string>());

        // vm3 is allowed on the server, but it is not cached anywhere and the server is gone: not admitted.
        tb.Attach(3);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Get(PolicyStats(tb, "mag1"), "failClosedDenials") == 0 && DateTime.UtcNow < deadline) Thread.Sleep(100);
        var mag1 = PolicyStats(tb, "mag1");
        output.WriteLine($"mag1 policy: {mag1.ToJsonString()}\nmag2 policy: {mag2.ToJsonString()}");
        Assert.Equal(1, Get(mag1, "failures", "serverUnreachable"));
        AssertNoRouterAdvertisement(tb, 3);
        Assert.False(HasBinding(tb, 3));
    }
}
