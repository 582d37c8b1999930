using DataPlane.Host.Configuration;
using DataPlane.Host.Runtime;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

/// <summary>The `security` section: key files and their mode, key checks naming the key, the state file.</summary>
public sealed class SecurityConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string KeyA = "8f3c2a7be1d94f06a5c3127e9b4d80f1c6a2e57d03b9481fa6e2c5d7190b3e4a";
    private const string KeyB = "1d5e93b07a2c4f68e0b1c7d3a9f24e6b5c8d0a173e9f62b4d1c0a7e3958b2f6c";

    private static string Peers(string keyA = KeyA, string keyB = KeyB, string extra = "") => $$"""
        "peers": [ { "address": "2001:db8:100::1", "associations": [
            { "name": "2026-12", "inboundSpi": 8193, "inboundKey": "{{keyA}}", "outboundSpi": 4097, "outboundKey": "{{keyB}}" {{extra}} } ] } ]
        """;

    private string Write(string name, string text, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private MagConfig Mag(string security, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite) =>
        MagConfig.Load(Write("mag.json", """{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p.json"},"security":{ """ + security + " }}", mode));

    [Fact]
    public void Keys_in_a_key_file_give_a_mag_the_initiator_role_and_the_sa_pair()
    {
        var keys = Write("keys.json", "{" + Peers() + "}");
        var c = Mag($"\"keyFile\": \"{keys}\", \"stateFile\": \"{_dir}/state\"");
        Assert.True(c.Security.Enabled);
        Assert.Equal(SecurityRole.Initiator, c.Security.Options.Role);
        var pair = Assert.Single(Assert.Single(c.Security.Options.Peers).Pairs);
        Assert.Equal(("2026-12", 8193u, 4097u, EspAlgorithm.NullHmacSha256_128), (pair.Name, pair.InboundSpi, pair.OutboundSpi, pair.Algorithm));
        Assert.Equal(Convert.FromHexString(KeyA), pair.InboundKey);
        Assert.Equal($"{_dir}/state", c.Security.StateFile);
    }

    [Fact]
    public void Without_the_section_signalling_stays_in_the_clear()
    {
        var c = MagConfig.Load(Write("mag.json", """{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p.json"}}"""));
        Assert.False(c.Security.Enabled);
    }

    [Fact]
    public void Keys_readable_by_others_are_refused_with_the_chmod_to_fix_it()
    {
        var keys = Write("keys.json", "{" + Peers() + "}", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var e = Assert.Throws<ConfigException>(() => Mag($"\"keyFile\": \"{keys}\""));
        Assert.Contains("mode is 0644", e.Message);
        Assert.Contains($"chmod 600 {keys}", e.Message);
        // Inline keys make the configuration file itself secret.
        var inline = Assert.Throws<ConfigException>(() => Mag(Peers(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead));
        Assert.Contains("security.peers", inline.Message);
        Assert.True(Mag(Peers()).Security.Enabled);
    }

    [Theory]
    [InlineData("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "peers[0].associations[0].inboundKey: is a weak key: it is one octet (0x0b) repeated")]
    [InlineData("4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665", "inboundKey: is a weak key: it repeats itself every 4 octets")]
    [InlineData("8f3c2a7be1d94f06a5c3127e9b4d80f1", "inboundKey: has 16 octets; null-hmac-sha256-128 needs 32 (RFC 4868: a 256-bit key)")]
    [InlineData("not hex at all", "inboundKey: is not hexadecimal")]
    [InlineData(KeyB, "outboundKey: is the same key as peers[0].associations[0].inboundKey")]
    public void Bad_keys_are_refused_naming_the_key(string key, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Mag(Peers(keyA: key)));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(", \"algorithm\": \"des\"", "algorithm: \"des\" is not one of null-hmac-sha256-128, aes128gcm16, aes256gcm16")]
    [InlineData(", \"color\": 1", "color: unknown key")]
    public void Bad_association_keys_are_refused(string extra, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Mag(Peers(extra: extra)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Reserved_spis_and_missing_keys_are_refused()
    {
        Assert.Contains("inboundSpi: 255 is out of range", Assert.Throws<ConfigException>(() => Mag(Peers().Replace("8193", "255"))).Message);
        Assert.Contains("needs \"keyFile\"", Assert.Throws<ConfigException>(() => Mag("\"replayWindow\": 64")).Message);
        Assert.Contains("does not exist", Assert.Throws<ConfigException>(() => Mag($"\"keyFile\": \"{_dir}/nope.json\"")).Message);
    }

    [Fact]
    public void A_reload_reads_the_key_file_again_and_keeps_the_old_keys_when_it_is_bad()
    {
        var keys = Write("keys.json", "{" + Peers() + "}");
        var c = Mag($"\"keyFile\": \"{keys}\"");
        File.WriteAllText(keys, "{" + Peers(keyA: KeyB, keyB: KeyA) + "}");
        Assert.Equal(Convert.FromHexString(KeyB), c.Security.Reload().Options.Peers[0].Pairs[0].InboundKey);
        File.WriteAllText(keys, "{" + Peers(keyA: new string('0', 64)) + "}");
        Assert.Throws<ConfigException>(() => c.Security.Reload());
    }

    [Fact]
    public void The_state_file_round_trips_and_a_damaged_one_is_an_error_naming_the_line()
    {
        var path = Path.Combine(_dir, "sub", "state");
        var peer = Ipv6Address.Parse("2001:db8:100::1");
        var state = new Dictionary<SecurityStateKey, uint>
        {
            [new(SaDirection.Outbound, peer, 4097)] = 65536,
            [new(SaDirection.Inbound, peer, 8193)] = 12,
        };
        SecureSignalling.WriteState(path, state);
        Assert.Equal(state, SecureSignalling.ReadState(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        File.AppendAllText(path, "out nonsense\n");
        Assert.Contains(":4: \"out nonsense\"", Assert.Throws<InvalidDataException>(() => SecureSignalling.ReadState(path)).Message);
        Assert.Empty(SecureSignalling.ReadState(Path.Combine(_dir, "absent")));
    }
}
