namespace DataPlane.Host.Metrics;

public enum FamilyType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>One metric family: name, type, help and label names. docs/metrics.md lists every one (a test checks).</summary>
public sealed record FamilyInfo(string Name, FamilyType Type, string Help, params string[] Labels);

/// <summary>
/// Every metric family either daemon exports. Names follow the Prometheus conventions (base units, counters end
/// in _total); label values are lower_snake_case.
/// </summary>
public static class Families
{
    private static readonly string[] Vm = ["mn_id", "mac", "port", "hnp"];

    /// <summary>Histogram buckets for handover latencies (seconds): 1 ms to 10 s.</summary>
    public static readonly double[] HandoverBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public const string HandoverHistogram = "dataplane_mag_handover_duration_seconds";

    // ---- Per VM (MAG) ----
    public static readonly FamilyInfo VmPackets = new("dataplane_vm_packets_total", FamilyType.Counter,
        "Packets of a VM: uplink = forwarded from the VM into the tunnel, downlink = delivered to the VM from the tunnel.", [.. Vm, "direction"]);
    public static readonly FamilyInfo VmBytes = new("dataplane_vm_bytes_total", FamilyType.Counter,
        "Bytes of a VM's packets (IPv6 packets, without Ethernet or tunnel headers), by direction.", [.. Vm, "direction"]);
    public static readonly FamilyInfo VmDrops = new("dataplane_vm_drops_total", FamilyType.Counter,
        "Frames from a VM the switch dropped, by reason (only reasons that occurred).", [.. Vm, "reason"]);
    public static readonly FamilyInfo VmBindingState = new("dataplane_vm_binding_state", FamilyType.Gauge,
        "1 for the VM's current state at this MAG, 0 for the others.", [.. Vm, "state"]);
    public static readonly FamilyInfo VmRegistrations = new("dataplane_vm_registrations_total", FamilyType.Counter,
        "Sessions established for the VM at this MAG (first PBA accepted and first RA sent), first attachments included.", Vm);
    public static readonly FamilyInfo VmHandovers = new("dataplane_vm_handovers_total", FamilyType.Counter,
        "Registrations of the VM arriving from another MAG (Handoff Indicator 3 or 4).", Vm);
    public static readonly FamilyInfo VmLastHandoverInfo = new("dataplane_vm_last_handover_info", FamilyType.Gauge,
        "Always 1: the attach trigger and Handoff Indicator of the VM's last registration at this MAG.", [.. Vm, "trigger", "handoff_indicator"]);
    public static readonly FamilyInfo VmLastHandoverSeconds = new("dataplane_vm_last_handover_seconds", FamilyType.Gauge,
        "The VM's last registration at this MAG, from the attachment trigger to each stage.", [.. Vm, "stage"]);
    public static readonly FamilyInfo VmLastHandoverTimestamp = new("dataplane_vm_last_handover_timestamp_seconds", FamilyType.Gauge,
        "When the VM's last registration at this MAG completed (Unix time).", Vm);

    public static readonly FamilyInfo VmIpv4Info = new("dataplane_vm_ipv4_info", FamilyType.Gauge,
        "Always 1 while the VM has an IPv4 home address (RFC 5844): the address with its prefix length, and its default router.",
        [.. Vm, "ipv4_home_address", "default_router"]);
    public static readonly FamilyInfo VmIpv4Packets = new("dataplane_vm_ipv4_packets_total", FamilyType.Counter,
        "The VM's IPv4 packets alone (a part of dataplane_vm_packets_total), by direction.", [.. Vm, "direction"]);
    public static readonly FamilyInfo VmIpv4Bytes = new("dataplane_vm_ipv4_bytes_total", FamilyType.Counter,
        "Bytes of the VM's IPv4 packets, by direction.", [.. Vm, "direction"]);

