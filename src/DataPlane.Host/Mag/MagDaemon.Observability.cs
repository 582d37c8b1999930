using System.Text.Json.Nodes;
using DataPlane.Host.Capture;
using DataPlane.Host.Configuration;
using DataPlane.Host.Control;
using DataPlane.Host.Logging;
using DataPlane.Host.Metrics;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Mag;

/// <summary>
/// What the MAG shows its operators: the metrics snapshot (built on the loop, at scrape time), the per-VM
/// tracker behind it and behind `ctl sessions`/`ctl vms`, and packet captures (`ctl capture PORT|uplink`).
/// </summary>
public sealed partial class MagDaemon
{
    public const string UplinkTarget = "uplink";
    private static readonly TimeSpan VmRefreshInterval = TimeSpan.FromSeconds(10);

    private readonly PeerStates _peers = new();
    private readonly CaptureRegistry _captures = new();
    /// <summary>Taps on the uplink (tunnel and Mobility Header traffic); null while nobody captures it.</summary>
    private CaptureTap[]? _uplinkCaptures;
    private Instant _nextVmRefresh;
    private DaemonMetrics? _metrics;

    /// <summary>The metrics collector; scrapes reach the loop only through its snapshot request.</summary>
    public DaemonMetrics Metrics => _metrics ??= new DaemonMetrics("mag", [.. Families.Mag, .. Families.Common],
        snapshot => _work.Post(() =>
        {
            DaemonMetrics.Timed(snapshot, BuildSnapshot);
            return true;
        }), _config.Metrics.SnapshotTimeout);

    /// <summary>Completes once the packet loop ran it (systemd watchdog, readiness).</summary>
    public Task<bool> PingAsync() => _work.Post(() => true);

    /// <summary>Timestamps for captured frames (µs since the Unix epoch, the daemon's clock).</summary>
    private long CaptureMicros => _clock.Now.Ticks / 10;

    private void BuildSnapshot(Snapshot s)
    {
        var now = _clock.Now;
        _nextVmRefresh = now + VmRefreshInterval;
        var ports = new List<PortInfo>(_ports.Count);
        foreach (var p in _ports.Values) ports.Add(new PortInfo(p.Id, p.Name, p.Device.LinkState == PortLinkState.Up, p.Device.Counters));
        MagSnapshot.Build(s, _dp, _vms, _peers, ports, _tunnelUplink.PacketCounters is { } packet
                ? [("tunnel", _tunnel.Counters), ("tunnel_packet", packet), ("mobility", _mobility.Counters)]
                : [("tunnel", _tunnel.Counters), ("mobility", _mobility.Counters)],
            _policy.Counters, _captures.Totals(), now);
        CommonSamples.UplinkPaths(s, _tunnelUplink.Interfaces);
    }

    /// <summary>From the once-a-second maintenance: first-downlink latencies, and (every 10 s) VM presence and retention.</summary>
    private void MaintainObservability(Instant now)
    {
        _vms.CheckFirstDownlinks(now, _dp.TryGetFirstDelivery);
        if (now < _nextVmRefresh) return;
        _nextVmRefresh = now + VmRefreshInterval;
        _vms.Refresh(MagSnapshot.Presence(_dp.Machine, PortName), now);
    }

    /// <summary>The identity of a VM for the log lines about it (appended as mn_id=… mac=… port=…).</summary>
    private IDisposable? VmScope(string? mobileNodeIdentifier, MacAddress mac, PortId port) =>
        _log.BeginScope(new VmLogScope(mobileNodeIdentifier, mac.ToString(), PortName(port)));

    private IDisposable? VmScope(string? mobileNodeIdentifier, MacAddress? mac, string port) =>
        _log.BeginScope(new VmLogScope(mobileNodeIdentifier, mac?.ToString(), port));

    /// <summary>What the tracker knows about a VM's history, added to its `ctl sessions` row.</summary>
    private JsonObject AddVmHistory(MacAddress mac, Instant now, JsonObject o)
    {
        if (!_vms.TryGet(mac, out var vm)) return o;
        o["ageSeconds"] = vm.SessionSince is { } since ? (long)(now - since).TotalSeconds : null;
        o["lastTrigger"] = vm.LastTrigger?.ToString();
        o["registrations"] = vm.Registrations;
        o["handovers"] = vm.Handovers;
        if (vm.LastTimings is { } t)
        {
            o["lastHandover"] = new JsonObject
            {
                ["secondsAgo"] = (long)(now - vm.LastHandoverAt).TotalSeconds,
                ["handoffIndicator"] = vm.LastHandoffIndicator is { } hi ? (int)hi : null,
                ["policyMs"] = Ms(t.PolicyAnswered - t.AttachSeen),
                ["pbaMs"] = Ms(t.PbaReceived - t.AttachSeen),
                ["firstRaMs"] = Ms(t.Total),
                ["firstDownlinkMs"] = vm.LastFirstDownlink is { } dl ? Ms(dl) : null,
                ["firstUplinkMs"] = vm.LastFirstUplink is { } ul ? Ms(ul) : null,
                ["pbuTransmissions"] = t.PbuTransmissions,
            };
        }
        return o;
    }

