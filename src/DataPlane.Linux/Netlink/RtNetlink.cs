using System.Buffers.Binary;
using DataPlane.Linux.Native;
using DataPlane.Linux.Netlink;
using DataPlane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>The kernel refused an rtnetlink request; the message names the operation and the errno.</summary>
public sealed class NetlinkException : LinuxIoException
{
    public NetlinkException(string operation, int errno, string? kernelMessage = null) : base(operation, errno, kernelMessage)
    {
        KernelMessage = kernelMessage;
    }

    /// <summary>The extended-ack text the kernel attached, if any (e.g. "Nexthop has invalid gateway").</summary>
    public string? KernelMessage { get; }
}

/// <summary>
/// rtnetlink (AF_NETLINK, NETLINK_ROUTE) for what the daemons used to shell out to `ip` for: link
/// up/down, MTU, MAC, IPv6 addresses and routes, and listing links to notice a port that vanished.
/// Requests wait for the kernel's acknowledgement, so a method that returns has taken effect; a
/// refusal becomes a <see cref="NetlinkException"/> such as
/// "add route 2001:db8:1::/64 dev dp-home: EEXIST". The socket works on the network namespace of
/// the thread that opened it. Control path only: calls allocate, and one instance is not thread-safe.
/// </summary>
public sealed unsafe partial class RtNetlink : IDisposable
{
    private const int ReceiveBufferSize = 1 << 16;
    private const byte IfOperUnknown = 0, IfOperUp = 6; // IF_OPER_* (RFC 2863 operstate)
    private int _fd;
    private uint _sequence;
    private readonly byte[] _request = new byte[512];
    private readonly byte[] _response = GC.AllocateArray<byte>(ReceiveBufferSize, pinned: true);

    private RtNetlink(int fd) => _fd = fd;

    ~RtNetlink() => Sys.Close(ref _fd);

    public static RtNetlink Open()
    {
        int fd = Sys.Check(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, KernelConstants.NETLINK_ROUTE), "socket AF_NETLINK");
        try
        {
            // Extended acks give the kernel's reason in words; capped acks keep error replies small.
            int one = 1;
            setsockopt(fd, SOL_NETLINK, KernelConstants.NETLINK_EXT_ACK, &one, sizeof(int));
            setsockopt(fd, SOL_NETLINK, KernelConstants.NETLINK_CAP_ACK, &one, sizeof(int));
            // The kernel always answers; the timeout only turns a kernel bug into an exception, not a hang.
            long* tv = stackalloc long[2] { 5, 0 };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
            byte* sa = stackalloc byte[12];
            new Span<byte>(sa, 12).Clear();
            *(ushort*)sa = (ushort)AF_NETLINK;
            Sys.Check(bind(fd, (sockaddr*)sa, 12), "bind AF_NETLINK");
            return new RtNetlink(fd);
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    // ---------------- links ----------------

    /// <summary>The ifindex of <paramref name="name"/>; throws "get link NAME: ENODEV" if there is none.</summary>
    public int GetIfIndex(string name) => GetLink(name).Index;

    public bool TryGetIfIndex(string name, out int ifIndex)
    {
        var link = FindLink(name);
        ifIndex = link?.Index ?? 0;
        return link is not null;
    }

    public LinkInfo GetLink(string name) => FindLink(name) ?? throw new NetlinkException($"get link {name}", Errno.ENODEV);

    /// <summary>The link called <paramref name="name"/>, or null if there is none.</summary>
    public LinkInfo? FindLink(string name)
    {
        Sys.ValidateIfName(name);
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_GETLINK, Rtnl.NLM_F_REQUEST, ++_sequence, Rtnl.IfinfomsgLen);
        w.AddString(Rtnl.IFLA_IFNAME, name);
        LinkInfo? found = null;
        try
        {
            Transact(w.Finish(), $"get link {name}", (type, msg) => { if (type == Rtnl.RTM_NEWLINK) found = ParseLink(msg); });
        }
        catch (NetlinkException e) when (e.Errno == Errno.ENODEV)
        {
            return null;
        }
        return found;
    }