    public static readonly FamilyInfo VmPathPackets = new("dataplane_vm_path_packets_total", FamilyType.Counter,
        "The VM's packets that did not go through the LMA (a part of dataplane_vm_packets_total): path local = routed by this MAG to another of its VMs (EnableMAGLocalRouting), direct = over a MAG-MAG route (RFC 6705); by direction.",
        [.. Vm, "path", "direction"]);
    public static readonly FamilyInfo VmPathBytes = new("dataplane_vm_path_bytes_total", FamilyType.Counter,
        "Bytes of the VM's packets by path (local, direct) and direction.", [.. Vm, "path", "direction"]);
    public static readonly FamilyInfo MagLocalizedRoutes = new("dataplane_mag_localized_routes", FamilyType.Gauge,
        "RFC 6705 direct routes installed now: sending = our VM's packets go straight to the other MAG, accepting = only its packets are taken (not confirmed yet).", "state");
    public static readonly FamilyInfo MagLocalizedRouting = new("dataplane_mag_localized_routing_total", FamilyType.Counter,
        "RFC 6705 at the MAG: lris_received, lris_malformed, lris_from_other_lma, routes_installed, routes_repointed, routes_confirmed, routes_refreshed, routed_locally, routed_direct, and ended_<reason> per route ended.", "event");

    // ---- Ports and tunnels ----
    public static readonly FamilyInfo PortPackets = new("dataplane_port_packets_total", FamilyType.Counter,
        "Frames on an access port: rx = received from it (before any check), tx = sent to it (forwarded and control).", "port", "direction");
    public static readonly FamilyInfo PortBytes = new("dataplane_port_bytes_total", FamilyType.Counter,
        "Bytes of the frames on an access port (Ethernet frames), by direction.", "port", "direction");
    public static readonly FamilyInfo PortDrops = new("dataplane_port_drops_total", FamilyType.Counter,
        "Frames received on an access port and dropped, by reason (only reasons that occurred).", "port", "reason");
    public static readonly FamilyInfo PortControlFrames = new("dataplane_port_control_frames_total", FamilyType.Counter,
        "Link control frames from the VM the switch consumed (RS, NS, NA, ARP announcements, MLD), by kind.", "port", "kind");
    public static readonly FamilyInfo PortUp = new("dataplane_port_up", FamilyType.Gauge,
        "1 while the access port's link is up.", "port");
    public static readonly FamilyInfo PortIoErrors = new("dataplane_port_io_errors_total", FamilyType.Counter,
        "Frames the kernel refused or the port lost: tx_error, tx_link_drop, tx_would_block (send calls cut short), rx_truncated.", "port", "kind");
    public static readonly FamilyInfo TunnelPackets = new("dataplane_tunnel_packets_total", FamilyType.Counter,
        "Inner packets of an IPv6-in-IPv6 tunnel: rx = accepted from the peer, tx = sent to it.", "peer", "direction");
    public static readonly FamilyInfo TunnelBytes = new("dataplane_tunnel_bytes_total", FamilyType.Counter,
        "Bytes of the inner packets of a tunnel, by direction.", "peer", "direction");
    public static readonly FamilyInfo TunnelDrops = new("dataplane_tunnel_drops_total", FamilyType.Counter,
        "Packets dropped on a tunnel, by reason (only reasons that occurred).", "peer", "reason");
    public static readonly FamilyInfo TunnelUp = new("dataplane_tunnel_up", FamilyType.Gauge,
        "LMA: 1 while the tunnel to the MAG is up (it serves at least one binding).", "peer");
    public static readonly FamilyInfo TunnelBindings = new("dataplane_tunnel_bindings", FamilyType.Gauge,
        "LMA: bindings served through the tunnel to the MAG.", "peer");

