using DataPlane.Host.Configuration;
using DataPlane.Host.Policy;
using DataPlane.Wire;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Host.Tests;

public sealed class PolicyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-policy-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly MacAddress Vm1 = MacAddress.Parse("52:54:00:00:00:01");
    private static readonly MacAddress Vm2 = MacAddress.Parse("52:54:00:00:00:02");
    private static readonly MacAddress Stranger = MacAddress.Parse("52:54:00:00:00:99");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");

    private const string Policy = """
        {
          "defaults": { "allowed": true, "naiFormat": "{mac}@vm.test", "localMobilityAnchor": "2001:db8:100::1" },
          "vms": [
            { "mac": "52:54:00:00:00:01", "nai": "vm1@vm.test", "homeNetworkPrefixes": ["2001:db8:1000:1::/64"] },
            { "mac": "52:54:00:00:00:02", "allowed": false }
          ],
          "mags": ["2001:db8:100:1::2"]
        }
        """;

    private static PolicySnapshot Parse(string json) => PolicyFile.Parse(ConfigObject.Parse(json, "policy.json"));

    [Fact]
    public void Listed_vm_gets_its_profile()
    {
        var d = Parse(Policy).Decide(Vm1, "vif1.0", null);
        Assert.NotNull(d.Profile);
        Assert.Equal("vm1@vm.test", d.Profile!.MobileNodeIdentifier);
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1000:1::/64")], d.Profile.HomeNetworkPrefixes);
        Assert.Equal(Lma, d.Profile.LocalMobilityAnchor);
    }

    [Fact]
    public void Denied_vm_is_refused_with_a_reason()
    {
        var d = Parse(Policy).Decide(Vm2, "vif2.0", null);
        Assert.Null(d.Profile);
        Assert.Contains("not allowed", d.DenialReason);
    }

    [Fact]
    public void Unknown_vm_follows_the_defaults()
    {
        var allowed = Parse(Policy).Decide(Stranger, "vif9.0", null);
        Assert.Equal("52-54-00-00-00-99@vm.test", allowed.Profile!.MobileNodeIdentifier);
        Assert.Empty(allowed.Profile.HomeNetworkPrefixes); // the LMA assigns

        var closed = Parse(Policy.Replace("\"allowed\": true, \"naiFormat\"", "\"allowed\": false, \"naiFormat\"")).Decide(Stranger, "vif9.0", null);
        Assert.Null(closed.Profile);
        Assert.Contains("not listed", closed.DenialReason);
    }

    [Fact]
    public void Lma_side_answers_from_the_same_file()
    {
        var p = Parse(Policy);
        Assert.True(p.IsMagAuthorized(Ipv6Address.Parse("2001:db8:100:1::2")));
        Assert.False(p.IsMagAuthorized(Ipv6Address.Parse("2001:db8:100:9::2")));
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:1000:1::/64")], p.GetLmaProfile("vm1@vm.test")!.HomeNetworkPrefixes);
        Assert.Null(p.GetLmaProfile("52-54-00-00-00-02@vm.test")); // vm2 is denied by MAC; its NAI comes from the format
        Assert.Empty(p.GetLmaProfile("someone@vm.test")!.HomeNetworkPrefixes); // defaults.allowed: pool
    }

    /// <summary>
    /// Issue 17: authentication is not authorisation. A VM the policy anchors at another LMA gets no profile at
    /// this one (the machine answers 152), whoever asks for it with whatever keys.
    /// </summary>
    [Fact]
    public void An_lma_has_no_profile_for_a_vm_the_policy_anchors_elsewhere()
    {
        var p = Parse(Policy.Replace("\"nai\": \"vm1@vm.test\",", "\"nai\": \"vm1@vm.test\", \"localMobilityAnchor\": \"2001:db8:200::1\","));
        var here = Ipv6Address.Parse("2001:db8:100::1");
        var there = Ipv6Address.Parse("2001:db8:200::1");
        Assert.Null(p.GetLmaProfile("vm1@vm.test", here));
        Assert.NotNull(p.GetLmaProfile("vm1@vm.test", there));
        Assert.NotNull(p.GetLmaProfile("someone@vm.test", here));   // unlisted: the defaults anchor it here
        Assert.Null(p.GetLmaProfile("someone@vm.test", there));
    }

    [Theory]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01"},{"mac":"52:54:00:00:00:01"}]}""", "vms[1].mac: 52:54:00:00:00:01 is also vms[0]'s")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","nai":"a@b"},{"mac":"52:54:00:00:00:02","nai":"a@b"}]}""", "vms[1].nai: \"a@b\" is also vms[0]'s")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","homeNetworkPrefixes":["2001:db8::/48"]},{"mac":"52:54:00:00:00:02","homeNetworkPrefixes":["2001:db8:0:5::/64"]}]}""", "vms[1].homeNetworkPrefixes[0]: 2001:db8:0:5::/64 overlaps 2001:db8::/48 of vms[0]")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","homeNetworkPrefixes":["2001:db8::/96"]}]}""", "must be /1 to /64")]
    [InlineData("""{"vms":[{"mac":"01:00:00:00:00:01"}]}""", "vms[0].mac: 01:00:00:00:00:01 is not a unicast MAC")]
    [InlineData("""{"vms":[{"nai":"x@y"}]}""", "vms[0].mac: is required")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","nai":"has space@x"}]}""", "contains spaces")]
    [InlineData("""{"defaults":{"naiFormat":"vm@x"}}""", "defaults.naiFormat: \"vm@x\" must contain {mac} or {machex}")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","alowed":true}]}""", "vms[0].alowed: unknown key")]
    public void Bad_policy_files_name_the_entry_and_field(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Reload_applies_a_good_file_and_keeps_the_old_policy_on_a_bad_one()
    {
        var path = Path.Combine(_dir, "policy.json");
        File.WriteAllText(path, Policy);
        var store = new FilePolicyStore(path, NullLogger.Instance);
        Assert.NotNull(store.Decide(Vm1, "p", null).Profile);

        File.WriteAllText(path, Policy.Replace("\"nai\": \"vm1@vm.test\",", "\"nai\": \"vm1@vm.test\", \"allowed\": false,"));
        Assert.Null(store.Reload());
        Assert.Null(store.Decide(Vm1, "p", null).Profile);

        File.WriteAllText(path, "{ this is not json");
        var error = store.Reload();
        Assert.Contains("not valid JSON", error);
        Assert.Null(store.Decide(Vm1, "p", null).Profile); // the previous (good) policy still applies
    }

    [Fact]
    public void A_bad_file_at_start_is_an_error_naming_it()
    {
        var path = Path.Combine(_dir, "missing.json");
        var e = Assert.Throws<ConfigException>(() => new FilePolicyStore(path, NullLogger.Instance));
        Assert.Contains("missing.json: cannot read", e.Message);
    }
}
