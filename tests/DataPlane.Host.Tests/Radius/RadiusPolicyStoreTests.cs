using DataPlane.Host.Configuration;
using DataPlane.Host.Policy;
using DataPlane.Host.Policy.Radius;
using DataPlane.Wire;
using Microsoft.Extensions.Logging.Abstractions;
using static DataPlane.Host.Tests.Radius.RadiusTestPackets;

namespace DataPlane.Host.Tests.Radius;

/// <summary>The RADIUS backend: what it asks, the cache and its TTL, and the failure policy.</summary>
public sealed class RadiusPolicyStoreTests
{
    private static readonly MacAddress Vm1 = MacAddress.Parse("52:54:00:00:00:01");
    private static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:100:1::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private const string Nai = "525400000001@vm.test";

    /// <summary>A clock the test moves.</summary>
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks;
        public override long GetTimestamp() => Ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    /// <param name="timeout">Short for servers that stay silent; long enough otherwise that a busy machine does not turn an answer into a timeout.</param>
    private static RadiusPolicyStore Store(FakeRadiusServer server, ManualTime? time = null, Func<RadiusPolicyConfig, RadiusPolicyConfig>? edit = null,
        TimeSpan? timeout = null)
    {
        var config = new RadiusPolicyConfig { Servers = [server.Config(timeout ?? TimeSpan.FromSeconds(2))], NaiFormat = "{machex}@vm.test", NasIdentifier = "mag1" };
        return new RadiusPolicyStore(edit?.Invoke(config) ?? config, Coa, NullLogger.Instance, new HashSet<Ipv6Address> { Coa }, time ?? new ManualTime());
    }

    private static FakeRadiusServer AcceptingServer() =>
        new(r => [r.Answer(RadiusCode.AccessAccept, [.. Prefix(97, "2001:db8:1001:1::/64"), .. Attribute(8, [10, 1, 2, 3])])]);

    [Fact]
    public async Task An_allowed_vm_gets_its_profile_and_the_request_names_vm_and_nas()
    {
        using var server = AcceptingServer();
        using var store = Store(server);
        var d = await store.DecideAsync(Vm1, "vif1.0", Lma);
        Assert.NotNull(d.Profile);
        Assert.Equal(Nai, d.Profile!.MobileNodeIdentifier);
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:1::/64")], d.Profile.HomeNetworkPrefixes);
        Assert.Equal(Lma, d.Profile.LocalMobilityAnchor);
        Assert.Equal(Ipv4Address.Parse("10.1.2.3"), d.Profile.Ipv4HomeAddress);

        var request = new FakeRadiusServer.Request(Assert.Single(server.Received), "s3cret");
        Assert.Equal(Nai, request.UserName);
        Assert.Equal(10u, RadiusProfileReader.ReadInteger(request.Attribute(RadiusAttributeType.ServiceType))); // Call-Check
        Assert.Null(request.Attribute(RadiusAttributeType.UserPassword));
        Assert.Equal("52-54-00-00-00-01"u8.ToArray(), request.Attribute(RadiusAttributeType.CallingStationId));
        Assert.Equal(Coa, Ipv6Address.ReadFrom(request.Attribute(RadiusAttributeType.NasIpv6Address)));
        Assert.Equal("mag1"u8.ToArray(), request.Attribute(RadiusAttributeType.NasIdentifier));
        Assert.Equal("vif1.0"u8.ToArray(), request.Attribute(RadiusAttributeType.NasPortId));
        Assert.NotNull(request.Attribute(RadiusAttributeType.MessageAuthenticator));
    }

    [Fact]
    public async Task A_configured_password_goes_in_user_password_instead_of_call_check()
    {
        using var server = AcceptingServer();
        using var store = Store(server, edit: c => c with { Password = "domain-pw"u8.ToArray() });
        await store.DecideAsync(Vm1, "p", Lma);
        var request = new FakeRadiusServer.Request(Assert.Single(server.Received), "s3cret");
        Assert.Null(request.Attribute(RadiusAttributeType.ServiceType));
        Assert.Equal("domain-pw"u8.ToArray(), RadiusPacket.RevealPassword(request.Attribute(RadiusAttributeType.UserPassword), "s3cret"u8, request.Authenticator));
    }

