using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// Live migration in the data path (docs/datapath.md, "Live migration"). Destination: a pre-registered VM's downlink is
// held in its handover buffer until the machine releases it (the VM's first frame activates it; the release waits for
// the source's delivery marker, which trims what the source delivered). Source: when the hypervisor says the VM
// stopped, nothing more is delivered to it (the last packet that was is the delivery marker); what still comes is
// held, as the stopped guest's tap queue would hold it, and delivered if the VM runs here again (the migration failed),
// or thrown away with the port once it ran elsewhere (the destination delivered its own copies).
public sealed partial class MagDatapath
{
    private readonly List<AccessPort> _releases = [];

    /// <summary>The handover buffers (pre-allocated on first use, at most <see cref="MagDatapathOptions.HandoverBuffers"/>).</summary>
    public HandoverBufferPool HandoverBuffers { get; }

    // ---- Destination ------------------------------------------------------------------------------------------------

    private void InstallPreRegistration(MagAction.InstallPreRegistration pre)
    {
        if (FindPort(pre.Port) is not { } port)
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        Install(new MagAction.InstallSession(pre.Port, pre.Mac, pre.HomeNetworkPrefixes, pre.LocalMobilityAnchor, pre.Ipv4));
        var session = port.Session!;
        session.Mode = DeliveryMode.Buffering;
        session.Buffer = HandoverBuffers.Rent();
        var h = Counters.Handover;
        h.PreRegistrationsInstalled++;
        if (session.Buffer is null) h.BuffersUnavailable++;
    }

    /// <summary>
    /// Downlink for a session that does not deliver: held in its buffer (a destination's VM not here yet, a source's VM
    /// stopped) or, without room, dropped. <paramref name="offload"/> is what the tunnel exit accepted it with: a TCP
    /// super-frame is held as its segments (<see cref="HandoverBuffer.TryAddSegments"/>) and a partial checksum is
    /// completed first, since the buffer's frames are released to the port without offload metadata.
    /// </summary>
    private Verdict HoldOrDrop(InstalledSession session, CounterBlock? tunnel, Span<byte> packet, in OffloadInfo offload, in TcpSuperFrame superFrame)
    {
        var h = Counters.Handover;
        if (session.Mode == DeliveryMode.Stopped && session.Buffer is null)
        {
            h.DroppedWhileStopped++;
            session.Vm.CountDrop(DropReason.VmStopped, WireError.None);
            return DropFromTunnel(tunnel, DropReason.VmStopped);
        }
        var buffer = session.Buffer;
        long trimmed = buffer?.Trimmed ?? 0;
        int packets = 1;
        long bytes = packet.Length;
        bool held;
        if (buffer is null) held = false;
        else if (offload.IsGso)
        {
            packets = superFrame.SegmentCount(offload.GsoSize);
            bytes = SuperFrameOffload.SegmentBytes(in superFrame, packets);
            held = buffer.TryAddSegments(packet, in superFrame, offload.GsoSize, session.Mac, _sharedMac);
            if (held) h.SuperFramesSegmented++;
        }
        else
        {
            if (offload.NeedsChecksum)
            {
                ChecksumCompletion.TryComplete(packet, packet.Length, offload, 0); // its offsets were checked at the tunnel exit
                Counters.ChecksumsCompleted++;
            }
            held = buffer.TryAdd(packet, session.Mac, _sharedMac);
        }
        if (!held)
        {
            session.Vm.CountDrop(DropReason.HandoverBufferFull, WireError.None);
            return DropFromTunnel(tunnel, DropReason.HandoverBufferFull);
        }
        if (buffer!.Trimmed != trimmed)
        {
            // The marker came before its packet's copy: matched now (HandoverBuffer.ApplyMarker).
            h.MarkersApplied.Increment(MarkerOutcome.FoundLater);
            h.TrimmedByMarker += buffer.Trimmed - trimmed;
        }
        if (session.Mode == DeliveryMode.Stopped) h.HeldWhileStopped += packets;
        else h.Buffered += packets;
        session.Tunnel.CountIn(packets, bytes);
        return Verdict.Consumed;
    }

