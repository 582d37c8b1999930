using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// Which Handoff Indicator and prefixes a new session's first PBU carries (docs/protocol.md, "The
/// Handoff Indicator rule"). The point is to let the LMA find the VM's existing binding at once when
/// the VM arrives from another MAG, so that the handover costs one round trip and the VM keeps its HNP.
/// </summary>
public static class HandoffIndicatorRule
{
    /// <summary>Triggers a hypervisor or guest sends after a live migration (and rarely otherwise), or the hotplug path's word for it.</summary>
    public static bool IsMigrationAnnounce(AttachTrigger trigger) => trigger is
        AttachTrigger.Rarp or AttachTrigger.UnsolicitedNeighborAdvertisement or AttachTrigger.GratuitousArp
        or AttachTrigger.HotplugIncomingMigration;

    /// <summary>
    /// <list type="bullet">
    /// <item>This MAG already holds the VM's HNPs (or its IPv4 home address) from an earlier PBA (the VM is coming
    ///   back, or re-plugged): HI 3 with those prefixes, whatever the trigger.</item>
    /// <item>Migration-announce trigger and the profile names HNPs (or a static IPv4 home address): HI 3 with the
    ///   profile's prefixes.</item>
    /// <item>Migration-announce trigger, no prefix known: HI 4 with ::/0; the LMA resolves the VM by
    ///   MN-ID + MN-LL-ID (its MAC).</item>
    /// <item>Boot-like trigger (RS, DAD NS, first frame, hotplug online) and no record here: HI 1 with
    ///   the profile's prefixes, or ::/0 to have the LMA assign.</item>
    /// </list>
    /// Refreshes and restart recovery use HI 5, re-announcements HI 3; those are chosen by the caller.
    /// </summary>
    /// <param name="recordedIpv4">This MAG holds the VM's IPv4 home address from an earlier PBA.</param>
    /// <param name="profileIpv4">The profile names a static IPv4 home address.</param>
    public static (HandoffIndicator Indicator, Ipv6Prefix[] Prefixes) ForNewSession(
        AttachTrigger trigger, IReadOnlyList<Ipv6Prefix> recordedPrefixes, IReadOnlyList<Ipv6Prefix> profilePrefixes,
        bool recordedIpv4 = false, bool profileIpv4 = false)
    {
        Ipv6Prefix[] prefixes = recordedPrefixes.Count > 0 ? [.. recordedPrefixes]
            : profilePrefixes.Count > 0 ? [.. profilePrefixes]
            : [Ipv6Prefix.Unspecified];
        if (recordedPrefixes.Count > 0 || recordedIpv4) return (HandoffIndicator.HandoffBetweenMagsForSameInterface, prefixes);
        if (IsMigrationAnnounce(trigger))
        {
            return profilePrefixes.Count > 0 || profileIpv4
                ? (HandoffIndicator.HandoffBetweenMagsForSameInterface, prefixes)
                : (HandoffIndicator.HandoffStateUnknown, prefixes);
        }
        return (HandoffIndicator.AttachmentOverNewInterface, prefixes);
    }
}
