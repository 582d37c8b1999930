using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// Where the coalescer finds the bytes of a host slot. Implement it on a small struct over the host's
/// batch (the generic call is specialised, so nothing is boxed or allocated).
/// </summary>
public interface IFrameSlots
{
    /// <summary>The whole slot <paramref name="slot"/>: frames sit inside it at their entry's offset, and a
    /// coalesced frame grows towards its end.</summary>
    Span<byte> Slot(int slot);
}

/// <summary>
/// One forwarded frame handed to <see cref="TcpCoalescer.Coalesce{TSlots}"/>, in the order the host would
/// send it. On return, <see cref="Segments"/> says what became of it.
/// </summary>
public struct CoalesceEntry
{
    /// <summary>The host's slot holding the frame.</summary>
    public int Slot;
    /// <summary>Where the frame (link header included) starts in the slot.</summary>
    public int Offset;
    /// <summary>Frame length; grows when later segments are appended to it.</summary>
    public int Length;
    /// <summary>A host-chosen output (the MAG's port number; 0 for the LMA's home device): frames with
    /// different tags never merge.</summary>
    public int Tag;
    /// <summary>
    /// In: the offload metadata the frame came with (offsets from the frame's first byte): a GSO super-frame that
    /// crossed the tunnel whole is passed on as it is, never merged; a partial checksum (NEEDS_CSUM) or one the
    /// kernel verified (DATA_VALID) is trusted as the kernel trusts it, not summed again. Out: for a frame that now
    /// carries more than one segment, the GSO descriptor to send it with (GSO TCPv6, gso_size, partial checksum);
    /// otherwise what it came with.
    /// </summary>
    public OffloadInfo Offload;
    /// <summary>Out: 0 = merged into an earlier frame (do not send it); 1 = send as it is; n &gt; 1 = a
    /// super-frame of n segments (send it with <see cref="Offload"/>).</summary>
    public int Segments;

    public CoalesceEntry(int slot, int offset, int length, int tag = 0) : this(slot, offset, length, tag, OffloadInfo.None)
    {
    }

    public CoalesceEntry(int slot, int offset, int length, int tag, in OffloadInfo offload)
    {
        Slot = slot;
        Offset = offset;
        Length = length;
        Tag = tag;
        Offload = offload;
        Segments = 1;
    }
}

/// <summary>
/// Receive offload in userspace (what the kernel's GRO does for a NIC, and what userspace WireGuard
/// implementations do before writing to their TUN): consecutive in-order TCP/IPv6 segments of one flow in a
/// batch are appended, payload only, to the first of them, which then goes out as one GSO TCPv6 super-frame
/// (a virtio-net header with gso_size and a partial checksum) on a TUN/TAP with IFF_VNET_HDR or an AF_PACKET
/// port with PACKET_VNET_HDR. The kernel then forwards and delivers one packet instead of dozens (and cuts it
/// again only where a device cannot take it whole). Allocation-free; one instance per packet loop.
/// </summary>
/// <remarks>
/// The rules follow Linux's tcp_gro_receive: only IPv6 with TCP as the very next header (no extension headers);
/// the same addresses, ports, traffic class, flow label, hop limit, TCP header length, options (byte for byte),
/// acknowledgment number and window; the sequence number exactly continues the super-frame; flags ACK only,
/// except PSH on the last segment; every segment but the last exactly gso_size (the first one's payload) long;
/// at most 64 KiB of IPv6 payload and what the slot can hold. Each segment's TCP checksum is verified before it
/// is merged (the super-frame's own becomes a partial one the receiver does not check again), so a corrupted
/// segment is passed on alone for its receiver to drop, as the kernel would; one that came with a partial checksum
/// (NEEDS_CSUM) or a verified one (DATA_VALID) is trusted as the kernel trusts it, and one that came as a super-frame
/// is not touched. A frame of a flow that cannot be
/// merged (a pure ACK, FIN, out of order) closes that flow's super-frame, so the order within a flow is kept;
/// frames of different flows may change places only with the earlier super-frame they would have followed.
/// </remarks>
public sealed class TcpCoalescer
{
    private const int Ipv6HeaderLength = 40;
    private const int MaxIpv6Payload = 65535;
    private const byte ProtocolTcp = 6;
    private const byte FlagAck = 0x10;
    private const byte FlagPsh = 0x08;