    [Fact]
    public async Task A_cached_profile_answers_at_once_until_the_ttl_then_the_server_is_asked_again()
    {
        using var server = AcceptingServer();
        var time = new ManualTime();
        using var store = Store(server, time, c => c with { CacheTtl = TimeSpan.FromMinutes(5) });
        Assert.NotNull((await store.DecideAsync(Vm1, "p", Lma)).Profile);

        var hit = store.DecideAsync(Vm1, "p", Lma);
        Assert.True(hit.IsCompletedSuccessfully); // no round trip: the migration's D_auth term is gone
        Assert.NotNull((await hit).Profile);
        Assert.Equal(1, server.Requests);
        Assert.True(store.TryGetLmaProfile(Nai, out var lmaProfile)); // the LMA side shares the cache by NAI
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:1::/64")], lmaProfile!.HomeNetworkPrefixes);

        time.Advance(TimeSpan.FromMinutes(5));
        var miss = store.DecideAsync(Vm1, "p", Lma);
        Assert.NotNull((await miss).Profile);
        Assert.Equal(2, server.Requests);
        Assert.Equal(2, store.Counters.CacheHits); // the MAG's and the LMA's
    }

    [Fact]
    public async Task A_reject_denies_with_the_reply_message_and_drops_the_cached_profile()
    {
        bool reject = false;
        using var server = new FakeRadiusServer(r => [reject
            ? r.Answer(RadiusCode.AccessReject, Attribute(18, "suspended"u8))
            : r.Answer(RadiusCode.AccessAccept)]);
        var time = new ManualTime();
        using var store = Store(server, time);
        Assert.NotNull((await store.DecideAsync(Vm1, "p", Lma)).Profile);
        reject = true;
        time.Advance(TimeSpan.FromMinutes(6));
        var d = await store.DecideAsync(Vm1, "p", Lma);
        Assert.Null(d.Profile);
        Assert.Contains("Access-Reject: \"suspended\"", d.DenialReason);
        Assert.Equal(0, store.Cache.Count);
        Assert.Equal(1, store.Counters.Denied);
    }

    [Fact]
    public async Task Unreachable_server_fails_closed_by_default()
    {
        using var server = new FakeRadiusServer(_ => []);
        using var store = Store(server, timeout: TimeSpan.FromMilliseconds(150));
        var d = await store.DecideAsync(Vm1, "p", Lma);
        Assert.Null(d.Profile);
        Assert.Contains("[ServerUnreachable]", d.DenialReason);
        Assert.Equal(1, store.Counters.Failures(PolicyFailure.ServerUnreachable));
        Assert.Equal(1, store.Counters.FailClosedDenials);
    }

    [Fact]
    public async Task On_failure_cached_uses_an_expired_profile_up_to_max_stale()
    {
        bool up = true;
        using var server = new FakeRadiusServer(r => up ? [r.Answer(RadiusCode.AccessAccept, Prefix(97, "2001:db8:1001:1::/64"))] : []);
        var time = new ManualTime();
        using var store = Store(server, time, c => c with { OnFailure = RadiusFailurePolicy.Cached, CacheTtl = TimeSpan.FromMinutes(1), MaxStale = TimeSpan.FromMinutes(10) },
            TimeSpan.FromMilliseconds(500));
        Assert.NotNull((await store.DecideAsync(Vm1, "p", Lma)).Profile);
        up = false;
        time.Advance(TimeSpan.FromMinutes(5));
        var stale = await store.DecideAsync(Vm1, "p", Lma);
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1001:1::/64")], stale.Profile!.HomeNetworkPrefixes);
        Assert.Equal(1, store.Counters.StaleAnswers);
        time.Advance(TimeSpan.FromMinutes(6));
        Assert.Null((await store.DecideAsync(Vm1, "p", Lma)).Profile);
    }

