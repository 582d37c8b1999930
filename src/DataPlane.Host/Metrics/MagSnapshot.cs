using DataPlane.Datapath;
using DataPlane.Host.Policy;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Metrics;

/// <summary>An attached access port as the snapshot sees it (the daemon owns the devices).</summary>
public readonly record struct PortInfo(PortId Id, string Name, bool Up, PortCounters? Device);

/// <summary>
/// Builds the MAG's snapshot on its packet loop: the VM tracker refreshed from the machine's sessions and
/// Binding Update List, then every family of <see cref="Families.Mag"/> and <see cref="Families.Common"/>.
/// </summary>
public static class MagSnapshot
{
    private static readonly SessionState[] SessionStates = Enum.GetValues<SessionState>();
    private static readonly VmState[] VmStates = Enum.GetValues<VmState>();
    private static readonly RegistrationKind[] RegistrationKinds = Enum.GetValues<RegistrationKind>();
    private static readonly AttachTrigger[] Triggers = Enum.GetValues<AttachTrigger>();
    private static readonly SessionFailureReason[] FailureReasons = Enum.GetValues<SessionFailureReason>();
    private static readonly DetachReason[] DetachReasons = Enum.GetValues<DetachReason>();
    private static readonly RouterAdvertisementReason[] RaReasons = Enum.GetValues<RouterAdvertisementReason>();
    private static readonly BindingAckStatus[] Statuses = Enum.GetValues<BindingAckStatus>();
    private static readonly Ipv4UnavailableReason[] Ipv4Reasons = Enum.GetValues<Ipv4UnavailableReason>();
    private static readonly DhcpMessageType[] DhcpTypes = Enum.GetValues<DhcpMessageType>();

    public static VmState StateOf(SessionState s) => s switch
    {
        SessionState.AwaitingPolicy => VmState.AwaitingPolicy,
        SessionState.Registering => VmState.Registering,
        SessionState.Established => VmState.Established,
        _ => VmState.Failed,
    };

    /// <summary>The VMs the machine holds now: every session, then BUL entries without a session (de-registrations in flight).</summary>
    public static List<VmPresence> Presence(MobileAccessGateway machine, Func<PortId, string> portName)
    {
        var list = new List<VmPresence>(machine.SessionCount + 4);
        foreach (var s in machine.Sessions)
            list.Add(new VmPresence(s.Mac, s.MobileNodeIdentifier, s.Port, portName(s.Port), s.HomeNetworkPrefixes, StateOf(s.State)));
        foreach (var b in machine.BindingUpdateList)
            if (b.Port is null) list.Add(new VmPresence(default, b.MobileNodeIdentifier, null, null, b.HomeNetworkPrefixes, VmState.Deregistering));
        return list;
    }