    // ---- MAG protocol ----
    public static readonly FamilyInfo MagSessions = new("dataplane_mag_sessions", FamilyType.Gauge, "VM sessions, by state.", "state");
    public static readonly FamilyInfo MagBulEntries = new("dataplane_mag_binding_update_list_entries", FamilyType.Gauge, "Binding Update List entries.");
    public static readonly FamilyInfo MagPorts = new("dataplane_mag_ports", FamilyType.Gauge, "Access ports attached.");
    public static readonly FamilyInfo MagVmsTracked = new("dataplane_mag_vms_tracked", FamilyType.Gauge,
        "VMs with series (present, or gone for less than metrics.vmRetention).");
    public static readonly FamilyInfo MagPbusSent = new("dataplane_mag_pbus_sent_total", FamilyType.Counter,
        "Proxy Binding Updates sent (first transmissions), by why.", "kind");
    public static readonly FamilyInfo MagPbusRetransmitted = new("dataplane_mag_pbus_retransmitted_total", FamilyType.Counter, "PBU retransmissions.");
    public static readonly FamilyInfo MagPbasReceived = new("dataplane_mag_pbas_received_total", FamilyType.Counter,
        "Proxy Binding Acknowledgements accepted for an open transaction, by status (code and name).", "code", "status");
    public static readonly FamilyInfo MagPbasDiscarded = new("dataplane_mag_pbas_discarded_total", FamilyType.Counter,
        "PBAs dropped: unknown_binding, stale_sequence, timestamp_mismatch, malformed.", "reason");
    public static readonly FamilyInfo MagAttachTriggers = new("dataplane_mag_attach_triggers_total", FamilyType.Counter,
        "Attachment triggers seen (RS, NA, DAD NS, GARP, RARP, first frame, hotplug), by kind.", "trigger");
    public static readonly FamilyInfo MagSessionsStarted = new("dataplane_mag_sessions_started_total", FamilyType.Counter,
        "Sessions started, by the trigger that started them.", "trigger");
    public static readonly FamilyInfo MagSessionsEstablished = new("dataplane_mag_sessions_established_total", FamilyType.Counter,
        "Sessions established (registration accepted, first RA sent).");
    public static readonly FamilyInfo MagSessionFailures = new("dataplane_mag_session_failures_total", FamilyType.Counter,
        "Failed registration attempts, by reason.", "reason");
    public static readonly FamilyInfo MagDetaches = new("dataplane_mag_detaches_total", FamilyType.Counter, "Sessions ended, by reason.", "reason");
    public static readonly FamilyInfo MagRouterAdvertisements = new("dataplane_mag_router_advertisements_sent_total", FamilyType.Counter,
        "Unicast RAs sent, by reason.", "reason");
    public static readonly FamilyInfo MagPolicyRequests = new("dataplane_mag_policy_requests_total", FamilyType.Counter, "Policy decisions asked by the MAG machine.");
    public static readonly FamilyInfo MagPolicyDenials = new("dataplane_mag_policy_denials_total", FamilyType.Counter, "VMs the policy denied.");
    public static readonly FamilyInfo MagPolicyTimeouts = new("dataplane_mag_policy_timeouts_total", FamilyType.Counter, "Policy answers not back within timers.policyTimeout.");
    public static readonly FamilyInfo MagNudProbes = new("dataplane_mag_nud_probes_sent_total", FamilyType.Counter, "NUD probes sent to VMs.");
    public static readonly FamilyInfo MagDeregistrations = new("dataplane_mag_deregistrations_total", FamilyType.Counter,
        "De-registrations, by outcome: acknowledged, timed_out, superseded (the VM came back first).", "outcome");
    public static readonly FamilyInfo MagRefreshes = new("dataplane_mag_refreshes_accepted_total", FamilyType.Counter, "Binding refreshes the LMA accepted.");
    public static readonly FamilyInfo MagReannouncements = new("dataplane_mag_reannouncements_total", FamilyType.Counter,
        "Re-registrations (HI 3) after a migration announce on an established session.");
    public static readonly FamilyInfo MagIpv4 = new("dataplane_mag_ipv4_total", FamilyType.Counter,
        "RFC 5844 at the MAG: pbus_with_request, addresses_assigned, extensions, registrations_narrowed (after 170/171/172), releases, releases_acknowledged, requests_ignored.", "event");
    public static readonly FamilyInfo MagIpv4Unavailable = new("dataplane_mag_ipv4_unavailable_total", FamilyType.Counter,
        "Sessions left without IPv4 although their profile has it, by reason: no_reply, refused, no_default_router, relay_mode_not_supported, not_authorized.", "reason");
    public static readonly FamilyInfo MagDhcp = new("dataplane_mag_dhcp_messages_total", FamilyType.Counter,
        "DHCPv4 messages of the MAG's server: received from VMs and sent to them, by type.", "direction", "type");
    public static readonly FamilyInfo MagHandoverDuration = new(HandoverHistogram, FamilyType.Histogram,
        "Handover latency at this MAG, from the attachment trigger to: policy (answer), pba (PBA received), first_ra (first RA sent), first_downlink (first packet from the tunnel delivered to the VM, if within 10 s); for a pre-registered live migration, pre_registration (its PBU→PBA round trip, before the VM arrived) release (the VM's first frame → its buffer released, which may wait for the source's end marker) and first_uplink (its first frame → its first packet into the network).", "stage");

