using System.Globalization;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// Issue 18 for IPv4 guests (RFC 5844 home addresses): two dual-stack VMs on one MAG reach each other's IPv4 home
/// address through that MAG alone — routed (the shared router MAC, TTL once), never bridged — and nothing of theirs
/// goes to the LMA, as the daemons' counters say. With optimized routing off the same traffic takes the LMA path
/// (<see cref="Ipv4Tests.Two_vms_of_one_subnet_reach_each_other_only_through_the_tunnel_when_optimized_routing_is_off"/>).
/// </summary>
public sealed class OptimizedRoutingIpv4Tests(ITestOutputHelper output)
{
    [Fact]
    public void Two_dual_stack_vms_on_one_mag_reach_each_others_ipv4_address_through_the_mag_alone()
    {
        using var tb = new Testbed(output, vms: 2, ipv4: "dual");
        var v1 = tb.WaitForIpv4Address(1, TimeSpan.FromSeconds(20));
        var v2 = tb.WaitForIpv4Address(2, TimeSpan.FromSeconds(20));
        var vm2Pcap = Path.Combine(tb.RunDir, "vm2.pcap");
        var atVm2 = tb.Capture("vm2", "-i", "eth0", "-a", "duration:300", "-s", "128", "-w", vm2Pcap); // stopped below; -a is a backstop

        var (lmaRxBefore, lmaTxBefore) = LmaIpv4Tunnel(tb);
        var (vm1Before, vm2Before) = (Vm(tb, 1), Vm(tb, 2));
        var ping = tb.Exec("vm1", TimeSpan.FromSeconds(30), "ping", "-4", "-c", "5", "-i", "0.2", "-W", "2", "-t", "64", v2);
        output.WriteLine(ping.Output);
        Assert.Equal(0, ping.ExitCode);
        // TCP at full speed: the guest's TCPV4 super-frames cross the MAG whole.
        tb.Background("vm2", "iperf3", "-s", "-1", "-p", "5201"); // stopped at Dispose
        var iperf = OptimizedRoutingTests.RunIperf(tb, "vm1", v2, seconds: 2);
        double receivedBytes = iperf["end"]?["sum_received"]?["bytes"]?.GetValue<double>()
            ?? throw new InvalidOperationException("iperf3 reported no received bytes: " + iperf.ToJsonString());
        Assert.True(receivedBytes > 1_000_000, $"iperf3 moved only {receivedBytes} bytes vm1 → vm2");
        var (lmaRxAfter, lmaTxAfter) = LmaIpv4Tunnel(tb);
        var (vm1After, vm2After) = (Vm(tb, 1), Vm(tb, 2));
        Shell.Run("kill", ["-TERM", atVm2.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(atVm2.WaitForExit(30_000), "tshark did not stop");
        output.WriteLine($"vm1 {vm1Before} → {vm1After}\nvm2 {vm2Before} → {vm2After}\nLMA IPv4 tunnel rx {lmaRxBefore} → {lmaRxAfter}, tx {lmaTxBefore} → {lmaTxAfter}");

        // Nothing crossed the LMA's IPv4-in-IPv6 tunnel either way (only these two VMs speak IPv4 in this testbed).
        Assert.Equal((lmaRxBefore, lmaTxBefore), (lmaRxAfter, lmaTxAfter));
        // Everything vm1 sent in that time was routed locally: its echoes, and iperf3's data in packets of at most
        // the access link's MTU (a super-frame counts as the segments it stands for); vm2's replies and ACKs likewise.
        long vm1Local = vm1After.LocalUp - vm1Before.LocalUp;
        Assert.Equal(vm1After.Up - vm1Before.Up, vm1Local);
        Assert.True(vm1Local >= 5 + (long)(receivedBytes / 1460), $"vm1 sent {vm1Local} packets routed locally for {receivedBytes} bytes");
        Assert.True(vm2After.LocalDown - vm2Before.LocalDown >= vm1Local, "vm2 did not receive what vm1 sent locally");
        Assert.True(vm2After.LocalUp - vm2Before.LocalUp >= 5, "vm2's echo replies were not routed locally");
        Assert.Equal(vm2After.Up - vm2Before.Up, vm2After.LocalUp - vm2Before.LocalUp);

        // Routed, not bridged: vm2 got vm1's echo requests from the router's MAC with the TTL decremented once, and
        // no frame with vm1's MAC; vm1 knows vm2's address by the MAG's proxy ARP.
        var echoes = Shell.Check("tshark", "-r", vm2Pcap, "-Y", $"icmp.type == 8 && ip.src == {v1}", "-T", "fields", "-e", "eth.src", "-e", "ip.ttl")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(echoes.Length >= 1, "vm2's capture holds none of vm1's echo requests"); // the counters above count them all
        Assert.All(echoes, e => Assert.Equal($"{Testbed.SharedMac}\t63", e));
        var fromVm1 = Shell.Check("tshark", "-r", vm2Pcap, "-Y", $"eth.src == {Testbed.Mac(1)}", "-T", "fields", "-e", "frame.number");
        Assert.True(string.IsNullOrWhiteSpace(fromVm1), "vm2 received frames with vm1's MAC: " + fromVm1);
        Assert.Contains(Testbed.SharedMac, tb.Exec("vm1", "ip", "-4", "neigh", "show", v2, "dev", "eth0").Stdout);
    }

    private readonly record struct VmCounts(long Up, long LocalUp, long LocalDown);

    private static VmCounts Vm(Testbed tb, int vm)
    {
        var v = tb.Ctl("mag1", "vms")!.AsArray().Single(v => v!["mac"]!.GetValue<string>() == Testbed.Mac(vm))!;
        return new(v["uplinkPackets"]!.GetValue<long>(), v["localUplinkPackets"]!.GetValue<long>(), v["localDownlinkPackets"]!.GetValue<long>());
    }

    /// <summary>
    /// The LMA's IPv4 through its tunnels (`ctl stats` ipv4Tunnel): inner IPv4 packets accepted from the MAGs, and sent
    /// to them on either send path. Not the protocol-4 raw socket's own counters alone: the default packet uplink
    /// bypasses that socket, so they would stay still whatever the MAG did.
    /// </summary>
    private static (long Rx, long Tx) LmaIpv4Tunnel(Testbed tb)
    {
        var s = tb.Ctl("lma", "stats")!["ipv4Tunnel"]!;
        return (s["acceptedPackets"]!.GetValue<long>(), s["packetUplinkPackets"]!.GetValue<long>() + s["rawSocketPackets"]!.GetValue<long>());
    }
}
