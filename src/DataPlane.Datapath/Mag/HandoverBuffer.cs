using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// One VM's downlink held at a live migration's destination until the VM resumes there: whole Ethernet frames (ready
/// to send to its port) in arrival order, in a byte ring of fixed capacity with a fixed number of entries. When full,
/// the oldest frames go first (counted): what is kept is the newest, which is what the VM has not seen. Allocated
/// once and reused (<see cref="HandoverBufferPool"/>); adding a frame copies it and allocates nothing.
/// </summary>
public sealed class HandoverBuffer
{
    private readonly byte[] _data;
    private readonly Entry[] _entries;
    private int _first;
    private int _count;
    private int _head;
    private int _tail;
    private long _nextSerial;
    private long _activationSerial = long.MaxValue;

    private struct Entry
    {
        public int Offset;
        public int Length;
        public long Serial;
    }

    public HandoverBuffer(int bytes, int packets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 2048);
        ArgumentOutOfRangeException.ThrowIfLessThan(packets, 1);
        _data = GC.AllocateUninitializedArray<byte>(bytes);
        _entries = new Entry[packets];
    }

    public int CapacityBytes => _data.Length;
    public int CapacityPackets => _entries.Length;

    /// <summary>Frames held now, and their bytes.</summary>
    public int Count => _count;
    public long Bytes { get; private set; }

    /// <summary>Frames taken in, since the buffer was last reset.</summary>
    public long Added { get; private set; }
    /// <summary>Oldest frames dropped to make room (over the byte or packet bound).</summary>
    public long Evicted { get; private set; }
    /// <summary>Frames dropped because the source had delivered them (up to its marker).</summary>
    public long Trimmed { get; private set; }
    /// <summary>Frames dropped because they arrived before the VM did and no marker came.</summary>
    public long Discarded { get; private set; }
    /// <summary>Markers whose packet was not held when they came and was matched by a frame added after (see <see cref="ApplyMarker"/>).</summary>
    public long LateMarkerMatches { get; private set; }

    // A marker whose packet was not held yet: the relayed notice overtook the packet's own copy (a daemon that read its
    // signalling before its tunnel socket, the copy queued on a loaded host). Matched against every frame added until
    // the buffer goes.
    private DownlinkIdentity _pendingMarker;
    private bool _hasPendingMarker;

    /// <summary>A marker came whose packet has not been held yet (<see cref="ApplyMarker"/> returned <see cref="MarkerOutcome.NotFound"/>).</summary>
    public bool MarkerPending => _hasPendingMarker;

    /// <summary>Whether the VM has arrived (frames added from then on are "after activation").</summary>
    public bool Activated => _activationSerial != long.MaxValue;

    /// <summary>Forget everything (the buffer goes back to its pool).</summary>
    public void Reset()
    {
        _first = _count = _head = _tail = 0;
        _nextSerial = 0;
        _activationSerial = long.MaxValue;
        Bytes = Added = Evicted = Trimmed = Discarded = LateMarkerMatches = 0;
        _hasPendingMarker = false;
    }

    /// <summary>
    /// Take a copy of the IP packet <paramref name="packet"/> as an Ethernet frame to <paramref name="vmMac"/> from
    /// <paramref name="sharedMac"/>. False when the frame is larger than the whole buffer.
    /// </summary>
    public bool TryAdd(ReadOnlySpan<byte> packet, MacAddress vmMac, MacAddress sharedMac)
    {
        if (!TryAppend(EthernetFrame.HeaderLength + packet.Length, out var frame)) return false;
        WriteEthernet(frame, packet, vmMac, sharedMac);
        packet.CopyTo(frame[EthernetFrame.HeaderLength..]);
        if (_hasPendingMarker) MatchPendingMarker(frame[EthernetFrame.HeaderLength..]);
        return true;
    }

    /// <summary>
    /// Take a TCP super-frame that crossed the tunnel whole (<paramref name="superFrameBytes"/> is its IP packet) as
    /// the segments it stands for, each an Ethernet frame with a complete checksum, cut as the tunnel entry would
    /// have cut it (<see cref="TcpSegmenter"/>): the buffer holds only bare frames, so its release needs no offload
    /// metadata and no transmit slot larger than a segment, and the delivery marker is matched per segment as for
    /// segments that crossed the tunnel one by one. False, with nothing added, when a segment is larger than the
    /// whole buffer; otherwise the oldest frames make room as for single packets. Copies only (the super-frame is read).
    /// </summary>
    public bool TryAddSegments(Span<byte> superFrameBytes, in TcpSuperFrame superFrame, int gsoSize, MacAddress vmMac, MacAddress sharedMac)
    {
        int count = superFrame.SegmentCount(gsoSize);
        if (EthernetFrame.HeaderLength + superFrame.SegmentLength(gsoSize, 0) >= _data.Length) return false;
        for (int i = 0; i < count; i++)
        {
            int length = superFrame.SegmentLength(gsoSize, i) - superFrame.NetworkOffset;
            TryAppend(EthernetFrame.HeaderLength + length, out var frame); // fits: no segment is longer than the first
            WriteEthernet(frame, superFrameBytes[superFrame.NetworkOffset..], vmMac, sharedMac);
            TcpSegmenter.WriteSegment(superFrameBytes, superFrame, gsoSize, i, count, frame[(EthernetFrame.HeaderLength - superFrame.NetworkOffset)..]);
            // A pending marker is matched per segment, as it would be against segments that crossed one by one.
            if (_hasPendingMarker) MatchPendingMarker(frame[EthernetFrame.HeaderLength..]);
        }
        return true;
    }

    private static void WriteEthernet(Span<byte> frame, ReadOnlySpan<byte> ipPacket, MacAddress vmMac, MacAddress sharedMac)
    {
        var etherType = ipPacket.Length > 0 && ipPacket[0] >> 4 == 4 ? EtherType.Ipv4 : EtherType.Ipv6;
        EthernetFrame.WriteHeader(frame, vmMac, sharedMac, etherType);
    }

    /// <summary>Room for one more frame of <paramref name="length"/> bytes at the newest end (the oldest go to make it).</summary>
    private bool TryAppend(int length, out Span<byte> frame)
    {
        frame = default;
        if (!TryReserve(length, out int offset)) return false;
        frame = _data.AsSpan(offset, length);
        ref var e = ref _entries[(_first + _count) % _entries.Length];
        e.Offset = offset;
        e.Length = length;
        e.Serial = _nextSerial++;
        _count++;
        _tail = offset + length;
        Bytes += length;
        Added++;
        return true;
    }

    /// <summary>The frame just added may be the pending marker's packet: then it and everything before it were delivered by the source.</summary>
    private void MatchPendingMarker(ReadOnlySpan<byte> packet)
    {
        var identity = DownlinkIdentity.Of(packet);
        if (!identity.Holds(_pendingMarker)) return;
        int drop = identity.ExtendsBeyond(_pendingMarker) ? _count - 1 : _count;
        for (int k = 0; k < drop; k++) DropOldest();
        Trimmed += drop;
        LateMarkerMatches++;
        _hasPendingMarker = false;
    }

    /// <summary>A contiguous place for <paramref name="length"/> bytes, evicting the oldest frames until there is one.</summary>
    private bool TryReserve(int length, out int offset)
    {
        offset = 0;
        if (length >= _data.Length) return false;
        while (true)
        {
            if (_count == 0)
            {
                _head = _tail = 0;
                return true;
            }
            if (_count < _entries.Length)
            {
                if (_tail >= _head)
                {
                    // Free: [tail, end) and [0, head).
                    if (_data.Length - _tail >= length)
                    {
                        offset = _tail;
                        return true;
                    }
                    // Wrapping: the tail must stay strictly behind the head, so that tail == head means empty.
                    if (_head > length)
                    {
                        offset = 0;
                        return true;
                    }
                }
                else if (_head - _tail > length)
                {
                    offset = _tail;
                    return true;
                }
            }
            DropOldest();
            Evicted++;
        }
    }

    private void DropOldest()
    {
        Bytes -= _entries[_first].Length;
        _first = (_first + 1) % _entries.Length;
        _count--;
        if (_count > 0) _head = _entries[_first].Offset;
        else _head = _tail = 0;
    }

    /// <summary>The VM arrived: what is added from now on arrived after it did.</summary>
    public void MarkActivation()
    {
        if (!Activated) _activationSerial = _nextSerial;
    }

    /// <summary>The i-th frame held, oldest first.</summary>
    public ReadOnlySpan<byte> Frame(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        ref readonly var e = ref _entries[(_first + index) % _entries.Length];
        return _data.AsSpan(e.Offset, e.Length);
    }

    /// <summary>Drop every frame held (after the host sent them).</summary>
    public void Clear()
    {
        while (_count > 0) DropOldest();
    }

    /// <summary>Drop what arrived before the VM did (no marker came: the source may have delivered it).</summary>
    public int DiscardBeforeActivation()
    {
        int n = 0;
        while (_count > 0 && _entries[_first].Serial < _activationSerial)
        {
            DropOldest();
            n++;
        }
        Discarded += n;
        return n;
    }

    /// <summary>
    /// Drop what the source delivered: every frame up to the newest one that holds the marker's packet (a merged TCP
    /// unit that also carries later bytes stays: TCP drops the bytes it has). Returns whether the marker was found;
    /// when it is not, everything held stays, and the marker is kept: if its packet is still on its way here (the
    /// notice overtook it), that packet and everything before it are dropped when it is added. If it never comes
    /// (it was older than the buffer, or lost), nothing is dropped for it.
    /// </summary>
    public MarkerOutcome ApplyMarker(in DeliveryMarker marker)
    {
        if (!marker.Delivered) return MarkerOutcome.NothingDelivered;
        var last = marker.Last;
        for (int i = _count - 1; i >= 0; i--)
        {
            var identity = DownlinkIdentity.Of(Frame(i)[EthernetFrame.HeaderLength..]);
            if (!identity.Holds(last)) continue;
            int drop = identity.ExtendsBeyond(last) ? i : i + 1;
            for (int k = 0; k < drop; k++) DropOldest();
            Trimmed += drop;
            _hasPendingMarker = false;
            return MarkerOutcome.Found;
        }
        _pendingMarker = last;
        _hasPendingMarker = true;
        return MarkerOutcome.NotFound;
    }
}

