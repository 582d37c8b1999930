using DataPlane.Linux;
using DataPlane.Wire;

namespace DataPlane.Host.Capture;

/// <summary>
/// One running capture (`dataplane ctl capture TARGET`): what it watches, its link type, and the ring the
/// packet loop copies frames into. The loop reaches it only through the per-target arrays the daemon keeps on
/// its ports and uplink (null when nothing is captured, so an idle switch pays one null check per batch).
/// </summary>
public sealed class CaptureTap(string target, PcapLinkType linkType, int ringBytes)
{
    public const int DefaultRingBytes = 4 << 20;

    public string Target { get; } = target;

    /// <summary>Ethernet for access ports; raw IPv6 (a synthesized outer header) for the uplink and the LMA's home side.</summary>
    public PcapLinkType LinkType { get; } = linkType;

    public CaptureRing Ring { get; } = new(ringBytes);

    public DateTime StartedAt { get; } = DateTime.UtcNow;
}

/// <summary>
/// The packet loop's side of capturing: copy frames into every tap of a target. Called once per batch (or per
/// control frame) and only when the target has taps; copies, never allocates, never waits.
/// </summary>
public static class Taps
{
    /// <summary>Every received frame of a batch (slots 0..count), as received, before the data path touches it.</summary>
    public static void Batch(CaptureTap[] taps, PacketBatch batch, int count, CaptureDirection direction, long unixMicros)
    {
        for (int i = 0; i < count; i++) Frame(taps, batch.Frame(i), direction, unixMicros);
    }

    /// <summary>The listed slots of a batch, as they are about to be sent.</summary>
    public static void Slots(CaptureTap[] taps, PacketBatch batch, ReadOnlySpan<int> slots, CaptureDirection direction, long unixMicros)
    {
        foreach (int i in slots) Frame(taps, batch.Frame(i), direction, unixMicros);
    }

    public static void Frame(CaptureTap[] taps, ReadOnlySpan<byte> frame, CaptureDirection direction, long unixMicros)
    {
        foreach (var tap in taps) tap.Ring.TryWrite(unixMicros, direction, frame);
    }

    /// <summary>
    /// A packet whose IPv6 header the kernel keeps (raw sockets deliver a tunnelled packet's inner packet and a
    /// Mobility Header without their outer header): recorded behind a synthesized header with the real
    /// addresses and next header, hop limit 64, so tshark dissects it as it was on the wire.
    /// </summary>
    public static void Ipv6(CaptureTap[] taps, Ipv6Address source, Ipv6Address destination, IpProtocol nextHeader, ReadOnlySpan<byte> payload,
        CaptureDirection direction, long unixMicros)
    {
        if (payload.Length > ushort.MaxValue) return;
        Span<byte> header = stackalloc byte[Ipv6Packet.HeaderLength];
        Ipv6Packet.WriteHeader(header, source, destination, nextHeader, payload.Length);
        foreach (var tap in taps) tap.Ring.TryWrite(unixMicros, direction, header, payload);
    }

    /// <summary>The outer next header of a tunnelled packet: 4 for IPv4 inside (RFC 5844's IPv4-over-IPv6), 41 for IPv6.</summary>
    public static IpProtocol TunnelNextHeader(ReadOnlySpan<byte> inner) =>
        inner.Length > 0 && inner[0] >> 4 == 4 ? IpProtocol.IpInIp : IpProtocol.Ipv6;

    /// <summary>Inner packets received from the tunnel (outer addresses from the socket's metadata).</summary>
    public static void TunnelBatch(CaptureTap[] taps, PacketBatch batch, int count, CaptureDirection direction, long unixMicros)
    {
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref batch.Meta(i);
            Ipv6(taps, meta.Source, meta.Destination, TunnelNextHeader(batch.Frame(i)), batch.Frame(i), direction, unixMicros);
        }
    }

    /// <summary>Inner packets about to be sent into the tunnel from <paramref name="source"/> (each slot's Destination is the peer).</summary>
    public static void TunnelSlots(CaptureTap[] taps, PacketBatch batch, ReadOnlySpan<int> slots, Ipv6Address source, long unixMicros)
    {
        foreach (int i in slots) Ipv6(taps, source, batch.Meta(i).Destination, TunnelNextHeader(batch.Frame(i)), batch.Frame(i), CaptureDirection.Tx, unixMicros);
    }

    /// <summary>Slots [0, count) about to be sent into the tunnel.</summary>
    public static void TunnelRange(CaptureTap[] taps, PacketBatch batch, int count, Ipv6Address source, long unixMicros)
    {
        for (int i = 0; i < count; i++) Ipv6(taps, source, batch.Meta(i).Destination, TunnelNextHeader(batch.Frame(i)), batch.Frame(i), CaptureDirection.Tx, unixMicros);
    }
}