    // ---- LMA protocol ----
    public static readonly FamilyInfo LmaBindingCache = new("dataplane_lma_binding_cache_entries", FamilyType.Gauge,
        "Binding cache entries, by state: active, or awaiting_deletion (the hold-down after a de-registration).", "state");
    public static readonly FamilyInfo LmaPbusReceived = new("dataplane_lma_pbus_received_total", FamilyType.Counter, "PBUs received.");
    public static readonly FamilyInfo LmaPbus = new("dataplane_lma_pbus_total", FamilyType.Counter,
        "PBUs by outcome (accepted kinds, ignored and refused ones; rejections by status are in dataplane_lma_pbas_sent_total).", "outcome");
    public static readonly FamilyInfo LmaPbasSent = new("dataplane_lma_pbas_sent_total", FamilyType.Counter,
        "PBAs sent, by status (code and name).", "code", "status");
    public static readonly FamilyInfo LmaBindingChanges = new("dataplane_lma_binding_changes_total", FamilyType.Counter,
        "Binding cache changes: created, handed_off, resumed, deregistered, deleted, expired.", "change");
    public static readonly FamilyInfo LmaTunnels = new("dataplane_lma_tunnels", FamilyType.Gauge, "Tunnels up (one per MAG serving bindings).");
    public static readonly FamilyInfo LmaRoutes = new("dataplane_lma_routes", FamilyType.Gauge, "Prefixes routed into tunnels.");
    public static readonly FamilyInfo LmaPendingLookups = new("dataplane_lma_pending_profile_lookups", FamilyType.Gauge, "Profile look-ups in flight.");
    public static readonly FamilyInfo LmaParked = new("dataplane_lma_parked_registrations", FamilyType.Gauge, "Ambiguous handoffs (HI 4) waiting for a de-registration.");
    public static readonly FamilyInfo LmaProfileLookups = new("dataplane_lma_profile_lookups_total", FamilyType.Counter,
        "Profile look-ups asked of the policy, by outcome: asked, denied, failed, timed_out.", "outcome");
    public static readonly FamilyInfo LmaBindingsTracked = new("dataplane_lma_bindings_tracked", FamilyType.Gauge,
        "Bindings with series (in the cache, or gone for less than metrics.vmRetention).");
    public static readonly FamilyInfo LmaBindingPackets = new("dataplane_lma_binding_packets_total", FamilyType.Counter,
        "Packets of a binding's prefixes: uplink = from the VM (tunnel to home), downlink = to the VM (home to tunnel).", "mn_id", "hnp", "direction");
    public static readonly FamilyInfo LmaBindingBytes = new("dataplane_lma_binding_bytes_total", FamilyType.Counter,
        "Bytes of a binding's prefixes, by direction.", "mn_id", "hnp", "direction");
    public static readonly FamilyInfo LmaBindingHandoffs = new("dataplane_lma_binding_handoffs_total", FamilyType.Counter,
        "Times the binding moved to another MAG (handed off while active, or resumed during the hold-down).", "mn_id", "hnp");
    public static readonly FamilyInfo LmaIpv4HomeAddresses = new("dataplane_lma_ipv4_home_addresses", FamilyType.Gauge,
        "IPv4 home addresses bound now (RFC 5844), and the ones the IPv4 home network has to give: allocated, capacity.", "kind");
    public static readonly FamilyInfo LmaIpv4 = new("dataplane_lma_ipv4_total", FamilyType.Counter,
        "RFC 5844 at the LMA: addresses_assigned, refusals (170, 171, 173, 130 for IPv4), ipv4_extensions, ipv6_extensions, ipv4_selective_deregistrations, ipv6_selective_deregistrations, released_by_omission.", "event");
    public static readonly FamilyInfo LmaBindingIpv4Packets = new("dataplane_lma_binding_ipv4_packets_total", FamilyType.Counter,
        "Packets of a binding's IPv4 home address: uplink = from the VM, downlink = to it.", "mn_id", "ipv4_home_address", "direction");
    public static readonly FamilyInfo LmaBindingIpv4Bytes = new("dataplane_lma_binding_ipv4_bytes_total", FamilyType.Counter,
        "Bytes of a binding's IPv4 home address, by direction.", "mn_id", "ipv4_home_address", "direction");
    public static readonly FamilyInfo LmaBindingActive = new("dataplane_lma_binding_active", FamilyType.Gauge,
        "1 while the binding is active at a MAG (the mag label), 0 during the hold-down or after it is gone.", "mn_id", "hnp", "mag");

