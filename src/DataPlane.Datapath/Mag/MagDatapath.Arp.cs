using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// The IPv4 access link's ARP (RFC 5844 §3.2.3.2 and §3.2.4): the MAG answers for the default router and, by
// proxy ARP, for every other address of the VM's home subnet, always with the shared MAC, so two VMs of one
// subnet reach each other only through the tunnel. A VM's ARP never reaches another VM.
public sealed partial class MagDatapath
{
    private Verdict FromVmArp(AccessPort port, Span<byte> frame, in FrameInfo info, Instant now)
    {
        ArpPacket.TryCreate(frame[info.NetworkOffset..], out var view, out _); // classified above: cannot fail
        var arp = view.ToRepr();
        // Layer 2 checked the Ethernet source; the ARP sender hardware address must say the same.
        if (arp.SenderHardwareAddress != port.VmMac) return ActivityThenDrop(port, DropReason.ArpSpoofed, now);
        var v4 = port.Session?.Ipv4;
        var sender = arp.SenderProtocolAddress;
        if (arp.IsGratuitous)
        {
            // An announcement (a guest after boot or migration; Xen's netfront GARP): an attachment trigger. Once the
            // VM has an address, one for any other address is a claim on someone else's, and goes nowhere.
            if (v4 is { } own && sender != own.HomeAddress) return ActivityThenDrop(port, DropReason.ArpSpoofed, now);
            return FromVmAnnouncement(port, ControlFrameKind.GratuitousArp, AttachTrigger.GratuitousArp, now);
        }
        if (v4 is not { } mine)
        {
            // No IPv4 address yet: an IPv4 guest's ARP starts (or keeps alive) its session, and is not answered.
            if (arp.Operation == ArpOperation.Request && port.Session is null)
            {
                if (!port.ControlLimiter.TryAcquire(_options.ControlFrameRate, now)) return DropFromVm(port, DropReason.RateLimited);
                var waiting = Consume(port, ControlFrameKind.ArpRequestUnanswered);
                RaiseTrigger(port, AttachTrigger.ArpRequest, null, now);
                return waiting;
            }
            ReportActivity(port, now);
            return Consume(port, ControlFrameKind.ArpRequestUnanswered);
        }
        // The sender may only be the VM itself, or 0.0.0.0 while it probes (RFC 5227).
        if (!sender.IsUnspecified && sender != mine.HomeAddress) return ActivityThenDrop(port, DropReason.ArpSpoofed, now);
        if (arp.Operation == ArpOperation.Reply)
        {
            // The answer to an IPv4 NUD probe (any frame confirms reachability; ReportActivity does).
            ReportActivity(port, now);
            return Consume(port, ControlFrameKind.ArpReply);
        }
        if (arp.Operation != ArpOperation.Request) return DropFromVm(port, DropReason.Malformed, WireError.UnknownType);
        if (!port.ControlLimiter.TryAcquire(_options.ControlFrameRate, now)) return DropFromVm(port, DropReason.RateLimited);
        ReportActivity(port, now);
        var target = arp.TargetProtocolAddress;
        // A probe for its own address (RFC 5227 §2.1.1), or an odd request from 0.0.0.0: an answer would tell the
        // guest its address is taken. Nobody else on this link has it.
        if (target == mine.HomeAddress || sender.IsUnspecified) return Consume(port, ControlFrameKind.ArpProbe);
        if (target == mine.DefaultRouter)
        {
            WriteArpReply(port, target, mine.HomeAddress);
            return Consume(port, ControlFrameKind.ArpRequestForRouter);
        }
        if (mine.Subnet.IsHostAddress(target))
        {
            // §3.2.4: proxy ARP for the home subnet; the other VM is reached through the LMA.
            WriteArpReply(port, target, mine.HomeAddress);
            return Consume(port, ControlFrameKind.ArpRequestProxied);
        }
        return Consume(port, ControlFrameKind.ArpRequestUnanswered);
    }

    /// <summary>
    /// "The default router is at the shared MAC", unicast to the VM, when its IPv4 address is installed here: what the
    /// RA after a registration does for IPv6. A guest whose link flapped (a Xen netfront reconnect, the testbed's
    /// veth move) has lost its ARP entries, and the ARP request it sent while the port was not ours yet went
    /// nowhere; without this it would wait for its own retransmission (a second on Linux) with its packets queued.
    /// An ARP reply is taken only for an entry the guest is resolving or has (RFC 826; Linux's arp_accept 0), so it
    /// completes what is pending and changes nothing else.
    /// </summary>
    private void AnnounceDefaultRouter(AccessPort port, Ipv4Assignment v4) =>
        WriteArpReply(port, v4.DefaultRouter, v4.HomeAddress, ControlMessageKind.ArpAnnouncement);

    /// <summary>"<paramref name="target"/> is at the shared MAC", unicast to the VM.</summary>
    private void WriteArpReply(AccessPort port, Ipv4Address target, Ipv4Address vmAddress, ControlMessageKind kind = ControlMessageKind.ArpReply)
    {
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        int at = EthernetFrame.WriteHeader(slot, port.VmMac, _sharedMac, EtherType.Arp);
        at += new ArpRepr(ArpOperation.Reply, _sharedMac, target, port.VmMac, vmAddress).WriteTo(slot[at..]);
        CommitToPort(port, kind, default, default, at);
    }

    /// <summary>IPv4 NUD (the machine's SendArpProbe): a unicast ARP request for the VM's home address, from the default router and the shared MAC.</summary>
    private void WriteArpProbe(MagAction.SendArpProbe probe)
    {
        if (FindPort(probe.Port) is not { } port)
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        if (!ControlOutput.TryBegin(out var slot))
        {
            Counters.ControlOutputOverflows++;
            return;
        }
        int at = EthernetFrame.WriteHeader(slot, probe.VmMac, probe.SourceMac, EtherType.Arp);
        at += new ArpRepr(ArpOperation.Request, probe.SourceMac, probe.SourceAddress, default, probe.Target).WriteTo(slot[at..]);
        CommitToPort(port, ControlMessageKind.ArpProbe, default, default, at);
    }
}
