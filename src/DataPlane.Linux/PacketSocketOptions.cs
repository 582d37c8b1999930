namespace DataPlane.Linux;

/// <summary>How a <see cref="PacketSocket"/> moves frames between the kernel and a batch.</summary>
public enum PacketSocketBackend
{
    /// <summary>recvmmsg/sendmmsg: one syscall per batch, frames copied straight into the batch's slots.</summary>
    MessageBatch,
    /// <summary>PACKET_MMAP TPACKET_V2 rings (RX and TX): no syscall per received batch, one per sent
    /// batch; frames are copied between the ring and the batch. (TPACKET_V3 is deliberately not
    /// offered: its block timeout adds 1–2 ms of latency, see DESIGN.)</summary>
    RingV2,
}

/// <summary>Options for opening an AF_PACKET port on an existing interface.</summary>
public sealed record PacketSocketOptions
{
    /// <summary>PACKET_VNET_HDR: frames carry a virtio_net_hdr, so GSO super-frames and partial
    /// checksums pass through instead of arriving with bad checksums (see DESIGN, "Offloads").</summary>
    public bool VnetHeader { get; init; }

    /// <summary>PACKET_MR_PROMISC: see frames for every MAC. A VM addresses the shared MAG MAC, which
    /// a real NIC would filter out. Dropped by the kernel when the socket closes.</summary>
    public bool Promiscuous { get; init; } = true;

    /// <summary>PACKET_IGNORE_OUTGOING: do not read back the frames we (or the host) transmit.</summary>
    public bool IgnoreOutgoing { get; init; } = true;

    /// <summary>PACKET_QDISC_BYPASS: hand frames straight to the driver (no qdisc, no tc/shaping).</summary>
    public bool QdiscBypass { get; init; }

    /// <summary>SO_RCVBUFFORCE / SO_SNDBUFFORCE in bytes; null keeps the system default.</summary>
    public int? ReceiveBufferBytes { get; init; }
    public int? SendBufferBytes { get; init; }

    /// <summary>SO_BUSY_POLL in µs (0 = off). The seam for issue 9's busy-polling loop.</summary>
    public int BusyPollMicroseconds { get; init; }

    public PacketSocketBackend Backend { get; init; } = PacketSocketBackend.MessageBatch;

    /// <summary>Ring backend: frames per ring (RX and TX each).</summary>
    public int RingFrames { get; init; } = 256;

    /// <summary>Ring backend: bytes per ring frame including the tpacket2_hdr; must hold the largest
    /// frame (64 KiB GSO frames with vnet_hdr need the default; 2048 is enough without offloads).</summary>
    public int RingFrameSize { get; init; } = 65536 + 256;
}
