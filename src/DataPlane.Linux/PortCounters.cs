namespace DataPlane.Linux;

/// <summary>
/// Per-port I/O counters, updated once per batch by the owning loop thread (plain fields: readers on
/// other threads see them eventually, which is all a metrics scrape needs).
/// </summary>
public sealed class PortCounters
{
    public long RxPackets;
    public long RxBytes;
    /// <summary>Frames longer than the slot (only the slot's worth was kept).</summary>
    public long RxTruncated;
    public long TxPackets;
    public long TxBytes;
    /// <summary>Frames the kernel refused one by one (EMSGSIZE, EINVAL for a bad vnet header, unreachable …).</summary>
    public long TxErrors;
    /// <summary>Frames dropped because the link was down or removed.</summary>
    public long TxLinkDrops;
    /// <summary>Send calls that stopped early on EAGAIN/ENOBUFS.</summary>
    public long TxWouldBlock;
    /// <summary>Link events seen on receive (ENETDOWN/ENXIO …).</summary>
    public long LinkEvents;
    /// <summary>The errno of the last per-frame error or link event, 0 if none yet.</summary>
    public int LastError;

    public override string ToString() =>
        $"rx {RxPackets} pkts {RxBytes} B (trunc {RxTruncated}), tx {TxPackets} pkts {TxBytes} B, " +
        $"tx errors {TxErrors}, link drops {TxLinkDrops}, would-block {TxWouldBlock}, link events {LinkEvents}, last {(LastError == 0 ? "-" : Errno.Name(LastError))}";
}