    public static void Build(Snapshot s, MagDatapath dp, VmTracker vms, PeerStates peers, IReadOnlyList<PortInfo> ports,
        IReadOnlyList<(string Name, PortCounters Counters)> sockets, PolicyCounters policy, CaptureTotals captures, Instant now)
    {
        var names = new Dictionary<int, string>(ports.Count);
        foreach (var p in ports) names[p.Id.Value] = p.Name;
        vms.CheckFirstDownlinks(now, dp.TryGetFirstDelivery);
        vms.Refresh(Presence(dp.Machine, id => names.TryGetValue(id.Value, out var n) ? n : id.ToString()), now);
        vms.DrainObservations(s.Observations);

        var ipv4 = new Dictionary<MacAddress, Ipv4Assignment>();
        foreach (var session in dp.Machine.Sessions)
            if (session.Ipv4 is { } a) ipv4[session.Mac] = a;
        foreach (var vm in vms.Vms) Vm(s, dp, vm, ipv4);
        s.Add(Families.MagVmsTracked.Name, vms.Count);

        foreach (var p in ports)
        {
            string[] labels = [p.Name];
            s.Add(Families.PortUp.Name, p.Up ? 1 : 0, labels);
            if (dp.TryGetPort(p.Id, out var view))
            {
                var c = view.Counters;
                s.Add(Families.PortPackets.Name, c.InPackets, labels, CommonSamples.Rx);
                s.Add(Families.PortPackets.Name, c.OutPackets, labels, CommonSamples.Tx);
                s.Add(Families.PortBytes.Name, c.InBytes, labels, CommonSamples.Rx);
                s.Add(Families.PortBytes.Name, c.OutBytes, labels, CommonSamples.Tx);
                CommonSamples.Drops(s, Families.PortDrops.Name, labels, c);
                foreach (var k in CommonSamples.ControlFrameKinds)
                    if (c.Control[k] is var n and > 0) s.Add(Families.PortControlFrames.Name, n, labels, LabelValues.Of(k));
            }
            if (p.Device is { } d)
            {
                s.Add(Families.PortIoErrors.Name, d.TxErrors, labels, "tx_error");
                s.Add(Families.PortIoErrors.Name, d.TxLinkDrops, labels, "tx_link_drop");
                s.Add(Families.PortIoErrors.Name, d.TxWouldBlock, labels, "tx_would_block");
                s.Add(Families.PortIoErrors.Name, d.RxTruncated, labels, "rx_truncated");
            }
        }
        s.Add(Families.MagPorts.Name, ports.Count);

        foreach (var (lma, block) in dp.TunnelCounters)
        {
            peers.Known(lma);
            CommonSamples.Tunnel(s, [lma.ToString()], block);
        }

        var m = dp.Machine;
        Span<long> byState = stackalloc long[SessionStates.Length];
        foreach (var session in m.Sessions) byState[(int)session.State]++;
        foreach (var st in SessionStates) s.Add(Families.MagSessions.Name, byState[(int)st], null, LabelValues.Of(st));
        s.Add(Families.MagBulEntries.Name, m.BindingUpdateListCount);
        LocalizedRouting(s, dp);

        var c2 = m.Counters;
        foreach (var k in RegistrationKinds) s.Add(Families.MagPbusSent.Name, c2.PbusSent[k], null, LabelValues.Of(k));
        s.Add(Families.MagPbusRetransmitted.Name, c2.PbusRetransmitted);
        foreach (var st in Statuses)
        {
            if (c2.PbasByStatus[st] is var n and > 0 || st == BindingAckStatus.Accepted)
            {
                var (code, name) = CommonSamples.Status(st);
                s.Add(Families.MagPbasReceived.Name, c2.PbasByStatus[st], null, code, name);
            }
        }
        s.Add(Families.MagPbasDiscarded.Name, c2.PbasDroppedUnknown, null, "unknown_binding");
        s.Add(Families.MagPbasDiscarded.Name, c2.PbasDroppedStaleSequence, null, "stale_sequence");
        s.Add(Families.MagPbasDiscarded.Name, c2.PbasDroppedTimestampMismatch, null, "timestamp_mismatch");
        s.Add(Families.MagPbasDiscarded.Name, c2.PbasDroppedMalformed, null, "malformed");
        foreach (var t in Triggers)
        {
            s.Add(Families.MagAttachTriggers.Name, c2.AttachTriggers[t], null, LabelValues.Of(t));
            s.Add(Families.MagSessionsStarted.Name, c2.SessionsStartedBy[t], null, LabelValues.Of(t));
        }
        s.Add(Families.MagSessionsEstablished.Name, c2.SessionsEstablished);
        foreach (var r in FailureReasons) s.Add(Families.MagSessionFailures.Name, c2.SessionFailures[r], null, LabelValues.Of(r));
        foreach (var r in DetachReasons) s.Add(Families.MagDetaches.Name, c2.Detaches[r], null, LabelValues.Of(r));
        foreach (var r in RaReasons) s.Add(Families.MagRouterAdvertisements.Name, c2.RouterAdvertisementsSent[r], null, LabelValues.Of(r));
        s.Add(Families.MagPolicyRequests.Name, c2.PolicyRequests);
        s.Add(Families.MagPolicyDenials.Name, c2.PolicyDenials);
        s.Add(Families.MagPolicyTimeouts.Name, c2.PolicyTimeouts);
        s.Add(Families.MagNudProbes.Name, c2.NudProbesSent);
        s.Add(Families.MagDeregistrations.Name, c2.DeregistrationsAcknowledged, null, "acknowledged");
        s.Add(Families.MagDeregistrations.Name, c2.DeregistrationsTimedOut, null, "timed_out");
        s.Add(Families.MagDeregistrations.Name, c2.DeregistrationsSuperseded, null, "superseded");
        s.Add(Families.MagRefreshes.Name, c2.RefreshesAccepted);
        s.Add(Families.MagReannouncements.Name, c2.Reannouncements);
        var v4 = Families.MagIpv4.Name;
        s.Add(v4, c2.PbusWithIpv4Request, null, "pbus_with_request");
        s.Add(v4, c2.Ipv4HomeAddressesAssigned, null, "addresses_assigned");
        s.Add(v4, c2.Ipv4Extensions, null, "extensions");
        s.Add(v4, c2.RegistrationsNarrowed, null, "registrations_narrowed");
        s.Add(v4, c2.Ipv4Releases, null, "releases");
        s.Add(v4, c2.Ipv4ReleasesAcknowledged, null, "releases_acknowledged");
        s.Add(v4, c2.Ipv4RequestsIgnored, null, "requests_ignored");
        foreach (var r in Ipv4Reasons) s.Add(Families.MagIpv4Unavailable.Name, c2.Ipv4Unavailable[r], null, LabelValues.Of(r));
        foreach (var t in DhcpTypes)
        {
            if (dp.Counters.DhcpReceived[t] is var n and > 0) s.Add(Families.MagDhcp.Name, n, null, "received", LabelValues.Of(t));
            if (dp.Counters.DhcpSent[t] is var m2 and > 0) s.Add(Families.MagDhcp.Name, m2, null, "sent", LabelValues.Of(t));
        }

        CommonSamples.Heartbeat(s, c2.Heartbeat, peers);
        CommonSamples.Datapath(s, dp.Counters);
        CommonSamples.Security(s, dp.Security);
        foreach (var (name, counters) in sockets) CommonSamples.Socket(s, name, counters);
        CommonSamples.Policy(s, policy);
        CommonSamples.Process(s, m.Options.RestartCounter, captures);
    }

