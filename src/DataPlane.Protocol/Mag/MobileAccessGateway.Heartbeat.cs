using DataPlane.Protocol.Heartbeat;
using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// RFC 5847 towards the LMAs; re-registration after an LMA restart.
public sealed partial class MobileAccessGateway
{
    private void ApplyHeartbeatSignals(Instant now)
    {
        foreach (var signal in _heartbeatSignals)
        {
            switch (signal.Kind)
            {
                case HeartbeatSignalKind.Send:
                    _actions.Add(new MagAction.SendMobilityMessage(_options.ProxyCareOfAddress, signal.Peer, signal.Message!));
                    break;
                case HeartbeatSignalKind.PeerUnreachable:
                    EndLocalizedRoutesOf(signal.Peer, LocalizedRouteEnd.LmaUnreachable);
                    _actions.Add(new MagAction.PeerUnreachable(signal.Peer));
                    break;
                case HeartbeatSignalKind.PeerReachable:
                    _actions.Add(new MagAction.PeerReachable(signal.Peer));
                    break;
                case HeartbeatSignalKind.PeerRestarted:
                    EndLocalizedRoutesOf(signal.Peer, LocalizedRouteEnd.LmaRestarted);
                    int n = ReregisterAfterLmaRestart(signal.Peer, now);
                    _actions.Add(new MagAction.PeerRestarted(signal.Peer, signal.PreviousRestartCounter!.Value, signal.RestartCounter!.Value, n));
                    break;
            }
        }
        _heartbeatSignals.Clear();
    }

    /// <summary>
    /// The LMA lost its binding cache: register again every VM we serve there (HI 5 with the known
    /// prefixes, so the LMA recreates the same bindings). Transactions already in flight reach the new
    /// LMA through their own retransmissions.
    /// </summary>
    private int ReregisterAfterLmaRestart(Ipv6Address lma, Instant now)
    {
        int count = 0;
        foreach (var entry in _bindingUpdateList.Values)
        {
            if (entry.LocalMobilityAnchor != lma || !entry.Registered || entry.Transaction is not null
                || entry.Session is not { State: SessionState.Established }) continue;
            StartTransaction(entry, RegistrationKind.RestartRecovery, HandoffIndicator.HandoffStateNotChanged,
                entry.HomeNetworkPrefixes, RegisteredIpv4Request(entry), _options.BindingLifetime, now);
            count++;
        }
        return count;
    }
}
