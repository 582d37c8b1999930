using DataPlane.Host.Configuration;

namespace DataPlane.Host.Tests;

/// <summary>The `dataplane` section (packet loop tuning) of the MAG's and the LMA's files.</summary>
public class DataplaneConfigTests
{
    private const string Mag = """{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"}""";
    private const string Lma = """{"address":"2001:db8::1","policy":{"file":"p"}""";

    private static MagConfig ParseMag(string section) => MagConfig.Parse(ConfigObject.Parse(Mag + section + "}", "mag.json"));

    [Fact]
    public void Defaults_apply_without_the_section()
    {
        var d = ParseMag("").Dataplane;
        Assert.Equal(64, d.BatchSize);
        Assert.Equal(8 * 1024 * 1024, d.SocketBufferBytes);
        Assert.Empty(d.Cpus);
        Assert.Equal(0, d.BusyPollMicroseconds);
        Assert.True(d.ReceiveOffload);
        Assert.Equal(UplinkKind.Packet, d.Uplink);
        Assert.True(d.TunnelOffload);
        Assert.True(d.InterfaceGro);
        Assert.Equal(50, d.GroFlushTimeoutMicroseconds);
    }

    [Fact]
    public void The_raw_uplink_has_no_offloads_across_the_tunnel()
    {
        var d = ParseMag(""","dataplane":{"uplink":"raw"}""").Dataplane;
        Assert.False(d.TunnelOffload);
        Assert.False(d.InterfaceGro);
        // Saying false is fine; asking for them is an error that names the key.
        Assert.False(ParseMag(""","dataplane":{"uplink":"raw","tunnelOffload":false,"interfaceGro":false}""").Dataplane.TunnelOffload);
        var e = Assert.Throws<ConfigException>(() => ParseMag(""","dataplane":{"uplink":"raw","tunnelOffload":true}"""));
        Assert.Equal("mag.json: dataplane.tunnelOffload: needs \"uplink\": \"packet\" (the raw socket carries no offload metadata)", e.Message);
        e = Assert.Throws<ConfigException>(() => ParseMag(""","dataplane":{"uplink":"raw","interfaceGro":true}"""));
        Assert.Contains("dataplane.interfaceGro: needs", e.Message);
    }

    [Fact]
    public void The_tunnel_offloads_can_be_switched_off_one_by_one()
    {
        var d = ParseMag(""","dataplane":{"tunnelOffload":false,"interfaceGro":false,"groFlushTimeoutMicroseconds":0}""").Dataplane;
        Assert.Equal((UplinkKind.Packet, false, false, 0), (d.Uplink, d.TunnelOffload, d.InterfaceGro, d.GroFlushTimeoutMicroseconds));
    }

    [Theory]
    [InlineData("raw", UplinkKind.Raw)]
    [InlineData("packet", UplinkKind.Packet)]
    public void The_uplink_is_raw_or_packet_for_both_daemons(string value, UplinkKind expected)
    {
        var section = $$$""","dataplane":{"uplink":"{{{value}}}"}""";
        Assert.Equal(expected, ParseMag(section).Dataplane.Uplink);
        Assert.Equal(expected, LmaConfig.Parse(ConfigObject.Parse(Lma + section + "}", "lma.json")).Dataplane.Uplink);
    }

    [Fact]
    public void Every_key_is_read_by_both_daemons()
    {
        const string section = ""","dataplane":{"batchSize":32,"socketBufferBytes":4194304,"cpus":[1],"busyPollMicroseconds":50,"receiveOffload":false}""";
        var expected = new DataplaneConfig { BatchSize = 32, SocketBufferBytes = 4 << 20, Cpus = [1], BusyPollMicroseconds = 50, ReceiveOffload = false };
        foreach (var d in new[] { ParseMag(section).Dataplane, LmaConfig.Parse(ConfigObject.Parse(Lma + section + "}", "lma.json")).Dataplane })
        {
            Assert.Equal((expected.BatchSize, expected.SocketBufferBytes, expected.BusyPollMicroseconds, expected.ReceiveOffload),
                (d.BatchSize, d.SocketBufferBytes, d.BusyPollMicroseconds, d.ReceiveOffload));
            Assert.Equal(expected.Cpus, d.Cpus);
        }
    }

    [Theory]
    [InlineData("""{"batchSize":0}""", "mag.json: dataplane.batchSize: 0 is out of range (1..1024)")]
    [InlineData("""{"batchSize":"64"}""", "mag.json: dataplane.batchSize: expected an integer")]
    [InlineData("""{"socketBufferBytes":1000}""", "mag.json: dataplane.socketBufferBytes: 1000 is out of range (65536..1073741824)")]
    [InlineData("""{"cpus":1}""", "mag.json: dataplane.cpus: expected an array of integers, got 1")]
    [InlineData("""{"cpus":[0,-1]}""", "mag.json: dataplane.cpus[1]: -1 is out of range (0..1023)")]
    [InlineData("""{"cpus":[1,1]}""", "mag.json: dataplane.cpus: CPU 1 is listed twice")]
    [InlineData("""{"busyPollMicroseconds":2000000}""", "mag.json: dataplane.busyPollMicroseconds: 2000000 is out of range (0..1000000)")]
    [InlineData("""{"receiveOffload":"on"}""", "mag.json: dataplane.receiveOffload: expected true or false")]
    [InlineData("""{"uplink":"af_packet"}""", "mag.json: dataplane.uplink: \"af_packet\" is not an uplink (raw, packet)")]
    [InlineData("""{"uplink":"Packet"}""", "mag.json: dataplane.uplink: \"Packet\" is not an uplink (raw, packet)")]
    [InlineData("""{"uplink":true}""", "mag.json: dataplane.uplink: expected a string, got true")]
    [InlineData("""{"tunnelOffload":1}""", "mag.json: dataplane.tunnelOffload: expected true or false, got 1")]
    [InlineData("""{"groFlushTimeoutMicroseconds":-1}""", "mag.json: dataplane.groFlushTimeoutMicroseconds: -1 is out of range (0..10000)")]
    [InlineData("""{"batchsize":64}""", "mag.json: dataplane.batchsize: unknown key")]
    public void Bad_values_are_rejected_naming_the_key(string section, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ParseMag(""","dataplane":""" + section));
        Assert.StartsWith(expected, e.Message);
    }
}