    public IReadOnlyList<LinkInfo> ListLinks()
    {
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_GETLINK, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_DUMP, ++_sequence, Rtnl.IfinfomsgLen);
        var links = new List<LinkInfo>();
        Transact(w.Finish(), "list links", (type, msg) => { if (type == Rtnl.RTM_NEWLINK) links.Add(ParseLink(msg)); });
        return links;
    }

    public void SetLinkUp(string name) => SetLinkFlags(name, up: true);

    public void SetLinkDown(string name) => SetLinkFlags(name, up: false);

    private void SetLinkFlags(string name, bool up)
    {
        string op = $"set link {name} {(up ? "up" : "down")}";
        var w = LinkRequest(name, op, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(w.FamilyHeader[8..], up ? Rtnl.IFF_UP : 0u);   // ifi_flags
        BinaryPrimitives.WriteUInt32LittleEndian(w.FamilyHeader[12..], Rtnl.IFF_UP);           // ifi_change
        Transact(w.Finish(), op, null);
    }

    public void SetMtu(string name, int mtu)
    {
        string op = $"set mtu {mtu} dev {name}";
        var w = LinkRequest(name, op, out _);
        w.AddUInt32(Rtnl.IFLA_MTU, (uint)mtu);
        Transact(w.Finish(), op, null);
    }

    public void SetMacAddress(string name, MacAddress mac)
    {
        string op = $"set address {mac} dev {name}";
        var w = LinkRequest(name, op, out _);
        Span<byte> b = stackalloc byte[MacAddress.Length];
        mac.WriteTo(b);
        w.Add(Rtnl.IFLA_ADDRESS, b);
        Transact(w.Finish(), op, null);
    }

    /// <summary>Delete a link (a persistent TAP, a veth pair, …).</summary>
    public void DeleteLink(string name)
    {
        string op = $"delete link {name}";
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_DELLINK, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK, ++_sequence, Rtnl.IfinfomsgLen);
        w.AddString(Rtnl.IFLA_IFNAME, name);
        Transact(w.Finish(), op, null);
    }

    private NetlinkRequestWriter LinkRequest(string name, string operation, out int ifIndex)
    {
        ifIndex = ResolveIfIndex(name, operation);
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_NEWLINK, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK, ++_sequence, Rtnl.IfinfomsgLen);
        BinaryPrimitives.WriteInt32LittleEndian(w.FamilyHeader[4..], ifIndex); // ifi_index
        return w;
    }

    private static LinkInfo ParseLink(ReadOnlySpan<byte> msg)
    {
        var ifi = msg[Rtnl.NlmsgHdrLen..];
        int index = BinaryPrimitives.ReadInt32LittleEndian(ifi[4..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(ifi[8..]);
        string name = "";
        int mtu = 0;
        MacAddress? mac = null;
        byte oper = 0;
        string? kind = null;
        var r = new NetlinkAttributeReader(ifi[Rtnl.IfinfomsgLen..]);
        while (r.MoveNext())
        {
            switch (r.Type)
            {
                case Rtnl.IFLA_IFNAME: name = NetlinkAttributeReader.ReadString(r.Value); break;
                case Rtnl.IFLA_MTU: mtu = (int)BinaryPrimitives.ReadUInt32LittleEndian(r.Value); break;
                case Rtnl.IFLA_ADDRESS when r.Value.Length == MacAddress.Length: mac = MacAddress.ReadFrom(r.Value); break;
                case Rtnl.IFLA_OPERSTATE when r.Value.Length >= 1: oper = r.Value[0]; break;
                case Rtnl.IFLA_LINKINFO:
                    var info = new NetlinkAttributeReader(r.Value);
                    while (info.MoveNext())
                        if (info.Type == Rtnl.IFLA_INFO_KIND) kind = NetlinkAttributeReader.ReadString(info.Value);
                    break;
            }
        }
        return new LinkInfo(index, name, flags, mtu, mac, oper, kind);
    }

    // ---------------- addresses ----------------

    /// <summary>
    /// Add an IPv6 address. <paramref name="noDad"/> skips duplicate address detection so the address
    /// is usable at once instead of after ~1 s of DAD, and this method then also waits until it is:
    /// even without DAD the kernel finishes the address in a workqueue (addrconf_dad_work) after
    /// acknowledging the request, and only then inserts its local route — until that, packets to the
    /// address are dropped as Ip6InAddrErrors (seen under load on this machine). On a link that is not
    /// operational yet (down, no carrier) the kernel finishes the address when the link comes up, and
    /// the method returns at once. With DAD the address stays tentative for the DAD period; the method
    /// does not wait for that.
    /// </summary>
    public void AddAddress(string name, Ipv6Address address, int prefixLength, bool noDad = false)
    {
        string op = $"add address {address}/{prefixLength} dev {name}";
        AddressRequest(Rtnl.RTM_NEWADDR, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL, op, name, address, prefixLength, noDad);
        if (!noDad) return;
        // On a link that is not operational yet the kernel parks the address until it is
        // (addrconf_link_ready); then there is nothing to wait for here.
        var link = FindLink(name);
        if (link is null || !link.IsUp || link.OperState is not (IfOperUp or IfOperUnknown)) return;
        var deadline = Environment.TickCount64 + 2000;
        while (true)
        {
            var local = new Ipv6Prefix(address, 128);
            if (ListRoutes().Any(r => r.Table == Rtnl.RT_TABLE_LOCAL && r.Type == Rtnl.RTN_LOCAL && r.Destination == local)) return;
            if (Environment.TickCount64 > deadline)
                throw new NetlinkException(op, Errno.ETIMEDOUT, "no local route for the address after 2 s");
            Thread.Sleep(1);
        }
    }

    public void DeleteAddress(string name, Ipv6Address address, int prefixLength) =>
        AddressRequest(Rtnl.RTM_DELADDR, 0, $"delete address {address}/{prefixLength} dev {name}", name, address, prefixLength, false);

    private void AddressRequest(ushort type, ushort flags, string op, string name, Ipv6Address address, int prefixLength, bool noDad)
    {
        if ((uint)prefixLength > 128) throw new ArgumentOutOfRangeException(nameof(prefixLength));
        int ifIndex = ResolveIfIndex(name, op);
        var w = new NetlinkRequestWriter(_request, type, (ushort)(Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK | flags), ++_sequence, Rtnl.IfaddrmsgLen);
        var h = w.FamilyHeader;
        h[0] = Rtnl.AF_INET6;
        h[1] = (byte)prefixLength;
        h[2] = noDad ? Rtnl.IFA_F_NODAD : (byte)0;
        h[3] = 0; // scope: the kernel derives it from the address
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], ifIndex);
        w.AddAddress(Rtnl.IFA_LOCAL, address);
        w.AddAddress(Rtnl.IFA_ADDRESS, address);
        Transact(w.Finish(), op, null);
    }

    /// <summary>IPv6 addresses, of one interface or of all.</summary>
    public IReadOnlyList<AddressInfo> ListAddresses(string? name = null)
    {
        int only = name is null ? 0 : ResolveIfIndex(name, $"list addresses dev {name}");
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_GETADDR, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_DUMP, ++_sequence, Rtnl.IfaddrmsgLen);
        w.FamilyHeader[0] = Rtnl.AF_INET6;
        var list = new List<AddressInfo>();
        Transact(w.Finish(), "list addresses", (type, msg) =>
        {
            if (type != Rtnl.RTM_NEWADDR) return;
            var h = msg[Rtnl.NlmsgHdrLen..];
            if (h[0] != Rtnl.AF_INET6) return;
            int ifIndex = BinaryPrimitives.ReadInt32LittleEndian(h[4..]);
            if (only != 0 && ifIndex != only) return;
            uint flags = h[2];
            Ipv6Address? local = null, addr = null;
            var r = new NetlinkAttributeReader(h[Rtnl.IfaddrmsgLen..]);
            while (r.MoveNext())
            {
                if (r.Type == Rtnl.IFA_LOCAL && r.Value.Length == 16) local = Ipv6Address.ReadFrom(r.Value);
                else if (r.Type == Rtnl.IFA_ADDRESS && r.Value.Length == 16) addr = Ipv6Address.ReadFrom(r.Value);
                else if (r.Type == Rtnl.IFA_FLAGS && r.Value.Length == 4) flags = BinaryPrimitives.ReadUInt32LittleEndian(r.Value);
            }
            if ((local ?? addr) is Ipv6Address a) list.Add(new AddressInfo(ifIndex, a, h[1], flags, h[3]));
        });
        return list;
    }

    // ---------------- routes ----------------

    /// <summary>Add a route (fails with EEXIST if the same route exists).</summary>
    public void AddRoute(Ipv6Prefix destination, string device, Ipv6Address? gateway = null, uint? metric = null) =>
        RouteRequest(Rtnl.RTM_NEWROUTE, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL, "add", destination, device, gateway, metric);

    /// <summary>Add the route or replace the one with the same destination and metric.</summary>
    public void ReplaceRoute(Ipv6Prefix destination, string device, Ipv6Address? gateway = null, uint? metric = null) =>
        RouteRequest(Rtnl.RTM_NEWROUTE, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_REPLACE, "replace", destination, device, gateway, metric);

    public void DeleteRoute(Ipv6Prefix destination, string device, Ipv6Address? gateway = null, uint? metric = null) =>
        RouteRequest(Rtnl.RTM_DELROUTE, 0, "delete", destination, device, gateway, metric);

    private void RouteRequest(ushort type, ushort flags, string verb, Ipv6Prefix destination, string device, Ipv6Address? gateway, uint? metric)
    {
        string op = $"{verb} route {destination}{(gateway is { } g ? $" via {g}" : "")} dev {device}{(metric is { } m ? $" metric {m}" : "")}";
        int ifIndex = ResolveIfIndex(device, op);
        var w = new NetlinkRequestWriter(_request, type, (ushort)(Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK | flags), ++_sequence, Rtnl.RtmsgLen);
        var h = w.FamilyHeader;
        bool delete = type == Rtnl.RTM_DELROUTE;
        h[0] = Rtnl.AF_INET6;
        h[1] = destination.Length;      // rtm_dst_len
        h[4] = Rtnl.RT_TABLE_MAIN;      // rtm_table
        h[5] = delete ? (byte)0 : Rtnl.RTPROT_STATIC;            // rtm_protocol (0 matches any on delete)
        h[6] = delete ? (byte)255 : Rtnl.RT_SCOPE_UNIVERSE;      // rtm_scope (RT_SCOPE_NOWHERE on delete, as ip does)
        h[7] = delete ? (byte)0 : Rtnl.RTN_UNICAST;              // rtm_type
        if (destination.Length > 0) w.AddAddress(Rtnl.RTA_DST, destination.Address);
        w.AddUInt32(Rtnl.RTA_OIF, (uint)ifIndex);
        if (gateway is Ipv6Address gw) w.AddAddress(Rtnl.RTA_GATEWAY, gw);
        if (metric is uint mt) w.AddUInt32(Rtnl.RTA_PRIORITY, mt);
        Transact(w.Finish(), op, null);
    }

    /// <summary>IPv6 routes of every table (main is 254, local 255).</summary>
    public IReadOnlyList<RouteInfo> ListRoutes()
    {
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_GETROUTE, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_DUMP, ++_sequence, Rtnl.RtmsgLen);
        w.FamilyHeader[0] = Rtnl.AF_INET6;
        var list = new List<RouteInfo>();
        Transact(w.Finish(), "list routes", (type, msg) =>
        {
            if (type != Rtnl.RTM_NEWROUTE) return;
            var h = msg[Rtnl.NlmsgHdrLen..];
            if (h[0] != Rtnl.AF_INET6) return;
            uint table = h[4];
            Ipv6Address dst = default;
            Ipv6Address? gw = null;
            uint? metric = null;
            int oif = 0;
            var r = new NetlinkAttributeReader(h[Rtnl.RtmsgLen..]);
            while (r.MoveNext())
            {
                switch (r.Type)
                {
                    case Rtnl.RTA_DST when r.Value.Length == 16: dst = Ipv6Address.ReadFrom(r.Value); break;
                    case Rtnl.RTA_GATEWAY when r.Value.Length == 16: gw = Ipv6Address.ReadFrom(r.Value); break;
                    case Rtnl.RTA_OIF when r.Value.Length == 4: oif = BinaryPrimitives.ReadInt32LittleEndian(r.Value); break;
                    case Rtnl.RTA_PRIORITY when r.Value.Length == 4: metric = BinaryPrimitives.ReadUInt32LittleEndian(r.Value); break;
                    case Rtnl.RTA_TABLE when r.Value.Length == 4: table = BinaryPrimitives.ReadUInt32LittleEndian(r.Value); break;
                }
            }
            list.Add(new RouteInfo(new Ipv6Prefix(dst, h[1]), oif, gw, metric, table, h[5], h[7]));
        });
        return list;
    }

    /// <summary>
    /// Ask the kernel how it would route a packet to <paramref name="destination"/> (`ip -6 route get`): the
    /// output interface, the gateway if there is one, the preferred source. Null when there is no route
    /// (ENETUNREACH/EHOSTUNREACH).
    /// </summary>
    public RouteLookup? LookUpRoute(Ipv6Address destination)
    {
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_GETROUTE, Rtnl.NLM_F_REQUEST, ++_sequence, Rtnl.RtmsgLen);
        w.FamilyHeader[0] = Rtnl.AF_INET6;
        w.FamilyHeader[1] = 128; // rtm_dst_len
        w.AddAddress(Rtnl.RTA_DST, destination);
        RouteLookup? found = null;
        try
        {
            Transact(w.Finish(), $"route get {destination}", (type, msg) =>
            {
                if (type != Rtnl.RTM_NEWROUTE) return;
                var h = msg[Rtnl.NlmsgHdrLen..];
                int oif = 0;
                Ipv6Address? gw = null, src = null;
                var r = new NetlinkAttributeReader(h[Rtnl.RtmsgLen..]);
                while (r.MoveNext())
                {
                    switch (r.Type)
                    {
                        case Rtnl.RTA_OIF when r.Value.Length == 4: oif = BinaryPrimitives.ReadInt32LittleEndian(r.Value); break;
                        case Rtnl.RTA_GATEWAY when r.Value.Length == 16: gw = Ipv6Address.ReadFrom(r.Value); break;
                        case Rtnl.RTA_PREFSRC when r.Value.Length == 16: src = Ipv6Address.ReadFrom(r.Value); break;
                    }
                }
                found = new RouteLookup(destination, oif, gw, src);
            });
        }
        catch (NetlinkException e) when (e.Errno is Errno.ENETUNREACH or Errno.EHOSTUNREACH)
        {
            return null;
        }
        return found;
    }

    /// <summary>
    /// The neighbour cache entry for <paramref name="address"/> on interface <paramref name="ifIndex"/>
    /// (`ip -6 neigh get`), or null when the kernel has none. An entry may exist without a link-layer address
    /// yet (INCOMPLETE) or be FAILED: see <see cref="NeighborInfo.IsUsable"/>.
    /// </summary>
    public NeighborInfo? GetNeighbor(int ifIndex, Ipv6Address address)
    {
        var w = new NetlinkRequestWriter(_request, Rtnl.RTM_GETNEIGH, Rtnl.NLM_F_REQUEST, ++_sequence, Rtnl.NdmsgLen);
        w.FamilyHeader[0] = Rtnl.AF_INET6;
        BinaryPrimitives.WriteInt32LittleEndian(w.FamilyHeader[4..], ifIndex); // ndm_ifindex
        w.AddAddress(Rtnl.NDA_DST, address);
        NeighborInfo? found = null;
        try
        {
            Transact(w.Finish(), $"neigh get {address} dev #{ifIndex}", (type, msg) =>
            {
                if (type != Rtnl.RTM_NEWNEIGH) return;
                var h = msg[Rtnl.NlmsgHdrLen..];
                var state = (NeighborState)BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
                MacAddress? mac = null;
                var r = new NetlinkAttributeReader(h[Rtnl.NdmsgLen..]);
                while (r.MoveNext())
                    if (r.Type == Rtnl.NDA_LLADDR && r.Value.Length == MacAddress.Length) mac = MacAddress.ReadFrom(r.Value);
                found = new NeighborInfo(BinaryPrimitives.ReadInt32LittleEndian(h[4..]), address, mac, state);
            });
        }
        catch (NetlinkException e) when (e.Errno is Errno.ENOENT or Errno.ENODEV)
        {
            return null;
        }
        return found;
    }

    // ---------------- traffic control (tc) ----------------

    /// <summary>
    /// Add the clsact qdisc to the interface (`tc qdisc add dev X clsact`), the hook for ingress and egress
    /// filters. Returns false when the interface already has one (leave it in place then).
    /// </summary>
    public bool AddClsactQdisc(int ifIndex)
    {
        string op = $"add clsact qdisc dev #{ifIndex}";
        var w = TcRequest(Rtnl.RTM_NEWQDISC, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL, ifIndex, Rtnl.TC_H_CLSACT_HANDLE, Rtnl.TC_H_CLSACT, 0);
        w.AddString(Rtnl.TCA_KIND, "clsact");
        try
        {
            Transact(w.Finish(), op, null);
            return true;
        }
        catch (NetlinkException e) when (e.Errno == Errno.EEXIST)
        {
            return false;
        }
    }

    public void DeleteClsactQdisc(int ifIndex)
    {
        var w = TcRequest(Rtnl.RTM_DELQDISC, 0, ifIndex, Rtnl.TC_H_CLSACT_HANDLE, Rtnl.TC_H_CLSACT, 0);
        w.AddString(Rtnl.TCA_KIND, "clsact");
        Transact(w.Finish(), $"delete clsact qdisc dev #{ifIndex}", null);
    }

    /// <summary>
    /// Attach a loaded BPF_PROG_TYPE_SCHED_CLS program as a direct-action ingress filter (`tc filter add dev X
    /// ingress prio P handle 1 bpf da fd F`), for every protocol. With <paramref name="replace"/>, a filter at that
    /// priority and handle (one a crashed process left behind) is replaced instead of refused.
    /// </summary>
    public void AddIngressBpfFilter(int ifIndex, int programFd, string name, ushort priority, bool replace = false) =>
        AddBpfFilter(ifIndex, programFd, name, priority, Rtnl.TC_H_INGRESS_PARENT, replace);

    public void DeleteIngressFilter(int ifIndex, ushort priority) => DeleteFilter(ifIndex, priority, Rtnl.TC_H_INGRESS_PARENT);

    /// <summary>
    /// Attach a loaded SCHED_CLS program as a direct-action egress filter on the clsact qdisc (`tc filter replace
    /// dev X egress prio P handle 1 bpf da fd F`). With <paramref name="replace"/>, a filter already at that
    /// priority and handle (one a crashed process left behind) is replaced instead of refused.
    /// </summary>
    public void AddEgressBpfFilter(int ifIndex, int programFd, string name, ushort priority, bool replace) =>
        AddBpfFilter(ifIndex, programFd, name, priority, Rtnl.TC_H_EGRESS_PARENT, replace);

    /// <summary>Remove the egress filter at <paramref name="priority"/>; ENOENT (or no clsact qdisc, EINVAL) when there is none.</summary>
    public void DeleteEgressFilter(int ifIndex, ushort priority) => DeleteFilter(ifIndex, priority, Rtnl.TC_H_EGRESS_PARENT);

    private void AddBpfFilter(int ifIndex, int programFd, string name, ushort priority, uint parent, bool replace)
    {
        string hook = parent == Rtnl.TC_H_EGRESS_PARENT ? "egress" : "ingress";
        string op = $"{(replace ? "replace" : "add")} {hook} bpf filter {name} prio {priority} dev #{ifIndex}";
        var w = TcRequest(Rtnl.RTM_NEWTFILTER, (ushort)(Rtnl.NLM_F_CREATE | (replace ? Rtnl.NLM_F_REPLACE : Rtnl.NLM_F_EXCL)), ifIndex, 1, parent,
            ((uint)priority << 16) | Rtnl.ETH_P_ALL_BE);
        w.AddString(Rtnl.TCA_KIND, "bpf");
        int options = w.BeginNested(Rtnl.TCA_OPTIONS);
        w.AddUInt32(Rtnl.TCA_BPF_FD, (uint)programFd);
        w.AddString(Rtnl.TCA_BPF_NAME, name);
        w.AddUInt32(Rtnl.TCA_BPF_FLAGS, Rtnl.TCA_BPF_FLAG_ACT_DIRECT);
        w.EndNested(options);
        Transact(w.Finish(), op, null);
    }

    private void DeleteFilter(int ifIndex, ushort priority, uint parent)
    {
        var w = TcRequest(Rtnl.RTM_DELTFILTER, 0, ifIndex, 1, parent, ((uint)priority << 16) | Rtnl.ETH_P_ALL_BE);
        w.AddString(Rtnl.TCA_KIND, "bpf");
        Transact(w.Finish(), $"delete {(parent == Rtnl.TC_H_EGRESS_PARENT ? "egress" : "ingress")} filter prio {priority} dev #{ifIndex}", null);
    }

    private NetlinkRequestWriter TcRequest(ushort type, ushort flags, int ifIndex, uint handle, uint parent, uint info)
    {
        var w = new NetlinkRequestWriter(_request, type, (ushort)(Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK | flags), ++_sequence, Rtnl.TcmsgLen);
        var h = w.FamilyHeader;
        h[0] = Rtnl.AF_UNSPEC;
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], ifIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], handle);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], parent);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], info);
        return w;
    }

    // ---------------- transport ----------------

    private int ResolveIfIndex(string name, string operation) =>
        TryGetIfIndex(name, out int ifIndex) ? ifIndex : throw new NetlinkException(operation, Errno.ENODEV, $"no interface named {name}");

    private delegate void MessageHandler(ushort type, ReadOnlySpan<byte> message);

    /// <summary>Send one request and read replies with its sequence number until the ack, the error,
    /// the end of a dump, or (for a plain get) the single answer.</summary>
    private void Transact(ReadOnlySpan<byte> request, string operation, MessageHandler? onMessage)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        uint seq = BinaryPrimitives.ReadUInt32LittleEndian(request[8..]);
        ushort reqFlags = BinaryPrimitives.ReadUInt16LittleEndian(request[6..]);
        bool dump = (reqFlags & Rtnl.NLM_F_DUMP) == Rtnl.NLM_F_DUMP;
        bool ack = (reqFlags & Rtnl.NLM_F_ACK) != 0;
        fixed (byte* p = request)
        {
            long sent;
            do sent = send(_fd, p, request.Length, 0);
            while (sent < 0 && Errno.Last == Errno.EINTR);
            if (sent < 0) throw new NetlinkException(operation, Errno.Last, "sending the request");
        }
        while (true)
        {
            int n;
            fixed (byte* p = _response)
            {
                do n = (int)recv(_fd, p, _response.Length, 0);
                while (n < 0 && Errno.Last == Errno.EINTR);
            }
            if (n < 0) throw new NetlinkException(operation, Errno.Last, "reading the kernel's answer");
            var data = _response.AsSpan(0, n);
            while (data.Length >= Rtnl.NlmsgHdrLen)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                if (len < Rtnl.NlmsgHdrLen || len > data.Length) break;
                var msg = data[..len];
                data = data[Math.Min(Rtnl.Align(len), data.Length)..];
                if (BinaryPrimitives.ReadUInt32LittleEndian(msg[8..]) != seq) continue; // a stale answer
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]);
                if (type == Rtnl.NLMSG_DONE) return;
                if (type == Rtnl.NLMSG_ERROR)
                {
                    int error = -BinaryPrimitives.ReadInt32LittleEndian(msg[Rtnl.NlmsgHdrLen..]);
                    if (error == 0) return;
                    throw new NetlinkException(operation, error, ExtendedAckMessage(msg));
                }
                if (type == Rtnl.NLMSG_NOOP) continue;
                onMessage?.Invoke(type, msg);
                if (!dump && !ack) return;
            }
        }
    }

    /// <summary>NLMSGERR_ATTR_MSG from an NLMSG_ERROR carrying extended-ack TLVs.</summary>
    private static string? ExtendedAckMessage(ReadOnlySpan<byte> msg)
    {
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(msg[6..]);
        if ((flags & Rtnl.NLM_F_ACK_TLVS) == 0) return null;
        int offset = Rtnl.NlmsgHdrLen + 4; // error code, then the echoed request
        if (msg.Length < offset + Rtnl.NlmsgHdrLen) return null;
        int echoed = (flags & Rtnl.NLM_F_CAPPED) != 0 ? Rtnl.NlmsgHdrLen : (int)BinaryPrimitives.ReadUInt32LittleEndian(msg[offset..]);
        offset += Rtnl.Align(echoed);
        if (offset > msg.Length) return null;
        var r = new NetlinkAttributeReader(msg[offset..]);
        while (r.MoveNext())
            if (r.Type == Rtnl.NLMSGERR_ATTR_MSG) return NetlinkAttributeReader.ReadString(r.Value);
        return null;
    }

    public void Dispose()
    {
        Sys.Close(ref _fd);
        GC.SuppressFinalize(this);
    }
}