    private static void Vm(Snapshot s, MagDatapath dp, VmTracker.Vm vm, Dictionary<MacAddress, Ipv4Assignment> ipv4)
    {
        var labels = vm.Labels;
        if (ipv4.TryGetValue(vm.Mac, out var a))
            s.Add(Families.VmIpv4Info.Name, 1, labels, $"{a.HomeAddress}/{a.PrefixLength}", a.DefaultRouter.ToString());
        if (dp.VmIpv4Counters.TryGetValue(vm.Mac, out var c4))
        {
            s.Add(Families.VmIpv4Packets.Name, c4.InPackets, labels, CommonSamples.Uplink);
            s.Add(Families.VmIpv4Packets.Name, c4.OutPackets, labels, CommonSamples.Downlink);
            s.Add(Families.VmIpv4Bytes.Name, c4.InBytes, labels, CommonSamples.Uplink);
            s.Add(Families.VmIpv4Bytes.Name, c4.OutBytes, labels, CommonSamples.Downlink);
        }
        dp.VmCounters.TryGetValue(vm.Mac, out var c);
        s.Add(Families.VmPackets.Name, c?.InPackets ?? 0, labels, CommonSamples.Uplink);
        s.Add(Families.VmPackets.Name, c?.OutPackets ?? 0, labels, CommonSamples.Downlink);
        s.Add(Families.VmBytes.Name, c?.InBytes ?? 0, labels, CommonSamples.Uplink);
        s.Add(Families.VmBytes.Name, c?.OutBytes ?? 0, labels, CommonSamples.Downlink);
        if (c is not null)
        {
            CommonSamples.Drops(s, Families.VmDrops.Name, labels, c);
            Path(s, labels, "local", c.Local);
            Path(s, labels, "direct", c.Direct);
        }
        foreach (var st in VmStates) s.Add(Families.VmBindingState.Name, vm.State == st ? 1 : 0, labels, LabelValues.Of(st));
        s.Add(Families.VmRegistrations.Name, vm.Registrations, labels);
        s.Add(Families.VmHandovers.Name, vm.Handovers, labels);
        if (vm.LastTimings is { } t && vm.LastTrigger is { } trigger)
        {
            s.Add(Families.VmLastHandoverInfo.Name, 1, labels, LabelValues.Of(trigger), HandoffIndicatorLabel(vm.LastHandoffIndicator));
            if (t.PreRegistered is not null)
            {
                s.Add(Families.VmLastHandoverSeconds.Name, t.Registration.TotalSeconds, labels, "pre_registration");
                s.Add(Families.VmLastHandoverSeconds.Name, (t.FirstRouterAdvertisementSent - t.AttachSeen).TotalSeconds, labels, "first_ra");
                s.Add(Families.VmLastHandoverSeconds.Name, t.Total.TotalSeconds, labels, "release");
            }
            else
            {
                s.Add(Families.VmLastHandoverSeconds.Name, (t.PolicyAnswered - t.AttachSeen).TotalSeconds, labels, "policy");
                s.Add(Families.VmLastHandoverSeconds.Name, (t.PbaReceived - t.AttachSeen).TotalSeconds, labels, "pba");
                s.Add(Families.VmLastHandoverSeconds.Name, t.Total.TotalSeconds, labels, "first_ra");
            }
            if (vm.LastFirstDownlink is { } dl) s.Add(Families.VmLastHandoverSeconds.Name, dl.TotalSeconds, labels, "first_downlink");
            s.Add(Families.VmLastHandoverTimestamp.Name, vm.LastHandoverAt.SinceUnixEpoch.TotalSeconds, labels);
        }
    }

