using DataPlane.Host.Capture;
using DataPlane.Linux;
using DataPlane.Wire;

namespace DataPlane.Host.Runtime;

/// <summary>
/// RFC 5844's IPv4-over-IPv6 on the send side: a tunnel-bound batch may hold IPv4 packets (outer next header 4)
/// beside IPv6 ones (41). The IPv6 slots go on to the daemon's uplink as before; the IPv4 slots leave by the
/// protocol-4 raw socket, which also fragments an oversize tunnel packet whose inner packet allows it (RFC 2473
/// §7.2(b)). A flow is one IP version, so splitting a batch reorders nothing within a flow. Captures of the
/// uplink see the IPv4 packets with next header 4. Nothing is allocated per packet.
/// </summary>
public sealed class Ipv4TunnelSink(ITunnelSink ipv6, ITunnelSink ipv4) : ITunnelSink
{
    private readonly int[] _v6 = new int[Configuration.DataplaneConfig.MaxBatchSize];
    private readonly int[] _v4 = new int[Configuration.DataplaneConfig.MaxBatchSize];

    /// <summary>IPv4 packets sent into the tunnel (the protocol-4 socket's own counters have the details).</summary>
    public long Ipv4Packets { get; private set; }

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
            if (frame.Length > 0 && frame[0] >> 4 == 4) _v4[n4++] = slot;
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
            if (frame.Length > 0 && frame[0] >> 4 == 4) _v4[n4++] = slot;
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
