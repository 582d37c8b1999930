using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>Where one side of a pair stands with its MAG.</summary>
internal enum LegState : byte
{
    /// <summary>An LRI with a lifetime is out (set-up, re-point, repair, confirm, refresh), unanswered.</summary>
    Pending,
    /// <summary>
    /// The MAG answered a set-up, re-point or repair: it accepts the pair's packets from the other MAG, but sends its
    /// own still through the LMA until confirmed (an LRI with a new sequence number), which comes once the other MAG
    /// accepts too — so no MAG sends directly to one not yet ready to take the packets.
    /// </summary>
    Ready,
    /// <summary>The MAG answered a confirmation or a refresh: it routes the pair directly, both ways.</summary>
    Established,
    /// <summary>An LRI with lifetime 0 is out: the MAG is being told to stop.</summary>
    Terminating,
    /// <summary>
    /// Nothing sent yet: the VM's binding moved to this MAG by promotion (a live migration whose source let go first) and
    /// the MAG has not activated it, so it still holds the VM as pre-registered and would refuse the pair (129). The
    /// set-up goes out with the activation (RFC 6705: a pair only with the MAG the VM is attached to).
    /// </summary>
    AwaitingActivation,
}

/// <summary>
/// One side of a localized routing pair: the MAG serving <see cref="Local"/>, told to send its traffic for the other
/// party straight to the other party's MAG. After a handover the old side becomes an orphan (no session) that only
/// carries the lifetime-0 LRI to the MAG the VM left, until it is answered or given up on.
/// </summary>
internal sealed class LocalizedRoutingLeg(LocalizedRoutingSession? session, BindingCacheEntry local, Ipv6Address mag)
{
    public LocalizedRoutingSession? Session = session;
    public BindingCacheEntry Local { get; } = local;
    public Ipv6Address Mag { get; } = mag;
    public LegState State = LegState.Pending;
    public LriKind Kind;

    // The LRI in flight: retransmitted as is (same sequence: the MAG's answer is idempotent).
    public LocalizedRoutingInitiation? Outstanding;
    public int Transmissions;
    public Instant RetransmitAt;

    /// <summary>The pair as this MAG was last told it (remote party and its MAG), for a lifetime-0 LRI that names it the same way.</summary>
    public LocalizedRoutingParty? Remote;
    public Ipv6Address? RemoteMag;

    public TimeSpan Granted;
    public Instant EstablishedAt;
    public Instant LastRepairAt;

    /// <summary>The MAG has accepted an LRI naming the current remote MAG: it takes the pair's packets from there.</summary>
    public bool IngressReady;

    /// <summary>A 129 from the MAG the binding cache says serves the VM (its PBA overtaken by our LRI) was retried once.</summary>
    public bool NotAttachedRetried;
}

/// <summary>A pair of VMs bound here, on two MAGs, routed MAG to MAG (RFC 6705 §6.1): one leg per MAG.</summary>
internal sealed class LocalizedRoutingSession(BindingCacheEntry a, BindingCacheEntry b)
{
    public BindingCacheEntry A { get; } = a;
    public BindingCacheEntry B { get; } = b;
    public LocalizedRoutingLeg LegA = null!;
    public LocalizedRoutingLeg LegB = null!;
    /// <summary>Both legs answered 0 at least once since the pair was last set up or re-pointed.</summary>
    public bool Established;
    public Instant RefreshAt;
    public Instant ExpiresAt;

    public BindingCacheEntry Other(BindingCacheEntry e) => ReferenceEquals(e, A) ? B : A;

    public LocalizedRoutingLeg LegOf(BindingCacheEntry e) => ReferenceEquals(e, A) ? LegA : LegB;

    public void SetLeg(BindingCacheEntry e, LocalizedRoutingLeg leg)
    {
        if (ReferenceEquals(e, A)) LegA = leg;
        else LegB = leg;
    }

    public Instant NextDue => Established ? Instant.Min(RefreshAt, ExpiresAt) : ExpiresAt;
}

/// <summary>Why the LMA sent an LRI.</summary>
public enum LriKind : byte
{
    Setup,
    Refresh,
    /// <summary>The other VM moved: the same pair, the new MAG address.</summary>
    Repoint,
    /// <summary>Traffic of an established pair still came through the LMA, or the MAG restarted: sent again.</summary>
    Repair,
    /// <summary>Both MAGs accept the pair's packets: a new LRI (new sequence) tells each to send them directly.</summary>
    Confirm,
    /// <summary>Lifetime 0.</summary>
    Termination,
}

/// <summary>Why a localized routing pair ended at the LMA.</summary>
public enum LocalizedRoutingSessionEnd : byte
{
    /// <summary>One of the VMs de-registered or its binding expired.</summary>
    BindingGone,
    /// <summary>The VMs are on the same MAG now (its own local routing takes over).</summary>
    SameMag,
    /// <summary>A MAG refused (128, 129).</summary>
    Refused,
    /// <summary>A MAG did not answer after every retransmission.</summary>
    NoAnswer,
    /// <summary>A MAG declined a refresh: nobody used the pair.</summary>
    Idle,
    /// <summary>A MAG asked to stop (unsolicited LRA with lifetime 0).</summary>
    MagRequested,
    /// <summary>The refreshes went unanswered until the lifetime ran out.</summary>
    Expired,
    /// <summary>A VM's addresses changed (an address family added or released): set up again on its next traffic.</summary>
    AddressesChanged,
}

/// <summary>What happened to a pair, for logs and metrics (<see cref="LmaAction.LocalizedRoutingChanged"/>).</summary>
public enum LocalizedRoutingChange : byte
{
    Initiated,
    Established,
    Repointed,
    Ended,
}
