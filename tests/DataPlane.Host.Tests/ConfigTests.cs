using DataPlane.Host.Configuration;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

public class ConfigTests
{
    private static MagConfig Mag(string json) => MagConfig.Parse(ConfigObject.Parse(json, "mag.json"));
    private static LmaConfig Lma(string json) => LmaConfig.Parse(ConfigObject.Parse(json, "lma.json"));

    private const string MinimalMag = """{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"/etc/dataplane/policy.json"}}""";

    [Fact]
    public void Minimal_mag_config_gets_migration_timers_and_pmipv6_link_defaults()
    {
        var c = Mag(MinimalMag);
        Assert.Equal(Ipv6Address.Parse("2001:db8:100:1::2"), c.Protocol.ProxyCareOfAddress);
        Assert.Equal(MacAddress.Parse("00:00:5e:00:52:13"), c.Protocol.SharedMacAddress);
        Assert.Equal(Ipv6Address.Parse("fe80::200:5eff:fe00:5213"), c.Protocol.SharedLinkLocalAddress);
        Assert.Equal(1460u, c.Protocol.AdvertisedMtu);
        Assert.Equal(1460, c.TunnelMtu);
        // migration preset: 200 ms * 1.25 + 20 ms
        Assert.Equal(TimeSpan.FromMilliseconds(270), c.Protocol.InitialBindackTimeoutFirstReg);
        Assert.Equal(MagConfig.DefaultControlSocket, c.ControlSocket);
    }

    [Fact]
    public void Timers_override_the_preset_and_rfc_preset_gives_rfc_values()
    {
        var c = Mag("""
            { "proxyCareOfAddress": "2001:db8:100:1::2", "policy": {"file": "p.json"},
              // comments are allowed
              "timers": { "preset": "rfc", "nudProbeInterval": "250ms", "nudMaxProbes": 2, "heartbeatInterval": "2s" },
              "ports": [ { "name": "vif1.0", "mac": "52:54:00:12:34:56" }, { "name": "tap0", "kind": "tap" } ],
              "accessLink": { "sharedMac": "02:00:00:00:00:01", "mtu": 1400 },
            }
            """);
        Assert.Equal(TimeSpan.FromSeconds(1.5), c.Protocol.InitialBindackTimeoutFirstReg);
        Assert.Equal(TimeSpan.FromMilliseconds(250), c.Protocol.NudProbeInterval);
        Assert.Equal(2, c.Protocol.NudMaxProbes);
        Assert.Equal(TimeSpan.FromSeconds(2), c.Protocol.Heartbeat.Interval);
        Assert.Equal(Ipv6Address.LinkLocalFromMac(MacAddress.Parse("02:00:00:00:00:01")), c.Protocol.SharedLinkLocalAddress);
        Assert.Equal(1400u, c.Protocol.AdvertisedMtu);
        Assert.Equal([new PortConfig("vif1.0", MacAddress.Parse("52:54:00:12:34:56"), PortKind.Packet), new PortConfig("tap0", null, PortKind.Tap)], c.Ports);
    }

