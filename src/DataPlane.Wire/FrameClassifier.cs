using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>What layer 3 carries, as far as the switch cares.</summary>
public enum FrameKind : byte
{
    /// <summary>Did not parse; <see cref="FrameInfo.Error"/> says why.</summary>
    Malformed = 0,
    Ipv6,
    Ipv4,
    Arp,
    Rarp,
    /// <summary>An EtherType the switch does not handle (counted and dropped).</summary>
    Other,
}

/// <summary>
/// The result of one pass over a frame's headers: offsets and the few fields the fast path branches
/// on, so later stages never re-parse. A plain value type: classifying allocates nothing.
/// </summary>
public struct FrameInfo
{
    public FrameKind Kind;
    public WireError Error;
    public MacAddress Destination;
    public MacAddress Source;
    /// <summary>Offset of the IP (or ARP) header from the start of the frame.</summary>
    public int NetworkOffset;
    /// <summary>Total IP packet length (from its own length field), or the ARP length.</summary>
    public int NetworkLength;
    /// <summary>Upper-layer protocol after any IPv6 extension headers.</summary>
    public IpProtocol UpperLayer;
    /// <summary>Offset of the upper-layer header from the start of the frame.</summary>
    public int UpperLayerOffset;
    public bool IsFragment;
    /// <summary>ICMPv6 type when <see cref="UpperLayer"/> is ICMPv6 and the header is present.</summary>
    public Icmpv6Type Icmpv6Type;
    /// <summary>ICMP (IPv4) type when <see cref="UpperLayer"/> is ICMP and the header is present.</summary>
    public Icmpv4Type Icmpv4Type;
    /// <summary>UDP/TCP ports when present (0 otherwise).</summary>
    public ushort SourcePort;
    public ushort DestinationPort;
    public Ipv6Address Ipv6Source;
    public Ipv6Address Ipv6Destination;
    public Ipv4Address Ipv4Source;
    public Ipv4Address Ipv4Destination;
    public byte HopLimit;
}

/// <summary>
/// One pass over Ethernet → IPv6 (with its extension headers) / IPv4 / ARP → transport ports or
/// ICMP/ICMPv6 type. Every length is checked by the views it uses; a malformed frame yields
/// <see cref="FrameKind.Malformed"/> with the reason, never an exception.
/// </summary>
public static class FrameClassifier
{
    public static void Classify(Span<byte> frame, out FrameInfo info)
    {
        info = default;
        if (!EthernetFrame.TryCreate(frame, out var eth, out info.Error)) return;
        info.Destination = eth.Destination;
        info.Source = eth.Source;
        info.NetworkOffset = eth.HeaderSize;
        switch (eth.EtherType)
        {
            case EtherType.Ipv6:
                ClassifyIpv6(eth.Payload, ref info);
                break;
            case EtherType.Ipv4:
                ClassifyIpv4(eth.Payload, ref info);
                break;
            case EtherType.Arp:
            case EtherType.Rarp:
                if (!ArpPacket.TryCreate(eth.Payload, out _, out info.Error)) return;
                info.Kind = eth.EtherType == EtherType.Arp ? FrameKind.Arp : FrameKind.Rarp;
                info.NetworkLength = ArpPacket.Length;
                break;
            default:
                info.Kind = FrameKind.Other;
                break;
        }
    }

    private static void ClassifyIpv6(Span<byte> l3, ref FrameInfo info)
    {
        if (!Ipv6Packet.TryCreate(l3, out var ip, out info.Error)) return;
        if (!ip.TryWalkHeaders(out var chain, out info.Error)) return;
        info.NetworkLength = ip.Buffer.Length;
        info.Ipv6Source = ip.Source;
        info.Ipv6Destination = ip.Destination;
        info.HopLimit = ip.HopLimit;
        info.UpperLayer = chain.UpperLayer;
        info.IsFragment = chain.IsFragment;
        int upper = Ipv6Packet.HeaderLength + chain.UpperLayerOffset;
        info.UpperLayerOffset = info.NetworkOffset + upper;
        if (chain.FragmentOffset == 0 && !ReadTransport(ip.Buffer[upper..], chain.UpperLayer, ref info)) return;
        info.Kind = FrameKind.Ipv6;
    }

    private static void ClassifyIpv4(Span<byte> l3, ref FrameInfo info)
    {
        if (!Ipv4Packet.TryCreate(l3, out var ip, out info.Error)) return;
        info.NetworkLength = ip.Buffer.Length;
        info.Ipv4Source = ip.Source;
        info.Ipv4Destination = ip.Destination;
        info.HopLimit = ip.TimeToLive;
        info.UpperLayer = ip.Protocol;
        info.IsFragment = ip.IsFragment;
        info.UpperLayerOffset = info.NetworkOffset + ip.HeaderLength;
        if (ip.FragmentOffset == 0 && !ReadTransport(ip.Payload, ip.Protocol, ref info)) return;
        info.Kind = FrameKind.Ipv4;
    }

    /// <summary>
    /// Ports or ICMP(v6) type; a header too short to hold them makes the frame malformed. Deliberately not
    /// the UDP/TCP views: in a first fragment the UDP length covers the reassembled datagram.
    /// </summary>
    private static bool ReadTransport(ReadOnlySpan<byte> upper, IpProtocol protocol, ref FrameInfo info)
    {
        switch (protocol)
        {
            case IpProtocol.Tcp:
            case IpProtocol.Udp:
                if (upper.Length < (protocol == IpProtocol.Tcp ? TcpSegment.MinHeaderLength : UdpDatagram.HeaderLength))
                {
                    info.Error = WireError.Truncated;
                    return false;
                }
                info.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(upper);
                info.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(upper[2..]);
                return true;
            case IpProtocol.Icmpv6:
                if (upper.Length < 4)
                {
                    info.Error = WireError.Truncated;
                    return false;
                }
                info.Icmpv6Type = (Icmpv6Type)upper[0];
                return true;
            case IpProtocol.Icmp:
                if (upper.Length < 4)
                {
                    info.Error = WireError.Truncated;
                    return false;
                }
                info.Icmpv4Type = (Icmpv4Type)upper[0];
                return true;
            default:
                return true;
        }
    }
}
