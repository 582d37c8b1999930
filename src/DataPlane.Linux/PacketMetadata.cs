using DataPlane.Wire;

namespace DataPlane.Linux;

/// <summary>sll_pkttype of a received frame (linux/if_packet.h PACKET_HOST…PACKET_OUTGOING).</summary>
public enum PacketType : byte
{
    /// <summary>Addressed to this host's MAC (or not from an Ethernet-like port).</summary>
    Host = 0,
    Broadcast = 1,
    Multicast = 2,
    /// <summary>Unicast to another MAC: what a VM's frames to the shared MAG MAC look like on a
    /// promiscuous port.</summary>
    OtherHost = 3,
    /// <summary>Sent by this host (only seen without PACKET_IGNORE_OUTGOING).</summary>
    Outgoing = 4,
}

/// <summary>
/// What the I/O layer knows about one slot of a <see cref="PacketBatch"/> beyond its bytes. Filled on
/// receive; on send the ports read <see cref="Vnet"/> (vnet_hdr ports) or <see cref="Destination"/>
/// (raw IPv6 sockets). Offset and Length are changed through the batch, which keeps them inside the slot.
/// </summary>
public struct PacketMetadata
{
    /// <summary>Where the frame starts inside its slot (the headroom in front of it is free to prepend into).</summary>
    public int Offset { readonly get; internal set; }

    /// <summary>Frame length in bytes (without any virtio-net header).</summary>
    public int Length { readonly get; internal set; }

    /// <summary>Ingress interface index (sll_ifindex, or ipi6_ifindex from IPV6_PKTINFO).</summary>
    public int IfIndex { get; set; }

    /// <summary>sll_pkttype on AF_PACKET receive.</summary>
    public PacketType PacketType { get; set; }

    /// <summary>sll_protocol on AF_PACKET receive, host order (0x86DD for IPv6).</summary>
    public ushort EtherType { get; set; }

    /// <summary>The frame was longer than the slot (MSG_TRUNC); only the slot's worth was kept.</summary>
    public bool Truncated { get; set; }

    /// <summary>The virtio-net header received with the frame, or to send with it, on vnet_hdr ports.</summary>
    public VirtioNetHeader Vnet;

    /// <summary>Tunnel receivers: the traffic class of the outer IPv6 header the packet came in (its ECN field
    /// matters at decapsulation, RFC 5213 §5.6.3); 0 where the outer header is not seen (raw socket).</summary>
    public byte TrafficClass { get; set; }

    /// <summary>Raw IPv6 sockets: the packet's source address (from recvmmsg's msg_name).</summary>
    public Ipv6Address Source { get; set; }

    /// <summary>Raw IPv6 sockets: on receive the destination (IPV6_PKTINFO), on send where to send it.</summary>
    public Ipv6Address Destination { get; set; }
}
