using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Simulation;

// The data path stand-in's part in a live migration: downlink per port (deliver, hold, drop), the marker, the release.
public sealed partial class SimMag
{
    private readonly Dictionary<PortId, SimPortData> _portData = [];

    /// <summary>Frames per VM the stand-in's handover buffer holds (the oldest go first).</summary>
    public int HandoverBufferPackets { get; set; } = 4096;

    internal SimPortData PortData(PortId port)
    {
        if (!_portData.TryGetValue(port, out var d)) _portData.Add(port, d = new SimPortData(HandoverBufferPackets));
        return d;
    }

    internal bool HasPortData(PortId port, out SimPortData data) => _portData.TryGetValue(port, out data!);

    private SimDownlink? _stream;

    private void InstallPreRegistration(MagAction.InstallPreRegistration p)
    {
        Forwarding[p.Port] = new MagAction.InstallSession(p.Port, p.Mac, p.HomeNetworkPrefixes, p.LocalMobilityAnchor, p.Ipv4);
        var d = PortData(p.Port);
        d.Mode = SimPortData.DeliveryMode.Buffering;
        DiscardBuffered(d.Buffer.Select(e => e.Packet));
        d.Buffer.Clear();
    }

    private void Release(MagAction.ReleaseBuffer r)
    {
        if (!_portData.TryGetValue(r.Port, out var d)) return;
        if (r.DiscardBeforeActivation)
        {
            DiscardBuffered(d.Buffer.Where(e => !e.AfterArrival).Select(e => e.Packet));
            d.Buffer.RemoveAll(e => !e.AfterArrival);
        }
        d.Mode = SimPortData.DeliveryMode.Forwarding;
        foreach (var (packet, _) in d.Buffer) DeliverToPort(r.Port, d, packet);
        d.Buffer.Clear();
    }

    private void DiscardBuffered(IEnumerable<byte[]> packets)
    {
        if (_stream is not { } stream) return;
        foreach (var p in packets) stream.DiscardedFromBuffer.Add(SimDownlink.Number(p));
    }

    private void DeliverToPort(PortId port, SimPortData d, byte[] packet)
    {
        d.LastDelivered = packet;
        var stream = _stream;
        _domain.Sim.Schedule(_domain.Options.AccessDelay, () => stream?.Deliver(this, port, packet));
    }

    /// <summary>A downlink packet from the LMA: to the port whose installed prefixes hold its destination.</summary>
    internal void OnDownlink(SimDownlink stream, byte[] packet)
    {
        _stream = stream;
        if (!Ipv6Packet.TryCreate(packet, out var ip, out _)) return;
        var destination = ip.Destination;
        foreach (var (port, install) in Forwarding)
        {
            if (!install.HomeNetworkPrefixes.Any(p => p.Contains(destination))) continue;
            var d = PortData(port);
            switch (d.Mode)
            {
                case SimPortData.DeliveryMode.Forwarding:
                    DeliverToPort(port, d, packet);
                    break;
                case SimPortData.DeliveryMode.Buffering:
                    if (d.Hold(packet) is { } evicted) stream.DiscardedFromBuffer.Add(SimDownlink.Number(evicted));
                    break;
                case SimPortData.DeliveryMode.Stopped:
                    // Held for the stopped VM, in case it runs here again (as MagDatapath does).
                    if (d.Hold(packet) is { } pushedOut) stream.DroppedAtStoppedPort.Add(SimDownlink.Number(pushedOut));
                    break;
            }
            return;
        }
        stream.NoSessionAtMag.Add(SimDownlink.Number(packet));
    }

    /// <summary>The hypervisor's listener: the VM on <paramref name="port"/> stopped (QEMU's STOP). False when the machine did not take it.</summary>
    public bool PortStopped(PortId port)
    {
        if (!_portData.TryGetValue(port, out var d) || d.Mode != SimPortData.DeliveryMode.Forwarding || !Forwarding.ContainsKey(port)) return false;
        d.Mode = SimPortData.DeliveryMode.Stopped;
        Deliver(new MagEvent.VmStopped(port, d.Marker));
        if (Machine.TryGetSession(port, out var s) && s.Migration == MigrationPhase.VmStopped) return true;
        d.Mode = SimPortData.DeliveryMode.Forwarding;
        return false;
    }

    /// <summary>The VM on <paramref name="port"/> runs again after a stop (the migration failed).</summary>
    public void PortResumed(PortId port)
    {
        if (!_portData.TryGetValue(port, out var d) || d.Mode != SimPortData.DeliveryMode.Stopped) return;
        // What was held while it was stopped first, in order.
        d.Mode = SimPortData.DeliveryMode.Forwarding;
        foreach (var (packet, _) in d.Buffer) DeliverToPort(port, d, packet);
        d.Buffer.Clear();
        Deliver(new MagEvent.VmResumed(port));
    }

    /// <summary>The VM's first frame on a pre-registered port: what the buffer gets from now on came after it.</summary>
    internal void NoteArrival(PortId port)
    {
        if (_portData.TryGetValue(port, out var d)) d.Arrived = true;
    }
}