/// <summary>What <see cref="HandoverBuffer.ApplyMarker"/> found.</summary>
public enum MarkerOutcome : byte
{
    /// <summary>The marker's packet was held: it and what came before it were dropped.</summary>
    Found,
    /// <summary>Not held (older than the buffer, lost on the way here, or still on its way): everything held stays.</summary>
    NotFound,
    /// <summary>Not held when it came, but its packet was added after (the notice overtook it): it and what came before it were dropped then.</summary>
    FoundLater,
    /// <summary>The source never delivered anything: everything held stays.</summary>
    NothingDelivered,
}

/// <summary>
/// The handover buffers of a MAG: at most <see cref="Capacity"/> VMs buffer at once, each in a buffer of the
/// configured size, made on first use and reused after (so a migration allocates nothing once the pool is warm).
/// </summary>
public sealed class HandoverBufferPool(int capacity, int bytes, int packets)
{
    private readonly Stack<HandoverBuffer> _free = new();
    private int _made;

    public int Capacity { get; } = capacity;
    public int InUse { get; private set; }

    /// <summary>A buffer, or null when <see cref="Capacity"/> are in use.</summary>
    public HandoverBuffer? Rent()
    {
        if (!_free.TryPop(out var buffer))
        {
            if (_made >= Capacity) return null;
            buffer = new HandoverBuffer(bytes, packets);
            _made++;
        }
        buffer.Reset();
        InUse++;
        return buffer;
    }

    public void Return(HandoverBuffer buffer)
    {
        buffer.Reset();
        _free.Push(buffer);
        InUse--;
    }
}
