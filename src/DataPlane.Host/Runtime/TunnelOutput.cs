using DataPlane.Datapath;
using DataPlane.Linux;
using DataPlane.Wire;

namespace DataPlane.Host.Runtime;

/// <summary>Where a packet loop's tunnel-bound packets go: the protocol-41 socket (with captures) in a daemon, a recorder in tests.</summary>
public interface ITunnelSink
{
    /// <summary>Send the listed slots of <paramref name="batch"/>, in that order (each slot's Destination is the peer).</summary>
    void Send(PacketBatch batch, ReadOnlySpan<int> slots);

    /// <summary>Send slots [0, <paramref name="count"/>) of <paramref name="batch"/>, in that order.</summary>
    void Send(PacketBatch batch, int count);
}

/// <summary>
/// Sends the tunnel-bound output of received batches in arrival order, whatever mix of ordinary frames and GSO
/// super-frames they hold. Ordinary frames leave from their receive slot (gathered as slot numbers); the
/// segments of a super-frame are copied out of the data path's <see cref="SegmentPool"/> into a transmit
/// batch, and the pool is emptied at once, so a batch of 64 KB super-frames never exhausts it (it only has
/// to hold one super-frame). Whenever the kind of output changes, what is gathered of the other kind is sent
/// first: a segment never overtakes a frame the VM sent before it, nor the other way round (TCP takes a
/// reordering as loss and slows down). Runs of one kind still leave in one <c>sendmmsg</c>.
/// </summary>
public sealed class TunnelOutput(ITunnelSink sink, PacketBatch tx)
{
    private readonly int[] _slots = new int[1024];
    private PacketBatch? _rx;
    private int _gathered;
    private int _copied;

    /// <summary>Forward slot <paramref name="slot"/> of <paramref name="rx"/> as its metadata says (frame set, Destination the peer).</summary>
    public void Forward(PacketBatch rx, int slot)
    {
        if (_copied > 0) SendCopied();
        if (_rx != rx && _gathered > 0) SendGathered();
        if (_gathered == _slots.Length) SendGathered();
        _rx = rx;
        _slots[_gathered++] = slot;
    }

    /// <summary>
    /// Slot <paramref name="slot"/>, just forwarded, once more to <paramref name="peer"/> (<see cref="Verdict.HasTunnelCopy"/>:
    /// a live migration's bicast of a super-frame kept whole). A slot carries one destination, so what is gathered,
    /// this slot included, is sent first; the senders restore the slot after each send, so it goes out again as it came.
    /// </summary>
    public void ForwardCopy(PacketBatch rx, int slot, Ipv6Address peer)
    {
        SendGathered();
        rx.Meta(slot).Destination = peer;
        Forward(rx, slot);
    }

    /// <summary>The forwarded segments of a <see cref="VerdictKind.Segmented"/> verdict, then the pool is free again.</summary>
    public void Segments(in Verdict v, SegmentPool pool)
    {
        if (_gathered > 0) SendGathered();
        int end = v.FirstSegment + v.SegmentCount;
        for (int s = v.FirstSegment; s < end; s++)
        {
            var sv = pool.VerdictOf(s);
            if (sv.Kind != VerdictKind.ToTunnel) continue;
            if (_copied == tx.Capacity) SendCopied();
            tx.Reset(_copied);
            pool.Buffer(s).Slice(sv.Offset, sv.Length).CopyTo(tx.Slot(_copied)[tx.Headroom..]);
            tx.SetFrame(_copied, tx.Headroom, sv.Length);
            tx.Meta(_copied).Destination = sv.TunnelDestination;
            tx.Meta(_copied).Vnet = Offloads.ToVirtio(sv.Offload); // a partial checksum, where the path completes it
            _copied++;
        }
        // Copied out: nothing refers to the pool any more (a super-frame is cut whole or dropped whole).
        if (end == pool.Count) pool.Clear();
    }

    /// <summary>Send everything gathered (at the end of each received batch, before its slots are reused).</summary>
    public void Flush()
    {
        if (_gathered > 0) SendGathered();
        if (_copied > 0) SendCopied();
    }

    private void SendGathered()
    {
        sink.Send(_rx!, _slots.AsSpan(0, _gathered));
        _gathered = 0;
    }

    private void SendCopied()
    {
        sink.Send(tx, _copied);
        _copied = 0;
    }
}
