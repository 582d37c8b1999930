using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// A live migration's destination, pre-registered (LocalMobilityAnchor.Transient.cs).
internal sealed partial class BindingCacheEntry
{
    /// <summary>The MAG holding a transient binding (RFC 6058) for this entry: uplink accepted, downlink copied to it. Null when none.</summary>
    public Ipv6Address? TransientMag;
    public Instant TransientExpiresAt;
    /// <summary>The transient MAG's last accepted timestamp: its own PBUs are ordered among themselves.</summary>
    public PmipTimestamp? TransientLastTimestamp;
    public ushort TransientLastSequence;
    /// <summary>The serving MAG reported its VM stopped: downlink goes to the transient MAG only.</summary>
    public bool ServingMagStopped;
    /// <summary>The MAG that served the entry before the last handoff (a late stop notice from it is relayed to the new one).</summary>
    public Ipv6Address? PreviousMag;
    /// <summary>
    /// The serving MAG got the binding by promotion (the source let go before the VM resumed at the pre-registered
    /// destination), and has not yet said the VM runs there: it still holds the session as pre-registered, so it would
    /// refuse an LRI for it (129). Cleared by that MAG's next PBU without the Transient Binding option (its activation)
    /// or when the binding moves on or goes.
    /// </summary>
    public bool AwaitingActivation;
}
