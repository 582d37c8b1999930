using DataPlane.Protocol;

namespace DataPlane.Simulation;

/// <summary>
/// Calls a machine's Tick when its NextDeadline passes, with at most one live wake-up event per machine:
/// a wake-up superseded by an earlier deadline is ignored when it fires.
/// </summary>
internal sealed class MachineWake(Simulation sim, Action tick)
{
    private Instant? _wakeAt;
    private long _token;

    /// <summary>Schedule for <paramref name="simTime"/> unless an earlier wake-up is already pending.</summary>
    public void Arm(Instant? simTime)
    {
        if (simTime is not { } at) return;
        if (_wakeAt is { } pending && pending <= at) return;
        _wakeAt = at;
        long token = ++_token;
        sim.ScheduleAt(at, () =>
        {
            if (token != _token) return;
            _wakeAt = null;
            tick();
        });
    }

    /// <summary>Forget any pending wake-up (the machine was replaced).</summary>
    public void Reset()
    {
        _token++;
        _wakeAt = null;
    }
}
