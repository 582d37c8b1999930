using System.Text.Json.Nodes;
using DataPlane.Datapath;
using DataPlane.Host.Capture;
using DataPlane.Host.Configuration;
using DataPlane.Host.Control;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Mag;

/// <summary>
/// Live migration on the loop: ports expected before their interface exists (`ctl port expect`), the hypervisor's
/// STOP and RESUME on the source (`ctl port stopped|resumed`), and the destination's released buffers sent to the VM.
/// </summary>
public sealed partial class MagDaemon
{
    /// <summary>Ports announced by `port expect` whose interface has not appeared yet: the data path has them (pre-registering), the loop does not read them.</summary>
    private readonly Dictionary<string, ExpectedPort> _expected = new(StringComparer.Ordinal);

    private sealed record ExpectedPort(PortId Id, MacAddress Mac, DateTime Since);

    /// <summary>
    /// `port expect NAME --mac MAC`: a live migration's VM will arrive on interface NAME, which does not exist yet (a
    /// hypervisor that moves or creates the interface only at the switchover). The port is pre-registered now; `port
    /// add NAME` attaches the interface to it when it appears.
    /// </summary>
    private ControlResponse PortExpect(ControlRequest r)
    {
        var name = r.String("name");
        if (name is null) return ControlResponse.Failure("port.expect: missing name");
        if (!InterfaceNames.IsValid(name)) return ControlResponse.Failure($"port.expect: \"{name}\" is not a valid interface name");
        if (r.String("mac") is not { } m || !MacAddress.TryParse(m, out var mac)) return ControlResponse.Failure("port.expect: --mac is required (the VM's MAC is what is pre-registered)");
        if (!mac.IsUnicast || mac.IsZero) return ControlResponse.Failure($"port.expect: {mac} is not a unicast MAC");
        if (_portsByName.ContainsKey(name) || _expected.ContainsKey(name)) return ControlResponse.Failure($"port {name} is already attached or expected");
        if (NextPortId() is not { } id) return ControlResponse.Failure($"port.expect: all {_dp.Options.MaxPorts - 1} port numbers are in use");
        var now = _clock.Now;
        _dp.AddPort(id, name, mac);
        _expected[name] = new ExpectedPort(id, mac, DateTime.UtcNow);
        _dp.PortOnline(id, now, PortOnlineKind.IncomingMigration);
        AfterBatch(now);
        using var scope = VmScope(null, mac, name);
        _log.LogInformation("port: expecting {Port} (VM MAC {Mac}): incoming migration, pre-registering", name, mac);
        return ControlResponse.Success(new JsonObject { ["name"] = name });
    }

    /// <summary>Is port number <paramref name="id"/> held by an expected port (in the data path, not yet read by the loop)?</summary>
    private bool IsExpectedId(int id)
    {
        foreach (var e in _expected.Values)
            if (e.Id.Value == id) return true;
        return false;
    }

    /// <summary>An expected port's interface appeared: its device joins the port the data path already has. Null when <paramref name="name"/> was not expected.</summary>
    private ExpectedPort? TakeExpected(string name, MacAddress? mac, out string? error)
    {
        error = null;
        if (!_expected.TryGetValue(name, out var e)) return null;
        if (mac is { } m && m != e.Mac)
        {
            error = $"port {name} is expected for VM {e.Mac}, not {m}";
            return null;
        }
        _expected.Remove(name);
        return e;
    }

    /// <summary>`port del` of a port still expected: the pre-registration is given up.</summary>
    private bool DeleteExpected(string name)
    {
        if (!_expected.Remove(name, out var e)) return false;
        var now = _clock.Now;
        _dp.RemovePort(e.Id, now);
        AfterBatch(now);
        _log.LogInformation("port: {Port} no longer expected", name);
        return true;
    }

    /// <summary>How far from now a hypervisor's stop time may be (`port stopped --at`).</summary>
    private const long StopTimeWindowMicroseconds = 10_000_000;

    /// <summary>
    /// `port stopped NAME [--at UNIX-µs]`: the VM stopped for the migration's last copy (QEMU's STOP). With the
    /// hypervisor's own time of the stop (QEMU's event timestamp, this host's clock), what we delivered after it, which
    /// the stopped guest never read, is left out of the delivery marker so that the destination delivers it.
    /// </summary>
    private ControlResponse PortStoppedCommand(ControlRequest r)
    {
        if (r.String("name") is not { } name) return ControlResponse.Failure("port.stopped: missing name");
        if (!_portsByName.TryGetValue(name, out var port)) return ControlResponse.Failure($"no port {name}");
        var now = _clock.Now;
        Instant? stoppedAt = null;
        if (r.String("atUnixMicroseconds") is { } at)
        {
            if (!long.TryParse(at, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long us))
                return ControlResponse.Failure($"port.stopped: --at \"{at}\" is not a time in microseconds since 1970");
            // How long ago on the wall clock, taken back from the loop's clock. The hypervisor stamps the event on this
            // host's clock and its listener reports it at once, so anything more than 10 s away is not a stop just
            // reported (garbage, or another host's clock) and is refused; a time slightly ahead (the wall clock stepped
            // meanwhile) is taken as now, which leaves the marker at the last packet delivered.
            long agoUs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10 - us; // us has no sign (NumberStyles.None): no overflow
            if (agoUs > StopTimeWindowMicroseconds || agoUs < -StopTimeWindowMicroseconds)
                return ControlResponse.Failure($"port.stopped: --at {us} is {agoUs / 1e6:F1} s from now, not a stop just reported");
            stoppedAt = agoUs > 0 ? now - TimeSpan.FromTicks(agoUs * 10) : now;
        }
        bool taken = _dp.PortStopped(port.Id, now, stoppedAt);
        AfterBatch(now);
        using var scope = VmScope(null, VmMacOf(port), name);
        if (taken) _log.LogInformation("migration: VM on {Port} stopped: its downlink goes to the destination", name);
        else _log.LogInformation("migration: VM on {Port} stopped, but it has no registered session here: nothing to hand over", name);
        return ControlResponse.Success(new JsonObject { ["name"] = name, ["handedOver"] = taken });
    }

