namespace DataPlane.Wire;

/// <summary>IEEE EtherType values the switch recognises.</summary>
public enum EtherType : ushort
{
    Ipv4 = 0x0800,
    Arp = 0x0806,
    /// <summary>Reverse ARP: what QEMU's self-announce sends after a migration.</summary>
    Rarp = 0x8035,
    /// <summary>IEEE 802.1Q customer VLAN tag.</summary>
    Vlan = 0x8100,
    Ipv6 = 0x86DD,
    /// <summary>IEEE 802.1ad service tag (QinQ).</summary>
    QinQ = 0x88A8,
}

/// <summary>IANA protocol numbers, used both as IPv4 Protocol and IPv6 Next Header.</summary>
public enum IpProtocol : byte
{
    HopByHop = 0,
    Icmp = 1,
    /// <summary>IPv4-in-IP (RFC 2003 / RFC 2473 for IPv4 inside IPv6).</summary>
    IpInIp = 4,
    Tcp = 6,
    Udp = 17,
    /// <summary>IPv6-in-IP (RFC 2473 when the outer header is IPv6).</summary>
    Ipv6 = 41,
    Routing = 43,
    Fragment = 44,
    Gre = 47,
    Esp = 50,
    AuthenticationHeader = 51,
    Icmpv6 = 58,
    NoNextHeader = 59,
    DestinationOptions = 60,
    /// <summary>Mobility Header (RFC 6275 §6.1).</summary>
    Mobility = 135,
}
