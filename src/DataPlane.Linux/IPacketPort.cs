namespace DataPlane.Linux;

/// <summary>What a port's link looks like from the last I/O on it.</summary>
public enum PortLinkState
{
    Up,
    /// <summary>The interface went down (ENETDOWN/EIO); frames are dropped until it comes back.</summary>
    Down,
    /// <summary>The interface is gone (unregistered or moved to another namespace): the MAG treats
    /// this as "port removed". A removed port never comes back; open a new one.</summary>
    Removed,
}

/// <summary>
/// An Ethernet (or, for TUN, IP) port the data path reads and writes in batches: an AF_PACKET socket
/// on an existing netdev (<see cref="PacketSocket"/>), or a TAP/TUN device we own
/// (<see cref="TapDevice"/>, <see cref="TunDevice"/>). None of the calls allocates or throws on
/// back-pressure; they throw <see cref="LinuxIoException"/> only for failures that mean a bug or a
/// broken fd.
/// </summary>
public interface IPacketPort : IDisposable
{
    /// <summary>Interface name (vif3.0, tap0, …).</summary>
    string Name { get; }

    /// <summary>Interface index in the port's network namespace.</summary>
    int IfIndex { get; }

    /// <summary>The fd to register with <see cref="Epoll"/> (readable = frames waiting; EPOLLERR on AF_PACKET = link event).</summary>
    int Fd { get; }

    /// <summary>Frames carry a virtio-net header (offload metadata in <see cref="PacketMetadata.Vnet"/>).</summary>
    bool HasVnetHeader { get; }

    /// <summary>Link state as of the last receive or send (see <see cref="RefreshLinkState"/>).</summary>
    PortLinkState LinkState { get; }

    PortCounters Counters { get; }

    /// <summary>
    /// Receive up to <see cref="PacketBatch.Capacity"/> frames into slots 0.. of the batch, without
    /// blocking. Returns the number received (also stored in <see cref="PacketBatch.Count"/>); 0 when
    /// nothing is waiting or the link went down/away (then <see cref="LinkState"/> says so).
    /// </summary>
    int Receive(PacketBatch batch);

    /// <summary>
    /// Send slots [start, start+count) without blocking. Returns how many were consumed: sent, or
    /// dropped for a per-frame error (counted in <see cref="PortCounters.TxErrors"/>, errno in
    /// <see cref="PortCounters.LastError"/>) or because the link is down/removed. A return below
    /// <paramref name="count"/> means back-pressure (EAGAIN/ENOBUFS): the rest were not sent; retry
    /// them when the fd is writable, or drop them.
    /// </summary>
    int Send(PacketBatch batch, int start, int count);

    /// <summary>Send the listed slots in order; same result as the range overload.</summary>
    int Send(PacketBatch batch, ReadOnlySpan<int> slots);

    /// <summary>Ask the kernel whether the interface is still there and up (a syscall or two; not for every batch).</summary>
    PortLinkState RefreshLinkState();
}