    [Fact]
    public async Task On_failure_allow_admits_with_a_pool_prefix()
    {
        using var server = new FakeRadiusServer(_ => []);
        using var store = Store(server, edit: c => c with { OnFailure = RadiusFailurePolicy.Allow }, timeout: TimeSpan.FromMilliseconds(150));
        var d = await store.DecideAsync(Vm1, "p", Lma);
        Assert.Empty(d.Profile!.HomeNetworkPrefixes);
        Assert.Equal(1, store.Counters.FailOpenAnswers);
        var lma = await store.LookUpLmaProfileAsync(Nai);
        Assert.Same(DataPlane.Protocol.Lma.LmaMobileNodeProfile.FromPool, lma.Profile);
    }

    [Fact]
    public async Task A_verified_accept_with_a_broken_prefix_is_a_failure_not_an_admission()
    {
        using var server = new FakeRadiusServer(r => [r.Answer(RadiusCode.AccessAccept, Attribute(97, [0, 64, 0x20, 0x01]))]);
        using var store = Store(server);
        var d = await store.DecideAsync(Vm1, "p", Lma);
        Assert.Null(d.Profile);
        Assert.Contains("Framed-IPv6-Prefix: prefix length 64 with 2 prefix octets", d.DenialReason);
        Assert.Equal(1, store.Counters.Failures(PolicyFailure.MalformedAttribute));
    }

    [Fact]
    public async Task The_lma_asks_by_nai_and_tells_a_refusal_from_a_failure()
    {
        using var server = new FakeRadiusServer(r => r.UserName == "down@test" ? [] : [r.UserName == "no@test" ? r.Answer(RadiusCode.AccessReject) : r.Answer(RadiusCode.AccessAccept)]);
        using var store = Store(server, timeout: TimeSpan.FromMilliseconds(500));
        Assert.False(store.TryGetLmaProfile("yes@test", out _));
        var yes = await store.LookUpLmaProfileAsync("yes@test");
        Assert.Same(DataPlane.Protocol.Lma.LmaMobileNodeProfile.FromPool, yes.Profile); // no prefix attribute: the pool
        Assert.True(store.TryGetLmaProfile("yes@test", out _));
        var no = await store.LookUpLmaProfileAsync("no@test");
        Assert.Null(no.Profile);
        Assert.False(no.LookupFailed);
        var down = await store.LookUpLmaProfileAsync("down@test");
        Assert.Null(down.Profile);
        Assert.True(down.LookupFailed);
        Assert.True(store.IsMagAuthorized(Coa));
        Assert.False(store.IsMagAuthorized(Lma));
        var request = new FakeRadiusServer.Request(server.Received[0], "s3cret");
        Assert.Null(request.Attribute(RadiusAttributeType.CallingStationId));
    }

    [Fact]
    public async Task Reload_drops_the_cache()
    {
        using var server = AcceptingServer();
        using var store = Store(server);
        await store.DecideAsync(Vm1, "p", Lma);
        Assert.Equal(1, store.Cache.Count);
        Assert.Null(store.Reload());
        Assert.Equal(0, store.Cache.Count);
        await store.DecideAsync(Vm1, "p", Lma);
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task A_cache_miss_does_not_complete_on_the_callers_thread()
    {
        using var gate = new ManualResetEventSlim();
        using var server = new FakeRadiusServer(r =>
        {
            gate.Wait(TimeSpan.FromSeconds(5));
            return [r.Answer(RadiusCode.AccessAccept)];
        });
        using var store = Store(server);
        var pending = store.DecideAsync(Vm1, "p", Lma);
        Assert.False(pending.IsCompleted); // the packet loop goes on; the answer is posted back later
        gate.Set();
        Assert.NotNull((await pending).Profile);
    }
}
