using DataPlane.Host.Capture;
using DataPlane.Linux;
using DataPlane.Wire;

namespace DataPlane.Host.Runtime;

/// <summary>
/// A daemon's tunnel uplink (raw socket or AF_PACKET, `dataplane.uplink`) as its loops' <see cref="ITunnelSink"/>,
/// copying what it sends to the uplink's captures first (with the outer source the daemon sends from). Shared by
/// the MAG and the LMA; the captures are read per send because `ctl capture` starts and stops them at any time.
/// </summary>
public sealed class CapturingUplinkSink(TunnelUplink uplink, Ipv6Address source, Func<CaptureTap[]?> captures, Func<long> unixMicros) : ITunnelSink
{
    public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        if (captures() is { } taps) Taps.TunnelSlots(taps, batch, slots, source, unixMicros());
        uplink.Send(batch, slots);
    }

    public void Send(PacketBatch batch, int count)
    {
        if (captures() is { } taps) Taps.TunnelRange(taps, batch, count, source, unixMicros());
        uplink.Send(batch, count);
    }
}
