using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Datapath;

// A live migration's destination MAG on a route (LmaAction.RouteSecondary): its uplink is accepted, and the downlink
// is copied to it (bicast) or sent only to it (after the serving MAG's stop notice).
public sealed partial class LmaDatapath
{
    private void SetSecondary(LmaAction.RouteSecondary a)
    {
        if (!_routes.TryGetExact(a.Prefix, out var route))
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        Apply(route, a.Mag, a.CopyDownlink, a.ServingMagDownlink);
    }

    /// <summary>The same for an IPv4 home address (RFC 5844: one binding carries both families, so both move together).</summary>
    private void SetSecondary(LmaAction.Ipv4RouteSecondary a)
    {
        if (!_ipv4Routes.TryGetValue(a.HomeAddress.Value, out var route))
        {
            Counters.ActionsForUnknownPort++;
            return;
        }
        Apply(route, a.Mag, a.CopyDownlink, a.ServingMagDownlink);
    }

    private void Apply(LmaDownlinkRoute route, Ipv6Address? mag, bool copy, bool serving)
    {
        route.Secondary = mag is { } m ? Tunnel(m) : null;
        route.CopyToSecondary = mag is not null && copy;
        route.SendToPrimary = mag is null || serving;
    }

    /// <summary>Where a route's downlink goes now: the serving MAG, the second MAG, or both (<paramref name="copies"/> 2).</summary>
    private static (LmaTunnel First, LmaTunnel? Second) DownlinkTargets(LmaDownlinkRoute route, out int copies)
    {
        if (route.Secondary is not { } second || (!route.CopyToSecondary && route.SendToPrimary))
        {
            copies = 1;
            return (route.Tunnel, null);
        }
        if (!route.SendToPrimary)
        {
            copies = 1;
            return (second, null);
        }
        copies = 2;
        return (route.Tunnel, second);
    }

    /// <summary>
    /// A downlink packet (hop limit already decremented) for a route with a second MAG: to that MAG only, or a copy to
    /// each (two segment-pool slots, so the host sends both as it sends cut segments; only while a migration runs).
    /// A partial checksum (<paramref name="offload"/>) stays partial only where every path it takes completes it, as
    /// on the single path; otherwise it is completed here once, before the copy.
    /// </summary>
    /// <param name="offset">Where <paramref name="packet"/> starts in the caller's buffer.</param>
    /// <param name="ipHeaderLength">Where the checksummed part may start at the earliest (after the IP header).</param>
    /// <param name="canStayPartial">False when the packet leaves by a path that never completes checksums (an IPv4 packet the raw socket fragments).</param>
    private Verdict ToBothOrSecondary(LmaDownlinkRoute route, Span<byte> packet, int offset, in OffloadInfo offload, int ipHeaderLength, bool canStayPartial)
    {
        var (first, second) = DownlinkTargets(route, out int copies);
        var sendOffload = OffloadInfo.None;
        if (offload.NeedsChecksum)
        {
            if (canStayPartial && _tunnelOffloads?.CompletesChecksums(first.Mag) == true
                && (second is null || _tunnelOffloads.CompletesChecksums(second.Mag)))
            {
                sendOffload = OffloadInfo.PartialChecksum(offload.ChecksumStart, offload.ChecksumOffset);
            }
            else
            {
                ChecksumCompletion.TryComplete(packet, packet.Length, offload, ipHeaderLength);
                Counters.ChecksumsCompleted++;
            }
        }
        route.VmCounters.CountOut(packet.Length);
        if (copies == 1)
        {
            first.Counters.CountOut(packet.Length);
            if (first != route.Tunnel) Counters.Handover.SwitchedToSecondary++;
            // Sent from the receive slot, as any downlink packet.
            return Verdict.ToTunnel(first.Mag, offset, packet.Length, sendOffload);
        }
        if (packet.Length > Segments.MaxSegmentLength || !Segments.TryReserve(2, out int slot))
            return Drop(route.VmCounters, DropReason.SegmentPoolExhausted);
        int headroom = Segments.Headroom;
        packet.CopyTo(Segments.Slot(slot)[headroom..]);
        packet.CopyTo(Segments.Slot(slot + 1)[headroom..]);
        Segments.SetVerdict(slot, Verdict.ToTunnel(first.Mag, headroom, packet.Length, sendOffload));
        Segments.SetVerdict(slot + 1, Verdict.ToTunnel(second!.Mag, headroom, packet.Length, sendOffload));
        first.Counters.CountOut(packet.Length);
        second.Counters.CountOut(packet.Length);
        Counters.Handover.BicastCopies++;
        return Verdict.Segmented(slot, 2);
    }
}
