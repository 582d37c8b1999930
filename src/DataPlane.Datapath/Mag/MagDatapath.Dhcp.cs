using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// The MAG as the VM's DHCPv4 server (RFC 5844 §3.4.1, §3.4.3), on the emulated access link.
public sealed partial class MagDatapath
{
    /// <summary>
    /// A DHCP client message (UDP 68 → 67) from the VM. Its DISCOVER or REQUEST is an attachment trigger when the
    /// port has no session (§3.4.3: DHCPDISCOVER "will trigger the mobile access gateway to complete the
    /// signaling"), and a request for an IPv4 address when the session has none; it is answered once the address is
    /// known. A RELEASE de-registers the IPv4 address only. Rate-limited with the other control frames.
    /// </summary>
    /// <param name="frame">From the Ethernet header to the end of the IPv4 packet.</param>
    private Verdict FromVmDhcp(AccessPort port, Span<byte> frame, in FrameInfo info, Instant now)
    {
        if (!port.ControlLimiter.TryAcquire(_options.ControlFrameRate, now)) return DropFromVm(port, DropReason.RateLimited);
        var session = port.Session;
        var v4 = session?.Ipv4;
        // The client's address before it has one is 0.0.0.0; afterwards (RENEWING) its home address. Nothing else.
        var source = info.Ipv4Source;
        if (!source.IsUnspecified && v4 is { } own && source != own.HomeAddress) return ActivityThenDrop(port, DropReason.SpoofedSource, now);
        var ipPacket = frame.Slice(info.NetworkOffset, info.NetworkLength);
        if (!Ipv4Packet.TryCreate(ipPacket, out var ip, out var error)) return DropFromVm(port, DropReason.Malformed, error);
        if (!ip.IsHeaderChecksumValid) return DropFromVm(port, DropReason.Malformed, WireError.BadChecksum);
        if (!UdpDatagram.TryCreate(ip.Payload, out var udp, out error)) return DropFromVm(port, DropReason.Malformed, error);
        if (!udp.IsChecksumValid(ip.Source, ip.Destination)) return DropFromVm(port, DropReason.Malformed, WireError.BadChecksum);
        if (!DhcpRepr.TryParse(udp.Payload, out var request, out error)) return DropFromVm(port, DropReason.Malformed, error);
        if (request.Operation != BootpOperation.Request) return ActivityThenDrop(port, DropReason.DhcpServerGuard, now);
        if (request.ClientHardwareAddress != port.VmMac) return ActivityThenDrop(port, DropReason.ForeignSourceMac, now);
        Counters.DhcpReceived.Increment(request.MessageType);
        var verdict = Consume(port, ControlFrameKind.Dhcp);

        var action = DhcpServerRules.Decide(request, v4, _options.DhcpServerIdentifier);
        switch (action)
        {
            case DhcpAction.Defer:
                if (port.PendingDhcp is not null) Counters.DhcpIgnored++; // superseded by the newer one
                port.PendingDhcp = request;
                Counters.DhcpDeferred++;
                if (session is null)
                {
                    // No session: this starts one (boot-like; after a migration the port's --incoming mark makes it HI 3).
                    RaiseTrigger(port, AttachTrigger.Dhcp, null, now);
                }
                else
                {
                    ReportActivity(port, now);
                    port.NextActivityReport = now + _options.ActivityReportInterval;
                    Raise(new MagEvent.Ipv4AddressRequested(port.Id), now);
                }
                break;
            case DhcpAction.Release:
                ReportActivity(port, now);
                Raise(new MagEvent.Ipv4AddressReleased(port.Id), now);
                break;
            case DhcpAction.Ignore:
                ReportActivity(port, now);
                Counters.DhcpIgnored++;
                break;
            default:
                ReportActivity(port, now);
                port.PendingDhcp = null;
                WriteDhcpReply(port, action, request, v4);
                break;
        }
        return verdict;
    }

    /// <summary>
    /// Answer the port's deferred DHCP request now: with its IPv4 address installed, as the rules say; without one
    /// (the registration failed, or the LMA gave no IPv4), a REQUEST gets a NAK (§3.4.1: "unable to … acquire the
    /// same IPv4 address … it will send a DHCPNACK") and a DISCOVER nothing.
    /// </summary>
    private void AnswerPendingDhcp(PortId portId)
    {
        if (FindPort(portId) is not { PendingDhcp: { } request } port) return;
        port.PendingDhcp = null;
        if (port.Session?.Ipv4 is { } v4)
        {
            var action = DhcpServerRules.Decide(request, v4, _options.DhcpServerIdentifier);
            if (action is DhcpAction.Offer or DhcpAction.Ack or DhcpAction.Nak or DhcpAction.InformAck) WriteDhcpReply(port, action, request, v4);
            else Counters.DhcpIgnored++;
            return;
        }
        // No address to be had: a REQUEST is refused; a DISCOVER simply gets no OFFER.
        if (request.MessageType == DhcpMessageType.Request) WriteDhcpReply(port, DhcpAction.Nak, request, null);
        else Counters.DhcpIgnored++;
    }

    private void WriteDhcpReply(AccessPort port, DhcpAction action, DhcpRepr request, Ipv4Assignment? v4)
    {
        // RFC 2131 requires option 54 in every reply. Without an address to derive it from (a NAK when none could
        // be had), the configured one, or the one the client named; with neither there is nothing valid to send.
        var serverId = v4 is { } a ? DhcpServerRules.ServerIdentifier(a, _options.DhcpServerIdentifier)
            : _options.DhcpServerIdentifier ?? request.ServerIdentifier;
        if (serverId is not { } id)
        {
            Counters.DhcpIgnored++;
            return;
        }
        var reply = DhcpServerRules.Reply(action, request, v4, id, _dhcpSettings);
        var destination = DhcpServerRules.Destination(request, reply, out bool broadcast);
        int dhcpLength = reply.GetLength();
        int udpLength = UdpDatagram.HeaderLength + dhcpLength;
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        if (EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength + udpLength > slot.Length)
        {
            Counters.DhcpIgnored++; // options beyond a control slot: never with the options we send
            return;
        }
        int at = EthernetFrame.WriteHeader(slot, broadcast ? MacAddress.Broadcast : port.VmMac, _sharedMac, EtherType.Ipv4);
        at += Ipv4Packet.WriteHeader(slot[at..], id, destination, IpProtocol.Udp, udpLength, ttl: 64, dontFragment: false);
        int udpAt = at;
        at += UdpDatagram.WriteHeader(slot[at..], WellKnownPorts.Dhcpv4Server, WellKnownPorts.Dhcpv4Client, dhcpLength);
        at += reply.WriteTo(slot[at..]);
        UdpDatagram.TryCreate(slot[udpAt..at], out var udp, out _);
        udp.FillChecksum(id, destination);
        Counters.DhcpSent.Increment(reply.MessageType);
        CommitToPort(port, ControlMessageKind.DhcpReply, default, default, at);
    }
}
