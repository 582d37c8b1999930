using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>ICMP (IPv4) error messages as whole IPv4 packets, and RFC 1812 §4.3.2.7's rules for when one may be sent.</summary>
internal static class Icmpv4ErrorPacket
{
    /// <summary>Errors are ordinary packets to a possibly distant sender: the usual default TTL.</summary>
    public const byte TimeToLive = 64;

    /// <summary>
    /// RFC 1812 §4.3.2.7: never about an ICMP error, a non-first fragment, or a packet whose source is not one
    /// host (0.0.0.0, loopback, multicast, broadcast/reserved). <paramref name="invokingPacket"/> is a parsed IPv4 packet.
    /// </summary>
    public static bool MayAnswer(ReadOnlySpan<byte> invokingPacket)
    {
        if (invokingPacket.Length < Ipv4Packet.MinHeaderLength) return false;
        var source = Ipv4Address.ReadFrom(invokingPacket.Slice(12, 4));
        int headerLength = (invokingPacket[0] & 0xF) * 4;
        int fragmentOffset = ((invokingPacket[6] & 0x1F) << 8) | invokingPacket[7];
        if (!source.IsUnicast || fragmentOffset != 0) return false;
        if ((IpProtocol)invokingPacket[9] == IpProtocol.Icmp)
        {
            if (invokingPacket.Length <= headerLength) return false;
            if (Icmpv4Packet.IsErrorType((Icmpv4Type)invokingPacket[headerLength])) return false;
        }
        return true;
    }

    /// <summary>Write IPv4 header and error message (quoting up to RFC 1812's 576-byte bound); returns the packet length.</summary>
    public static int Write(Span<byte> destination, Ipv4Address source, Ipv4Address target, Icmpv4Type type, byte code, uint restOfHeader,
        ReadOnlySpan<byte> invokingPacket)
    {
        int icmp = Icmpv4Packet.WriteError(destination[Ipv4Packet.MinHeaderLength..], type, code, restOfHeader, invokingPacket);
        Ipv4Packet.WriteHeader(destination, source, target, IpProtocol.Icmp, icmp, TimeToLive, dontFragment: false);
        return Ipv4Packet.MinHeaderLength + icmp;
    }
}
