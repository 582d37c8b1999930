using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// A destination's handover buffer: bounded in bytes and frames, oldest out first, order kept across its byte ring's
/// wrap, whole Ethernet frames to the VM, the source's marker trimming exactly what it delivered, and what came
/// before the VM dropped when no marker came.
/// </summary>
public class HandoverBufferTests
{
    private static readonly MacAddress Vm = MagFixture.VmMac;
    private static readonly MacAddress Shared = MagFixture.SharedMac;

    private static byte[] Numbered(int n, int payload = 8)
    {
        var p = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: Math.Max(4, payload));
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength), n);
        return p;
    }

    private static int Number(ReadOnlySpan<byte> frame) =>
        BinaryPrimitives.ReadInt32BigEndian(frame[(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength)..]);

    private static List<int> Held(HandoverBuffer b) => [.. Enumerable.Range(0, b.Count).Select(i => Number(b.Frame(i)))];

    [Fact]
    public void Frames_come_out_whole_and_in_order()
    {
        var b = new HandoverBuffer(64 << 10, 64);
        for (int n = 0; n < 10; n++) Assert.True(b.TryAdd(Numbered(n), Vm, Shared));
        Assert.Equal(Enumerable.Range(0, 10), Held(b));
        var frame = b.Frame(3);
        Assert.True(EthernetFrame.TryCreate(frame.ToArray(), out var eth, out _));
        Assert.Equal((Vm, Shared, EtherType.Ipv6), (eth.Destination, eth.Source, eth.EtherType));
        Assert.Equal(Numbered(3), frame[EthernetFrame.HeaderLength..].ToArray());
        Assert.Equal(10 * (EthernetFrame.HeaderLength + Numbered(0).Length), b.Bytes);
    }

    [Fact]
    public void Over_its_frame_bound_the_oldest_go_first()
    {
        var b = new HandoverBuffer(64 << 10, 16);
        for (int n = 0; n < 40; n++) b.TryAdd(Numbered(n), Vm, Shared);
        Assert.Equal(Enumerable.Range(24, 16), Held(b));
        Assert.Equal(24, b.Evicted);
    }

    /// <summary>Random sizes around the byte ring many times over: what is held is always the newest frames, in order, intact, within the bound.</summary>
    [Fact]
    public void Over_its_byte_bound_the_ring_wraps_and_keeps_the_newest_in_order()
    {
        var random = new Random(5);
        var b = new HandoverBuffer(8192, 1024);
        var added = new List<byte[]>();
        for (int n = 0; n < 3000; n++)
        {
            var p = Numbered(n, random.Next(4, 1400));
            Assert.True(b.TryAdd(p, Vm, Shared));
            added.Add(p);
            Assert.True(b.Bytes <= b.CapacityBytes);
            int count = b.Count;
            Assert.True(count >= 1);
            for (int i = 0; i < count; i++)
                Assert.Equal(added[added.Count - count + i], b.Frame(i)[EthernetFrame.HeaderLength..].ToArray());
        }
        Assert.Equal(3000 - b.Count, b.Evicted);
        Assert.False(b.TryAdd(new byte[8192], Vm, Shared)); // larger than the whole buffer
    }

    [Fact]
    public void The_marker_trims_up_to_the_packet_the_source_delivered_last()
    {
        var b = new HandoverBuffer(64 << 10, 64);
        for (int n = 0; n < 10; n++) b.TryAdd(Numbered(n), Vm, Shared);
        var marker = new DeliveryMarker(true, DownlinkIdentity.Of(Numbered(6)));
        Assert.Equal(MarkerOutcome.Found, b.ApplyMarker(marker));
        Assert.Equal([7, 8, 9], Held(b));
        Assert.Equal(7, b.Trimmed);
        // A marker the buffer never held (older than it): everything held is newer and stays.
        Assert.Equal(MarkerOutcome.NotFound, b.ApplyMarker(new DeliveryMarker(true, DownlinkIdentity.Of(Numbered(1000)))));
        Assert.Equal(MarkerOutcome.NothingDelivered, b.ApplyMarker(DeliveryMarker.None));
        Assert.Equal([7, 8, 9], Held(b));
    }

    /// <summary>A datagram shaped as the probe's: the same leading 24 payload bytes for every one, a 64-bit sequence number at 20..27.</summary>
    private static byte[] ProbeShaped(int n)
    {
        var p = TestFrames.Ipv6Udp(MagFixture.Client, MagFixture.VmAddress, payload: 52);
        "DATAPLANE-PROBE"u8.CopyTo(p.AsSpan(Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength));
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + 20), (ulong)n);
        return p;
    }

    private static List<int> HeldProbes(HandoverBuffer b) =>
        [.. Enumerable.Range(0, b.Count).Select(i => (int)BinaryPrimitives.ReadUInt64BigEndian(b.Frame(i)[(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + 20)..]))];

    [Fact]
    public void The_marker_trims_exactly_to_its_packet_among_datagrams_that_differ_only_deep_in_their_payload()
    {
        // The end-to-end paused migration lost probes 13-16: the source delivered up to 12, but every probe had one
        // identity, so the marker matched the newest probe held (16) and the destination dropped 13-16 as delivered.
        var b = new HandoverBuffer(64 << 10, 64);
        for (int n = 8; n <= 16; n++) b.TryAdd(ProbeShaped(n), Vm, Shared);
        Assert.Equal(MarkerOutcome.Found, b.ApplyMarker(new DeliveryMarker(true, DownlinkIdentity.Of(ProbeShaped(12)))));
        Assert.Equal([13, 14, 15, 16], HeldProbes(b));
        // The same when the marker overtook its packet's copy: matched by that copy, not by the first probe added.
        var late = new HandoverBuffer(64 << 10, 64);
        for (int n = 8; n <= 10; n++) late.TryAdd(ProbeShaped(n), Vm, Shared);
        Assert.Equal(MarkerOutcome.NotFound, late.ApplyMarker(new DeliveryMarker(true, DownlinkIdentity.Of(ProbeShaped(12)))));
        for (int n = 11; n <= 16; n++) late.TryAdd(ProbeShaped(n), Vm, Shared);
        Assert.Equal([13, 14, 15, 16], HeldProbes(late));
    }

    [Fact]
    public void A_marker_that_overtook_its_packets_copy_trims_when_the_copy_comes()
    {
        // Found on a loaded host: the relayed notice was read before the tunnel packets queued ahead of it, so the
        // marker's packet (6) was not held yet; keeping 4..6 would deliver them twice.
        var b = new HandoverBuffer(64 << 10, 64);
        for (int n = 0; n < 4; n++) b.TryAdd(Numbered(n), Vm, Shared);
        Assert.Equal(MarkerOutcome.NotFound, b.ApplyMarker(new DeliveryMarker(true, DownlinkIdentity.Of(Numbered(6)))));
        Assert.Equal([0, 1, 2, 3], Held(b));
        for (int n = 4; n < 10; n++) b.TryAdd(Numbered(n), Vm, Shared);
        Assert.Equal([7, 8, 9], Held(b));
        Assert.Equal((7L, 1L), (b.Trimmed, b.LateMarkerMatches));
        // Matched once: a later copy of the same packet is just held.
        b.TryAdd(Numbered(6), Vm, Shared);
        Assert.Equal([7, 8, 9, 6], Held(b));
    }

    [Fact]
    public void A_tcp_marker_inside_a_differently_merged_unit_keeps_that_unit()
    {
        var b = new HandoverBuffer(64 << 10, 64);
        var merged = TestFrames.TcpSuperFrame(ipv6: true, payload: 2800, TcpFlags.Ack, sequence: 1000);
        var unit = merged.AsSpan(EthernetFrame.HeaderLength).ToArray();
        b.TryAdd(Numbered(1), Vm, Shared);
        b.TryAdd(unit, Vm, Shared);
        // The source delivered a unit that ended in the middle of this one: its bytes after the marker must still go.
        var delivered = DownlinkIdentity.Of(unit);
        var halfway = delivered with { SequenceEnd = delivered.SequenceStart + 1400 };
        Assert.Equal(MarkerOutcome.Found, b.ApplyMarker(new DeliveryMarker(true, halfway)));
        Assert.Equal(1, b.Count);
        Assert.Equal(unit, b.Frame(0)[EthernetFrame.HeaderLength..].ToArray());
        // Ending exactly where the unit ends: it goes too.
        Assert.Equal(MarkerOutcome.Found, b.ApplyMarker(new DeliveryMarker(true, delivered)));
        Assert.Equal(0, b.Count);
    }

    [Fact]
    public void Without_a_marker_what_came_before_the_vm_is_dropped()
    {
        var b = new HandoverBuffer(64 << 10, 64);
        for (int n = 0; n < 5; n++) b.TryAdd(Numbered(n), Vm, Shared);
        b.MarkActivation();
        for (int n = 5; n < 8; n++) b.TryAdd(Numbered(n), Vm, Shared);
        Assert.Equal(5, b.DiscardBeforeActivation());
        Assert.Equal([5, 6, 7], Held(b));
        Assert.Equal(5, b.Discarded);
    }

    [Fact]
    public void The_pool_lends_at_most_its_capacity_and_reuses_what_comes_back()
    {
        var pool = new HandoverBufferPool(2, 64 << 10, 64);
        var a = pool.Rent()!;
        var b = pool.Rent()!;
        Assert.Null(pool.Rent());
        a.TryAdd(Numbered(1), Vm, Shared);
        pool.Return(a);
        var c = pool.Rent();
        Assert.Same(a, c);
        Assert.Equal(0, c!.Count);
        Assert.Equal(2, pool.InUse);
        pool.Return(b);
        pool.Return(c);
        Assert.Equal(0, pool.InUse);
    }
}