    private void ApplyDeliveryMarker(MagAction.ApplyDeliveryMarker a)
    {
        if (FindPort(a.Port)?.Session is not { Buffer: { } buffer })
        {
            Counters.Handover.MarkersWithoutBuffer++;
            return;
        }
        long before = buffer.Trimmed;
        var outcome = buffer.ApplyMarker(a.Marker);
        var h = Counters.Handover;
        h.MarkersApplied.Increment(outcome);
        h.TrimmedByMarker += buffer.Trimmed - before;
    }

    /// <summary>The VM may have its buffer: in order, before anything newer (which joins the buffer until the host has sent it).</summary>
    private void ReleaseBuffer(MagAction.ReleaseBuffer a)
    {
        if (FindPort(a.Port) is not { Session: { } session } port)
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        if (session.Buffer is not { } buffer)
        {
            session.Mode = DeliveryMode.Forwarding;
            return;
        }
        if (a.DiscardBeforeActivation) Counters.Handover.DiscardedWithoutMarker += buffer.DiscardBeforeActivation();
        // The marker is here but its packet's copy is not (lost, or still on its way): nothing could be trimmed.
        if (buffer.MarkerPending) Counters.Handover.ReleasedWithMarkerPending++;
        session.Mode = DeliveryMode.Releasing;
        if (!_releases.Contains(port)) _releases.Add(port);
    }

    /// <summary>
    /// The buffers released since the host last called <see cref="CompleteReleases"/>: for each port, send
    /// <see cref="HandoverBuffer.Frame"/> 0..Count−1 to it, in order, then call <see cref="CompleteReleases"/>. Until
    /// then the port's newer downlink joins its buffer, so nothing overtakes what it holds.
    /// </summary>
    public int ReleaseCount => _releases.Count;

    /// <summary>The <paramref name="index"/>-th released port and its buffer; false when its session went meanwhile (nothing to send).</summary>
    public bool TryGetRelease(int index, out PortId port, out HandoverBuffer buffer)
    {
        var p = _releases[index];
        port = p.Id;
        buffer = p.Session is { Mode: DeliveryMode.Releasing, Buffer: { } b } ? b : null!;
        return buffer is not null;
    }

    /// <summary>The host sent every released frame (at <paramref name="now"/>): those ports deliver directly from now on.</summary>
    public void CompleteReleases(Instant now)
    {
        foreach (var port in _releases)
        {
            if (port.Session is not { Mode: DeliveryMode.Releasing } session) continue;
            var buffer = session.Buffer!;
            Counters.Handover.Released += buffer.Count;
            session.Vm.OutPackets += buffer.Count;
            session.Vm.OutBytes += buffer.Bytes;
            port.Counters.OutPackets += buffer.Count;
            port.Counters.OutBytes += buffer.Bytes;
            if (buffer.Count > 0 && session.FirstDeliveryTicks == 0) session.FirstDeliveryTicks = now.Ticks;
            buffer.Clear(); // sent: not to be counted again as dropped unreleased when it goes back
            session.Mode = DeliveryMode.Forwarding;
            ReturnBuffer(session);
        }
        _releases.Clear();
    }

    private void ReturnBuffer(InstalledSession session)
    {
        if (session.Buffer is not { } buffer) return;
        var h = Counters.Handover;
        h.Evicted += buffer.Evicted;
        // Whatever a stopped source still holds when its session goes was for a VM that runs elsewhere now; whatever a
        // destination holds unreleased is lost (the pre-registration ended without the VM).
        if (session.Mode == DeliveryMode.Stopped) h.DiscardedAtSource += buffer.Count;
        else if (session.Mode != DeliveryMode.Releasing) h.DroppedUnreleased += buffer.Count;
        session.Buffer = null;
        HandoverBuffers.Return(buffer);
    }

