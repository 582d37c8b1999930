using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>ICMPv6 error messages (RFC 4443) as whole IPv6 packets, and the rules for when one may be sent.</summary>
internal static class IcmpErrorPacket
{
    /// <summary>Errors are ordinary packets to a possibly distant sender: the usual default hop limit.</summary>
    public const byte HopLimit = 64;

    /// <summary>
    /// RFC 4443 §2.4(e): never in answer to an ICMPv6 error message, nor to a packet whose source does not
    /// identify a single node (unspecified or multicast). Multicast destinations never reach the callers.
    /// </summary>
    public static bool MayAnswer(Ipv6Address offenderSource, bool offenderIsIcmpError) => offenderSource.IsUnicast && !offenderIsIcmpError;

    /// <summary>Does this IPv6 packet carry an ICMPv6 error? Walks the extension headers (slow path only).</summary>
    public static bool CarriesIcmpError(Span<byte> ipv6Packet)
    {
        if (!Ipv6Packet.TryCreate(ipv6Packet, out var ip, out _) || !ip.TryWalkHeaders(out var chain, out _)) return false;
        if (chain.UpperLayer != IpProtocol.Icmpv6 || chain.FragmentOffset != 0) return false;
        int at = Ipv6Packet.HeaderLength + chain.UpperLayerOffset;
        return at < ip.Buffer.Length && Icmpv6Packet.IsErrorType((Icmpv6Type)ip.Buffer[at + Icmpv6Packet.TypeOffset]);
    }

    /// <summary>Write IPv6 header and error message, quoting as much of <paramref name="invokingPacket"/> as fits 1280 bytes; returns the packet length.</summary>
    public static int Write(Span<byte> destination, Ipv6Address source, Ipv6Address target, Icmpv6Type type, byte code, uint parameter,
        ReadOnlySpan<byte> invokingPacket)
    {
        int icmp = Icmpv6Writer.WriteErrorMessage(destination[Ipv6Packet.HeaderLength..], source, target, type, code, parameter, invokingPacket);
        Ipv6Packet.WriteHeader(destination, source, target, IpProtocol.Icmpv6, icmp, HopLimit);
        return Ipv6Packet.HeaderLength + icmp;
    }
}