    /// <summary>`port resumed NAME`: the VM runs again on this port after a stop (the migration failed).</summary>
    private ControlResponse PortResumedCommand(ControlRequest r)
    {
        if (r.String("name") is not { } name) return ControlResponse.Failure("port.resumed: missing name");
        if (!_portsByName.TryGetValue(name, out var port)) return ControlResponse.Failure($"no port {name}");
        var now = _clock.Now;
        bool resumed = _dp.PortResumed(port.Id, now);
        AfterBatch(now);
        if (resumed)
        {
            using var scope = VmScope(null, VmMacOf(port), name);
            _log.LogInformation("migration: VM on {Port} runs again after its stop: taking its downlink back", name);
        }
        return ControlResponse.Success(new JsonObject { ["name"] = name, ["resumed"] = resumed });
    }

    /// <summary>Send the buffers the data path released to their VMs, in order, then let those ports deliver directly.</summary>
    private void SendReleases(Instant now)
    {
        if (_dp.ReleaseCount == 0) return;
        for (int i = 0; i < _dp.ReleaseCount; i++)
        {
            if (!_dp.TryGetRelease(i, out var id, out var buffer) || !_ports.TryGetValue(id.Value, out var port)) continue;
            int sent = 0;
            while (sent < buffer.Count)
            {
                int n = 0;
                _tx.Reset(0);
                for (; n < _tx.Capacity && sent + n < buffer.Count; n++)
                {
                    var frame = buffer.Frame(sent + n);
                    if (frame.Length > _tx.Slot(n).Length - _tx.Headroom) break;
                    _tx.Reset(n);
                    frame.CopyTo(_tx.Slot(n)[_tx.Headroom..]);
                    _tx.SetFrame(n, _tx.Headroom, frame.Length);
                }
                if (n == 0)
                {
                    sent++; // larger than a transmit slot: cannot happen with tunnel-MTU packets; skip rather than loop
                    continue;
                }
                if (port.Captures is { } captures) Taps.Batch(captures, _tx, n, CaptureDirection.Tx, CaptureMicros);
                port.Device.Send(_tx, 0, n);
                sent += n;
            }
        }
        _dp.CompleteReleases(now);
    }

    /// <summary>
    /// After a pre-registered arrival, the guest's first packet into the network: how long it took to answer once it
    /// ran here (logged as its own `handover:` line, which the experiment reads).
    /// </summary>
    private void CheckFirstUplinks(Instant now)
    {
        if (_vms.AwaitingFirstUplinks == 0) return;
        _vms.CheckFirstUplinks(now, _dp.TryGetFirstUplink, (mac, port, latency) =>
        {
            using var scope = VmScope(null, mac, port);
            _log.LogInformation("handover: first packet from {Mac} on {Port} into the network {Ms:F1} ms after its arrival", mac, PortName(port), latency.TotalMilliseconds);
        });
    }

    /// <summary>The `handover:` log line of a pre-registered VM's arrival.</summary>
    private void LogPreRegisteredHandover(MagAction.HandoverCompleted h)
    {
        var t = h.Timings;
        using var scope = VmScope(h.MobileNodeIdentifier, h.Mac, h.Port);
        string marker = t.EndMarkerReceived is { } m
            ? (m <= t.AttachSeen ? "end marker before arrival" : $"end marker {(m - t.AttachSeen).TotalMilliseconds:F1} ms after arrival")
            : t.EndMarkerTimedOut ? "no end marker (waited; buffer before arrival dropped)" : "no end marker needed";
        _log.LogInformation(
            "handover: {Nai} ({Mac}) on {Port} via {Trigger}, HI {Hi}, HNP {Hnp}: total {TotalMs:F1} ms (pre-registered {AheadMs:F1} ms before, PBU->PBA {RegistrationMs:F1} in {Tx} tx; {Marker})",
            h.MobileNodeIdentifier, h.Mac, PortName(h.Port), h.Trigger, (int)h.HandoffIndicator, string.Join(",", h.HomeNetworkPrefixes),
            t.Total.TotalMilliseconds, t.PreRegisteredAhead?.TotalMilliseconds ?? 0, t.Registration.TotalMilliseconds, t.PbuTransmissions, marker);
    }

    private JsonObject? HandoverJson(PortId id)
    {
        if (!_dp.TryGetHandover(id, out var h) || h.Mode == DeliveryMode.Forwarding) return null;
        return new JsonObject
        {
            ["mode"] = h.Mode.ToString(),
            ["bufferedPackets"] = h.BufferedPackets,
            ["bufferedBytes"] = h.BufferedBytes,
            ["evicted"] = h.Evicted,
            ["vmArrived"] = h.VmArrived,
        };
    }
}