    [Fact]
    public void The_migration_section_sets_the_handover_buffers_and_the_stop_grace()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), Mag(MinimalMag).Datapath.StopGrace);
        var c = Mag("""
            { "proxyCareOfAddress": "2001:db8:100:1::2", "policy": {"file": "p.json"},
              "migration": { "stopGrace": "250ms", "bufferPackets": 64, "buffers": 2, "endMarkerWait": "30ms" } }
            """);
        Assert.Equal((TimeSpan.FromMilliseconds(250), 64, 2), (c.Datapath.StopGrace, c.Datapath.HandoverBufferPackets, c.Datapath.HandoverBuffers));
        Assert.Equal(TimeSpan.FromMilliseconds(30), c.Protocol.EndMarkerWait);
    }

    [Theory]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"tmers":{}}""", "mag.json: tmers: unknown key")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"timers":{"nudProbeInterval":"1x"}}""", "mag.json: timers.nudProbeInterval: \"1x\" is not a duration")]
    [InlineData("""{"proxyCareOfAddress":"fe80::2","policy":{"file":"p"}}""", "mag.json: proxyCareOfAddress: fe80::2 must be a global unicast address")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::zz","policy":{"file":"p"}}""", "mag.json: proxyCareOfAddress: \"2001:db8::zz\" is not an IPv6 address")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2"}""", "mag.json: policy: is required")]
    [InlineData("""{"policy":{"file":"p"}}""", "mag.json: proxyCareOfAddress: is required")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"ports":[{"name":"a/b"}]}""", "mag.json: ports[0].name:")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"ports":[{"name":"v"},{"name":"v"}]}""", "port \"v\" is listed twice")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"timers":{"nudMaxProbes":0}}""", "timers.nudMaxProbes: 0 is out of range")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"timers":{"maxRtrAdvInterval":"2h"}}""", "MaxRtrAdvInterval")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"migration":{"stopGrace":"11s"}}""", "mag.json: migration.stopGrace: 11000 ms is not within 0..10 s")]
    [InlineData("""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"migration":{"stopGrace":"soon"}}""", "mag.json: migration.stopGrace: \"soon\" is not a duration")]
    [InlineData("""[1,2]""", "mag.json: the top level must be a JSON object")]
    [InlineData("""{"proxyCareOfAddress": """, "mag.json: not valid JSON")]
    public void Bad_mag_configs_are_rejected_naming_the_key(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Mag(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Lma_config_parses_and_validates()
    {
        var c = Lma("""
            {"address":"2001:db8:100::1","homeInterface":"dphome","prefixPool":"2001:db8:1000::/48",
             "authorizedMags":["2001:db8:100:1::2","2001:db8:100:2::2"],"policy":{"file":"p"},
             "timers":{"minDelayBeforeBceDelete":"10s","timestampValidityWindow":"300ms"}}
            """);
        Assert.Equal(Ipv6Prefix.Parse("2001:db8:1000::/48"), c.Protocol.HomeNetworkPrefixPool);
        Assert.Equal(2, c.Protocol.AuthorizedMags.Count);
        Assert.Equal("dphome", c.HomeInterface);
        Assert.Equal(TimeSpan.FromMilliseconds(300), c.Protocol.TimestampValidityWindow);

        Assert.Contains("prefixPool: \"2001:db8:1000::1/48\" has bits set past its length",
            Assert.Throws<ConfigException>(() => Lma("""{"address":"2001:db8:100::1","prefixPool":"2001:db8:1000::1/48","policy":{"file":"p"}}""")).Message);
        Assert.Contains("authorizedMags[1]: \"nope\" is not an IPv6 address",
            Assert.Throws<ConfigException>(() => Lma("""{"address":"2001:db8:100::1","authorizedMags":["2001:db8::1","nope"],"policy":{"file":"p"}}""")).Message);
        Assert.Contains("homeInterface",
            Assert.Throws<ConfigException>(() => Lma("""{"address":"2001:db8:100::1","homeInterface":"this-name-is-far-too-long","policy":{"file":"p"}}""")).Message);
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("1.5s", 1500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("0", 0)]
    [InlineData("500us", 0.5)]
    public void Durations_parse(string text, double ms)
    {
        Assert.True(Durations.TryParse(text, out var t));
        Assert.Equal(ms, t.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("-1s")]
    [InlineData("1.5.2s")]
    [InlineData("fast")]
    public void Bad_durations_do_not_parse(string text) => Assert.False(Durations.TryParse(text, out _));

    private const string EtcdBase = """{"address":"2001:db8:100::1","prefixPool":"2001:db8:1000::/48","policy":{"file":"p"},"etcd":{ETCD}}""";

    private static LmaConfig LmaWithEtcd(string etcd) => Lma(EtcdBase.Replace("{ETCD}", etcd, StringComparison.Ordinal));

    [Fact]
    public void Without_an_etcd_section_the_lma_keeps_its_cache_in_memory()
    {
        var c = Lma("""{"address":"2001:db8:100::1","policy":{"file":"p"}}""");
        Assert.Null(c.Etcd);
        Assert.Equal(DataPlane.Protocol.Lma.BindingPersistence.None, c.Protocol.Persistence);
    }

    [Fact]
    public void The_etcd_section_has_defaults_for_all_but_the_endpoints_and_the_address_interface()
    {
        var c = LmaWithEtcd("""{"endpoints":["http://127.0.0.1:2379","http://[::1]:2380"],"addressInterface":"lo"}""");
        var e = Assert.IsType<EtcdConfig>(c.Etcd);
        Assert.Equal(2, e.Store.Endpoints.Count);
        Assert.Equal("2001:db8:100::1", e.Shard);
        Assert.Equal(DataPlane.Protocol.Lma.BindingPersistence.AcknowledgeAfterCommit, c.Protocol.Persistence);
        Assert.Equal(TimeSpan.FromSeconds(1), e.Election.LeaseTtl);
        Assert.Equal(TimeSpan.FromMilliseconds(500), e.Store.RequestTimeout);
        Assert.Empty(e.AnnounceCommand);
        var a = LmaWithEtcd("""{"endpoints":["http://127.0.0.1:2379"],"addressInterface":"lo","acknowledge":"async","shard":"a","member":"a1","leaseTtl":"3s","announceCommand":["/bin/true","x"]}""");
        Assert.Equal(DataPlane.Protocol.Lma.BindingPersistence.AcknowledgeAsynchronously, a.Protocol.Persistence);
        Assert.Equal(["/bin/true", "x"], a.Etcd!.AnnounceCommand);
    }

    [Theory]
    [InlineData("""{"addressInterface":"lo"}""", "etcd.endpoints")]
    [InlineData("""{"endpoints":["127.0.0.1:2379"],"addressInterface":"lo"}""", "etcd.endpoints[0]")]
    [InlineData("""{"endpoints":["https://127.0.0.1:2379"],"addressInterface":"lo"}""", "TLS is not supported")]
    [InlineData("""{"endpoints":["http://127.0.0.1:2379"]}""", "etcd.addressInterface")]
    [InlineData("""{"endpoints":["http://127.0.0.1:2379"],"addressInterface":"lo","leaseTtl":"1500ms"}""", "whole seconds")]
    [InlineData("""{"endpoints":["http://127.0.0.1:2379"],"addressInterface":"lo","leaseTtl":"1s","requestTimeout":"1s"}""", "etcd.requestTimeout")]
    [InlineData("""{"endpoints":["http://127.0.0.1:2379"],"addressInterface":"lo","acknowledge":"sometimes"}""", "etcd.acknowledge")]
    [InlineData("""{"endpoints":["http://127.0.0.1:2379"],"addressInterface":"lo","shard":"a/b"}""", "etcd.shard")]
    [InlineData("""{"endpoints":["http://127.0.0.1:2379"],"addressInterface":"lo","lease":"1s"}""", "unknown key")]
    public void A_bad_etcd_section_is_a_clear_error_naming_the_key(string etcd, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => LmaWithEtcd(etcd));
        Assert.Contains(expected, e.Message);
    }
}