    public static readonly FamilyInfo LmaLocalizedRoutingSessions = new("dataplane_lma_localized_routing_sessions", FamilyType.Gauge,
        "RFC 6705 pairs held now: established (both MAGs route directly) and setting_up.", "state");
    public static readonly FamilyInfo LmaLocalizedRouting = new("dataplane_lma_localized_routing_total", FamilyType.Counter,
        "RFC 6705 at the LMA: traffic_observations, lris_sent, lri_retransmissions, lris_unanswered, lras_unmatched, sessions_started, sessions_established, repairs, refused_full, setups_deferred, and ended_<reason> per pair ended.", "event");
    // ---- LMA redundancy (the etcd section; absent without it) ----
    public static readonly FamilyInfo LmaRole = new("dataplane_lma_role", FamilyType.Gauge,
        "1 for this LMA's role in its shard (unelected, standby, taking_over, active), 0 for the others.", "shard", "role");
    public static readonly FamilyInfo LmaEtcdUp = new("dataplane_lma_etcd_up", FamilyType.Gauge,
        "1 while etcd answers (a request succeeded within the lease TTL, at least 2 s, and the last one did not fail).");
    public static readonly FamilyInfo LmaEtcdErrors = new("dataplane_lma_etcd_errors_total", FamilyType.Counter,
        "Failed etcd requests (timeouts, unavailable members, refused leases) of any kind.");
    public static readonly FamilyInfo LmaReplicationLag = new("dataplane_lma_replication_lag_revisions", FamilyType.Gauge,
        "Standby: store revisions its copy of the shard is behind etcd (0 when caught up; 0 on the active).");
    public static readonly FamilyInfo LmaReplicationWritesInFlight = new("dataplane_lma_replication_writes_in_flight", FamilyType.Gauge,
        "Active: binding writes sent to etcd and not yet answered.");
    public static readonly FamilyInfo LmaReplicationOldestWrite = new("dataplane_lma_replication_oldest_write_seconds", FamilyType.Gauge,
        "Active: age of the oldest unanswered binding write (the active's replication lag).");
    public static readonly FamilyInfo LmaReplicationWrites = new("dataplane_lma_replication_writes_total", FamilyType.Counter,
        "Binding writes by outcome: committed, failed (refused or given up), conflict (revision mismatch), retried (attempts repeated after a timeout).", "outcome");
    public static readonly FamilyInfo LmaPbasAwaitingCommit = new("dataplane_lma_pbas_awaiting_commit", FamilyType.Gauge,
        "PBAs held until etcd commits the change they acknowledge (acknowledge: after-commit).");
    public static readonly FamilyInfo LmaTakeovers = new("dataplane_lma_takeovers_total", FamilyType.Counter, "Times this LMA took over its shard.");
    public static readonly FamilyInfo LmaStepDowns = new("dataplane_lma_step_downs_total", FamilyType.Counter,
        "Times this LMA stopped serving its shard (lease not renewed in time, fenced, another holder seen, shutdown).");
    public static readonly FamilyInfo LmaLastTakeoverTimestamp = new("dataplane_lma_last_takeover_timestamp_seconds", FamilyType.Gauge,
        "When this LMA last took over its shard (Unix time).");
    public static readonly FamilyInfo LmaLastTakeoverDuration = new("dataplane_lma_last_takeover_duration_seconds", FamilyType.Gauge,
        "How long the last takeover took from winning the election to the address announced (state install included).");
    public static readonly FamilyInfo LmaLastTakeoverBindings = new("dataplane_lma_last_takeover_bindings", FamilyType.Gauge,
        "Bindings installed by the last takeover.");

