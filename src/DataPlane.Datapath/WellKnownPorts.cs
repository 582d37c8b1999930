namespace DataPlane.Datapath;

/// <summary>UDP ports the guards look at.</summary>
internal static class WellKnownPorts
{
    /// <summary>DHCPv4 servers and relays send from port 67 (RFC 2131 §4.1).</summary>
    public const ushort Dhcpv4Server = 67;

    /// <summary>DHCPv4 clients send from port 68.</summary>
    public const ushort Dhcpv4Client = 68;

    /// <summary>DHCPv6 servers and relay agents send from port 547 (RFC 8415 §7.2).</summary>
    public const ushort Dhcpv6Server = 547;
}
