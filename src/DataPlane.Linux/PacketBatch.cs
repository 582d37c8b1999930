using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace DataPlane.Linux;

/// <summary>
/// A batch of frame slots in one native (hence pinned) buffer, plus the native mmsghdr/iovec/
/// sockaddr/cmsg arrays the batching syscalls need, all allocated once, so that receiving or sending
/// a whole batch allocates nothing. Every port type (AF_PACKET, TAP, TUN, raw IPv6) fills and drains
/// the same batch, so the data path handles frames one way whatever port they came from.
/// </summary>
/// <remarks>
/// Slot layout: <c>[headroom | frame … | unused]</c>. A received frame starts at <see cref="Headroom"/>;
/// the data path may move the start back (<see cref="Prepend"/>) to put an outer IPv6 header in front
/// without copying, or rewrite it entirely (<see cref="SetFrame"/>). The virtio-net header is not
/// stored in the slot: the ports scatter/gather it into a separate per-message area with a second
/// iovec and parse it into <see cref="PacketMetadata.Vnet"/>, so the headroom is all the data path's.
/// A batch belongs to one thread at a time.
/// </remarks>
public sealed unsafe class PacketBatch : IDisposable
{
    public const int DefaultCapacity = 64;
    /// <summary>Room for an outer IPv6 header (40) plus Ethernet (14) with plenty to spare.</summary>
    public const int DefaultHeadroom = 128;
    /// <summary>A GSO super-frame is at most 64 KiB (the kernel's default gso_max_size).</summary>
    public const int DefaultFrameCapacity = 65536;

    // Per-message native control areas (indexed by message number in a syscall, not by slot).
    internal const int NameSize = 32;          // sockaddr_ll (20) or sockaddr_in6 (28)
    internal const int ControlSize = 64;       // CMSG_SPACE(sizeof(in6_pktinfo)) = 40, rounded up
    internal const int VnetSize = 16;          // virtio_net_hdr (10 or 12 with num_buffers), rounded up
    private const int IovecsPerMessage = 2;    // [vnet header], frame

    private readonly PacketMetadata[] _meta;
    private byte* _data;
    private byte* _control;
    private readonly long _dataBytes;
    private readonly long _controlBytes;
    // The five per-message arrays inside _control, one after the other.
    private mmsghdr* _headers;
    private iovec* _iovecs;
    private byte* _names;
    private byte* _cmsgs;
    private byte* _vnets;

    public PacketBatch(int capacity = DefaultCapacity, int frameCapacity = DefaultFrameCapacity, int headroom = DefaultHeadroom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(frameCapacity, 64);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frameCapacity, 1 << 20);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(headroom, 4096);
        Capacity = capacity;
        FrameCapacity = frameCapacity;
        Headroom = headroom;
        // Cache-line aligned slots so a frame's first bytes never share a line with the previous slot.
        SlotSize = (headroom + frameCapacity + 63) & ~63;
        _meta = new PacketMetadata[capacity];

