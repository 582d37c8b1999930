using System.Net;
using DataPlane.Host.Configuration;
using DataPlane.Host.Policy.Radius;

namespace DataPlane.Host.Tests.Radius;

/// <summary>The "policy.radius" section: defaults, every key, and errors that name the key.</summary>
public sealed class RadiusConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-radius-config-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static MagConfig Mag(string policy, string timers = "") =>
        MagConfig.Parse(ConfigObject.Parse($$"""{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{{policy}}{{timers}}}""", "mag.json"));

    private static LmaConfig Lma(string policy, string timers = "") =>
        LmaConfig.Parse(ConfigObject.Parse($$"""{"address":"2001:db8:100::1","policy":{{policy}}{{timers}}}""", "lma.json"));

    [Fact]
    public void Minimal_radius_section_gets_documented_defaults()
    {
        var r = Mag("""{"radius":{"servers":[{"address":"2001:db8:100::1","secret":"s"}]}}""").Policy.Radius!;
        var s = Assert.Single(r.Servers);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:100::1"), 1812), s.EndPoint);
        Assert.Equal("s"u8.ToArray(), s.Secret);
        Assert.Equal(TimeSpan.FromSeconds(1), s.Timeout);
        Assert.Equal(1, s.Retries);
        Assert.Equal("{mac}@vm.dataplane", r.NaiFormat);
        Assert.Null(r.Password);
        Assert.Null(r.NasIdentifier);
        Assert.Null(r.NasIpv6Address);
        Assert.Equal(RadiusAttributeType.FramedIpv6Prefix, r.PrefixAttribute);
        Assert.Equal(TimeSpan.FromMinutes(5), r.CacheTtl);
        Assert.Equal(RadiusFailurePolicy.Deny, r.OnFailure);
        Assert.Equal(TimeSpan.FromSeconds(2), r.WorstCase);
    }

    [Fact]
    public void Every_key_is_read()
    {
        var secretFile = Path.Combine(_dir, "secret");
        File.WriteAllText(secretFile, "from-file\n");
        var r = Lma($$$"""
            {"radius":{
              "servers":[{"address":"2001:db8:100::1","port":1645,"secretFile":"{{{secretFile}}}","timeout":"300ms","retries":2},
                         {"address":"192.0.2.1","secret":"two"}],
              "timeout":"500ms", "retries":0, "naiFormat":"vm-{machex}@example.net", "nasIdentifier":"lma.example.net",
              "nasIpv6Address":"2001:db8:100::99", "password":"pw", "prefixAttribute":"Delegated-IPv6-Prefix",
              "cacheTtl":"2m", "onFailure":"cached", "maxStale":"30m"}}
            """).Policy.Radius!;
        Assert.Equal("from-file"u8.ToArray(), r.Servers[0].Secret);
        Assert.Equal(1645, r.Servers[0].EndPoint.Port);
        Assert.Equal((TimeSpan.FromMilliseconds(300), 2), (r.Servers[0].Timeout, r.Servers[0].Retries));
        Assert.Equal((TimeSpan.FromMilliseconds(500), 0), (r.Servers[1].Timeout, r.Servers[1].Retries));
        Assert.Equal("vm-{machex}@example.net", r.NaiFormat);
        Assert.Equal("lma.example.net", r.NasIdentifier);
        Assert.Equal("pw"u8.ToArray(), r.Password);
        Assert.Equal(RadiusAttributeType.DelegatedIpv6Prefix, r.PrefixAttribute);
        Assert.Equal(TimeSpan.FromMinutes(2), r.CacheTtl);
        Assert.Equal(RadiusFailurePolicy.Cached, r.OnFailure);
        Assert.Equal(TimeSpan.FromMinutes(30), r.MaxStale);
        Assert.Equal(TimeSpan.FromMilliseconds(1400), r.WorstCase);

        File.WriteAllText(secretFile, "rotated\n");
        Assert.Equal("rotated"u8.ToArray(), r.ReloadSecrets().Servers[0].Secret);
    }

    [Theory]
    [InlineData("""{"file":"p.json","radius":{"servers":[{"address":"::1","secret":"s"}]}}""", "mag.json: policy.radius: cannot be used together with \"file\"")]
    [InlineData("""{}""", "mag.json: policy: needs \"file\" (the policy file) or \"radius\"")]
    [InlineData("""{"radius":{}}""", "policy.radius.servers: is required")]
    [InlineData("""{"radius":{"servers":[{"address":"radius.example.net","secret":"s"}]}}""", "policy.radius.servers[0].address: \"radius.example.net\" is not an IP address")]
    [InlineData("""{"radius":{"servers":[{"address":"::1"}]}}""", "policy.radius.servers[0].secret: is required")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":""}]}}""", "policy.radius.servers[0].secret: the shared secret is empty")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s","secretFile":"/x"}]}}""", "policy.radius.servers[0].secretFile: give \"secret\" or \"secretFile\", not both")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secretFile":"/nonexistent/secret"}]}}""", "policy.radius.servers[0].secretFile: cannot read /nonexistent/secret")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s","port":0}]}}""", "policy.radius.servers[0].port: 0 is out of range")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"},{"address":"::1","secret":"t"}]}}""", "policy.radius.servers[1].address: [::1]:1812 is listed twice")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s","timeout":"1ms"}]}}""", "policy.radius.servers[0].timeout: 1ms is outside 10ms..30s")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s","retry":1}]}}""", "policy.radius.servers[0].retry: unknown key")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"}],"naiFormat":"vm@x"}}""", "policy.radius.naiFormat: \"vm@x\" must contain {mac} or {machex}")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"}],"prefixAttribute":"Framed-Prefix"}}""", "policy.radius.prefixAttribute: \"Framed-Prefix\" is not one of")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"}],"onFailure":"open"}}""", "policy.radius.onFailure: \"open\" is not a failure policy (deny, cached or allow)")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"}],"maxStale":"1h"}}""", "policy.radius.maxStale: only applies with \"onFailure\": \"cached\"")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"}],"cacheTtl":"2d"}}""", "policy.radius.cacheTtl: 2d is more than 1d")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"}],"password":""}}""", "policy.radius.password: must be 1 to 128 bytes")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s"}],"nasIpv6Address":"fe80::1"}}""", "policy.radius.nasIpv6Address: fe80::1 must be a global unicast address")]
    [InlineData("""{"radius":{"servers":[{"address":"::1","secret":"s","timeout":"3s"},{"address":"::2","secret":"s"}]}}""", "policy.radius: every server and try take up to 8s, not less than timers.policyTimeout 5s")]
    public void Bad_radius_sections_name_the_key(string policy, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Mag(policy));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void The_lma_checks_the_worst_case_against_its_profile_lookup_timeout()
    {
        const string policy = """{"radius":{"servers":[{"address":"::1","secret":"s","timeout":"2s","retries":1}]}}""";
        var e = Assert.Throws<ConfigException>(() => Lma(policy, ""","timers":{"profileLookupTimeout":"3s"}"""));
        Assert.Contains("policy.radius: every server and try take up to 4s, not less than timers.profileLookupTimeout 3s", e.Message);
        Assert.Equal(TimeSpan.FromSeconds(5), Lma(policy).Protocol.ProfileLookupTimeout);
    }
}