    /// <summary>The first frame from a pre-registered VM: what its buffer gets from now on arrived after it did.</summary>
    private static void NoteArrival(InstalledSession session) => session.Buffer?.MarkActivation();

    /// <summary>
    /// When the VM of <paramref name="port"/> first sent a packet into the network (forwarded to the tunnel) since its
    /// session was installed: after a migration, how long the guest took to answer once it ran here (a TCG guest
    /// re-translates its code after a resume, a busy host delays it). False while it has not.
    /// </summary>
    public bool TryGetFirstUplink(PortId port, out Instant at)
    {
        if (FindPort(port)?.Session is { FirstUplinkTicks: not 0 } session)
        {
            at = new Instant(session.FirstUplinkTicks);
            return true;
        }
        at = default;
        return false;
    }

    /// <summary>A view of a port's handover state, for `ctl ports`.</summary>
    public bool TryGetHandover(PortId id, out HandoverPortView view)
    {
        if (FindPort(id)?.Session is not { } s)
        {
            view = default;
            return false;
        }
        view = new HandoverPortView(s.Mode, s.Buffer?.Count ?? 0, s.Buffer?.Bytes ?? 0, s.Buffer?.Evicted ?? 0, s.Buffer?.Activated ?? false);
        return true;
    }

    // ---- Source -----------------------------------------------------------------------------------------------------

    /// <summary>
    /// The hypervisor says the VM on this port stopped for a live migration's last copy (QEMU's STOP): deliver nothing
    /// more to it, and tell the machine which packet was delivered last (the delivery marker), which it sends to the
    /// LMA. False for an unknown port, or when the machine does not take it (no registered session): then delivery goes on.
    /// </summary>
    public bool PortStopped(PortId id, Instant now, Instant? stoppedAt = null)
    {
        if (FindPort(id) is not { Session: { Mode: DeliveryMode.Forwarding } session } port) return false;
        session.Mode = DeliveryMode.Stopped;
        session.StoppedAtTicks = now.Ticks;
        long? before = stoppedAt is { } s && s < now ? s.Ticks : null;
        var marker = session.LastDelivered(before, out var last, out int after) ? new DeliveryMarker(true, last) : DeliveryMarker.None;
        if (marker.Delivered) Counters.Handover.DeliveredAfterStop += after;
        Raise(new MagEvent.VmStopped(id, marker), now);
        if (_mag.TryGetSession(id, out var view) && view.Migration == MigrationPhase.VmStopped && port.Session == session)
        {
            Counters.Handover.Stops++;
            // What still comes is held, in case the VM runs here again; without a free buffer it is dropped.
            session.Buffer = HandoverBuffers.Rent();
            if (session.Buffer is null) Counters.Handover.BuffersUnavailable++;
            return true;
        }
        if (port.Session == session) session.Mode = DeliveryMode.Forwarding;
        return false;
    }

    /// <summary>
    /// The VM on this port runs again after <see cref="PortStopped"/> (the migration failed): what was held for it
    /// meanwhile is released (in order, before anything newer), then it gets its downlink directly again.
    /// </summary>
    public bool PortResumed(PortId id, Instant now)
    {
        if (FindPort(id) is not { Session: { Mode: DeliveryMode.Stopped } session } port) return false;
        Counters.Handover.Resumes++;
        if (session.Buffer is null)
        {
            session.Mode = DeliveryMode.Forwarding;
        }
        else
        {
            session.Mode = DeliveryMode.Releasing;
            if (!_releases.Contains(port)) _releases.Add(port);
        }
        Raise(new MagEvent.VmResumed(id), now);
        return true;
    }

    /// <summary>
    /// The port whose pre-registered VM just sent its first frame, until that frame raised a trigger: a frame that raises
    /// none (a data packet, an NS for the router) raises FirstFrame once it is through (<see cref="FromPort"/>).
    /// </summary>
    private AccessPort? _arrivalPending;

