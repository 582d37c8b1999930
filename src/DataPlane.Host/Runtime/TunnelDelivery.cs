using DataPlane.Datapath;
using DataPlane.Linux;

namespace DataPlane.Host.Runtime;

/// <summary>
/// The packets of one tunnel batch on their way out to the VMs' ports (MAG) or the home device (LMA), with
/// receive offload (`dataplane.receiveOffload`): what comes out of a tunnel is MSS-sized, since the far end cut
/// the super-frame (there is no IP-in-IP GSO type), so consecutive TCP segments of a flow are merged back into
/// one super-frame in the slot of the first (<see cref="TcpCoalescer"/>) and leave with a GSO vnet header; the
/// receiving kernel then takes one packet instead of dozens. Every output must have a vnet header (all ports
/// and the home TUN are opened with one). Allocation-free: entries are pre-allocated per batch.
/// </summary>
public sealed class TunnelDelivery
{
    /// <summary>A tunnel receive slot when receive offload is on: a whole super-frame (64 KiB) and headroom.</summary>
    public const int SuperFrameSlot = 65536 + 256;

    private readonly TcpCoalescer? _coalescer;
    private readonly CoalesceEntry[] _entries;
    private int _count;

    /// <param name="linkHeaderLength">14 for Ethernet frames (MAG), 0 for IPv6 packets (LMA's TUN).</param>
    public TunnelDelivery(int linkHeaderLength, bool receiveOffload, int batchSize)
    {
        _coalescer = receiveOffload ? new TcpCoalescer(linkHeaderLength) : null;
        _entries = new CoalesceEntry[batchSize];
    }

    public bool ReceiveOffload => _coalescer is not null;

    /// <summary>Segments merged into an earlier one, and super-frames delivered (0 when off).</summary>
    public long SegmentsMerged => _coalescer?.SegmentsMerged ?? 0;

    public long SuperFrames => _coalescer?.SuperFrames ?? 0;

    /// <summary>A forwarded packet at <paramref name="offset"/>/<paramref name="length"/> of slot <paramref name="slot"/>, for output
    /// <paramref name="tag"/>, with the offload metadata it is to leave with (a super-frame that crossed the tunnel whole, a partial checksum).</summary>
    public void Add(int slot, int offset, int length, int tag, in OffloadInfo offload = default) =>
        _entries[_count++] = new CoalesceEntry(slot, offset, length, tag, offload);

    /// <summary>
    /// Merge what can be merged, set every frame to send (bytes and vnet header) in <paramref name="rx"/>, and
    /// return the entries in sending order; those with <see cref="CoalesceEntry.Segments"/> 0 were merged away.
    /// </summary>
    public ReadOnlySpan<CoalesceEntry> Finish(PacketBatch rx)
    {
        var entries = _entries.AsSpan(0, _count);
        _count = 0;
        _coalescer?.Coalesce(new BatchSlots(rx), entries);
        foreach (ref var e in entries)
        {
            if (e.Segments == 0) continue;
            rx.SetFrame(e.Slot, e.Offset, e.Length);
            rx.Meta(e.Slot).Vnet = Offloads.ToVirtio(e.Offload); // none for a frame sent as it came
        }
        return entries;
    }

    /// <summary>A batch's slots as the coalescer sees them (a struct: the generic call is specialised, nothing boxed).</summary>
    private readonly struct BatchSlots(PacketBatch batch) : IFrameSlots
    {
        public Span<byte> Slot(int slot) => batch.Slot(slot);
    }
}
