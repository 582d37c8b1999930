namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// Issue 4, test 4: a capture on the LMA's links, read by tshark, shows the PBU/PBA exchange with the
/// fields the protocol core chose (HI 1 on entry, 3 after migration) and the data as IPv6-in-IPv6
/// between the Proxy-CoA and the LMA address.
/// </summary>
public sealed class SignallingCaptureTests(ITestOutputHelper output)
{
    [Fact]
    public void Capture_shows_pbu_pba_fields_and_ipv6_in_ipv6_data()
    {
        using var tb = new Testbed(output, vms: 1, attach: false);
        var pcap = Path.Combine(tb.RunDir, "lma-links.pcapng");
        // One capture handle on every interface of the LMA's namespace: with two (-i eth-mag1 -i eth-mag2) tshark
        // could report "Capturing on" before both were armed, and the entry PBU went unseen on a loaded machine.
        // Stopped once the scenario is over, not after a fixed time a loaded machine may overrun (-a is only a backstop).
        var capture = tb.Capture("lma", "-i", "any", "-a", "duration:300", "-w", pcap);

        tb.Attach(1);                                  // entry: the hotplug call for a booting VM
        var address = tb.WaitForAddress(1, TimeSpan.FromSeconds(15));
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
        tb.Migrate(1, "mag2");                         // the VM arrives at MAG2 by live migration
        Assert.True(tb.Ping("vm1", Testbed.Client, 3));
        Shell.Run("kill", ["-TERM", capture.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(capture.WaitForExit(30_000), "tshark did not stop");

        string Fields(string filter, params string[] fields) =>
            Shell.Check("tshark", ["-r", pcap, "-Y", filter, "-T", "fields", "-E", "separator=|", .. fields.SelectMany(f => new[] { "-e", f })]);

        var pbus = Fields("mip6.mhtype == 5 && mip6.bu.lifetime > 0", "ipv6.src", "ipv6.dst", "mip6.bu.p_flag", "mip6.bu.a_flag", "mip6.bu.h_flag",
            "mip6.hi", "mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl", "mip6.att", "mip6.mnid.identifier", "mip6.mnlli.lli", "mip6.lila_lla")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
        output.WriteLine("PBUs:\n" + string.Join('\n', pbus.Select(p => string.Join(' ', p))));
        var entry = pbus.First(p => p[0] == Testbed.Mag1Address);
        var arrival = pbus.First(p => p[0] == Testbed.Mag2Address);
        foreach (var p in new[] { entry, arrival })
        {
            Assert.Equal(Testbed.LmaAddress, p[1]);
            Assert.Equal(("1", "1", "1"), (p[2], p[3], p[4]));         // P, A, H
            Assert.Equal("2001:db8:1001:1::", p[6]);                     // the VM's HNP
            Assert.Equal("64", p[7]);
            Assert.Equal("1", p[8]);                                     // ATT virtual
            Assert.Equal("vm1@vm.dataplane.test", p[9]);
            Assert.Equal("525400000001", p[10].Replace(":", "", StringComparison.Ordinal));
            Assert.Equal(Testbed.SharedLinkLocal, p[11]);
        }
        Assert.Equal("1", entry[5]);    // HI 1: attachment over a new interface
        Assert.Equal("3", arrival[5]);  // HI 3: handoff between MAGs for the same interface

        var pbas = Fields("mip6.mhtype == 6", "ipv6.src", "ipv6.dst", "mip6.ba.status", "mip6.ba.p_flag", "mip6.nemo.mnp.mnp")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
        output.WriteLine("PBAs:\n" + string.Join('\n', pbas.Select(p => string.Join(' ', p))));
        foreach (var mag in new[] { Testbed.Mag1Address, Testbed.Mag2Address })
        {
            var pba = pbas.First(p => p[1] == mag);
            Assert.Equal((Testbed.LmaAddress, "0", "1", "2001:db8:1001:1::"), (pba[0], pba[2], pba[3], pba[4]));
        }

        // Data: ICMPv6 echo inside IPv6-in-IPv6 between each Proxy-CoA and the LMA, both ways.
        var tunnelled = Fields("ipv6.nxt == 41 && icmpv6.type == 128 || ipv6.nxt == 41 && icmpv6.type == 129", "ipv6.src", "ipv6.dst", "icmpv6.type")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
        foreach (var mag in new[] { Testbed.Mag1Address, Testbed.Mag2Address })
        {
            Assert.Contains(tunnelled, t => t[0].StartsWith(mag + ",", StringComparison.Ordinal) && t[1].StartsWith(Testbed.LmaAddress + ",", StringComparison.Ordinal) && t[2] == "128");
            Assert.Contains(tunnelled, t => t[0].StartsWith(Testbed.LmaAddress + ",", StringComparison.Ordinal) && t[1].StartsWith(mag + ",", StringComparison.Ordinal) && t[2] == "129");
        }
        Assert.Contains(tunnelled, t => t[0].EndsWith("," + address, StringComparison.Ordinal));
        var complaints = Shell.Check("tshark", "-r", pcap, "-Y", "_ws.malformed");
        Assert.True(string.IsNullOrWhiteSpace(complaints), "tshark found malformed packets: " + complaints);
    }
}
