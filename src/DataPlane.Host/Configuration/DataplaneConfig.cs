namespace DataPlane.Host.Configuration;

/// <summary>How tunnel packets leave (`dataplane.uplink`).</summary>
public enum UplinkKind
{
    /// <summary>The protocol-41 raw socket: the kernel builds the outer IPv6 header and resolves the next hop per packet,
    /// and hands received tunnel packets over one by one. No offloads across the tunnel.</summary>
    Raw,
    /// <summary>AF_PACKET with virtio-net headers on the interfaces the routes to the peers leave by: a precomputed
    /// outer Ethernet+IPv6 header per peer on the way out, the inner packet with its offload metadata on the way in.</summary>
    Packet,
}

/// <summary>
/// The packet loop's tuning (`dataplane` section of the MAG's and the LMA's file): batch sizes, socket
/// buffers, the loop thread's CPUs, busy-polling, and receive offload. The defaults suit a general-purpose
/// host; a dedicated one pins the loop to a core of its own and may spend it busy-polling.
/// </summary>
public sealed record DataplaneConfig
{
    public const int DefaultBatchSize = 64;
    /// <summary>
    /// A VM's 64 KB TSO write becomes ~46 tunnel packets at once, and the default 208 KB receive buffer
    /// overflowed under one iperf3 stream (measured: 29 000 drops at the LMA's raw socket in 5 s).
    /// </summary>
    public const int DefaultSocketBufferBytes = 8 * 1024 * 1024;
    public const int MaxBatchSize = 1024;
    public const int MaxBusyPollMicroseconds = 1_000_000;

    /// <summary>Frames read (recvmmsg, multi-frame TAP/TUN reads) and sent per syscall batch, per device.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>SO_RCVBUF/SO_SNDBUF (set with the *FORCE variants, so rmem_max/wmem_max do not cap them) of the tunnel socket and AF_PACKET ports.</summary>
    public int SocketBufferBytes { get; init; } = DefaultSocketBufferBytes;

    /// <summary>The CPUs the packet loop thread may run on (sched_setaffinity); empty: wherever the scheduler likes.</summary>
    public IReadOnlyList<int> Cpus { get; init; } = [];

    /// <summary>After traffic, poll (epoll with a zero timeout) this long before sleeping again: less latency, a busy core. 0: off.</summary>
    public int BusyPollMicroseconds { get; init; }

    /// <summary>Userspace GRO on the tunnel's receive path: TCP segments of a flow are delivered as one super-frame with a vnet header.</summary>
    public bool ReceiveOffload { get; init; } = true;

    /// <summary>The tunnel's path: AF_PACKET (<see cref="UplinkKind.Packet"/>, default) or the raw socket.</summary>
    public UplinkKind Uplink { get; init; } = UplinkKind.Packet;

    /// <summary>
    /// TCP super-frames cross the tunnel whole (packet uplink only): encapsulated with their GSO metadata and relabelled
    /// as IP-in-IPv6 GSO by a tc egress BPF program the daemon attaches to the uplink. Off, or where the program cannot
    /// be attached, they are cut in userspace and sent with partial checksums for the kernel to complete.
    /// </summary>
    public bool TunnelOffload { get; init; } = true;

    /// <summary>Turn on GRO (and <see cref="GroFlushTimeoutMicroseconds"/>) on the interfaces the tunnel arrives on (packet uplink only); restored at stop.</summary>
    public bool InterfaceGro { get; init; } = true;

    public const int DefaultGroFlushTimeoutMicroseconds = 50;

    /// <summary>gro_flush_timeout to set with <see cref="InterfaceGro"/>, in µs; 0 leaves the interface's own.</summary>
    public int GroFlushTimeoutMicroseconds { get; init; } = DefaultGroFlushTimeoutMicroseconds;

    public static DataplaneConfig Parse(ConfigObject? o)
    {
        if (o is null) return new DataplaneConfig();
        int batch = (int)o.OptionalInteger("batchSize", DefaultBatchSize, 1, MaxBatchSize);
        int buffer = (int)o.OptionalInteger("socketBufferBytes", DefaultSocketBufferBytes, 64 * 1024, 1024 * 1024 * 1024);
        // glibc's cpu_set_t holds 1024 CPUs (CpuAffinity).
        var cpus = o.OptionalIntegerArray("cpus", 0, 1023);
        if (cpus.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1) is { } dup) throw o.Error("cpus", $"CPU {dup.Key} is listed twice");
        int busyPoll = (int)o.OptionalInteger("busyPollMicroseconds", 0, 0, MaxBusyPollMicroseconds);
        bool gro = o.OptionalBool("receiveOffload", true);
        var uplink = o.OptionalString("uplink") switch
        {
            null or "packet" => UplinkKind.Packet,
            "raw" => UplinkKind.Raw,
            var other => throw o.Error("uplink", $"\"{other}\" is not an uplink (raw, packet)"),
        };
        // The offloads across the tunnel need what only the packet uplink has (vnet headers, tc on the interface).
        foreach (var key in new[] { "tunnelOffload", "interfaceGro" })
            if (uplink == UplinkKind.Raw && o.Has(key) && o.OptionalBool(key, false))
                throw o.Error(key, "needs \"uplink\": \"packet\" (the raw socket carries no offload metadata)");
        bool tunnelOffload = o.OptionalBool("tunnelOffload", uplink == UplinkKind.Packet);
        bool interfaceGro = o.OptionalBool("interfaceGro", uplink == UplinkKind.Packet);
        int flush = (int)o.OptionalInteger("groFlushTimeoutMicroseconds", DefaultGroFlushTimeoutMicroseconds, 0, 10_000);
        o.Done();
        return new DataplaneConfig
        {
            BatchSize = batch, SocketBufferBytes = buffer, Cpus = cpus, BusyPollMicroseconds = busyPoll, ReceiveOffload = gro, Uplink = uplink,
            TunnelOffload = tunnelOffload, InterfaceGro = interfaceGro, GroFlushTimeoutMicroseconds = flush,
        };
    }
}
