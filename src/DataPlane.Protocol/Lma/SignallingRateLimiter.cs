using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// How many Mobility Header messages the LMA takes from one MAG (RFC 5213 leaves flooding to the
/// implementation): a generic-cell-rate bucket per authorised MAG, and one shared by every address that is
/// not one, so a flood from one MAG (or from strangers) is dropped and counted while the others keep
/// registering. Memory is bounded by the authorised MAGs. Over the limit a message is not processed and not
/// answered; a MAG retransmits its PBUs with back-off, so a burst only delays it.
/// </summary>
internal sealed class SignallingRateLimiter(int perSecond, int burst)
{
    private readonly Dictionary<Ipv6Address, long> _theoreticalArrival = [];
    private long _strangers;
    private readonly long _interval = TimeSpan.TicksPerSecond / Math.Max(1, perSecond);

    public bool TryAcquire(Ipv6Address source, bool authorized, Instant now)
    {
        if (!authorized) return TryAcquire(ref _strangers, now);
        ref long tat = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_theoreticalArrival, source, out _);
        return TryAcquire(ref tat, now);
    }

    private bool TryAcquire(ref long theoreticalArrival, Instant now)
    {
        long t = Math.Max(theoreticalArrival, now.Ticks);
        if (t - now.Ticks > (burst - 1) * _interval) return false;
        theoreticalArrival = t + _interval;
        return true;
    }
}
