using System.Buffers.Binary;
using DataPlane.Linux.Netlink;
using DataPlane.Wire;

namespace DataPlane.Linux;

// IPv4 addresses and routes: what the LMA's home device needs for RFC 5844 (the IPv4 home subnet routed into
// the TUN, the default router's address on it).
public sealed unsafe partial class RtNetlink
{
    /// <summary>Add an IPv4 address (a prefix length below 32 also makes the kernel route the subnet to the device).</summary>
    public void AddAddress(string name, Ipv4Address address, int prefixLength) =>
        Ipv4AddressRequest(Rtnl.RTM_NEWADDR, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_REPLACE, $"add address {address}/{prefixLength} dev {name}", name, address, prefixLength);

    public void DeleteAddress(string name, Ipv4Address address, int prefixLength) =>
        Ipv4AddressRequest(Rtnl.RTM_DELADDR, 0, $"delete address {address}/{prefixLength} dev {name}", name, address, prefixLength);

    private void Ipv4AddressRequest(ushort type, ushort flags, string op, string name, Ipv4Address address, int prefixLength)
    {
        if ((uint)prefixLength > 32) throw new ArgumentOutOfRangeException(nameof(prefixLength));
        int ifIndex = ResolveIfIndex(name, op);
        var w = new NetlinkRequestWriter(_request, type, (ushort)(Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK | flags), ++_sequence, Rtnl.IfaddrmsgLen);
        var h = w.FamilyHeader;
        h[0] = Rtnl.AF_INET;
        h[1] = (byte)prefixLength;
        h[2] = Rtnl.IFA_F_PERMANENT;
        h[3] = 0; // RT_SCOPE_UNIVERSE
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], ifIndex);
        w.AddAddress(Rtnl.IFA_LOCAL, address);
        w.AddAddress(Rtnl.IFA_ADDRESS, address);
        Transact(w.Finish(), op, null);
    }

    /// <summary>Add the IPv4 route to <paramref name="device"/> (on-link, scope link) or replace the one with the same destination.</summary>
    public void ReplaceRoute(Ipv4Prefix destination, string device) =>
        Ipv4RouteRequest(Rtnl.RTM_NEWROUTE, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_REPLACE, "replace", destination, device);

    public void DeleteRoute(Ipv4Prefix destination, string device) =>
        Ipv4RouteRequest(Rtnl.RTM_DELROUTE, 0, "delete", destination, device);

    private void Ipv4RouteRequest(ushort type, ushort flags, string verb, Ipv4Prefix destination, string device)
    {
        string op = $"{verb} route {destination} dev {device}";
        int ifIndex = ResolveIfIndex(device, op);
        var w = new NetlinkRequestWriter(_request, type, (ushort)(Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK | flags), ++_sequence, Rtnl.RtmsgLen);
        var h = w.FamilyHeader;
        bool delete = type == Rtnl.RTM_DELROUTE;
        h[0] = Rtnl.AF_INET;
        h[1] = destination.Length;
        h[4] = Rtnl.RT_TABLE_MAIN;
        h[5] = delete ? (byte)0 : Rtnl.RTPROT_STATIC;
        h[6] = delete ? (byte)255 : Rtnl.RT_SCOPE_LINK;
        h[7] = delete ? (byte)0 : Rtnl.RTN_UNICAST;
        if (destination.Length > 0) w.AddAddress(Rtnl.RTA_DST, destination.Address);
        w.AddUInt32(Rtnl.RTA_OIF, (uint)ifIndex);
        Transact(w.Finish(), op, null);
    }

    /// <summary>IPv4 routes of the main table to one device: destination and prefix length (for tests and checks).</summary>
    public IReadOnlyList<Ipv4Prefix> ListIpv4Routes(string device)
    {
        int only = ResolveIfIndex(device, $"list routes dev {device}");
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_GETROUTE, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_DUMP, ++_sequence, Rtnl.RtmsgLen);
        w.FamilyHeader[0] = Rtnl.AF_INET;
        var list = new List<Ipv4Prefix>();
        Transact(w.Finish(), "list IPv4 routes", (type, msg) =>
        {
            if (type != Rtnl.RTM_NEWROUTE) return;
            var h = msg[Rtnl.NlmsgHdrLen..];
            if (h[0] != Rtnl.AF_INET || h[4] != Rtnl.RT_TABLE_MAIN) return;
            Ipv4Address destination = default;
            int oif = 0;
            var r = new NetlinkAttributeReader(h[Rtnl.RtmsgLen..]);
            while (r.MoveNext())
            {
                if (r.Type == Rtnl.RTA_DST && r.Value.Length == 4) destination = Ipv4Address.ReadFrom(r.Value);
                else if (r.Type == Rtnl.RTA_OIF && r.Value.Length == 4) oif = BinaryPrimitives.ReadInt32LittleEndian(r.Value);
            }
            if (oif == only) list.Add(new Ipv4Prefix(destination, h[1]));
        });
        return list;
    }
}
