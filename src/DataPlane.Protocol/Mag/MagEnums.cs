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
    /// <summary>
    /// A DHCPDISCOVER or DHCPREQUEST: an IPv4 guest configuring (or, INIT-REBOOT, re-confirming) its address
    /// (RFC 5844 §3.4.3: "DHCPDISCOVER … will trigger the mobile access gateway to complete the signaling").
    /// </summary>
    Dhcp,
    /// <summary>An ARP request from the VM (an IPv4 guest resolving its router or a neighbour): boot-like.</summary>
    ArpRequest,
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
    /// <summary>An IPv4-only VM released its only address (DHCPRELEASE): nothing is left to serve until it asks again.</summary>
    AddressReleased,
    /// <summary>A pre-registered VM did not arrive within PreRegistrationTimeout (the port stays, awaiting it).</summary>
    PreRegistrationExpired,
    /// <summary>A pre-registration was given up before the VM arrived: the LMA refused or did not answer it, or the VM was
    /// already served on another port here. The port stays, awaiting the VM; its first frame registers it.</summary>
    PreRegistrationAbandoned,
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
    /// <summary>A live migration's destination: registered ahead of the VM (a transient binding), forwarding installed, downlink buffered; the VM's first frame activates it.</summary>
    PreRegistered,
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
    /// <summary>An IPv4-only VM got no usable IPv4 home address (no Reply, a refused one, relay mode asked).</summary>
    Ipv4Unavailable,
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
    /// <summary>RFC 5844 §3.2.3.3: a re-registration that asks for an IPv4 home address for an established session (HI 5).</summary>
    Ipv4Request,
    /// <summary>RFC 5844 §3.2.3.3/§3.4.3: selective de-registration of the IPv4 home address only (DHCPRELEASE), lifetime 0.</summary>
    Ipv4Release,
    /// <summary>A live migration's destination registers ahead of the VM: HI 3 with the Transient Binding option (RFC 6058); also its refreshes.</summary>
    PreRegistration,
    /// <summary>The pre-registered VM arrived: HI 3 without the option takes the binding over (forwarding already runs).</summary>
    Activation,
}

/// <summary>Why a session got no IPv4 home address although its profile asked for IPv4 (RFC 5844 §3.2.3.2).</summary>
public enum Ipv4UnavailableReason : byte
{
    /// <summary>The PBA carried no IPv4 Home Address Reply: "MUST NOT enable IPv4 support".</summary>
    NoReply,
    /// <summary>The Reply's status was a rejection (128 or above).</summary>
    Refused,
    /// <summary>An accepting Reply without the IPv4 Default-Router Address option (§3.1.2.6 makes it mandatory).</summary>
    NoDefaultRouter,
    /// <summary>The LMA asked for DHCP relay mode (S = 0 or no DHCP Support Mode option): this MAG is only a DHCP server.</summary>
    RelayModeNotSupported,
    /// <summary>170: not authorised for IPv4 mobility service; not asked again in this session (§3.2.3.2).</summary>
    NotAuthorized,
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

/// <summary>Why a direct (RFC 6705) route ended at the MAG.</summary>
public enum LocalizedRouteEnd : byte
{
    /// <summary>The LMA asked (an LRI with lifetime 0): a VM moved, left or the pair ended.</summary>
    Terminated,
    /// <summary>The LMA's refresh found it unused since the previous one; the MAG declined (LRA with lifetime 0).</summary>
    Idle,
    /// <summary>Its lifetime ran out without a refresh.</summary>
    Expired,
    /// <summary>The local VM's session ended (detach, failure, superseded).</summary>
    SessionEnded,
    /// <summary>The LMA stopped answering heartbeats: in doubt, traffic goes the LMA way again.</summary>
    LmaUnreachable,
    /// <summary>The LMA restarted and forgot the pairs it had set up.</summary>
    LmaRestarted,
}
