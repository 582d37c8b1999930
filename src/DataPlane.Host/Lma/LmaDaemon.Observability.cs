using System.Text.Json.Nodes;
using DataPlane.Host.Capture;
using DataPlane.Host.Control;
using DataPlane.Host.Logging;
using DataPlane.Host.Metrics;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Lma;

/// <summary>The LMA's metrics snapshot (built on the loop at scrape time), binding tracker and captures (`ctl capture uplink|home`).</summary>
public sealed partial class LmaDaemon
{
    public const string UplinkTarget = "uplink";
    public const string HomeTarget = "home";
    private static readonly TimeSpan BindingRefreshInterval = TimeSpan.FromSeconds(10);

    private readonly PeerStates _peers = new();
    private readonly CaptureRegistry _captures = new();
    private CaptureTap[]? _uplinkCaptures;
    private CaptureTap[]? _homeCaptures;
    private Instant _nextMaintenance;
    private DaemonMetrics? _metrics;

    public DaemonMetrics Metrics => _metrics ??= new DaemonMetrics("lma", [.. Families.Lma, .. Families.Common],
        snapshot => _work.Post(() =>
        {
            DaemonMetrics.Timed(snapshot, BuildSnapshot);
            return true;
        }), _config.Metrics.SnapshotTimeout);

    /// <summary>Completes once the packet loop ran it (systemd watchdog, readiness).</summary>
    public Task<bool> PingAsync() => _work.Post(() => true);

    private long CaptureMicros => _clock.Now.Ticks / 10;

    private void BuildSnapshot(Snapshot s)
    {
        LmaSnapshot.Build(s, _dp, _bindings, _peers,
            _tunnelUplink.PacketCounters is { } packet
                ? [("tunnel", _tunnel.Counters), ("tunnel_packet", packet), ("mobility", _mobility.Counters), ("home", _home.Counters)]
                : [("tunnel", _tunnel.Counters), ("mobility", _mobility.Counters), ("home", _home.Counters)],
            _policy.Counters, _captures.Totals(), _clock.Now, _replicator);
        CommonSamples.UplinkPaths(s, _tunnelUplink.Interfaces);
    }

    /// <summary>Every 10 s: bindings gone from the cache for longer than the retention are forgotten (even when nobody scrapes).</summary>
    private void Maintain(Instant now)
    {
        _nextMaintenance = now + BindingRefreshInterval;
        _bindings.Refresh(_dp.Machine.Bindings, now);
    }

    private IDisposable? BindingScope(LmaAction.BindingChanged b) =>
        _log.BeginScope(new BindingLogScope(b.MobileNodeIdentifier, string.Join(",", b.HomeNetworkPrefixes), b.ProxyCareOfAddress?.ToString()));

    private ControlResponse StartCapture(ControlRequest r)
    {
        var target = r.String("target");
        if (target is not (UplinkTarget or HomeTarget))
            return ControlResponse.Failure($"capture: the LMA captures \"uplink\" (tunnels and Mobility Headers) or \"home\" (the home network device), not \"{target}\"");
        long count = r.Args["count"] is JsonValue cv && cv.TryGetValue(out long c) && c > 0 ? c : 0;
        var tap = new CaptureTap(target, PcapLinkType.Raw, CaptureTap.DefaultRingBytes);
        if (!_captures.TryAdd(tap)) return ControlResponse.Failure($"capture: {CaptureRegistry.MaxCaptures} captures are running already");
        ApplyCaptures(target);
        _log.LogInformation("capture: started on {Target}", target);
        return ControlResponse.Success(new JsonObject { ["target"] = target, ["linkType"] = "raw", ["attached"] = true }) with
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

    private void ApplyCaptures(string target)
    {
        if (target == UplinkTarget) _uplinkCaptures = _captures.For(target);
        else _homeCaptures = _captures.For(target);
    }

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
