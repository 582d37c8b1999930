using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// The MAG's Binding Update List entry for one mobile node (RFC 5213 §6.1), keyed by MN-ID: what was
/// registered with which LMA, for how long, and the PBU transaction in flight (if any).
/// </summary>
internal sealed class BindingUpdateListEntry(string mobileNodeIdentifier, Ipv6Address localMobilityAnchor, MacAddress mac, ushort initialSequence)
{
    public string MobileNodeIdentifier { get; } = mobileNodeIdentifier;
    public Ipv6Address LocalMobilityAnchor { get; } = localMobilityAnchor;
    /// <summary>The MN-LL-ID: the VM's MAC.</summary>
    public MacAddress Mac = mac;

    /// <summary>Prefixes from the last accepted PBA; empty until one arrives.</summary>
    public Ipv6Prefix[] HomeNetworkPrefixes = [];
    /// <summary>Prefixes the last registration asked for (used by a de-registration when none were granted).</summary>
    public Ipv6Prefix[] RequestedPrefixes = [];

    /// <summary>RFC 5844 §3.2.1: the IPv4 home address, its subnet-mask length and the default router, from the last accepting PBA.</summary>
    public Ipv4Assignment? Ipv4;
    /// <summary>The IPv4 Request the last registration carried (used by a de-registration when no address was granted).</summary>
    public Ipv4HomeAddressRequestOption? RequestedIpv4;

    public ushort NextSequence = initialSequence;
    private PmipTimestamp _lastTimestamp;

    /// <summary>A binding is accepted and not yet expired or torn down.</summary>
    public bool Registered;
    /// <summary>Some registration PBU went out, so the LMA may hold a binding: a detach must de-register.</summary>
    public bool MayBeRegistered;
    public TimeSpan GrantedLifetime;
    public Instant BindingExpiresAt;
    public Instant RefreshAt;
    public Instant LastAcceptedAt;

    public PbuTransaction? Transaction;
    public AccessSession? Session;

    /// <summary>A timestamp for the next PBU, strictly increasing per entry so that two PBUs sent within the
    /// option's 1/65536 s resolution are still ordered at the LMA.</summary>
    public PmipTimestamp NextTimestamp(Instant now)
    {
        var ts = now.ToPmipTimestamp();
        if (ts <= _lastTimestamp) ts = new PmipTimestamp(_lastTimestamp.Raw + 1);
        _lastTimestamp = ts;
        return ts;
    }

    public Instant? NextDue()
    {
        Instant? due = Transaction?.RetransmitAt;
        if (Registered)
        {
            due = Instant.Earliest(due, BindingExpiresAt);
            if (Transaction is null) due = Instant.Earliest(due, RefreshAt);
        }
        return due;
    }
}
