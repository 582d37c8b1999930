using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using DataPlane.Datapath;
using DataPlane.Host.Metrics;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

/// <summary>
/// The metrics pipeline without sockets: snapshots built from a real MAG data path and machine, the series
/// set from them (and removed when the snapshot stops listing them), the VM label lifecycle, and the scrape's
/// behaviour when the packet loop does not answer.
/// </summary>
public sealed partial class MetricsTests
{
    private static readonly Instant T0 = Instant.FromDateTime(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
    private static readonly MacAddress Vm1 = MacAddress.Parse("52:54:00:00:00:01");
    private static readonly MacAddress Vm2 = MacAddress.Parse("52:54:00:00:00:02");
    private static readonly Ipv6Prefix Hnp1 = Ipv6Prefix.Parse("2001:db8:1001:1::/64");

    private static DaemonMetrics Metrics(Func<Snapshot, Task> take, TimeSpan? timeout = null) =>
        new("test", [.. Families.Mag, .. Families.Common], take, timeout ?? TimeSpan.FromSeconds(1));

    private static async Task<string> Scrape(DaemonMetrics m) => Encoding.UTF8.GetString(await m.ExportAsync(CancellationToken.None));

    /// <summary>The value of the one series of <paramref name="family"/> whose labels contain every given pair, or null.</summary>
    private static double? Value(string text, string family, params string[] labelPairs)
    {
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(family, StringComparison.Ordinal) || line.Length <= family.Length || (line[family.Length] != '{' && line[family.Length] != ' ')) continue;
            if (labelPairs.Any(p => !line.Contains(p, StringComparison.Ordinal))) continue;
            return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

    [Fact]
    public async Task Series_follow_the_snapshot_and_disappear_when_it_stops_listing_them()
    {
        var samples = new List<Sample>();
        var m = Metrics(s =>
        {
            s.Samples.AddRange(samples);
            return Task.CompletedTask;
        });
        string[] a = ["a@vm", "52:54:00:00:00:01", "vif1.0", "2001:db8:1::/64"];
        string[] b = ["b@vm", "52:54:00:00:00:02", "vif2.0", "2001:db8:2::/64"];
        samples.Add(new Sample(Families.VmBytes.Name, 100, a, "uplink"));
        samples.Add(new Sample(Families.VmBytes.Name, 7, b, "uplink"));
        var text = await Scrape(m);
        Assert.Equal(100, Value(text, Families.VmBytes.Name, "mn_id=\"a@vm\""));
        Assert.Equal(7, Value(text, Families.VmBytes.Name, "mn_id=\"b@vm\""));

        // b is gone for good: its series goes; a's counter grows.
        samples.Clear();
        samples.Add(new Sample(Families.VmBytes.Name, 150, a, "uplink"));
        text = await Scrape(m);
        Assert.Equal(150, Value(text, Families.VmBytes.Name, "mn_id=\"a@vm\""));
        Assert.Null(Value(text, Families.VmBytes.Name, "mn_id=\"b@vm\""));

        // a moved to another port: one series, under the new labels.
        samples.Clear();
        string[] moved = ["a@vm", "52:54:00:00:00:01", "vif7.0", "2001:db8:1::/64"];
        samples.Add(new Sample(Families.VmBytes.Name, 160, moved, "uplink"));
        text = await Scrape(m);
        Assert.Equal(160, Value(text, Families.VmBytes.Name, "port=\"vif7.0\""));
        Assert.Null(Value(text, Families.VmBytes.Name, "port=\"vif1.0\""));

        // A counter whose source started over (a port re-attached under the same name) is reset, not stuck at 160.
        samples.Clear();
        samples.Add(new Sample(Families.VmBytes.Name, 3, moved, "uplink"));
        text = await Scrape(m);
        Assert.Equal(3, Value(text, Families.VmBytes.Name, "port=\"vif7.0\""));
        Assert.Equal(0, m.Exporter.UnknownFamilySamples);
    }

    [Fact]
    public async Task A_stuck_loop_does_not_hang_the_scrape_and_never_gets_more_than_one_request()
    {
        int requests = 0;
        var release = new TaskCompletionSource();
        var m = Metrics(async s =>
        {
            Interlocked.Increment(ref requests);
            await release.Task; // the loop is stuck
            s.Add(Families.MagPorts.Name, 5);
        }, TimeSpan.FromMilliseconds(100));

        var sw = Stopwatch.StartNew();
        var text = await Scrape(m);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the scrape took {sw.Elapsed}");
        Assert.Equal(0, Value(text, Families.LoopResponsive.Name));
        Assert.Equal(1, Value(text, Families.SnapshotFailures.Name));
        Assert.Null(Value(text, Families.MagPorts.Name));

        text = await Scrape(m);
        Assert.Equal(2, Value(text, Families.SnapshotFailures.Name));
        Assert.Equal(1, requests); // the second scrape waited for the same request instead of queuing another

        // The loop wakes up: the next scrape applies the snapshot it finally built.
        release.SetResult();
        text = await Scrape(m);
        Assert.Equal(1, Value(text, Families.LoopResponsive.Name));
        Assert.Equal(5, Value(text, Families.MagPorts.Name));
        text = await Scrape(m);
        Assert.Equal(2, requests);
    }

    [Fact]
    public async Task A_snapshot_that_throws_is_reported_and_the_next_scrape_asks_again()
    {
        int requests = 0;
        var m = Metrics(s =>
        {
            if (Interlocked.Increment(ref requests) == 1) throw new InvalidOperationException("bug");
            s.Add(Families.MagPorts.Name, 2);
            return Task.CompletedTask;
        });
        var text = await Scrape(m);
        Assert.Equal(0, Value(text, Families.LoopResponsive.Name));
        text = await Scrape(m);
        Assert.Equal(2, Value(text, Families.MagPorts.Name));
    }

    // ---- The VM tracker: label lifecycle ------------------------------------------------------------------

    private static VmPresence Present(MacAddress mac, string port, VmState state = VmState.Established, string nai = "vm1@test") =>
        new(mac, nai, new PortId(1), port, [Hnp1], state);

    [Fact]
    public void A_vm_keeps_its_series_for_the_retention_after_it_is_gone_then_is_forgotten()
    {
        var t = new VmTracker(TimeSpan.FromMinutes(10));
        t.Refresh([Present(Vm1, "vif1.0")], T0);
        Assert.True(t.TryGet(Vm1, out var vm));
        Assert.Equal(["vm1@test", "52:54:00:00:00:01", "vif1.0", "2001:db8:1001:1::/64"], vm.Labels);
        Assert.Equal(VmState.Established, vm.State);

        // Session gone, but the BUL entry is still there: a de-registration in flight.
        t.Refresh([new VmPresence(default, "vm1@test", null, null, [Hnp1], VmState.Deregistering)], T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(VmState.Deregistering, vm.State);

        // Neither: detached, still exported (frozen) until the retention has passed.
        t.Refresh([], T0 + TimeSpan.FromSeconds(2));
        Assert.Equal(VmState.Detached, vm.State);
        t.Refresh([], T0 + TimeSpan.FromMinutes(9));
        Assert.True(t.TryGet(Vm1, out _));
        t.Refresh([], T0 + TimeSpan.FromMinutes(10.1));
        Assert.False(t.TryGet(Vm1, out _));
        Assert.Equal(0, t.Count);
    }

    [Fact]
    public void A_vm_that_comes_back_within_the_retention_keeps_its_record_and_moves_to_its_new_port()
    {
        var t = new VmTracker(TimeSpan.FromMinutes(10));
        t.Refresh([Present(Vm1, "vif1.0")], T0);
        t.Refresh([], T0 + TimeSpan.FromSeconds(5));
        t.Refresh([Present(Vm1, "vif9.0")], T0 + TimeSpan.FromMinutes(3));
        Assert.True(t.TryGet(Vm1, out var vm));
        Assert.Equal("vif9.0", vm.PortName);
        Assert.Equal("vif9.0", vm.Labels[2]);
        Assert.Equal(VmState.Established, vm.State);
        // Gone again: the clock of the retention starts over.
        t.Refresh([], T0 + TimeSpan.FromMinutes(4));
        t.Refresh([], T0 + TimeSpan.FromMinutes(13));
        Assert.True(t.TryGet(Vm1, out _));
    }

    [Fact]
    public void Handovers_count_arrivals_from_another_mag_and_feed_the_histogram_once()
    {
        var t = new VmTracker(TimeSpan.FromMinutes(10));
        t.OnHandover(Handover(Vm1, AttachTrigger.HotplugOnline, HandoffIndicator.AttachmentOverNewInterface, T0), "vif1.0", T0);
        t.OnHandover(Handover(Vm1, AttachTrigger.Rarp, HandoffIndicator.HandoffBetweenMagsForSameInterface, T0 + TimeSpan.FromSeconds(60)), "vif1.0", T0 + TimeSpan.FromSeconds(60));
        Assert.True(t.TryGet(Vm1, out var vm));
        Assert.Equal(2, vm.Registrations);
        Assert.Equal(1, vm.Handovers);
        Assert.Equal(AttachTrigger.Rarp, vm.LastTrigger);
        var observed = new List<HandoverObservation>();
        t.DrainObservations(observed);
        Assert.Equal(6, observed.Count); // policy, pba, first_ra for each
        Assert.All(observed.Where(o => o.Stage == "pba"), o => Assert.Equal(0.030, o.Seconds, 6));
        observed.Clear();
        t.DrainObservations(observed);
        Assert.Empty(observed);
    }

    [Fact]
    public void First_downlink_is_observed_once_and_only_within_its_window()
    {
        var t = new VmTracker(TimeSpan.FromMinutes(10));
        t.OnHandover(Handover(Vm1, AttachTrigger.Rarp, HandoffIndicator.HandoffBetweenMagsForSameInterface, T0), "vif1.0", T0 + TimeSpan.FromMilliseconds(40));
        t.OnHandover(Handover(Vm2, AttachTrigger.Rarp, HandoffIndicator.HandoffBetweenMagsForSameInterface, T0), "vif2.0", T0 + TimeSpan.FromMilliseconds(40));
        var delivered = new Dictionary<int, Instant>();
        bool Lookup(PortId p, out Instant at) => delivered.TryGetValue(p.Value, out at);
        t.CheckFirstDownlinks(T0 + TimeSpan.FromMilliseconds(50), Lookup);
        Assert.True(t.TryGet(Vm1, out var vm1));
        Assert.Null(vm1.LastFirstDownlink);

        delivered[1] = T0 + TimeSpan.FromMilliseconds(55);
        t.CheckFirstDownlinks(T0 + TimeSpan.FromMilliseconds(60), Lookup);
        Assert.Equal(TimeSpan.FromMilliseconds(55), vm1.LastFirstDownlink);
        // VM 2 (port 2 in Handover()) never gets a packet: given up after the window, nothing observed.
        t.CheckFirstDownlinks(T0 + VmTracker.FirstDownlinkWindow + TimeSpan.FromSeconds(1), Lookup);
        Assert.True(t.TryGet(Vm2, out var vm2));
        Assert.False(vm2.AwaitingFirstDownlink);
        var observed = new List<HandoverObservation>();
        t.DrainObservations(observed);
        Assert.Single(observed, o => o.Stage == "first_downlink");
    }

    [Fact]
    public void Observations_waiting_for_a_scrape_are_bounded()
    {
        var t = new VmTracker(TimeSpan.FromMinutes(10), maxPendingObservations: 5);
        for (int i = 0; i < 4; i++) t.OnHandover(Handover(Vm1, AttachTrigger.Rarp, HandoffIndicator.HandoffBetweenMagsForSameInterface, T0), "vif1.0", T0);
        var observed = new List<HandoverObservation>();
        t.DrainObservations(observed);
        Assert.Equal(5, observed.Count);
        Assert.Equal(7, t.ObservationsDropped);
    }

    private static MagAction.HandoverCompleted Handover(MacAddress mac, AttachTrigger trigger, HandoffIndicator hi, Instant attach) =>
        new(new PortId(mac == Vm1 ? 1 : 2), mac, mac == Vm1 ? "vm1@test" : "vm2@test", trigger, hi, [Hnp1],
            new HandoverTimings(attach, attach + TimeSpan.FromMilliseconds(1), attach + TimeSpan.FromMilliseconds(2),
                attach + TimeSpan.FromMilliseconds(30), attach + TimeSpan.FromMilliseconds(30), 1));

    // ---- A whole MAG snapshot, from a real data path and machine -------------------------------------------

    private static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:100:1::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");

    /// <summary>A MAG data path with one port whose VM registers (PBU answered with a PBA), as the daemon drives it.</summary>
    private sealed class MagRig
    {
        public readonly MagDatapath Dp;
        public readonly VmTracker Vms = new(TimeSpan.FromMinutes(10));
        public readonly PeerStates Peers = new();
        public readonly List<PortInfo> Ports = [];
        public Instant Now = T0;

        public MagRig()
        {
            Dp = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Coa, RestartCounter = 3 }, new SplitMix64Random(5)));
        }

