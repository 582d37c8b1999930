using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// The emulated home link's control plane: Neighbor Discovery and MLD from the VM.
public sealed partial class MagDatapath
{
    /// <summary>RFC 4861 §6.1/§7.1: ND messages carry hop limit 255, proving they were not forwarded.</summary>
    private const byte NeighborDiscoveryHopLimit = 255;

    private static bool IsLinkControl(Icmpv6Type type) => type is
        Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement or Icmpv6Type.NeighborSolicitation
        or Icmpv6Type.NeighborAdvertisement or Icmpv6Type.Redirect or Icmpv6Type.MulticastListenerQuery
        or Icmpv6Type.MulticastListenerReport or Icmpv6Type.MulticastListenerDone or Icmpv6Type.Version2MulticastListenerReport;

    /// <param name="frame">From the Ethernet header to the end of the IPv6 packet.</param>
    private Verdict FromVmLinkControl(AccessPort port, Span<byte> frame, in FrameInfo info, Instant now)
    {
        switch (info.Icmpv6Type)
        {
            case Icmpv6Type.RouterAdvertisement:
                // RA guard (RFC 6105): only the MAG advertises on this link.
                return ActivityThenDrop(port, DropReason.RouterAdvertisementGuard, now);
            case Icmpv6Type.Redirect:
                return ActivityThenDrop(port, DropReason.RedirectGuard, now);
            case Icmpv6Type.RouterSolicitation:
            case Icmpv6Type.NeighborSolicitation:
            case Icmpv6Type.NeighborAdvertisement:
                break;
            default:
                // MLD: no multicast routing here, so joins and queries are absorbed without a word.
                ReportActivity(port, now);
                return Consume(port, ControlFrameKind.MulticastListenerDiscovery);
        }
        // Each of these costs a machine event or a reply: a VM flooding them hits its port's rate first.
        if (!port.ControlLimiter.TryAcquire(_options.ControlFrameRate, now)) return DropFromVm(port, DropReason.RateLimited);
        var source = info.Ipv6Source;
        var icmp = frame[info.UpperLayerOffset..];
        if (info.HopLimit != NeighborDiscoveryHopLimit) return DropFromVm(port, DropReason.Malformed, WireError.BadValue);
        if (!Icmpv6Packet.IsChecksumValid(icmp, source, info.Ipv6Destination)) return DropFromVm(port, DropReason.Malformed, WireError.BadChecksum);
        Ipv6Address? linkLocal = source.IsLinkLocal ? source : null;
        switch (info.Icmpv6Type)
        {
            case Icmpv6Type.RouterSolicitation:
            {
                if (!RouterSolicitationView.TryValidate(icmp, out var error)) return DropFromVm(port, DropReason.Malformed, error);
                var verdict = Consume(port, ControlFrameKind.RouterSolicitation);
                // The machine answers with a unicast RA (SendRouterAdvertisement) once the session is established.
                RaiseTrigger(port, AttachTrigger.RouterSolicitation, linkLocal, now);
                return verdict;
            }
            case Icmpv6Type.NeighborSolicitation:
            {
                if (!NeighborSolicitationView.TryCreate(icmp, out var ns, out var error)) return DropFromVm(port, DropReason.Malformed, error);
                var target = ns.Target;
                bool ours = IsRouterAddress(target);
                if (source.IsUnspecified)
                {
                    // Duplicate Address Detection: the guest is configuring an address. If it is one of ours,
                    // defend it (RFC 4862 §5.4.3: an NA to all-nodes) so the guest picks another.
                    if (ours)
                    {
                        WriteNeighborAdvertisement(port, target, Ipv6Address.AllNodes, MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes),
                            NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Override);
                    }
                    var dad = Consume(port, ControlFrameKind.DadNeighborSolicitation);
                    RaiseTrigger(port, AttachTrigger.DadNeighborSolicitation, ours ? null : target, now);
                    return dad;
                }
                ReportActivity(port, now);
                if (!ours) return Consume(port, ControlFrameKind.NeighborSolicitationUnanswered); // nobody else is on this link
                // Address resolution or NUD for the router: answer from the shared MAC (RFC 4861 §7.2.4).
                WriteNeighborAdvertisement(port, target, source, port.VmMac,
                    NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override);
                return Consume(port, ControlFrameKind.NeighborSolicitationForRouter);
            }
            default:
            {
                if (!NeighborAdvertisementView.TryCreate(icmp, out var na, out var error)) return DropFromVm(port, DropReason.Malformed, error);
                if (!na.IsSolicited)
                {
                    // A guest announcing its addresses (Linux after a migration: NETDEV_NOTIFY_PEERS).
                    var announce = Consume(port, ControlFrameKind.UnsolicitedNeighborAdvertisement);
                    RaiseTrigger(port, AttachTrigger.UnsolicitedNeighborAdvertisement, linkLocal, now);
                    return announce;
                }
                // The answer to our NUD probe.
                var verdict = Consume(port, ControlFrameKind.SolicitedNeighborAdvertisement);
                port.NextActivityReport = now + _options.ActivityReportInterval;
                Raise(linkLocal is null ? port.ReachabilityEvent : new MagEvent.ReachabilityConfirmed(port.Id, linkLocal), now);
                return verdict;
            }
        }
    }

    private bool IsRouterAddress(Ipv6Address address)
    {
        foreach (var a in _routerAddresses)
            if (a == address) return true;
        return false;
    }

    /// <summary>Raise an attachment trigger for the port's VM; it also stands for this interval's activity report.</summary>
    private void RaiseTrigger(AccessPort port, AttachTrigger trigger, Ipv6Address? vmLinkLocal, Instant now)
    {
        if (_arrivalPending == port) _arrivalPending = null;
        if (port.AwaitingMigratedVm)
        {
            port.AwaitingMigratedVm = false;
            // Whatever a migrated VM sends first (an RS after its carrier blinked, a data packet), it arrives from another MAG.
            if (!HandoffIndicatorRule.IsMigrationAnnounce(trigger)) trigger = AttachTrigger.HotplugIncomingMigration;
        }
        port.NextActivityReport = now + _options.ActivityReportInterval;
        Raise(new MagEvent.AttachmentDetected(port.Id, trigger, port.VmMac, vmLinkLocal), now);
    }

    /// <summary>
    /// The VM sent something: at most once per <see cref="MagDatapathOptions.ActivityReportInterval"/>, tell
    /// the machine. With a session installed that is a reachability confirmation (a reused event: no
    /// allocation); without one it is a FirstFrame trigger, which starts a session for a VM that was never
    /// seen, or whose session ended while it stayed (NUD gave up, the LMA refused a refresh): the machine
    /// absorbs it while a registration is under way.
    /// </summary>
    private void ReportActivity(AccessPort port, Instant now)
    {
        if (now < port.NextActivityReport) return;
        if (port.Session is null)
        {
            RaiseTrigger(port, AttachTrigger.FirstFrame, null, now);
            return;
        }
        port.NextActivityReport = now + _options.ActivityReportInterval;
        Raise(port.ReachabilityEvent, now);
    }
}