        _dataBytes = (long)SlotSize * capacity;
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)_dataBytes, 4096);
        NativeMemory.Clear(_data, (nuint)_dataBytes);
        _controlBytes = (long)capacity * (sizeof(mmsghdr) + IovecsPerMessage * sizeof(iovec) + NameSize + ControlSize + VnetSize);
        _control = (byte*)NativeMemory.AlignedAlloc((nuint)_controlBytes, 64);
        NativeMemory.Clear(_control, (nuint)_controlBytes);
        _headers = (mmsghdr*)_control;
        _iovecs = (iovec*)(_headers + capacity);
        _names = (byte*)(_iovecs + capacity * IovecsPerMessage);
        _cmsgs = _names + capacity * NameSize;
        _vnets = _cmsgs + capacity * ControlSize;
        GC.AddMemoryPressure(_dataBytes + _controlBytes);
        Clear();
    }

    ~PacketBatch() => Free();

    /// <summary>Number of slots.</summary>
    public int Capacity { get; }

    /// <summary>Bytes reserved in front of a received frame for headers the data path prepends.</summary>
    public int Headroom { get; }

    /// <summary>The largest frame a slot receives (bytes after the headroom).</summary>
    public int FrameCapacity { get; }

    /// <summary>Bytes per slot: headroom + frame capacity, rounded up to a cache line.</summary>
    public int SlotSize { get; }

    /// <summary>Valid slots, 0..Count-1: set by a receive; set it yourself before a range send.</summary>
    public int Count
    {
        get => _count;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Capacity);
            _count = value;
        }
    }
    private int _count;

    /// <summary>The slot's metadata, by reference so the data path can read and edit it in place.</summary>
    public ref PacketMetadata Meta(int slot) => ref _meta[slot];

    /// <summary>The slot's frame: Length bytes from Offset.</summary>
    public Span<byte> Frame(int slot)
    {
        ref var m = ref _meta[slot];
        return new Span<byte>(SlotPointer(slot) + m.Offset, m.Length);
    }

    /// <summary>The whole slot, headroom included, for building a frame anywhere in it.</summary>
    public Span<byte> Slot(int slot) => new(SlotPointer(slot), SlotSize);

    /// <summary>From the frame's start to the end of the slot: where a frame of up to this length can be written.</summary>
    public Span<byte> FrameSpace(int slot)
    {
        int offset = _meta[slot].Offset;
        return new Span<byte>(SlotPointer(slot) + offset, SlotSize - offset);
    }

    /// <summary>Place the frame at <paramref name="offset"/> in the slot with <paramref name="length"/> bytes.</summary>
    public void SetFrame(int slot, int offset, int length)
    {
        if ((uint)offset > (uint)SlotSize || (uint)length > (uint)(SlotSize - offset))
            throw new ArgumentOutOfRangeException(nameof(length), $"frame [{offset}, +{length}) does not fit a {SlotSize}-byte slot");
        ref var m = ref _meta[slot];
        m.Offset = offset;
        m.Length = length;
    }

    /// <summary>Change the frame's length, keeping its start.</summary>
    public void SetLength(int slot, int length) => SetFrame(slot, _meta[slot].Offset, length);

    /// <summary>
    /// Grow the frame towards the front by <paramref name="bytes"/> (into the headroom) and return the
    /// new bytes, e.g. for an outer IPv6 header. No data moves.
    /// </summary>
    public Span<byte> Prepend(int slot, int bytes)
    {
        ref var m = ref _meta[slot];
        if ((uint)bytes > (uint)m.Offset)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"only {m.Offset} bytes of headroom left in slot {slot}");
        m.Offset -= bytes;
        m.Length += bytes;
        return new Span<byte>(SlotPointer(slot) + m.Offset, bytes);
    }

    /// <summary>Drop <paramref name="bytes"/> from the frame's front (e.g. an outer header after decapsulation).</summary>
    public void TrimFront(int slot, int bytes)
    {
        ref var m = ref _meta[slot];
        if ((uint)bytes > (uint)m.Length)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"frame in slot {slot} has only {m.Length} bytes");
        m.Offset += bytes;
        m.Length -= bytes;
    }

    /// <summary>Reset one slot: empty frame at the headroom, metadata cleared.</summary>
    public void Reset(int slot)
    {
        _meta[slot] = default;
        _meta[slot].Offset = Headroom;
    }

    /// <summary>Reset every slot and set <see cref="Count"/> to 0.</summary>
    public void Clear()
    {
        for (int i = 0; i < Capacity; i++) Reset(i);
        _count = 0;
    }

    /// <summary>Copy a frame into the next free slot (Count grows by one) and return the slot number.
    /// Convenient for control traffic and tests; the data path rather writes into <see cref="FrameSpace"/>.</summary>
    public int Add(ReadOnlySpan<byte> frame)
    {
        if (_count == Capacity) throw new InvalidOperationException("the batch is full");
        if (frame.Length > FrameCapacity) throw new ArgumentException($"{frame.Length}-byte frame exceeds the slot's {FrameCapacity}", nameof(frame));
        int slot = _count++;
        Reset(slot);
        frame.CopyTo(new Span<byte>(SlotPointer(slot) + Headroom, frame.Length));
        _meta[slot].Length = frame.Length;
        return slot;
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_data == null) return;
        NativeMemory.AlignedFree(_data);
        NativeMemory.AlignedFree(_control);
        _data = null;
        _control = null;
        _headers = null;
        _iovecs = null;
        _names = _cmsgs = _vnets = null;
        GC.RemoveMemoryPressure(_dataBytes + _controlBytes);
    }

    // ---- for the ports (native control areas, indexed by message number) ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* SlotPointer(int slot)
    {
        if ((uint)slot >= (uint)Capacity) ThrowSlot(slot);
        if (_data == null) ThrowDisposed();
        return _data + (long)slot * SlotSize;
    }

    internal byte* FramePointer(int slot) => SlotPointer(slot) + _meta[slot].Offset;

    internal mmsghdr* Headers => _headers;

    internal iovec* Iovecs(int message) => _iovecs + message * IovecsPerMessage;

    internal byte* Name(int message) => _names + message * NameSize;

    internal byte* ControlBuffer(int message) => _cmsgs + message * ControlSize;

    internal byte* VnetArea(int message) => _vnets + message * VnetSize;

    private static void ThrowSlot(int slot) => throw new ArgumentOutOfRangeException(nameof(slot), slot, "no such slot");
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(PacketBatch));
}
