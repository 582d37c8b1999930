using DataPlane.Datapath;
using DataPlane.Host.Capture;
using DataPlane.Host.Policy;
using DataPlane.Host.Runtime;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Mag;

/// <summary>The per-batch work: frames in, verdicts acted on, control output and host actions flushed.</summary>
public sealed partial class MagDaemon
{
    /// <summary>Frames from a VM: each goes up the tunnel (sent straight from the receive slot, or cut into segments first), is consumed, or dropped.</summary>
    private void ReceivePort(OpenPort port, Instant now)
    {
        for (int round = 0; round < MaxBatchesPerWake; round++)
        {
            int count = port.Device.Receive(_rxPort);
            if (port.Device.LinkState == PortLinkState.Removed)
            {
                PortVanished(port, now);
                return;
            }
            if (count == 0) return;
            if (port.Captures is { } captures) Taps.Batch(captures, _rxPort, count, CaptureDirection.Rx, CaptureMicros);
            ForwardFromPort(_dp, port.Id, port.Device.HasVnetHeader, _rxPort, count, _uplink, now, _localDelivery);
            if (count < _rxPort.Capacity) return;
        }
    }

    /// <summary>
    /// One received batch of a port through the data path and out to the tunnel, in the order the VM sent it
    /// (<see cref="TunnelOutput"/>), or to another VM of this MAG (<paramref name="local"/>, EnableMAGLocalRouting:
    /// the frame leaves from its receive slot with the offload descriptor the data path chose); everything is sent
    /// before this returns, so the batch may be reused.
    /// </summary>
    internal static void ForwardFromPort(MagDatapath dp, PortId port, bool vnetHeader, PacketBatch rx, int count, TunnelOutput output, Instant now,
        ILocalDelivery? local = null)
    {
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref rx.Meta(i);
            var offload = vnetHeader ? Offloads.From(meta.Vnet) : OffloadInfo.None;
            var v = dp.FromPort(port, rx.Slot(i), meta.Offset, meta.Length, offload, now);
            switch (v.Kind)
            {
                case VerdictKind.ToTunnel:
                    meta.Destination = v.TunnelDestination;
                    meta.Vnet = Offloads.ToVirtio(v.Offload); // the inner packet's now, not the VM's frame's
                    rx.SetFrame(i, v.Offset, v.Length);
                    output.Forward(rx, i);
                    break;
                case VerdictKind.Segmented:
                    output.Segments(v, dp.Segments);
                    break;
                case VerdictKind.ToPort when local is not null:
                    rx.SetFrame(i, v.Offset, v.Length);
                    meta.Vnet = Offloads.ToVirtio(v.Offload);
                    local.Queue(v.Port, i);
                    break;
            }
        }
        output.Flush();
        local?.Flush(rx);
    }

    /// <summary>Where <see cref="ForwardFromPort"/> puts frames routed to another port of this MAG: gathered per port, sent at the end of the batch.</summary>
    internal interface ILocalDelivery
    {
        void Queue(PortId port, int slot);
        void Flush(PacketBatch rx);
    }

    /// <summary>
    /// The daemon's <see cref="ILocalDelivery"/>: each target port's slots in its <see cref="OpenPort.Pending"/> (free
    /// outside <see cref="ReceiveTunnel"/>), one send per port and batch, its captures fed. Allocates nothing.
    /// </summary>
    private sealed class PortDelivery(MagDaemon daemon) : ILocalDelivery
    {
        private OpenPort[] _touched = new OpenPort[8];
        private int _touchedCount;

        public void Queue(PortId port, int slot)
        {
            if (!daemon._ports.TryGetValue(port.Value, out var p)) return; // removed in between: nothing to send to
            if (p.PendingCount == 0)
            {
                if (_touchedCount == _touched.Length) Array.Resize(ref _touched, _touched.Length * 2); // grows with the ports, once
                _touched[_touchedCount++] = p;
            }
            p.Pending[p.PendingCount++] = slot;
        }

        public void Flush(PacketBatch rx)
        {
            for (int i = 0; i < _touchedCount; i++)
            {
                var p = _touched[i];
                var slots = p.Pending.AsSpan(0, p.PendingCount);
                if (p.Captures is { } captures) Taps.Slots(captures, rx, slots, CaptureDirection.Tx, daemon.CaptureMicros);
                p.Device.Send(rx, slots);
                p.PendingCount = 0;
                _touched[i] = null!;
            }
            _touchedCount = 0;
        }
    }

    /// <summary>The tunnel peers for the packet uplink's next-hop refresh: the configured LMA and every LMA with a tunnel.</summary>
    private IEnumerable<Ipv6Address> UplinkPeers()
    {
        if (_config.LocalMobilityAnchor is { } lma) yield return lma;
        foreach (var peer in _dp.TunnelCounters.Keys) yield return peer;
    }

    /// <summary>
    /// Packets from the LMA (inner packets from the raw socket or an AF_PACKET tunnel receiver): each is delivered to
    /// its VM's port from the same slot, consecutive TCP segments of a flow merged into one super-frame first when
    /// receive offload is on; super-frames that crossed the tunnel whole go on as they are.
    /// </summary>
    private void ReceiveTunnel(Func<PacketBatch, int> receive, Instant now)
    {
        for (int round = 0; round < MaxBatchesPerWake; round++)
        {
            int count = receive(_rxTunnel);
            if (count == 0) return;
            if (_uplinkCaptures is { } uplink) Taps.TunnelBatch(uplink, _rxTunnel, count, CaptureDirection.Rx, CaptureMicros);
            foreach (ref readonly var e in DeliverFromTunnel(_dp, _rxTunnel, count, _delivery, now))
            {
                if (e.Segments == 0 || !_ports.TryGetValue(e.Tag, out var port)) continue;
                port.Pending[port.PendingCount++] = e.Slot;
            }
            foreach (var port in _ports.Values)
            {
                if (port.PendingCount == 0) continue;
                if (port.Captures is { } captures) Taps.Slots(captures, _rxTunnel, port.Pending.AsSpan(0, port.PendingCount), CaptureDirection.Tx, CaptureMicros);
                port.Device.Send(_rxTunnel, port.Pending.AsSpan(0, port.PendingCount));
                port.PendingCount = 0;
            }
            if (count < _rxTunnel.Capacity) return;
        }
    }

    /// <summary>
    /// One tunnel batch through the data path: the frames for the VMs, set in their slots with their vnet headers,
    /// tagged with their port, in sending order (entries with no segments were merged into an earlier one).
    /// </summary>
    internal static ReadOnlySpan<CoalesceEntry> DeliverFromTunnel(MagDatapath dp, PacketBatch rx, int count, TunnelDelivery delivery, Instant now)
    {
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref rx.Meta(i);
            if (meta.Length == 0) continue; // left empty by the receiver: malformed (counted there) or a duplicate
            var v = dp.FromTunnel(rx.Slot(i), meta.Offset, meta.Length, meta.Source, meta.Destination, meta.TrafficClass, Offloads.From(meta.Vnet), now);
            if (v.Kind == VerdictKind.ToPort) delivery.Add(i, v.Offset, v.Length, v.Port.Value, v.Offload);
        }
        return delivery.Finish(rx);
    }

    /// <summary>PBAs and heartbeats from the LMA (the kernel has checked their checksum).</summary>
    private void ReceiveMobility(Instant now)
    {
        int count = _mobility.Receive(_rxMobility);
        if (_uplinkCaptures is { } uplink) CaptureMobility(uplink, count);
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref _rxMobility.Meta(i);
            _dp.ReceiveMobilityMessage(_rxMobility.Frame(i), meta.Source, meta.Destination, now, verifyChecksum: false);
        }
    }

    /// <summary>ESP from the LMA: opened by the data path under the signalling policy (docs/security.md).</summary>
    private void ReceiveEsp(Instant now) =>
        _secure!.Receive(_uplinkCaptures, CaptureMicros, (rx, i) =>
        {
            ref var meta = ref rx.Meta(i);
            return _dp.ReceiveEsp(rx.Frame(i), meta.Source, meta.Destination, now);
        });

    /// <summary>After every wake-up: send what the machine and data path produced, and do the host's part of their actions.</summary>
    private void AfterBatch(Instant now)
    {
        // Host actions can produce more control output (a policy answer leads to a PBU), so loop until quiet.
        for (int guard = 0; guard < 8 && (_dp.HostActions.Count > 0 || _dp.ControlOutput.Count > 0); guard++)
        {
            FlushControlOutput();
            HandleHostActions(now);
        }
        // Released handover buffers go after the control output (the activation's RA first), before any newer downlink.
        SendReleases(now);
        CheckFirstUplinks(now);
        _dp.Segments.Clear();
    }

    private void FlushControlOutput()
    {
        var output = _dp.ControlOutput;
        for (int i = 0; i < output.Count; i++)
        {
            ref readonly var f = ref output[i];
            _tx.Reset(0);
            output.Frame(i).CopyTo(_tx.Slot(0)[_tx.Headroom..]);
            _tx.SetFrame(0, _tx.Headroom, f.Length);
            switch (f.Sink)
            {
                case ControlSink.Port when _ports.TryGetValue(f.Port.Value, out var port):
                    if (port.Captures is { } captures) Taps.Frame(captures, _tx.Frame(0), CaptureDirection.Tx, CaptureMicros);
                    port.Device.Send(_tx, 0, 1);
                    break;
                case ControlSink.MobilityHeaderSocket:
                    if (_uplinkCaptures is { } uplink) Taps.Ipv6(uplink, f.Source, f.Destination, IpProtocol.Mobility, _tx.Frame(0), CaptureDirection.Tx, CaptureMicros);
                    _tx.Meta(0).Destination = f.Destination;
                    _mobility.Send(_tx, 0, 1);
                    break;
                case ControlSink.EspSocket when _secure is not null:
                    if (_uplinkCaptures is { } espTaps) Taps.Ipv6(espTaps, f.Source, f.Destination, IpProtocol.Esp, _tx.Frame(0), CaptureDirection.Tx, CaptureMicros);
                    _tx.Meta(0).Destination = f.Destination;
                    _secure.Send(_tx);
                    break;
            }
        }
        output.Clear();
    }

    private void HandleHostActions(Instant now)
    {
        if (_dp.HostActions.Count == 0) return;
        _hostActionScratch.Clear();
        _hostActionScratch.AddRange(_dp.HostActions);
        _dp.ClearHostActions();
        foreach (var action in _hostActionScratch)
        {
            switch (action)
            {
                case MagAction.RequestPolicy req:
                    _vms.OnSessionStarting(req.Mac, req.Port, PortName(req.Port), now);
                    AskPolicy(req, now);
                    break;
                default:
                    Report(action, now);
                    break;
            }
        }
    }

    /// <summary>
    /// The machine wants a policy decision. An answer the store has in memory (the file, a fresh RADIUS cache
    /// entry) is applied at once; otherwise the look-up runs on the thread pool and its answer is posted back
    /// to this loop, which never waits on the network.
    /// </summary>
    private void AskPolicy(MagAction.RequestPolicy req, Instant now)
    {
        var name = PortName(req.Port);
        ValueTask<PolicyDecision> pending;
        // The scope flows into the look-up (RADIUS logs its failures with the VM's identity).
        using (VmScope(null, req.Mac, name)) pending = _policy.DecideAsync(req.Mac, name, _config.LocalMobilityAnchor);
        if (pending.IsCompletedSuccessfully)
        {
            ApplyPolicy(req, name, pending.Result, now);
            return;
        }
        pending.AsTask().ContinueWith(t =>
        {
            var decision = t.IsCompletedSuccessfully ? t.Result : PolicyDecision.Deny($"policy look-up failed: {t.Exception?.GetBaseException().Message}");
            try
            {
                _work.Post(() => ApplyPolicy(req, name, decision, _clock.Now));
            }
            catch (ObjectDisposedException)
            {
                // The daemon stopped while the look-up ran.
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private void ApplyPolicy(MagAction.RequestPolicy req, string port, PolicyDecision decision, Instant now)
    {
        if (decision.Profile is null)
        {
            using var scope = VmScope(null, req.Mac, port);
            _log.LogWarning("policy: VM {Mac} on {Port} denied: {Reason}", req.Mac, port, decision.DenialReason);
        }
        _dp.Handle(new MagEvent.PolicyDecided(req.RequestId, decision.Profile, decision.DenialReason), now);
    }

    /// <summary>The machine's notifications: the VM tracker and peer states (metrics, `ctl sessions`), and one log line each, with the VM's identity on lines about it.</summary>
    private void Report(MagAction action, Instant now)
    {
        switch (action)
        {
            case MagAction.HandoverCompleted h when h.Timings.PreRegistered is not null:
                _vms.OnHandover(h, PortName(h.Port), now);
                LogPreRegisteredHandover(h);
                break;
            case MagAction.HandoverCompleted h:
            {
                _vms.OnHandover(h, PortName(h.Port), now);
                var t = h.Timings;
                using var scope = VmScope(h.MobileNodeIdentifier, h.Mac, h.Port);
                _log.LogInformation(
                    "handover: {Nai} ({Mac}) on {Port} via {Trigger}, HI {Hi}, HNP {Hnp}: total {TotalMs:F1} ms (policy {PolicyMs:F1}, PBU->PBA {RegistrationMs:F1} in {Tx} tx, PBA->RA {RaMs:F1})",
                    h.MobileNodeIdentifier, h.Mac, PortName(h.Port), h.Trigger, (int)h.HandoffIndicator, string.Join(",", h.HomeNetworkPrefixes),
                    t.Total.TotalMilliseconds, t.Policy.TotalMilliseconds, t.Registration.TotalMilliseconds, t.PbuTransmissions,
                    (t.FirstRouterAdvertisementSent - t.PbaReceived).TotalMilliseconds);
                break;
            }
            case MagAction.SessionFailed f:
            {
                using var scope = VmScope(f.MobileNodeIdentifier, f.Mac, f.Port);
                _log.LogWarning("session: {Nai} ({Mac}) on {Port} failed: {Reason} {Status}{Retry}",
                    f.MobileNodeIdentifier ?? "?", f.Mac, PortName(f.Port), f.Reason, f.StatusName ?? "", f.WillRetry ? " (will retry)" : "");
                break;
            }
            case MagAction.PeerUnreachable u:
                _peers.Unreachable(u.Peer);
                _log.LogWarning("heartbeat: LMA {Peer} unreachable", u.Peer);
                break;
            case MagAction.PeerReachable r:
                _peers.Reachable(r.Peer);
                _log.LogInformation("heartbeat: LMA {Peer} reachable", r.Peer);
                break;
            case MagAction.PeerRestarted r:
                _peers.Restarted(r.Peer);
                _log.LogWarning("heartbeat: LMA {Peer} restarted (counter {Old} -> {New}); re-registering {Count} sessions",
                    r.Peer, r.PreviousRestartCounter, r.RestartCounter, r.SessionsReregistered);
                break;
            default:
                _log.LogDebug("{Action}", action);
                break;
        }
    }

    private string PortName(PortId id) => _ports.TryGetValue(id.Value, out var p) ? p.Name : id.ToString();
}