    // ---- Both daemons ----
    public static readonly FamilyInfo HeartbeatReachable = new("dataplane_heartbeat_peer_reachable", FamilyType.Gauge,
        "RFC 5847 heartbeat: 1 while the peer answers (0 after more than missingHeartbeatsAllowed misses).", "peer");
    public static readonly FamilyInfo HeartbeatRestarts = new("dataplane_heartbeat_peer_restarts_total", FamilyType.Counter,
        "Restarts of the peer detected through its restart counter.", "peer");
    public static readonly FamilyInfo HeartbeatMessages = new("dataplane_heartbeat_messages_total", FamilyType.Counter,
        "Heartbeat messages: requests_sent, responses_received, requests_answered, unmatched_responses.", "kind");
    public static readonly FamilyInfo HeartbeatMisses = new("dataplane_heartbeat_misses_total", FamilyType.Counter, "Heartbeat requests left unanswered.");
    public static readonly FamilyInfo DatapathFrames = new("dataplane_datapath_frames_total", FamilyType.Counter,
        "Frames and packets handed to the data path (ports, tunnel, home network).");
    public static readonly FamilyInfo DatapathDrops = new("dataplane_datapath_drops_total", FamilyType.Counter,
        "Every drop of the data path, by reason (only reasons that occurred).", "reason");
    public static readonly FamilyInfo DatapathMalformed = new("dataplane_datapath_malformed_total", FamilyType.Counter,
        "Malformed drops by the wire layer's reason.", "error");
    public static readonly FamilyInfo DatapathControlConsumed = new("dataplane_datapath_control_frames_total", FamilyType.Counter,
        "Control frames consumed by the data path, by kind.", "kind");
    public static readonly FamilyInfo DatapathControlSent = new("dataplane_datapath_control_messages_sent_total", FamilyType.Counter,
        "Control messages written (RAs, NS, NA, ICMPv6 errors, Mobility Header messages), by kind.", "kind");
    public static readonly FamilyInfo DatapathEvents = new("dataplane_datapath_events_total", FamilyType.Counter,
        "Data path events: control_output_overflows, icmp_errors_suppressed, checksums_completed, gso_superframes, gso_segments, gso_superframes_forwarded, gso_superframes_delivered, mobility_messages_malformed.", "event");
    public static readonly FamilyInfo UplinkSuperFrames = new("dataplane_uplink_superframes", FamilyType.Gauge,
        "Per interface of the packet uplink: 1 when TCP super-frames leave whole by it (relabel program attached), 0 when they are cut in userspace (the fallback; the log says why).", "interface");
    public static readonly FamilyInfo UplinkGro = new("dataplane_uplink_gro", FamilyType.Gauge,
        "Per interface the tunnel arrives on (packet uplink): 1 while GRO is on.", "interface");
    public static readonly FamilyInfo SocketPackets = new("dataplane_socket_packets_total", FamilyType.Counter,
        "Packets through the daemon's own sockets (tunnel, mobility, home), by direction.", "socket", "direction");
    public static readonly FamilyInfo SocketErrors = new("dataplane_socket_errors_total", FamilyType.Counter,
        "Socket send failures: tx_error, tx_would_block.", "socket", "kind");
    public static readonly FamilyInfo PolicyAnswers = new("dataplane_policy_answers_total", FamilyType.Counter,
        "Policy answers: allowed, denied, stale (from an expired cache entry), fail_open, fail_closed.", "result");
    public static readonly FamilyInfo PolicyCache = new("dataplane_policy_cache_total", FamilyType.Counter, "Policy cache look-ups: hit, miss.", "result");
    public static readonly FamilyInfo PolicyFailures = new("dataplane_policy_failures_total", FamilyType.Counter,
        "Policy look-ups without a usable answer, by reason.", "reason");
    public static readonly FamilyInfo PolicyRadius = new("dataplane_policy_radius_total", FamilyType.Counter,
        "RADIUS exchanges: requests, retransmissions, accepts, rejects, challenges, server_timeouts, failovers, send_errors.", "event");
    public static readonly FamilyInfo PolicyReloads = new("dataplane_policy_reloads_total", FamilyType.Counter, "Policy reloads, by result: ok, failed.", "result");
    public static readonly FamilyInfo SecurityDrops = new("dataplane_policy_security_drops_total", FamilyType.Counter,
        "Mobility Headers refused or not sent under the signalling security policy (RFC 5213 §4, ESP), by reason: unprotected, unknown_spi, wrong_peer, replay, authentication_failed, ….", "reason");
    public static readonly FamilyInfo SecurityMessages = new("dataplane_policy_security_messages_total", FamilyType.Counter,
        "Mobility Headers sent in ESP (protected) and received in ESP and accepted (accepted).", "result");
    public static readonly FamilyInfo SecuritySaPackets = new("dataplane_security_association_packets_total", FamilyType.Counter,
        "ESP packets per security association: sent (direction out) or accepted (in).", "peer", "spi", "direction");
    public static readonly FamilyInfo RestartCounter = new("dataplane_restart_generation", FamilyType.Gauge,
        "This daemon's RFC 5847 restart counter (incremented at every start).");
    public static readonly FamilyInfo CapturesActive = new("dataplane_captures_active", FamilyType.Gauge, "Packet captures (`ctl capture`) running.");
    public static readonly FamilyInfo CaptureFrames = new("dataplane_capture_frames_total", FamilyType.Counter,
        "Frames copied for captures: captured, dropped (a capture's buffer was full: the reader was too slow).", "result");

