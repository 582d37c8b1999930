using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

/// <summary>The one VM, its prefix, the client and the two tunnel ends that the packet-loop tests inject traffic for.</summary>
public abstract class PacketLoopTestBase
{
    protected static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:12:34:56");
    protected static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:1::/64");
    protected static readonly Ipv6Address Vm = Ipv6Address.Parse("2001:db8:1::5054:ff:fe12:3456");
    protected static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:2::1");
    protected static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:ffff::2");
    protected static readonly Ipv6Address LmaAddress = Ipv6Address.Parse("2001:db8:ffff::1");
    protected static readonly PortId Port = new(1);
}
