using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// What can happen to an LMA, as a closed hierarchy. Timers are not events: call
/// <see cref="LocalMobilityAnchor.Tick"/> when <see cref="LocalMobilityAnchor.NextDeadline"/> has passed.
/// </summary>
public abstract record LmaEvent
{
    private LmaEvent() { }

    /// <summary>A Mobility Header message (PBU, heartbeat) arrived from <paramref name="Source"/>.</summary>
    public sealed record MobilityMessageReceived(Ipv6Address Source, MobilityMessage Message) : LmaEvent;

    /// <summary>
    /// The host's answer to <see cref="LmaAction.RequestProfile"/>: the profile, or null. A null with
    /// <paramref name="LookupFailed"/> (the AAA server could not be asked, and the failure policy
    /// denies) refuses the waiting PBUs with 128, which the MAG retries; a plain null (the server said
    /// no) refuses them with 152, which it does not.
    /// </summary>
    public sealed record ProfileDecided(long RequestId, LmaMobileNodeProfile? Profile, bool LookupFailed = false) : LmaEvent;
}
