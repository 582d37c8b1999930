namespace DataPlane.Protocol.Mag;

/// <summary>What told the MAG that a VM is on an access port. Recorded per session and counted.</summary>
public enum AttachTrigger : byte
{
    /// <summary>Router Solicitation: a booting guest, or one whose carrier dropped.</summary>
    RouterSolicitation,
    /// <summary>Unsolicited Neighbor Advertisement from a node not yet registered (a Linux guest after migration).</summary>
    UnsolicitedNeighborAdvertisement,
    /// <summary>Duplicate Address Detection NS (source ::): a guest configuring an address.</summary>
    DadNeighborSolicitation,
    /// <summary>Gratuitous ARP (a guest announcing itself, also after migration).</summary>
    GratuitousArp,
    /// <summary>RARP: QEMU's self-announce after an incoming migration.</summary>
    Rarp,
    /// <summary>First frame from an unknown MAC on the port.</summary>
    FirstFrame,
    /// <summary>The hotplug script reported the port online (vif-pmip, qemu-ifup).</summary>
    HotplugOnline,
    /// <summary>
    /// The hotplug path reported the port online for an incoming live migration (`ctl port add --incoming`,
    /// qemu-ifup with DATAPLANE_INCOMING=1): the VM is arriving from another MAG, as a RARP would say.
    /// </summary>
    HotplugIncomingMigration,
}

/// <summary>Why a session ended.</summary>
public enum DetachReason : byte
{
    /// <summary>The hotplug script reported the port offline.</summary>
    HotplugOffline,
    /// <summary>The port was deleted.</summary>
    PortRemoved,
    /// <summary>Neighbor Unreachability Detection: NudMaxProbes probes went unanswered.</summary>
    NeighborUnreachable,
    /// <summary>The LMA refused to refresh the binding (another MAG serves the VM now), or the binding lapsed.</summary>
    BindingLost,
    /// <summary>The same mobile node attached on another port of this MAG (it came back on a new vif): the newest attachment wins.</summary>
    Superseded,
}

/// <summary>Where a session stands.</summary>
public enum SessionState : byte
{
    /// <summary>Waiting for the policy store's answer.</summary>
    AwaitingPolicy,
    /// <summary>PBU sent, waiting for the PBA.</summary>
    Registering,
    /// <summary>Binding accepted; forwarding installed; RAs flowing. Refreshes happen in this state.</summary>
    Established,
    /// <summary>Registration failed; either a retry is scheduled or triggers are held off for a while.</summary>
    Failed,
}

/// <summary>Why a registration attempt failed.</summary>
public enum SessionFailureReason : byte
{
    /// <summary>The policy store denied the VM.</summary>
    PolicyDenied,
    /// <summary>The policy store did not answer within PolicyTimeout.</summary>
    PolicyTimeout,
    /// <summary>The profile was unusable (no MN identifier, bad LMA address).</summary>
    InvalidProfile,
    /// <summary>The LMA answered with a rejection status.</summary>
    Rejected,
    /// <summary>No PBA after MaxPbuTransmissions.</summary>
    NoResponse,
    /// <summary>The PBA was accepted but unusable (no home network prefix, zero lifetime).</summary>
    MalformedAcknowledgement,
    /// <summary>The binding expired because no refresh was accepted in time.</summary>
    BindingExpired,
}

/// <summary>Why a PBU was sent; decides the Handoff Indicator and what the PBA completes.</summary>
public enum RegistrationKind : byte
{
    /// <summary>First registration of this session at this MAG (new VM or arriving VM).</summary>
    Initial,
    /// <summary>Refresh before lifetime expiry (HI 5).</summary>
    Refresh,
    /// <summary>The VM announced itself (RARP/NA/GARP) on an established session: it may have come back (HI 3).</summary>
    Reannounce,
    /// <summary>The LMA restarted and lost its cache (HI 5).</summary>
    RestartRecovery,
    /// <summary>Lifetime 0 after detach.</summary>
    Deregistration,
}

/// <summary>Why an RA was sent.</summary>
public enum RouterAdvertisementReason : byte
{
    /// <summary>The first RA after a registration was accepted: this is what completes a handover.</summary>
    SessionEstablished,
    /// <summary>In answer to a Router Solicitation.</summary>
    Solicited,
    /// <summary>The periodic unsolicited RA.</summary>
    Periodic,
}