        public void Attach(int port, string name, MacAddress mac, string nai, Ipv6Prefix hnp)
        {
            var id = new PortId(port);
            Dp.AddPort(id, name, mac);
            Ports.Add(new PortInfo(id, name, true, null));
            Dp.PortOnline(id, Now, PortOnlineKind.VmRunning);
            var request = HostActions().OfType<MagAction.RequestPolicy>().Single();
            Vms.OnSessionStarting(request.Mac, request.Port, name, Now);
            Dp.Handle(new MagEvent.PolicyDecided(request.RequestId, new VmProfile(nai, [hnp], Lma)), Now);
            var pbu = TakePbu();
            Now += TimeSpan.FromMilliseconds(25);
            var pba = new BindingAcknowledgement(BindingAckStatus.Accepted, BindingAckFlags.ProxyRegistration, pbu.Sequence, pbu.Lifetime)
            {
                Options = new MobilityOptionList([new HomeNetworkPrefixOption(hnp), new HandoffIndicatorOption(pbu.HandoffIndicator!.Value),
                    new TimestampOption(pbu.Timestamp!.Value), MobileNodeIdentifierOption.ForNai(nai)]),
            };
            var bytes = new byte[pba.GetLength()];
            pba.WriteTo(bytes, Lma, Coa);
            Assert.True(Dp.ReceiveMobilityMessage(bytes, Lma, Coa, Now));
            foreach (var h in HostActions().OfType<MagAction.HandoverCompleted>()) Vms.OnHandover(h, name, Now);
            Dp.ControlOutput.Clear();
        }