    /// <summary>A frame from a VM whose port is stopped or buffering: it runs here.</summary>
    private void OnFrameFromWaitingVm(AccessPort port, InstalledSession session, Instant now)
    {
        if (session.Mode == DeliveryMode.Stopped)
        {
            if (now.Ticks - session.StoppedAtTicks < _options.StopGrace.Ticks)
            {
                // Sent before the guest stopped, read after its stop was taken (MagDatapathOptions.StopGrace): forwarded,
                // but it does not mean the VM runs here again.
                Counters.Handover.FramesFromStoppedVm++;
                return;
            }
            Counters.Handover.ResumedByFrame++;
            PortResumed(port.Id, now);
            return;
        }
        if (session.Arrived) return;
        session.Arrived = true;
        NoteArrival(session);
        _arrivalPending = port;
    }

    private void RaiseArrivalIfPending(Instant now)
    {
        if (_arrivalPending is not { } port) return;
        _arrivalPending = null;
        RaiseTrigger(port, AttachTrigger.FirstFrame, null, now);
    }
}

/// <summary>How a session's downlink reaches its VM.</summary>
public enum DeliveryMode : byte
{
    /// <summary>Straight to the port.</summary>
    Forwarding,
    /// <summary>A live migration's destination: held in the handover buffer until released.</summary>
    Buffering,
    /// <summary>Released: the host sends the buffer; newer downlink joins it until the host is done.</summary>
    Releasing,
    /// <summary>A live migration's source after the VM stopped: held (released if the VM runs here again, thrown away
    /// once it runs elsewhere), or dropped without a free buffer.</summary>
    Stopped,
}

/// <summary>A port's live-migration state, for `ctl ports`.</summary>
public readonly record struct HandoverPortView(DeliveryMode Mode, int BufferedPackets, long BufferedBytes, long Evicted, bool VmArrived);

// The per-session part of live migration.
internal sealed partial class InstalledSession
{
    public DeliveryMode Mode;
    public HandoverBuffer? Buffer;
    /// <summary>The pre-registered VM's first frame was seen (for a session pre-registered without a buffer).</summary>
    public bool Arrived;

    /// <summary>When the hypervisor reported the VM stopped (ticks), for <see cref="MagDatapathOptions.StopGrace"/>.</summary>
    public long StoppedAtTicks;

    /// <summary>When the VM first sent a packet into the tunnel under this installation (ticks; 0 until then).</summary>
    public long FirstUplinkTicks;

    // The starts of the last downlink packets delivered and when, for the delivery marker: copied per delivered packet
    // (a few nanoseconds), an identity computed only if the VM stops for a migration. More than the last one, because
    // the hypervisor's STOP reaches us a few milliseconds after the guest stopped reading its port: what we delivered
    // meanwhile waits in the stopped guest's tap and is lost with it, unless the marker names the last packet
    // delivered before the STOP's own time, so that the destination delivers the rest again (none of which the guest
    // can have read).
    internal const int DeliveredHistory = 8;
    private readonly byte[] _delivered = new byte[DeliveredHistory * DownlinkIdentity.SnapshotBytes];
    private readonly int[] _deliveredLength = new int[DeliveredHistory];
    private readonly long[] _deliveredTicks = new long[DeliveredHistory];
    private int _deliveredNext;

    public void RememberDelivered(ReadOnlySpan<byte> packet, long nowTicks)
    {
        int slot = _deliveredNext;
        int n = Math.Min(packet.Length, DownlinkIdentity.SnapshotBytes);
        packet[..n].CopyTo(_delivered.AsSpan(slot * DownlinkIdentity.SnapshotBytes, n));
        _deliveredLength[slot] = n;
        _deliveredTicks[slot] = nowTicks;
        _deliveredNext = slot + 1 == DeliveredHistory ? 0 : slot + 1;
    }

