namespace DataPlane.Wire;

/// <summary>ICMP (for IPv4) message types the switch reads or writes (RFC 792, IANA "ICMP Type Numbers").</summary>
public enum Icmpv4Type : byte
{
    EchoReply = 0,
    DestinationUnreachable = 3,
    Redirect = 5,
    EchoRequest = 8,
    TimeExceeded = 11,
    ParameterProblem = 12,
}

/// <summary>Destination Unreachable codes (RFC 792; code 4 carries the next-hop MTU, RFC 1191).</summary>
public enum Icmpv4DestinationUnreachableCode : byte
{
    NetUnreachable = 0,
    HostUnreachable = 1,
    ProtocolUnreachable = 2,
    PortUnreachable = 3,
    /// <summary>"Fragmentation needed and DF set": the packet is too big for the next hop (path MTU discovery).</summary>
    FragmentationNeeded = 4,
    /// <summary>RFC 1812 §5.2.7.1: communication administratively prohibited.</summary>
    AdministrativelyProhibited = 13,
}

/// <summary>Time Exceeded codes (RFC 792).</summary>
public enum Icmpv4TimeExceededCode : byte
{
    TimeToLiveExceededInTransit = 0,
    FragmentReassemblyTimeExceeded = 1,
}