    private readonly int _linkHeaderLength;
    private readonly int _maxSegments;
    private readonly Flow[] _flows;
    private int _flowCount;

    /// <param name="linkHeaderLength">Bytes in front of the IPv6 header of every frame: 0 for a TUN device, 14 for Ethernet.</param>
    /// <param name="maxFlows">Super-frames kept open at once in one batch; a further flow passes through uncoalesced.</param>
    /// <param name="maxSegments">Most segments in one super-frame (the kernel's own GRO stops at 64 KiB too).</param>
    public TcpCoalescer(int linkHeaderLength, int maxFlows = 16, int maxSegments = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(linkHeaderLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFlows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegments, 2);
        _linkHeaderLength = linkHeaderLength;
        _maxSegments = maxSegments;
        _flows = new Flow[maxFlows];
    }

    public int LinkHeaderLength => _linkHeaderLength;

    /// <summary>Segments appended to an earlier one, since construction.</summary>
    public long SegmentsMerged { get; private set; }

    /// <summary>Super-frames produced (frames sent with more than one segment).</summary>
    public long SuperFrames { get; private set; }

    /// <summary>Segments not merged because their TCP checksum was wrong.</summary>
    public long ChecksumFailures { get; private set; }

    /// <summary>
    /// Coalesce a batch of forwarded frames in place. Entries are in sending order; on return each says whether
    /// to send it (<see cref="CoalesceEntry.Segments"/> &gt; 0, with <see cref="CoalesceEntry.Offload"/> and the
    /// grown <see cref="CoalesceEntry.Length"/>) or skip it (0). Returns the number of frames left to send.
    /// </summary>
    public int Coalesce<TSlots>(TSlots slots, Span<CoalesceEntry> entries) where TSlots : IFrameSlots
    {
        _flowCount = 0;
        int output = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            ref var e = ref entries[i];
            e.Segments = 1;
            Offer(slots, entries, i);
            if (e.Segments != 0) output++;
        }
        while (_flowCount > 0) CloseFlow(slots, entries, _flowCount - 1);
        return output;
    }

    private void Offer<TSlots>(TSlots slots, Span<CoalesceEntry> entries, int index) where TSlots : IFrameSlots
    {
        ref var e = ref entries[index];
        var slot = slots.Slot(e.Slot);
        if ((uint)e.Offset > (uint)slot.Length || (uint)e.Length > (uint)(slot.Length - e.Offset)) return;
        var frame = slot.Slice(e.Offset, e.Length);
        int l3 = _linkHeaderLength;
        if (frame.Length < l3 + Ipv6HeaderLength + TcpSegment.MinHeaderLength) return;
        var ip = frame[l3..];
        if (ip[0] >> 4 != 6 || ip[6] != ProtocolTcp) return;
        int ipPayload = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        if (ipPayload != ip.Length - Ipv6HeaderLength) return; // padding or a jumbogram: leave it alone
        var tcp = ip[Ipv6HeaderLength..];
        int tcpHeader = (tcp[12] >> 4) * 4;
        if (tcpHeader < TcpSegment.MinHeaderLength || tcpHeader > ipPayload) return;

        var key = new FlowKey(ip, tcp, e.Tag);
        int f = FindFlow(in key);
        if (e.Offload.IsGso)
        {
            // Already a super-frame (it crossed the tunnel whole): it goes on as it is, after what came before it.
            if (f >= 0) CloseFlow(slots, entries, f);
            return;
        }
        bool trusted = (e.Offload.Flags & (OffloadFlags.NeedsChecksum | OffloadFlags.DataValid)) != 0;
        byte flags = tcp[13];
        int payload = ipPayload - tcpHeader;
        // Only data segments with ACK (and PSH, which ends a super-frame) take part; anything else of an open
        // flow (pure ACK, FIN, RST, SYN, URG, ECE/CWR) ends that flow's super-frame, keeping the order.
        if (payload == 0 || (flags & ~FlagPsh) != FlagAck)
        {
            if (f >= 0) CloseFlow(slots, entries, f);
            return;
        }
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        if (f >= 0)
        {
            ref var flow = ref _flows[f];
            var merge = TryMerge(slots, entries, ref flow, ref e, frame, ip, tcp, tcpHeader, payload, sequence, flags, trusted);
            if (merge == Merge.Merged) return;
            CloseFlow(slots, entries, f);
            // The last segment a super-frame could take; or a corrupted one, which goes on alone for its receiver to drop.
            if (merge is Merge.MergedLast or Merge.BadChecksum) return;
        }
        // A new super-frame starts here, unless it cannot grow (PSH) or the table is full.
        if ((flags & FlagPsh) != 0 || _flowCount == _flows.Length) return;
        _flows[_flowCount++] = new Flow
        {
            Key = key,
            Entry = index,
            GsoSize = payload,
            TcpHeaderLength = tcpHeader,
            NextSequence = sequence + (uint)payload,
            HeadVerified = trusted,
        };
    }

    private enum Merge : byte
    {
        /// <summary>Not a continuation of the open super-frame (or its head turned out corrupted).</summary>
        NoMatch,
        Merged,
        /// <summary>Merged, and the super-frame can take no more (short segment, PSH, segment limit).</summary>
        MergedLast,
        /// <summary>A continuation, but its own checksum is wrong.</summary>
        BadChecksum,
    }

    private Merge TryMerge<TSlots>(TSlots slots, Span<CoalesceEntry> entries, ref Flow flow, ref CoalesceEntry e, Span<byte> frame,
        Span<byte> ip, Span<byte> tcp, int tcpHeader, int payload, uint sequence, byte flags, bool trusted) where TSlots : IFrameSlots
    {
        ref var head = ref entries[flow.Entry];
        if (sequence != flow.NextSequence || payload > flow.GsoSize || tcpHeader != flow.TcpHeaderLength || head.Segments >= _maxSegments)
            return Merge.NoMatch;
        var headSlot = slots.Slot(head.Slot);
        var headFrame = headSlot.Slice(head.Offset, head.Length);
        var headIp = headFrame[_linkHeaderLength..];
        int headIpPayload = headIp.Length - Ipv6HeaderLength;
        if (headIpPayload + payload > MaxIpv6Payload || head.Offset + head.Length + payload > headSlot.Length) return Merge.NoMatch;
        var headTcp = headIp[Ipv6HeaderLength..];
        // Version/traffic class/flow label (0..3) and hop limit (7); addresses were matched by the key.
        if (BinaryPrimitives.ReadUInt32BigEndian(ip) != BinaryPrimitives.ReadUInt32BigEndian(headIp) || ip[7] != headIp[7]) return Merge.NoMatch;
        // Acknowledgment number (8..11), data offset (12), window (14..15), then the options, byte for byte.
        if (!tcp.Slice(8, 5).SequenceEqual(headTcp.Slice(8, 5)) || !tcp.Slice(14, 2).SequenceEqual(headTcp.Slice(14, 2))
            || !tcp[TcpSegment.MinHeaderLength..tcpHeader].SequenceEqual(headTcp[TcpSegment.MinHeaderLength..tcpHeader]))
            return Merge.NoMatch;
        if (_linkHeaderLength > 0 && !frame[.._linkHeaderLength].SequenceEqual(headFrame[.._linkHeaderLength])) return Merge.NoMatch;
        if (!flow.HeadVerified)
        {
            if (!ChecksumValid(headIp, headTcp))
            {
                ChecksumFailures++;
                return Merge.NoMatch;
            }
            flow.HeadVerified = true;
        }
        if (!trusted && !ChecksumValid(ip, tcp))
        {
            ChecksumFailures++;
            return Merge.BadChecksum;
        }
        tcp.Slice(tcpHeader, payload).CopyTo(headSlot.Slice(head.Offset + head.Length, payload));
        head.Length += payload;
        BinaryPrimitives.WriteUInt16BigEndian(headIp[4..], (ushort)(headIpPayload + payload));
        head.Segments++;
        e.Segments = 0;
        flow.NextSequence = sequence + (uint)payload;
        SegmentsMerged++;
        if ((flags & FlagPsh) != 0) headTcp[13] |= FlagPsh;
        // A short or pushed segment is the last one a super-frame can take.
        return payload < flow.GsoSize || (flags & FlagPsh) != 0 || head.Segments == _maxSegments ? Merge.MergedLast : Merge.Merged;
    }

    /// <summary>
    /// Stop extending flow <paramref name="f"/>: its head, if it took more segments, gets its GSO descriptor and
    /// the partial checksum the kernel expects, and the flow leaves the table.
    /// </summary>
    private void CloseFlow<TSlots>(TSlots slots, Span<CoalesceEntry> entries, int f) where TSlots : IFrameSlots
    {
        ref var flow = ref _flows[f];
        ref var head = ref entries[flow.Entry];
        if (head.Segments > 1)
        {
            var headIp = slots.Slot(head.Slot).Slice(head.Offset + _linkHeaderLength, head.Length - _linkHeaderLength);
            var tcp = headIp[Ipv6HeaderLength..];
            // The checksum field holds the pseudo-header sum (not complemented) over the whole TCP length, as
            // Linux's own TSO/GSO frames do; whoever segments the frame, or receives it whole, completes it.
            uint pseudo = InternetChecksum.PseudoHeader(Ipv6Address.ReadFrom(headIp.Slice(8, 16)), Ipv6Address.ReadFrom(headIp.Slice(24, 16)),
                (uint)tcp.Length, ProtocolTcp);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~InternetChecksum.Finish(pseudo));
            head.Offload = OffloadInfo.TcpSegmentation(GsoType.TcpV6, (ushort)flow.GsoSize,
                (ushort)(_linkHeaderLength + Ipv6HeaderLength + flow.TcpHeaderLength), (ushort)(_linkHeaderLength + Ipv6HeaderLength), 16);
            SuperFrames++;
        }
        _flows[f] = _flows[--_flowCount];
    }

    private static bool ChecksumValid(Span<byte> ip, Span<byte> tcp)
    {
        uint pseudo = InternetChecksum.PseudoHeader(Ipv6Address.ReadFrom(ip.Slice(8, 16)), Ipv6Address.ReadFrom(ip.Slice(24, 16)), (uint)tcp.Length, ProtocolTcp);
        return InternetChecksum.Verify(tcp, pseudo);
    }

    private int FindFlow(in FlowKey key)
    {
        for (int f = 0; f < _flowCount; f++)
            if (_flows[f].Key.Equals(in key)) return f;
        return -1;
    }

    private struct Flow
    {
        public FlowKey Key;
        public int Entry;
        public int GsoSize;
        public int TcpHeaderLength;
        public uint NextSequence;
        public bool HeadVerified;
    }

    private readonly struct FlowKey
    {
        private readonly ulong _s0, _s1, _d0, _d1;
        private readonly uint _ports;
        private readonly int _tag;

        public FlowKey(ReadOnlySpan<byte> ip, ReadOnlySpan<byte> tcp, int tag)
        {
            _s0 = BinaryPrimitives.ReadUInt64LittleEndian(ip[8..]);
            _s1 = BinaryPrimitives.ReadUInt64LittleEndian(ip[16..]);
            _d0 = BinaryPrimitives.ReadUInt64LittleEndian(ip[24..]);
            _d1 = BinaryPrimitives.ReadUInt64LittleEndian(ip[32..]);
            _ports = BinaryPrimitives.ReadUInt32LittleEndian(tcp);
            _tag = tag;
        }

        public bool Equals(in FlowKey o) =>
            _ports == o._ports && _s0 == o._s0 && _s1 == o._s1 && _d0 == o._d0 && _d1 == o._d1 && _tag == o._tag;
    }
}
