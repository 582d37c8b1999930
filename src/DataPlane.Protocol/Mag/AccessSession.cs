using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

/// <summary>
/// The MAG's state for one VM on one access port: from the first trigger until the port detaches.
/// Its binding with the LMA lives in a <see cref="BindingUpdateListEntry"/>, which outlives the
/// session while a de-registration is in flight.
/// </summary>
internal sealed partial class AccessSession(PortId port, MacAddress mac, AttachTrigger trigger, Instant now)
{
    public PortId Port { get; } = port;
    public MacAddress Mac { get; } = mac;
    public Ipv6Address? VmLinkLocal;
    public AttachTrigger Trigger = trigger;
    public SessionState State = SessionState.AwaitingPolicy;

    public long PolicyRequestId;
    public Instant? PolicyDeadline;
    public VmProfile? Profile;
    public BindingUpdateListEntry? Binding;
    /// <summary>InstallSession was emitted and not yet undone by RemoveSession.</summary>
    public bool Installed;
    public HandoffIndicator HandoffIndicator;

    // Which IP versions this session registers (RFC 5844 §3.2.3.1–3.2.3.3). From the profile, narrowed by the
    // LMA's answers: 172 stops the HNP options, 170 (or no usable Reply) the IPv4 Request, until a new session.
    public bool Ipv6Wanted;
    public bool Ipv4Wanted;
    /// <summary>171 for the profile's address: ask ALL_ZERO instead (§3.2.3.2 "SHOULD NOT request the same IPv4 address again").</summary>
    public bool Ipv4AskAllZero;
    /// <summary>The VM released its address (DHCPRELEASE): no Request until it asks DHCP again.</summary>
    public bool Ipv4Released;
    /// <summary>The LMA refused a family for this VM (172 for IPv6; 170, or no usable Reply, for IPv4): kept across retries of this session.</summary>
    public bool Ipv6Refused;
    public bool Ipv4Refused;
    /// <summary>The VM asked DHCP for an address while a PBU was in flight: ask the LMA when it is answered.</summary>
    public bool Ipv4RequestPending;

    // Timings of the current attempt (reset when a failed session starts over).
    public Instant AttachSeenAt = now;
    public Instant PolicyAnsweredAt;
    public Instant FirstPbuSentAt;

    // Router advertisements.
    public Instant NextRouterAdvertisementAt;
    public Instant? LastSolicitedRouterAdvertisementAt;

    // Neighbor Unreachability Detection.
    public Instant LastReachableAt = now;
    public int NudProbesSent;
    public Instant LastNudProbeAt;

    // Failure handling.
    public int ConsecutiveFailures;
    /// <summary>When a retryable failure starts over by itself; null when not scheduled.</summary>
    public Instant? RetryAt;
    /// <summary>After a non-retryable failure: triggers before this are absorbed.</summary>
    public Instant HoldOffUntil;

    /// <summary>RFC 6705 direct routes of this VM, by the remote mobile node's MN-ID; null until the first.</summary>
    public Dictionary<string, LocalizedRoute>? LocalizedRoutes;

    public Instant NudDeadline(MagOptions o) =>
        NudProbesSent == 0 ? LastReachableAt + o.NudReachableTime : LastNudProbeAt + o.NudProbeInterval;

    /// <summary>The one timer this session needs: the earliest of its pending deadlines.</summary>
    public Instant? NextDue(MagOptions o) => Instant.Earliest(Instant.Earliest(NudSuspended ? null : NudDeadline(o), State switch
    {
        SessionState.AwaitingPolicy => PolicyDeadline,
        SessionState.Established => Binding is { HomeNetworkPrefixes.Length: > 0 } ? NextRouterAdvertisementAt : null,
        SessionState.Failed => RetryAt,
        _ => null,
    }), MigrationDue);
}