    private static double Ms(TimeSpan t) => Math.Round(t.TotalMilliseconds, 1);

    /// <summary>`ctl vms`: every VM the tracker holds (present, or gone for less than the retention) with its counters.</summary>
    private JsonArray VmsJson()
    {
        var now = _clock.Now;
        _vms.Refresh(MagSnapshot.Presence(_dp.Machine, PortName), now);
        var list = new JsonArray();
        foreach (var vm in _vms.Vms.OrderBy(v => v.MacText, StringComparer.Ordinal))
        {
            _dp.VmCounters.TryGetValue(vm.Mac, out var c);
            var o = new JsonObject
            {
                ["mac"] = vm.MacText,
                ["nai"] = vm.MobileNodeIdentifier,
                ["port"] = vm.PortName,
                ["hnp"] = vm.HomeNetworkPrefixText,
                ["state"] = LabelValues.Of(vm.State),
                ["uplinkPackets"] = c?.InPackets ?? 0,
                ["uplinkBytes"] = c?.InBytes ?? 0,
                ["downlinkPackets"] = c?.OutPackets ?? 0,
                ["downlinkBytes"] = c?.OutBytes ?? 0,
                ["drops"] = c?.DroppedTotal ?? 0,
                // The share of the traffic that did not go through the LMA: routed here to another VM of this MAG
                // (EnableMAGLocalRouting), and over a direct MAG-MAG route (RFC 6705).
                ["localUplinkPackets"] = c?.Local.InPackets ?? 0,
                ["localDownlinkPackets"] = c?.Local.OutPackets ?? 0,
                ["directUplinkPackets"] = c?.Direct.InPackets ?? 0,
                ["directDownlinkPackets"] = c?.Direct.OutPackets ?? 0,
            };
            if (c is not null)
            {
                var byReason = new JsonObject();
                foreach (var (reason, n) in ((ILabeledCounter)c.Drops).NonZeroByName()) byReason[reason] = n;
                o["dropsByReason"] = byReason;
            }
            if (vm.State == VmState.Detached) o["goneSeconds"] = (long)(now - vm.LastPresentAt).TotalSeconds;
            list.Add((JsonNode)AddVmHistory(vm.Mac, now, o));
        }
        return list;
    }

    // ---- Capture ----------------------------------------------------------------------------------------

    /// <summary>`capture`: on the loop, register a tap for a port (attached or not yet) or the uplink; the connection then streams it.</summary>
    private ControlResponse StartCapture(ControlRequest r)
    {
        var target = r.String("target");
        if (target is null) return ControlResponse.Failure("capture: missing target (a port name or \"uplink\")");
        if (target != UplinkTarget && !InterfaceNames.IsValid(target))
            return ControlResponse.Failure($"capture: \"{target}\" is neither a port name nor \"uplink\"");
        long count = r.Args["count"] is JsonValue cv && cv.TryGetValue(out long c) && c > 0 ? c : 0;
        var linkType = target == UplinkTarget ? PcapLinkType.Raw : PcapLinkType.Ethernet;
        var tap = new CaptureTap(target, linkType, CaptureTap.DefaultRingBytes);
        if (!_captures.TryAdd(tap)) return ControlResponse.Failure($"capture: {CaptureRegistry.MaxCaptures} captures are running already");
        ApplyCaptures(target);
        bool attached = target == UplinkTarget || _portsByName.ContainsKey(target);
        _log.LogInformation("capture: started on {Target}{Waiting}", target, attached ? "" : " (port not attached yet: armed)");
        var result = new JsonObject
        {
            ["target"] = target,
            ["linkType"] = linkType == PcapLinkType.Raw ? "raw" : "ethernet",
            ["attached"] = attached,
        };
        return ControlResponse.Success(result) with
        {
            Continuation = CaptureStream.StreamThenStop(tap, count, _work.Post, StopCapture),
        };
    }

    private void StopCapture(CaptureTap tap)
    {
        if (!_captures.Remove(tap)) return;
        ApplyCaptures(tap.Target);
        _log.LogInformation("capture: stopped on {Target}: {Captured} frames, {Dropped} dropped", tap.Target, tap.Ring.Written, tap.Ring.Dropped);
    }

    /// <summary>Point the target's port (or the uplink) at its current taps.</summary>
    private void ApplyCaptures(string target)
    {
        var taps = _captures.For(target);
        if (target == UplinkTarget) _uplinkCaptures = taps;
        else if (_portsByName.TryGetValue(target, out var port)) port.Captures = taps;
    }

    /// <summary>Mobility Header messages received (the kernel strips their IPv6 header: synthesized for the capture).</summary>
    private void CaptureMobility(CaptureTap[] taps, int count)
    {
        long micros = CaptureMicros;
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref _rxMobility.Meta(i);
            Taps.Ipv6(taps, meta.Source, meta.Destination, IpProtocol.Mobility, _rxMobility.Frame(i), CaptureDirection.Rx, micros);
        }
    }
}
