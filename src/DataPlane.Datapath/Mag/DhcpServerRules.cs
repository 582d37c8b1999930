using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>What the MAG's DHCP server does with one client message (<see cref="DhcpServerRules.Decide"/>).</summary>
public enum DhcpAction : byte
{
    /// <summary>Nothing to say (a message for another server, a DECLINE, an OFFER/ACK/NAK type from a client).</summary>
    Ignore,
    /// <summary>Keep it: the VM's IPv4 address is not known yet (the PBA has not come); answer when it is (RFC 5844 §3.4.1).</summary>
    Defer,
    Offer,
    Ack,
    /// <summary>DHCPACK to a DHCPINFORM: configuration only, no address, no lease (RFC 2131 §4.3.5).</summary>
    InformAck,
    Nak,
    /// <summary>DHCPRELEASE of the VM's address: de-register the IPv4 home address (RFC 5844 §3.4.3).</summary>
    Release,
}

/// <summary>
/// The MAG's DHCPv4 server (RFC 5844 §3.4.1, §3.4.3; RFC 2131 §4.3) as a pure decision: the VM may only ever have
/// its IPv4 home address, which the LMA assigned; everything else follows from that. An OFFER or ACK carries the
/// home address, and the message it answers decides which (RFC 2131 §4.3.1, §4.3.2):
/// <list type="bullet">
/// <item>DISCOVER → OFFER.</item>
/// <item>REQUEST, SELECTING (server identifier present): ours → ACK if it asks for the home address, else NAK;
///   another server's → ignore (the client chose it; RFC 2131 §4.3.2).</item>
/// <item>REQUEST, INIT-REBOOT (requested address, no server identifier, no ciaddr: a guest after a link change, e.g.
///   a migration; RFC 5844 §3.4.3) → ACK for the home address, NAK for any other.</item>
/// <item>REQUEST, RENEWING/REBINDING (ciaddr) → ACK for the home address, NAK for any other: a unicast RENEW to
///   the domain-wide server identifier after a move is answered by the MAG the VM is on now (§3.4.1).</item>
/// <item>Not known yet (the registration is in flight): DISCOVER and REQUEST are deferred, answered when it is.</item>
/// <item>RELEASE of the home address → de-register it; INFORM → configuration; DECLINE → nothing to do (the one
///   address the VM may have is the home address).</item>
/// </list>
/// </summary>
public static class DhcpServerRules
{
    public static DhcpAction Decide(DhcpRepr request, Ipv4Assignment? assignment, Ipv4Address? configuredServerIdentifier)
    {
        switch (request.MessageType)
        {
            case DhcpMessageType.Discover:
                return assignment is null ? DhcpAction.Defer : DhcpAction.Offer;
            case DhcpMessageType.Request:
            {
                if (request.ServerIdentifier is { } chosen)
                {
                    // SELECTING: the client names the server whose OFFER it took. With no address yet, the OFFER
                    // cannot have been ours unless the server identifier is the configured fixed one.
                    var ours = assignment is { } a ? ServerIdentifier(a, configuredServerIdentifier) : configuredServerIdentifier;
                    if (ours is null) return DhcpAction.Defer;
                    if (chosen != ours) return DhcpAction.Ignore;
                    if (assignment is not { } mine) return DhcpAction.Defer;
                    return request.RequestedIpAddress == mine.HomeAddress ? DhcpAction.Ack : DhcpAction.Nak;
                }
                var wanted = request.RequestedIpAddress ?? request.ClientAddress;
                if (wanted.IsUnspecified) return DhcpAction.Nak; // neither INIT-REBOOT nor RENEWING: malformed
                if (assignment is not { } home) return DhcpAction.Defer;
                return wanted == home.HomeAddress ? DhcpAction.Ack : DhcpAction.Nak;
            }
            case DhcpMessageType.Release:
                return assignment is { } held && request.ClientAddress == held.HomeAddress ? DhcpAction.Release : DhcpAction.Ignore;
            case DhcpMessageType.Inform:
                return assignment is { } informed && request.ClientAddress == informed.HomeAddress ? DhcpAction.InformAck : DhcpAction.Ignore;
            default:
                return DhcpAction.Ignore;
        }
    }

    /// <summary>
    /// The Server Identifier (RFC 5844 §3.4): the configured domain-wide one, else the VM's default router address —
    /// both the same on every MAG, so a unicast RENEW after a move reaches the new MAG.
    /// </summary>
    public static Ipv4Address ServerIdentifier(Ipv4Assignment assignment, Ipv4Address? configured) => configured ?? assignment.DefaultRouter;

    /// <summary>
    /// The reply (RFC 2131 §4.3.1, Table 3; RFC 5844 §3.4.3: Subnet Mask, Router = the default router, Interface
    /// MTU = the tunnel MTU; RFC 6842: the client identifier echoed). Only for Offer, Ack, InformAck and Nak.
    /// </summary>
    public static DhcpRepr Reply(DhcpAction action, DhcpRepr request, Ipv4Assignment? assignment, Ipv4Address serverIdentifier,
        in DhcpServerSettings settings)
    {
        var type = action switch
        {
            DhcpAction.Offer => DhcpMessageType.Offer,
            DhcpAction.Nak => DhcpMessageType.Nak,
            DhcpAction.Ack or DhcpAction.InformAck => DhcpMessageType.Ack,
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, "no reply for this action"),
        };
        var reply = new DhcpRepr(type, request.TransactionId, request.ClientHardwareAddress)
        {
            Flags = request.Flags,
            RelayAgentAddress = request.RelayAgentAddress,
            ServerIdentifier = serverIdentifier,
            ClientIdentifier = request.ClientIdentifier,
        };
        if (action == DhcpAction.Nak) return reply with { Flags = request.Flags | DhcpFlags.Broadcast };
        var a = assignment!.Value;
        uint lease = (uint)settings.LeaseTime.TotalSeconds;
        reply = reply with
        {
            ClientAddress = action == DhcpAction.InformAck || request.ClientAddress == a.HomeAddress ? request.ClientAddress : Ipv4Address.Any,
            SubnetMask = a.Subnet.Mask,
            Routers = [a.DefaultRouter],
            DomainNameServers = settings.DnsServers,
            DomainName = settings.DomainName,
            InterfaceMtu = settings.InterfaceMtu,
        };
        if (action == DhcpAction.InformAck) return reply;
        return reply with { YourAddress = a.HomeAddress, LeaseTime = lease, RenewalTime = lease / 2, RebindingTime = (uint)(lease * 7UL / 8) };
    }

    /// <summary>
    /// Where a reply goes (RFC 2131 §4.1): to ciaddr when the client has an address (RENEWING, REBINDING, INFORM),
    /// broadcast when the client asked (or for a NAK), else to yiaddr at chaddr. True for an IP broadcast.
    /// </summary>
    public static Ipv4Address Destination(DhcpRepr request, DhcpRepr reply, out bool broadcast)
    {
        broadcast = false;
        if (reply.MessageType != DhcpMessageType.Nak && !request.ClientAddress.IsUnspecified) return request.ClientAddress;
        if (reply.MessageType == DhcpMessageType.Nak || request.IsBroadcast)
        {
            broadcast = true;
            return Ipv4Address.Broadcast;
        }
        return reply.YourAddress;
    }
}

/// <summary>What every DHCP reply of a MAG carries besides the VM's own assignment (the same on every MAG, RFC 5844 §3.4).</summary>
public readonly record struct DhcpServerSettings(TimeSpan LeaseTime, EquatableArray<Ipv4Address> DnsServers, OctetString? DomainName, ushort InterfaceMtu);
