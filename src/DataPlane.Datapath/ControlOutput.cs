using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>Where a control frame goes.</summary>
public enum ControlSink : byte
{
    /// <summary>A complete Ethernet frame for an access port (<see cref="ControlFrame.Port"/>).</summary>
    Port,
    /// <summary>
    /// A Mobility Header (no IPv6 header: a raw IPPROTO_MH socket adds it) to send from
    /// <see cref="ControlFrame.Source"/> to <see cref="ControlFrame.Destination"/>. Its checksum is filled
    /// even though the kernel fills it again on MH raw sockets, so the bytes are right on any path.
    /// </summary>
    MobilityHeaderSocket,
    /// <summary>A complete IPv6 packet for the LMA's home-network device (TUN).</summary>
    Home,
    /// <summary>
    /// An ESP packet (RFC 4303 transport mode, a Mobility Header inside; no IPv6 header: a raw protocol-50 socket
    /// adds it) from <see cref="ControlFrame.Source"/> to <see cref="ControlFrame.Destination"/>: what
    /// <see cref="MobilityHeaderSocket"/> frames become once signalling keys are configured.
    /// </summary>
    EspSocket,
}

/// <summary>One queued control frame: where it goes, what it is, and its length in its slot.</summary>
public readonly record struct ControlFrame(ControlSink Sink, ControlMessageKind Kind, PortId Port, Ipv6Address Source, Ipv6Address Destination, int Length);

/// <summary>
/// A pre-allocated queue of control frames (RAs, NAs, NUD probes, ICMPv6 errors, Mobility Header
/// messages) that the data path writes while it processes a batch and the host drains after it: read
/// <see cref="Count"/> entries with <see cref="this[int]"/> and <see cref="Frame"/>, send them, then
/// <see cref="Clear"/>. When it is full further messages are dropped and counted (a hostile VM cannot
/// make it grow); they are all either retried by the protocol machines or rate-limited replies.
/// </summary>
public sealed class ControlOutput
{
    /// <summary>A slot must hold the largest thing we write: a Mobility Header (≤ 2048 bytes) or a 1280-byte ICMPv6 error with its Ethernet header.</summary>
    public const int MinFrameCapacity = 2048;

    private readonly byte[] _memory;
    private readonly ControlFrame[] _frames;

    public ControlOutput(int capacity, int frameCapacity = MinFrameCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(frameCapacity, MinFrameCapacity);
        Capacity = capacity;
        FrameCapacity = frameCapacity;
        _memory = GC.AllocateUninitializedArray<byte>(checked(capacity * frameCapacity), pinned: true);
        _frames = new ControlFrame[capacity];
    }

    public int Capacity { get; }

    public int FrameCapacity { get; }

    public int Count { get; private set; }

    /// <summary>Messages lost because the queue was full, since creation.</summary>
    public long Overflows { get; private set; }

    public ref readonly ControlFrame this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return ref _frames[index];
        }
    }

    /// <summary>The bytes of entry <paramref name="index"/>.</summary>
    public Span<byte> Frame(int index) => _memory.AsSpan(index * FrameCapacity, this[index].Length);

    public void Clear() => Count = 0;

    /// <summary>The next free slot to write into, or false (counted) when the queue is full.</summary>
    internal bool TryBegin(out Span<byte> slot)
    {
        if (Count == Capacity)
        {
            Overflows++;
            slot = default;
            return false;
        }
        slot = _memory.AsSpan(Count * FrameCapacity, FrameCapacity);
        return true;
    }

    /// <summary>Queue what was written into the slot <see cref="TryBegin"/> returned.</summary>
    internal void Commit(in ControlFrame frame)
    {
        _frames[Count] = frame;
        Count++;
    }
}
