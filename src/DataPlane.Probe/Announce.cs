using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using DataPlane.Wire;

namespace DataPlane.Probe;

/// <summary>
/// The frames a hypervisor or a freshly resumed guest emits after a migration, built with the wire
/// layer and sent raw on an interface through AF_PACKET, independent of the kernel's own state for that
/// interface (its addresses may be tentative again after a carrier drop):
/// QEMU's self-announce RARP (qemu_announce_self: broadcast, EtherType 0x8035, opcode 3, sender and
/// target hardware address the VM's MAC, protocol addresses 0) and a Linux guest's unsolicited
/// Neighbor Advertisement (ndisc_send_unsol_na on NETDEV_NOTIFY_PEERS: to ff02::1, from the address
/// itself, Override set, Target Link-Layer Address option, hop limit 255) and its gratuitous ARP (arp_send
/// on NETDEV_NOTIFY_PEERS: a broadcast request whose sender and target protocol address are its own).
/// </summary>
public static class Announce
{
    public const int MinimumFrameLength = 60;

    public static int WriteRarp(Span<byte> frame, MacAddress mac)
    {
        frame[..MinimumFrameLength].Clear();
        int o = EthernetFrame.WriteHeader(frame, MacAddress.Broadcast, mac, EtherType.Rarp);
        o += new ArpRepr(ArpOperation.ReverseRequest, mac, default, mac, default).WriteTo(frame[o..]);
        return Math.Max(o, MinimumFrameLength);
    }

    public static int WriteUnsolicitedNa(Span<byte> frame, MacAddress mac, Ipv6Address address)
    {
        var group = Ipv6Address.AllNodes;
        int o = EthernetFrame.WriteHeader(frame, MacAddress.ForIpv6Multicast(group), mac, EtherType.Ipv6);
        var ipHeader = frame[o..];
        int icmpLength = Icmpv6Writer.NeighborAdvertisementLength(hasTargetLinkLayerAddress: true);
        o += Ipv6Packet.WriteHeader(ipHeader, address, group, IpProtocol.Icmpv6, icmpLength, hopLimit: 255);
        o += Icmpv6Writer.WriteNeighborAdvertisement(frame[o..], address, group, NeighborAdvertisementFlags.Override, address, mac);
        return Math.Max(o, MinimumFrameLength);
    }

    public static int WriteGratuitousArp(Span<byte> frame, MacAddress mac, Ipv4Address address)
    {
        frame[..MinimumFrameLength].Clear();
        int o = EthernetFrame.WriteHeader(frame, MacAddress.Broadcast, mac, EtherType.Arp);
        o += new ArpRepr(ArpOperation.Request, mac, address, default, address).WriteTo(frame[o..]);
        return Math.Max(o, MinimumFrameLength);
    }

    /// <summary>The interface's IPv4 addresses, from the current network namespace.</summary>
    public static List<Ipv4Address> Ipv4Addresses(string device) =>
        NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == device) is { } nic
            ? nic.GetIPProperties().UnicastAddresses.Where(u => u.Address.AddressFamily == AddressFamily.InterNetwork)
                .Select(u => Ipv4Address.FromIPAddress(u.Address)).ToList()
            : throw new ArgumentException($"no interface named {device} in this network namespace");

    /// <summary>The interface's MAC and IPv6 addresses (global first, then link-local), from the current network namespace.</summary>
    public static (int Index, MacAddress Mac, List<Ipv6Address> Addresses) Describe(string device)
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == device)
            ?? throw new ArgumentException($"no interface named {device} in this network namespace");
        int index = int.Parse(File.ReadAllText($"/sys/class/net/{device}/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var bytes = nic.GetPhysicalAddress().GetAddressBytes();
        if (bytes.Length != 6) throw new ArgumentException($"{device} has no Ethernet address");
        var mac = MacAddress.ReadFrom(bytes);
        var addresses = nic.GetIPProperties().UnicastAddresses
            .Where(u => u.Address.AddressFamily == AddressFamily.InterNetworkV6)
            .Select(u => u.Address)
            .OrderBy(a => a.IsIPv6LinkLocal ? 1 : 0)
            .Select(a => Ipv6Address.FromIPAddress(new IPAddress(a.GetAddressBytes())))
            .ToList();
        return (index, mac, addresses);
    }

    /// <summary>Sends one frame as is on interface <paramref name="ifIndex"/>.</summary>
    public static void Send(int ifIndex, ReadOnlySpan<byte> frame)
    {
        using var socket = new Socket(AddressFamily.Packet, SocketType.Raw, ProtocolType.Raw);
        socket.SendTo(frame, SocketFlags.None, new LinkLayerEndPoint(ifIndex, MacAddress.ReadFrom(frame)));
    }

    /// <summary>A <c>sockaddr_ll</c> for sending: family, protocol 0, interface index, destination MAC.</summary>
    private sealed class LinkLayerEndPoint(int ifIndex, MacAddress destination) : EndPoint
    {
        private const int SockaddrLlLength = 20;

        public override AddressFamily AddressFamily => AddressFamily.Packet;

        public override SocketAddress Serialize()
        {
            // struct sockaddr_ll { u16 family; be16 protocol; s32 ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8]; }
            var sa = new SocketAddress(AddressFamily.Packet, SockaddrLlLength);
            Span<byte> b = stackalloc byte[SockaddrLlLength];
            BitConverter.TryWriteBytes(b[4..], ifIndex);
            b[11] = MacAddress.Length;
            destination.WriteTo(b[12..]);
            for (int i = 2; i < SockaddrLlLength; i++) sa[i] = b[i];
            return sa;
        }

        public override EndPoint Create(SocketAddress socketAddress) => this;
    }
}
