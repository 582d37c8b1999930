using DataPlane.Datapath;
using DataPlane.Host.Capture;
using DataPlane.Linux;
using DataPlane.Wire;

namespace DataPlane.Host.Runtime;

/// <summary>
/// RFC 5844's IPv4-over-IPv6 on the send side: a tunnel-bound batch may hold IPv4 packets (outer next header 4)
/// beside IPv6 ones (41). With the raw uplink (no <paramref name="packetUplink"/>) the IPv6 slots go on to the
/// daemon's uplink and the IPv4 slots leave by the protocol-4 raw socket. With the packet uplink, an IPv4 slot goes
/// by the uplink too (its AF_PACKET sender writes next header 4, keeps the slot's offload metadata: a TCPv4
/// super-frame leaves whole, a partial checksum stays partial) wherever an AF_PACKET sender has the peer's header;
/// the protocol-4 socket keeps what only it can send: IPv4 to a peer whose next hop is not resolved yet (the raw
/// protocol-41 fallback would label it 41), and an oversize inner packet without DF (longer than the tunnel MTU,
/// RFC 2473 §7.2(b)), whose tunnel packet the kernel fragments on that socket's send. A flow is one IP version and
/// one peer, so splitting a batch reorders nothing within a flow, except that such an oversize packet may leave
/// after the flow's later small ones of the same batch. Captures of the uplink see the IPv4 packets with next
/// header 4. Nothing is allocated per packet.
/// </summary>
public sealed class Ipv4TunnelSink(ITunnelSink ipv6, ITunnelSink ipv4, ITunnelOffloads? packetUplink = null, int tunnelMtu = int.MaxValue) : ITunnelSink
{
    private readonly int[] _v6 = new int[Configuration.DataplaneConfig.MaxBatchSize];
    private readonly int[] _v4 = new int[Configuration.DataplaneConfig.MaxBatchSize];

    /// <summary>IPv4 packets sent into the tunnel by the protocol-4 raw socket (its own counters have the details).</summary>
    public long Ipv4Packets { get; private set; }

    /// <summary>IPv4 packets sent into the tunnel by the packet uplink (with next header 4).</summary>
    public long Ipv4PacketUplinkPackets { get; private set; }

    /// <summary>Whether an IPv4 slot leaves by the protocol-4 raw socket rather than the uplink (see the class).</summary>
    private bool ViaRawSocket(PacketBatch batch, int slot)
    {
        ref var meta = ref batch.Meta(slot);
        if (packetUplink is not null && (meta.Vnet.IsGso || meta.Length <= tunnelMtu) && packetUplink.CompletesChecksums(meta.Destination))
        {
            Ipv4PacketUplinkPackets++;
            return false;
        }
        // The raw socket carries no virtio-net header. The data path completes checksums for this way already (it asks
        // the same question); a partial one left here, were the peer's header gone in between, is completed.
        if (meta.Vnet.NeedsChecksum && !meta.Vnet.IsGso)
        {
            var frame = batch.Frame(slot);
            ChecksumCompletion.TryComplete(frame, frame.Length, Offloads.From(meta.Vnet), Ipv4Packet.MinHeaderLength);
            meta.Vnet = default;
        }
        return true;
    }

    public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        while (slots.Length > _v6.Length)
        {
            Send(batch, slots[.._v6.Length]);
            slots = slots[_v6.Length..];
        }
        int n6 = 0, n4 = 0;
        foreach (int slot in slots)
        {
            var frame = batch.Frame(slot);
            if (frame.Length > 0 && frame[0] >> 4 == 4 && ViaRawSocket(batch, slot)) _v4[n4++] = slot;
            else _v6[n6++] = slot;
        }
        if (n4 == 0)
        {
            ipv6.Send(batch, slots);
            return;
        }
        if (n6 > 0) ipv6.Send(batch, _v6.AsSpan(0, n6));
        SendIpv4(batch, _v4.AsSpan(0, n4));
    }

    /// <summary>Slots [0, <paramref name="count"/>): the segments of super-frames, copied into the transmit batch.</summary>
    public void Send(PacketBatch batch, int count)
    {
        // A transmit batch holds at most MaxBatchSize slots (DataplaneConfig), as the split buffers do.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _v6.Length);
        int n6 = 0, n4 = 0;
        for (int slot = 0; slot < count; slot++)
        {
            var frame = batch.Frame(slot);
            if (frame.Length > 0 && frame[0] >> 4 == 4 && ViaRawSocket(batch, slot)) _v4[n4++] = slot;
            else _v6[n6++] = slot;
        }
        if (n4 == 0)
        {
            ipv6.Send(batch, count);
            return;
        }
        if (n6 > 0) ipv6.Send(batch, _v6.AsSpan(0, n6));
        SendIpv4(batch, _v4.AsSpan(0, n4));
    }

    private void SendIpv4(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        ipv4.Send(batch, slots);
        Ipv4Packets += slots.Length;
    }
}

/// <summary>A raw tunnel socket (the protocol-4 one) as a sink, copying what it sends to the uplink's captures first.</summary>
public sealed class RawTunnelSink(RawIpv6Socket socket, Ipv6Address source, Func<CaptureTap[]?> captures, Func<long> unixMicros) : ITunnelSink
{
    public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        if (captures() is { } taps) Taps.TunnelSlots(taps, batch, slots, source, unixMicros());
        socket.Send(batch, slots);
    }

    public void Send(PacketBatch batch, int count)
    {
        if (captures() is { } taps) Taps.TunnelRange(taps, batch, count, source, unixMicros());
        socket.Send(batch, 0, count);
    }
}