        public List<MagAction> HostActions()
        {
            var all = Dp.HostActions.ToList();
            Dp.ClearHostActions();
            return all;
        }

        private BindingUpdate TakePbu()
        {
            for (int i = 0; i < Dp.ControlOutput.Count; i++)
            {
                if (Dp.ControlOutput[i].Sink != ControlSink.MobilityHeaderSocket) continue;
                Assert.True(MobilityMessage.TryParse(Dp.ControlOutput.Frame(i), out var m, out _));
                if (m is BindingUpdate pbu)
                {
                    Dp.ControlOutput.Clear();
                    return pbu;
                }
            }
            throw new InvalidOperationException("no PBU");
        }

        /// <summary>A packet from the LMA for <paramref name="destination"/>, through the tunnel entry point.</summary>
        public Verdict Downlink(Ipv6Address destination, int payload = 52)
        {
            var buffer = new byte[128 + 40 + payload];
            Ipv6Packet.WriteHeader(buffer.AsSpan(128), Ipv6Address.Parse("2001:db8:2::10"), destination, IpProtocol.Udp, payload);
            return Dp.FromTunnel(buffer, 128, 40 + payload, Lma, Coa, Now);
        }

        public Snapshot Snapshot()
        {
            var s = new Snapshot();
            MagSnapshot.Build(s, Dp, Vms, Peers, Ports, [], new Policy.PolicyCounters(), default, Now);
            return s;
        }
    }

    [Fact]
    public async Task A_mag_snapshot_exports_the_vm_its_port_its_handover_and_the_first_downlink()
    {
        var rig = new MagRig();
        rig.Attach(1, "vif1.0", Vm1, "vm1@test", Hnp1);
        rig.Now += TimeSpan.FromMilliseconds(15);
        Assert.Equal(VerdictKind.ToPort, rig.Downlink(Ipv6Address.Parse("2001:db8:1001:1::5")).Kind);
        Assert.True(rig.Dp.TryGetFirstDelivery(new PortId(1), out var delivered));
        Assert.Equal(rig.Now, delivered);
        rig.Now += TimeSpan.FromMilliseconds(5);
        Assert.Equal(VerdictKind.ToPort, rig.Downlink(Ipv6Address.Parse("2001:db8:1001:1::5"), 100).Kind);
        Assert.True(rig.Dp.TryGetFirstDelivery(new PortId(1), out var still));
        Assert.Equal(delivered, still); // the first one only

        var snapshot = rig.Snapshot();
        var m = Metrics(s =>
        {
            s.Samples.AddRange(snapshot.Samples);
            s.Observations.AddRange(snapshot.Observations);
            return Task.CompletedTask;
        });
        var text = await Scrape(m);
        var vm = new[] { "mn_id=\"vm1@test\"", "mac=\"52:54:00:00:00:01\"", "port=\"vif1.0\"", "hnp=\"2001:db8:1001:1::/64\"" };
        Assert.Equal(2, Value(text, Families.VmPackets.Name, [.. vm, "direction=\"downlink\""]));
        Assert.Equal(92 + 140, Value(text, Families.VmBytes.Name, [.. vm, "direction=\"downlink\""]));
        Assert.Equal(1, Value(text, Families.VmBindingState.Name, [.. vm, "state=\"established\""]));
        Assert.Equal(0, Value(text, Families.VmBindingState.Name, [.. vm, "state=\"detached\""]));
        Assert.Equal(1, Value(text, Families.VmRegistrations.Name, vm));
        Assert.Equal(0, Value(text, Families.VmHandovers.Name, vm));
        Assert.Equal(1, Value(text, Families.VmLastHandoverInfo.Name, [.. vm, "trigger=\"hotplug_online\"", "handoff_indicator=\"1\""]));
        Assert.Equal(0.025, Value(text, Families.VmLastHandoverSeconds.Name, [.. vm, "stage=\"pba\""])!.Value, 6);
        Assert.Equal(0.040, Value(text, Families.VmLastHandoverSeconds.Name, [.. vm, "stage=\"first_downlink\""])!.Value, 6);
        Assert.Equal(1, Value(text, Families.HandoverHistogram + "_count", "stage=\"first_downlink\""));
        Assert.Equal(1, Value(text, Families.HandoverHistogram + "_bucket", "stage=\"first_ra\"", "le=\"0.05\""));
        Assert.Equal(1, Value(text, Families.PortUp.Name, "port=\"vif1.0\""));
        Assert.Equal(2, Value(text, Families.PortPackets.Name, "port=\"vif1.0\"", "direction=\"tx\"") - 1); // 2 delivered + 1 RA
        Assert.Equal(1, Value(text, Families.MagSessions.Name, "state=\"established\""));
        Assert.Equal(1, Value(text, Families.MagPbusSent.Name, "kind=\"initial\""));
        Assert.Equal(1, Value(text, Families.MagPbasReceived.Name, "code=\"0\"", "status=\"accepted\""));
        Assert.Equal(2, Value(text, Families.TunnelPackets.Name, "peer=\"2001:db8:100::1\"", "direction=\"rx\""));
        Assert.Equal(3, Value(text, Families.RestartCounter.Name));
        Assert.Equal(0, m.Exporter.UnknownFamilySamples);
    }

    [Fact]
    public async Task A_vm_that_left_is_detached_then_its_series_disappear_after_the_retention()
    {
        var rig = new MagRig();
        rig.Attach(1, "vif1.0", Vm1, "vm1@test", Hnp1);
        rig.Attach(2, "vif2.0", Vm2, "vm2@test", Ipv6Prefix.Parse("2001:db8:1001:2::/64"));
        Snapshot current = rig.Snapshot();
        var m = Metrics(s =>
        {
            s.Samples.AddRange(current.Samples);
            return Task.CompletedTask;
        });
        var text = await Scrape(m);
        Assert.Equal(1, Value(text, Families.VmBindingState.Name, "port=\"vif2.0\"", "state=\"established\""));

        // VM 2's port goes (hotplug offline): its de-registration is in flight, then acknowledged… here never answered,
        // so its BUL entry lingers as "deregistering" until the machine gives up on it.
        rig.Dp.PortOffline(new PortId(2), rig.Now);
        rig.Dp.RemovePort(new PortId(2), rig.Now);
        rig.Ports.RemoveAll(p => p.Id.Value == 2);
        rig.HostActions();
        current = rig.Snapshot();
        text = await Scrape(m);
        Assert.True(1 == Value(text, Families.VmBindingState.Name, "mac=\"52:54:00:00:00:02\"", "state=\"deregistering\""),
            string.Join('\n', text.Split('\n').Where(l => l.Contains("binding_state") || l.Contains("binding_update"))) + "\n" +
            string.Join(", ", rig.Dp.Machine.BindingUpdateList.Select(b => $"{b.MobileNodeIdentifier} port={b.Port} reg={b.Registered} pending={b.PendingTransaction}")));
        Assert.Null(Value(text, Families.PortUp.Name, "port=\"vif2.0\"")); // ports go at once

        // The machine times the de-registration out; the VM is detached, then forgotten after the retention.
        for (int i = 0; i < 200 && rig.Dp.Machine.BindingUpdateListCount > 1; i++)
        {
            rig.Now += TimeSpan.FromSeconds(5);
            rig.Dp.Tick(rig.Now);
            rig.Dp.ControlOutput.Clear();
            rig.HostActions();
        }
        Assert.Equal(1, rig.Dp.Machine.BindingUpdateListCount);
        current = rig.Snapshot();
        text = await Scrape(m);
        Assert.Equal(1, Value(text, Families.VmBindingState.Name, "mac=\"52:54:00:00:00:02\"", "state=\"detached\""));
        rig.Now += TimeSpan.FromMinutes(11);
        current = rig.Snapshot();
        text = await Scrape(m);
        Assert.DoesNotContain("52:54:00:00:00:02", text); // in no family at all
        Assert.Equal(rig.Vms.Count, Value(text, Families.MagVmsTracked.Name));
    }

    [Fact]
    public async Task The_exposition_passes_promtool()
    {
        if (!File.Exists("/usr/bin/promtool")) return; // Debian `prometheus`; install-deps installs it
        var rig = new MagRig();
        rig.Attach(1, "vif1.0", Vm1, "vm1@test", Hnp1);
        rig.Downlink(Ipv6Address.Parse("2001:db8:1001:1::5"));
        var snapshot = rig.Snapshot();
        var m = Metrics(s =>
        {
            s.Samples.AddRange(snapshot.Samples);
            s.Observations.AddRange(snapshot.Observations);
            return Task.CompletedTask;
        });
        var text = await Scrape(m);
        var psi = new ProcessStartInfo("/usr/bin/promtool", ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(text);
        p.StandardInput.Close();
        var output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, output);
    }

    [Fact]
    public void Every_family_is_documented_in_docs_metrics_md()
    {
        var doc = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "metrics.md"));
        var missing = Families.Mag.Concat(Families.Lma).Concat(Families.Common).Concat(Families.Endpoint)
            .Where(f => !doc.Contains($"`{f.Name}`", StringComparison.Ordinal)).Select(f => f.Name).ToList();
        Assert.True(missing.Count == 0, "not in docs/metrics.md: " + string.Join(", ", missing));
        var names = Families.Mag.Concat(Families.Lma).Concat(Families.Common).Concat(Families.Endpoint).Select(f => f.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches(NameRule(), n));
    }

    [GeneratedRegex("^dataplane_[a-z0-9_]+$")]
    private static partial Regex NameRule();

    [Theory]
    [InlineData("SpoofedSource", "spoofed_source")]
    [InlineData("Ipv4NotServed", "ipv4_not_served")]
    [InlineData("HandoffBetweenMagsForSameInterface", "handoff_between_mags_for_same_interface")]
    [InlineData("MagNotAuthorizedForProxyRegistration", "mag_not_authorized_for_proxy_registration")]
    [InlineData("BcePbuPrefixSetDoNotMatch", "bce_pbu_prefix_set_do_not_match")]
    public void Label_values_are_snake_case(string name, string expected) => Assert.Equal(expected, LabelValues.SnakeCase(name));

    internal static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return d.FullName;
        throw new InvalidOperationException("no DataPlane.sln above " + AppContext.BaseDirectory);
    }
}
