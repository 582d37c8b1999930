using System.Net;
using DataPlane.Host.Configuration;
using DataPlane.Host.Policy;
using DataPlane.Testing;
using DataPlane.Wire;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Host.Tests.Radius;

/// <summary>
/// The RADIUS backend against a real FreeRADIUS on loopback, started per test with a configuration the test
/// writes (clients with require_message_authenticator = yes, a users file with the VMs' profiles).
/// </summary>
public sealed class FreeRadiusTests : IDisposable
{
    private const string Secret = "s3cret-for-tests";
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:100:1::2");
    private static readonly MacAddress Vm1 = MacAddress.Parse("52:54:00:00:00:01");
    private static readonly MacAddress Vm2 = MacAddress.Parse("52:54:00:00:00:02");
    private static readonly MacAddress Vm3 = MacAddress.Parse("52:54:00:00:00:03");
    private static readonly MacAddress Stranger = MacAddress.Parse("52:54:00:00:00:99");

    // The profiles: vm1 with a fixed prefix, an IPv4 home address and its LMA; vm2 refused; vm3 with a password
    // (the seed's style of profile) and a Delegated-IPv6-Prefix.
    private const string Users = """
        525400000001@vm.test Auth-Type := Accept
        	Framed-IPv6-Prefix = "2001:db8:1001:1::/64",
        	Framed-IP-Address = 10.0.0.1,
        	PMIP6-Home-LMA-IPv6-Address = 2001:db8:100::1

        525400000002@vm.test Auth-Type := Reject
        	Reply-Message = "vm2 is suspended"

        525400000003@vm.test Cleartext-Password := "domain-password"
        	Delegated-IPv6-Prefix = "2001:db8:1001:3::/64"
        """;

    private readonly FreeRadiusServer _server;

    public FreeRadiusTests()
    {
        int port = FreeRadiusServer.FreeUdpPort(IPAddress.IPv6Loopback);
        _server = new FreeRadiusServer("::1", port, [new FreeRadiusClient("local", "::1", Secret)], Users);
        _server.Start();
    }

    public void Dispose() => _server.Dispose();

    private RadiusPolicyStore Store(string secret = Secret, Func<RadiusPolicyConfig, RadiusPolicyConfig>? edit = null)
    {
        var config = new RadiusPolicyConfig
        {
            Servers = [new RadiusServerConfig(new IPEndPoint(IPAddress.IPv6Loopback, _server.Port), System.Text.Encoding.UTF8.GetBytes(secret), null,
                TimeSpan.FromMilliseconds(500), 1)],
            NaiFormat = "{machex}@vm.test",
            NasIdentifier = "mag1.test",
        };
        return new RadiusPolicyStore(edit?.Invoke(config) ?? config, Coa, NullLogger.Instance);
    }

    [Fact]
    public async Task Allowed_denied_and_unknown_vms()
    {
        using var store = Store();
        var vm1 = await store.DecideAsync(Vm1, "vif1.0", null);
        Assert.True(vm1.Profile is not null, vm1.DenialReason + "\n" + _server.Log());
        Assert.Equal("525400000001@vm.test", vm1.Profile!.MobileNodeIdentifier);
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:1::/64")], vm1.Profile.HomeNetworkPrefixes);
        Assert.Equal(Ipv4Address.Parse("10.0.0.1"), vm1.Profile.Ipv4HomeAddress);
        Assert.Equal(Lma, vm1.Profile.LocalMobilityAnchor); // from PMIP6-Home-LMA-IPv6-Address, no fallback given

        var vm2 = await store.DecideAsync(Vm2, "vif2.0", Lma);
        Assert.Null(vm2.Profile);
        Assert.Contains("Access-Reject: \"vm2 is suspended\"", vm2.DenialReason);

        var stranger = await store.DecideAsync(Stranger, "vif9.0", Lma);
        Assert.Null(stranger.Profile);
        Assert.Contains("Access-Reject", stranger.DenialReason);
        Assert.Equal(0, store.Counters.Failures(PolicyFailure.MissingMessageAuthenticator)); // FreeRADIUS signed every answer
        Assert.Equal(2, store.Counters.RadiusRejects);
    }

    [Fact]
    public async Task A_password_profile_with_delegated_prefix()
    {
        using var store = Store(edit: c => c with { Password = "domain-password"u8.ToArray(), PrefixAttribute = DataPlane.Host.Policy.Radius.RadiusAttributeType.DelegatedIpv6Prefix });
        var vm3 = await store.DecideAsync(Vm3, "vif3.0", Lma);
        Assert.True(vm3.Profile is not null, vm3.DenialReason + "\n" + _server.Log());
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:3::/64")], vm3.Profile!.HomeNetworkPrefixes);

        using var wrong = Store(edit: c => c with { Password = "guess"u8.ToArray() });
        Assert.Null((await wrong.DecideAsync(Vm3, "vif3.0", Lma)).Profile);
    }

    [Fact]
    public async Task The_lma_looks_up_by_nai()
    {
        using var store = Store();
        Assert.False(store.TryGetLmaProfile("525400000001@vm.test", out _));
        var d = await store.LookUpLmaProfileAsync("525400000001@vm.test");
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:1::/64")], d.Profile!.HomeNetworkPrefixes);
        var refused = await store.LookUpLmaProfileAsync("525400000002@vm.test");
        Assert.Null(refused.Profile);
        Assert.False(refused.LookupFailed);
    }

    [Fact]
    public async Task A_wrong_shared_secret_is_a_failure_and_fails_closed()
    {
        // FreeRADIUS drops a request whose Message-Authenticator does not verify: to us the server is silent.
        using var store = Store(secret: "not-the-secret");
        var d = await store.DecideAsync(Vm1, "vif1.0", Lma);
        Assert.Null(d.Profile);
        Assert.Contains("[ServerUnreachable]", d.DenialReason);
        Assert.Equal(1, store.Counters.FailClosedDenials);
        Assert.Contains("Message-Authenticator", _server.Log(400));
    }

    [Fact]
    public async Task A_stopped_server_fails_closed_but_a_cached_vm_is_still_answered()
    {
        using var store = Store();
        Assert.NotNull((await store.DecideAsync(Vm1, "vif1.0", Lma)).Profile);
        _server.Stop();
        var cached = store.DecideAsync(Vm1, "vif1.0", Lma);
        Assert.True(cached.IsCompletedSuccessfully);
        Assert.NotNull((await cached).Profile);
        var uncached = await store.DecideAsync(Vm3, "vif3.0", Lma);
        Assert.Null(uncached.Profile);
        Assert.Equal(1, store.Counters.Failures(PolicyFailure.ServerUnreachable));
    }
}