    /// <summary>
    /// The last packet delivered no later than <paramref name="atOrBeforeTicks"/> (null: the last one delivered); false
    /// when nothing was. When every remembered packet is later but older ones were forgotten, the oldest remembered:
    /// those after it are given back to the destination, the ones between the stop and it are lost, as they were
    /// before; never one the guest may have read. <paramref name="after"/>: how many remembered packets were delivered
    /// after the one named.
    /// </summary>
    public bool LastDelivered(long? atOrBeforeTicks, out DownlinkIdentity identity, out int after)
    {
        identity = default;
        after = 0;
        for (int i = 1; i <= DeliveredHistory; i++)
        {
            int slot = (_deliveredNext - i + DeliveredHistory) % DeliveredHistory;
            if (_deliveredLength[slot] == 0) return false; // nothing delivered before the stop
            if (i < DeliveredHistory && atOrBeforeTicks is { } at && _deliveredTicks[slot] > at) continue;
            identity = DownlinkIdentity.Of(_delivered.AsSpan(slot * DownlinkIdentity.SnapshotBytes, _deliveredLength[slot]));
            after = i - 1;
            return true;
        }
        return false;
    }
}

/// <summary>The data path's live-migration counters.</summary>
public sealed class HandoverDatapathCounters
{
    public long PreRegistrationsInstalled;
    /// <summary>Pre-registrations that got no buffer (all <see cref="MagDatapathOptions.HandoverBuffers"/> in use): their downlink is dropped until the VM arrives.</summary>
    public long BuffersUnavailable;
    /// <summary>Downlink packets held for a VM not here yet.</summary>
    public long Buffered;
    /// <summary>TCP super-frames that crossed the tunnel whole and were held as their segments (each counted in <see cref="Buffered"/>).</summary>
    public long SuperFramesSegmented;
    /// <summary>Held packets dropped to make room for newer ones.</summary>
    public long Evicted;
    /// <summary>Held packets dropped because the source had delivered them.</summary>
    public long TrimmedByMarker;
    /// <summary>Held packets dropped because no marker came in time (the source may have delivered them).</summary>
    public long DiscardedWithoutMarker;
    /// <summary>Held packets still there when a pre-registration ended without the VM.</summary>
    public long DroppedUnreleased;
    /// <summary>Held packets delivered to the VM after it arrived.</summary>
    public long Released;
    public readonly LabeledCounter<MarkerOutcome> MarkersApplied = new();
    /// <summary>Buffers released while their marker's packet had not been held yet: what they held went to the VM untrimmed.</summary>
    public long ReleasedWithMarkerPending;
    /// <summary>Source: packets delivered to a VM's port after the hypervisor's own time of its STOP (`port stopped --at`),
    /// before we heard of it: left out of the delivery marker, so the destination delivers them, as the stopped guest never read them.</summary>
    public long DeliveredAfterStop;
    public long MarkersWithoutBuffer;
    /// <summary>Sources: VMs that stopped for a migration's last copy, and resumed after it (the migration failed).</summary>
    public long Stops;
    public long Resumes;
    /// <summary>Sources: resumes taken from a frame of the VM after <see cref="MagDatapathOptions.StopGrace"/> (no RESUME from the hypervisor), and frames
    /// within it, forwarded as sent before the stop without resuming.</summary>
    public long ResumedByFrame;
    public long FramesFromStoppedVm;
    /// <summary>Sources: downlink held for a stopped VM, dropped for one (no free buffer), and thrown away once the VM ran elsewhere.</summary>
    public long HeldWhileStopped;
    public long DroppedWhileStopped;
    public long DiscardedAtSource;

    /// <summary>LMA: downlink packets copied to a pre-registered destination as well (bicast), and sent only to it (after the source stopped).</summary>
    public long BicastCopies;
    public long SwitchedToSecondary;
}