    // ---- The endpoint itself (not from the snapshot) ----
    public static readonly FamilyInfo Info = new("dataplane_info", FamilyType.Gauge, "Always 1: the daemon's role and version.", "role", "version");
    public static readonly FamilyInfo LoopResponsive = new("dataplane_loop_responsive", FamilyType.Gauge,
        "1 when the packet loop answered the last scrape's snapshot request within metrics.snapshotTimeout (values are stale while 0).");
    public static readonly FamilyInfo SnapshotFailures = new("dataplane_scrape_snapshot_failures_total", FamilyType.Counter,
        "Scrapes answered without a fresh snapshot (the loop did not answer in time).");
    public static readonly FamilyInfo SnapshotSeconds = new("dataplane_scrape_snapshot_build_seconds", FamilyType.Gauge,
        "Time the packet loop spent building the last snapshot.");

    public static IReadOnlyList<FamilyInfo> Common { get; } =
    [
        HeartbeatReachable, HeartbeatRestarts, HeartbeatMessages, HeartbeatMisses, DatapathFrames, DatapathDrops, DatapathMalformed,
        DatapathControlConsumed, DatapathControlSent, DatapathEvents, SocketPackets, SocketErrors, PolicyAnswers, PolicyCache,
        PolicyFailures, PolicyRadius, PolicyReloads, SecurityDrops, SecurityMessages, SecuritySaPackets, RestartCounter, CapturesActive, CaptureFrames, TunnelPackets, TunnelBytes, TunnelDrops,
        UplinkSuperFrames, UplinkGro,
    ];

    public static IReadOnlyList<FamilyInfo> Mag { get; } =
    [
        VmPackets, VmBytes, VmDrops, VmBindingState, VmRegistrations, VmHandovers, VmLastHandoverInfo, VmLastHandoverSeconds,
        VmLastHandoverTimestamp, PortPackets, PortBytes, PortDrops, PortControlFrames, PortUp, PortIoErrors, MagSessions, MagBulEntries,
        MagPorts, MagVmsTracked, MagPbusSent, MagPbusRetransmitted, MagPbasReceived, MagPbasDiscarded, MagAttachTriggers,
        MagSessionsStarted, MagSessionsEstablished, MagSessionFailures, MagDetaches, MagRouterAdvertisements, MagPolicyRequests,
        MagPolicyDenials, MagPolicyTimeouts, MagNudProbes, MagDeregistrations, MagRefreshes, MagReannouncements, MagHandoverDuration,
        VmIpv4Info, VmIpv4Packets, VmIpv4Bytes, MagIpv4, MagIpv4Unavailable, MagDhcp, VmPathPackets, VmPathBytes, MagLocalizedRoutes, MagLocalizedRouting,
    ];

    public static IReadOnlyList<FamilyInfo> Lma { get; } =
    [
        LmaBindingCache, LmaPbusReceived, LmaPbus, LmaPbasSent, LmaBindingChanges, LmaTunnels, LmaRoutes, LmaPendingLookups, LmaParked,
        LmaProfileLookups, LmaBindingsTracked, LmaBindingPackets, LmaBindingBytes, LmaBindingHandoffs, LmaBindingActive, TunnelUp, TunnelBindings,
        LmaIpv4HomeAddresses, LmaIpv4, LmaBindingIpv4Packets, LmaBindingIpv4Bytes, LmaLocalizedRoutingSessions, LmaLocalizedRouting,
        LmaRole, LmaEtcdUp, LmaEtcdErrors, LmaReplicationLag, LmaReplicationWritesInFlight, LmaReplicationOldestWrite, LmaReplicationWrites,
        LmaPbasAwaitingCommit, LmaTakeovers, LmaStepDowns, LmaLastTakeoverTimestamp, LmaLastTakeoverDuration, LmaLastTakeoverBindings,
    ];

    public static IReadOnlyList<FamilyInfo> Endpoint { get; } = [Info, LoopResponsive, SnapshotFailures, SnapshotSeconds];
}
