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
}
