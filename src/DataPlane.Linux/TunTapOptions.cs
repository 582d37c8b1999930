using DataPlane.Wire;

namespace DataPlane.Linux;

/// <summary>TUNSETOFFLOAD flags (linux/if_tun.h TUN_F_*): which partial-checksum and GSO frames the
/// kernel may hand us on read. Only meaningful with a virtio-net header.</summary>
[Flags]
public enum TunOffloads : uint
{
    None = 0,
    /// <summary>TUN_F_CSUM: we accept partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM).</summary>
    Checksum = 0x01,
    /// <summary>TUN_F_TSO4: we accept TCPv4 super-frames.</summary>
    Tso4 = 0x02,
    /// <summary>TUN_F_TSO6: we accept TCPv6 super-frames.</summary>
    Tso6 = 0x04,
    /// <summary>TUN_F_TSO_ECN: TSO frames may carry ECN (CWR).</summary>
    TsoEcn = 0x08,
    /// <summary>TUN_F_USO4/6: UDP segmentation offload (kernel 6.2+).</summary>
    Uso4 = 0x20,
    Uso6 = 0x40,
    /// <summary>What a VM's virtio-net usually negotiates: checksum and TCP segmentation both ways.</summary>
    TcpSegmentation = Checksum | Tso4 | Tso6 | TsoEcn,
}

/// <summary>Options for creating (or attaching to a persistent) TAP or TUN device.</summary>
public sealed record TunTapOptions
{
    /// <summary>Device name; null lets the kernel pick (tap0, tun0, …). An existing persistent device
    /// of that name and kind is attached to.</summary>
    public string? Name { get; init; }

    /// <summary>IFF_VNET_HDR: every frame is preceded by a virtio_net_hdr (10 bytes).</summary>
    public bool VnetHeader { get; init; }

    /// <summary>TUNSETOFFLOAD flags when <see cref="VnetHeader"/> is on.</summary>
    public TunOffloads Offloads { get; init; } = TunOffloads.TcpSegmentation;

    /// <summary>TUNSETPERSIST: the device outlives our fd (delete it with <see cref="RtNetlink.DeleteLink"/>).</summary>
    public bool Persistent { get; init; }

    /// <summary>TAP only: the device's MAC address (set through netlink).</summary>
    public MacAddress? MacAddress { get; init; }

    public int? Mtu { get; init; }

    /// <summary>Bring the link up after creating it.</summary>
    public bool Up { get; init; } = true;
}