    private static void Path(Snapshot s, string[] labels, string path, PathCounters c)
    {
        s.Add(Families.VmPathPackets.Name, c.InPackets, labels, path, CommonSamples.Uplink);
        s.Add(Families.VmPathPackets.Name, c.OutPackets, labels, path, CommonSamples.Downlink);
        s.Add(Families.VmPathBytes.Name, c.InBytes, labels, path, CommonSamples.Uplink);
        s.Add(Families.VmPathBytes.Name, c.OutBytes, labels, path, CommonSamples.Downlink);
    }

    /// <summary>RFC 6705 and local routing at the MAG (dataplane_mag_localized_routes, dataplane_mag_localized_routing_total).</summary>
    private static void LocalizedRouting(Snapshot s, MagDatapath dp)
    {
        var m = dp.Machine;
        int sending = m.LocalizedRoutes.Count(r => r.Egress);
        s.Add(Families.MagLocalizedRoutes.Name, sending, null, "sending");
        s.Add(Families.MagLocalizedRoutes.Name, m.LocalizedRouteCount - sending, null, "accepting");
        var c = m.Counters;
        string name = Families.MagLocalizedRouting.Name;
        s.Add(name, c.LrisReceived, null, "lris_received");
        s.Add(name, c.LrisMalformed, null, "lris_malformed");
        s.Add(name, c.LrisFromOtherLma, null, "lris_from_other_lma");
        s.Add(name, c.LocalizedRoutesInstalled, null, "routes_installed");
        s.Add(name, c.LocalizedRoutesRepointed, null, "routes_repointed");
        s.Add(name, c.LocalizedRoutesConfirmed, null, "routes_confirmed");
        s.Add(name, c.LocalizedRoutesRefreshed, null, "routes_refreshed");
        s.Add(name, dp.Counters.RoutedLocally, null, "routed_locally");
        s.Add(name, dp.Counters.RoutedDirect, null, "routed_direct");
        foreach (var (reason, n) in ((ILabeledCounter)c.LocalizedRoutesEnded).NonZeroByName())
            s.Add(name, n, null, "ended_" + LabelValues.SnakeCase(reason));
    }

    private static readonly string[] HiLabels = ["0", "1", "2", "3", "4", "5"];

    private static string HandoffIndicatorLabel(HandoffIndicator? hi) =>
        hi is { } h && (int)h < HiLabels.Length ? HiLabels[(int)h] : ((int?)hi)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "";
}
