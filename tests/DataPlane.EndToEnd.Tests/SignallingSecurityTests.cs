using System.Security.Cryptography;
using System.Text.Json.Nodes;
using DataPlane.Wire;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// Issue 17: the Mobility Header between the daemons in ESP transport mode (RFC 5213 §4) on the namespace
/// testbed. tshark, given the SAs, is the judge of every ICV; forged, unprotected and replayed PBUs from an
/// authorised MAG's address are dropped, counted by reason and never move the binding; a restarted MAG is not
/// taken for a replayer; keys roll over while the VM's traffic runs.
/// </summary>
public sealed class SignallingSecurityTests(ITestOutputHelper output)
{
    private const string Keys = "null-hmac-sha256-128";

    [Theory]
    [InlineData(Keys)]
    [InlineData("aes128gcm16")]
    public void Every_signalling_message_is_in_esp_and_tshark_verifies_its_icv(string algorithm)
    {
        using var tb = new Testbed(output, vms: 1, attach: false, keys: algorithm);
        var pcap = Path.Combine(tb.RunDir, "lma-links.pcapng");
        // Stopped once the scenario is over (docs/testing.md rule 4); -a is only a backstop.
        var capture = tb.Capture("lma", "-i", "eth-mag1", "-i", "eth-mag2", "-a", "duration:300", "-w", pcap);
        long heartbeats = HeartbeatsAnswered(tb);
        tb.Attach(1);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
        tb.Migrate(1, "mag2");
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
        // At least one heartbeat exchange inside the capture, then stop it.
        Poll(() => HeartbeatsAnswered(tb) > heartbeats, TimeSpan.FromSeconds(20), "no heartbeat was answered during the capture");
        StopCapture(capture);

        var plain = Shell.Check("tshark", "-r", pcap, "-Y", "ipv6.nxt == 135", "-T", "fields", "-e", "frame.number");
        Assert.True(string.IsNullOrWhiteSpace(plain), "Mobility Headers in the clear: frames " + plain);
        var rows = Shell.Check("tshark", ["-r", pcap, .. tb.TsharkEspArgs(), "-Y", "esp", "-T", "fields", "-E", "separator=|",
                "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "esp.icv_bad", "-e", "mip6.mhtype", "-e", "mip6.hi",
                "-e", "mip6.ba.status", "-e", "mip6.mnid.identifier"])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
        output.WriteLine(string.Join('\n', rows.Select(r => string.Join(' ', r))));
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(("1", "0"), (r[3], r[4])));      // every ICV "[correct]"
        Assert.All(rows, r => Assert.NotEqual("", r[5]));                  // and the Mobility Header inside dissected
        Assert.Contains(rows, r => r[0] == Testbed.Mag1Address && r[5] == "5" && r[6] == "1" && r[8] == "vm1@vm.dataplane.test"); // entry PBU, HI 1
        Assert.Contains(rows, r => r[0] == Testbed.Mag2Address && r[5] == "5" && r[6] == "3" && r[8] == "vm1@vm.dataplane.test"); // arrival PBU, HI 3
        Assert.Contains(rows, r => r[1] == Testbed.Mag1Address && r[5] == "6" && r[7] == "0");
        Assert.Contains(rows, r => r[1] == Testbed.Mag2Address && r[5] == "6" && r[7] == "0");
        Assert.Contains(rows, r => r[5] == "13");                          // heartbeats too
        Assert.Empty(Drops(tb, "lma"));
        Assert.Empty(Drops(tb, "mag1"));
    }

    [Fact]
    public void Unprotected_forged_and_replayed_pbus_are_dropped_counted_and_never_move_the_binding()
    {
        using var tb = new Testbed(output, vms: 1, attach: false, keys: Keys);
        var pcap = Path.Combine(tb.RunDir, "mag1-link.pcap");
        var capture = tb.Capture("lma", "-i", "eth-mag1", "-a", "duration:300", "-F", "pcap", "-w", pcap);
        tb.Attach(1);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        // MAG1's registration is in the capture once the LMA has accepted ESP from it.
        Poll(() => SaFrom(tb, "lma", Testbed.Mag1Address)["packets"]!.GetValue<long>() > 0, TimeSpan.FromSeconds(15), "no ESP from MAG1 reached the LMA");
        StopCapture(capture);
        Assert.Equal(Testbed.Mag1Address, BindingMag(tb));
        long pbus = Stats(tb, "lma")["protocol"]!["pbusReceived"]!.GetValue<long>();

        // From MAG2's own address: "VM1 moved here" (HI 3), which the LMA would act on at once if it believed it.
        var hostile = HostilePbu();
        Inject(tb, "mag2", "raw", "135", Testbed.LmaAddress, Convert.ToHexString(hostile));
        WaitForDrop(tb, "unprotected");
        Inject(tb, "mag2", "raw", "50", Testbed.LmaAddress, Convert.ToHexString(EspWithKey(0x1002, 1, hostile, RandomNumberGenerator.GetBytes(32))));
        WaitForDrop(tb, "authenticationFailed");
        // MAG1's genuine ESP packets, recorded on the wire and sent again from MAG1's address.
        Assert.NotEqual("0", Inject(tb, "mag1", "replay", pcap, Testbed.Mag1Address, Testbed.LmaAddress));
        WaitForDrop(tb, "replay");

        Assert.Equal(Testbed.Mag1Address, BindingMag(tb));
        Assert.Equal(pbus, Stats(tb, "lma")["protocol"]!["pbusReceived"]!.GetValue<long>()); // none reached the machine, none was answered
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
    }

    [Fact]
    public void A_restarted_mag_is_not_taken_for_a_replayer()
    {
        using var tb = new Testbed(output, vms: 1, keys: Keys);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        long before = SaFrom(tb, "lma", Testbed.Mag1Address)["packets"]!.GetValue<long>();
        tb.Restart("mag1");
        tb.Attach(1);
        Poll(() => SaFrom(tb, "lma", Testbed.Mag1Address)["packets"]!.GetValue<long>() > before + 1 && BindingMag(tb) == Testbed.Mag1Address,
            TimeSpan.FromSeconds(20), "the restarted MAG's signalling was not accepted");
        var sa = SaFrom(tb, "lma", Testbed.Mag1Address);
        Assert.Equal(0, sa["replayDrops"]!.GetValue<long>());
        Assert.Equal(0, sa["authenticationFailures"]!.GetValue<long>());
        // It continued past its persisted reservation: sequence numbers above one block.
        Assert.True(sa["sequence"]!.GetValue<long>() > 65536, sa.ToJsonString());
        Assert.Empty(Drops(tb, "lma"));
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
    }

    [Fact]
    public void Keys_roll_over_while_the_vm_keeps_its_binding_and_traffic()
    {
        using var tb = new Testbed(output, vms: 1, keys: Keys);
        tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        var magKeys = Path.Combine(tb.RunDir, "mag1.keys.json");
        var lmaKeys = Path.Combine(tb.RunDir, "lma.keys.json");
        var magOld = JsonNode.Parse(File.ReadAllText(magKeys))!["peers"]![0]!["associations"]![0]!.DeepClone();
        string up = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)), down = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var magNew = new JsonObject { ["name"] = "next", ["outboundSpi"] = 0x1101, ["outboundKey"] = up, ["inboundSpi"] = 0x2101, ["inboundKey"] = down };
        var lmaNew = new JsonObject { ["name"] = "next", ["inboundSpi"] = 0x1101, ["inboundKey"] = up, ["outboundSpi"] = 0x2101, ["outboundKey"] = down };
        void SetAssociations(string file, string? peer, params JsonNode[] associations)
        {
            var root = JsonNode.Parse(File.ReadAllText(file))!;
            var p = root["peers"]!.AsArray().First(x => peer is null || x!["address"]!.GetValue<string>() == peer)!;
            p["associations"] = new JsonArray(associations.Select(a => a.DeepClone()).ToArray());
            File.WriteAllText(file, root.ToJsonString());
        }
        var lmaOld = JsonNode.Parse(File.ReadAllText(lmaKeys))!["peers"]!.AsArray().First(p => p!["address"]!.GetValue<string>() == Testbed.Mag1Address)!["associations"]![0]!.DeepClone();

        // 1: the LMA accepts both, and keeps answering on the pair MAG1 uses.
        SetAssociations(lmaKeys, Testbed.Mag1Address, lmaOld, lmaNew);
        tb.Ctl("lma", "sas", "reload");
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
        // 2: MAG1 sends on the new pair at once; the LMA follows on its first message (a heartbeat within 2 s).
        SetAssociations(magKeys, null, magOld, magNew);
        tb.Ctl("mag1", "sas", "reload");
        Poll(() => Sa(tb, "lma", Testbed.Mag1Address, "next", "out")["state"]!.GetValue<string>() == "sending"
                   && Sa(tb, "mag1", Testbed.LmaAddress, "next", "in")["packets"]!.GetValue<long>() > 0,
            TimeSpan.FromSeconds(15), "the LMA did not move to the new pair");
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
        // 3: the old pair goes from both ends.
        SetAssociations(lmaKeys, Testbed.Mag1Address, lmaNew);
        tb.Ctl("lma", "sas", "reload");
        SetAssociations(magKeys, null, magNew);
        tb.Ctl("mag1", "sas", "reload");
        Assert.Equal(Testbed.Mag1Address, BindingMag(tb));
        // Registrations on the new keys: away to MAG2 and back.
        tb.Migrate(1, "mag2");
        tb.Migrate(1, "mag1");
        Poll(() => BindingMag(tb) == Testbed.Mag1Address, TimeSpan.FromSeconds(15), "VM1 did not come back to MAG1");
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
        Assert.Empty(Drops(tb, "lma"));
        Assert.Empty(Drops(tb, "mag1"));
        Assert.Equal(["next"], tb.Ctl("mag1", "sas")!.AsArray().Select(a => a!["name"]!.GetValue<string>()).Distinct());
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private static long HeartbeatsAnswered(Testbed tb) => Stats(tb, "lma")["protocol"]!["heartbeat"]!["requestsAnswered"]!.GetValue<long>();

    /// <summary>SIGTERM (docs/testing.md rule 5): tshark completes the file and exits.</summary>
    private static void StopCapture(System.Diagnostics.Process capture)
    {
        Shell.Run("kill", ["-TERM", capture.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(capture.WaitForExit(30_000), "tshark did not stop");
    }

    private static JsonNode Stats(Testbed tb, string daemon) => tb.Ctl(daemon, "stats")!;

    private static Dictionary<string, long> Drops(Testbed tb, string daemon) =>
        Stats(tb, daemon)["policy"]!["security"]!["drops"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<long>());

    private static string? BindingMag(Testbed tb) =>
        tb.Ctl("lma", "bindings")!.AsArray().FirstOrDefault(b => b!["nai"]!.GetValue<string>() == "vm1@vm.dataplane.test")?["mag"]?.GetValue<string>();

    private static JsonNode Sa(Testbed tb, string daemon, string peer, string name, string direction) =>
        tb.Ctl(daemon, "sas")!.AsArray().First(a => a!["peer"]!.GetValue<string>() == peer && a["name"]!.GetValue<string>() == name && a["direction"]!.GetValue<string>() == direction)!;

    private static JsonNode SaFrom(Testbed tb, string daemon, string peer) => Sa(tb, daemon, peer, "testbed", "in");

    private void WaitForDrop(Testbed tb, string reason) =>
        Poll(() => Drops(tb, "lma").GetValueOrDefault(reason) >= 1, TimeSpan.FromSeconds(10), $"no {reason} drop counted at the LMA");

    private void Poll(Func<bool> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(failure);
            Thread.Sleep(200);
        }
    }

    private string Inject(Testbed tb, string node, params string[] args)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "inject_signalling.py");
        var r = tb.Exec(node, TimeSpan.FromSeconds(60), ["python3", script, .. args]);
        output.WriteLine($"inject {string.Join(' ', args.Take(2))} from {node}: {r.Output}");
        Assert.Equal(0, r.ExitCode);
        return r.Stdout.Trim();
    }

    /// <summary>A well-formed PBU from MAG2 for VM1 (its MN-ID, HNP and MAC, HI 3, a fresh timestamp).</summary>
    private static byte[] HostilePbu()
    {
        var pbu = new BindingUpdate(4242, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
        {
            Options = new(
            [
                MobileNodeIdentifierOption.ForNai("vm1@vm.dataplane.test"),
                new HomeNetworkPrefixOption(Ipv6Prefix.Parse(Testbed.Prefix(1))),
                new HandoffIndicatorOption(HandoffIndicator.HandoffBetweenMagsForSameInterface),
                new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
                new MobileNodeLinkLayerIdentifierOption(new OctetString(MacBytes(Testbed.Mac(1)))),
                new TimestampOption(PmipTimestamp.FromUnixTime(DateTime.UtcNow - DateTime.UnixEpoch)),
            ]),
        };
        var bytes = new byte[pbu.GetLength()];
        pbu.WriteTo(bytes, Ipv6Address.Parse(Testbed.Mag2Address), Ipv6Address.Parse(Testbed.LmaAddress));
        return bytes;
    }

    private static byte[] MacBytes(string mac)
    {
        var bytes = new byte[6];
        MacAddress.Parse(mac).WriteTo(bytes);
        return bytes;
    }

    private static byte[] EspWithKey(uint spi, uint sequence, byte[] mh, byte[] key)
    {
        var repr = new EspRepr(spi, sequence, (byte)IpProtocol.Mobility, new(mh), new(new byte[16]));
        var esp = new byte[repr.Length];
        repr.WriteTo(esp);
        HMACSHA256.HashData(key, esp.AsSpan(0, esp.Length - 16)).AsSpan(0, 16).CopyTo(esp.AsSpan(esp.Length - 16));
        return esp;
    }
}
