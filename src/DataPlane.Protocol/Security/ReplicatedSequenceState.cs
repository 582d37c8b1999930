namespace DataPlane.Protocol.Security;

/// <summary>
/// The ESP sequence state of an LMA shard (issue 19) as its store holds it, so that a standby taking over continues
/// every SA where the failed active could not have gone: RFC 4303 §3.3.3 (with manual keys the sender's counter "MUST
/// be correctly maintained"), and for AES-GCM RFC 4106 §3.1 (an IV never repeats under a key). It is the restart rule
/// of <see cref="SignallingSecurity"/> — send only below a reservation that survives — with the shard's store as the
/// stable storage instead of a local file, since the next sender is another machine.
/// <para>
/// The active writes its outbound reservations <em>one block ahead</em>
/// (<see cref="SignallingSecurityOptions.SequenceReservationBlock"/>), and a message goes out only while every
/// outbound reservation is covered by what the store has committed (<see cref="MaySend"/>). Each local reservation
/// move starts the write that covers the next block, so the active waits only if the store stays behind for a whole
/// block (65,536 messages to one MAG). The standby reads the committed state on takeover, restores it
/// (<see cref="SignallingSecurity.RestoreState"/>: outbound SAs continue after it, the jump forward), and writes its
/// own one block ahead before it serves the address. A number is never reused: the old active sent only numbers at
/// or below a committed value, its writes are fenced by its leader key, and the new one reads after winning the
/// election, so it sees every committed value. The inbound right edges are written too, lazily (with every
/// reservation and once a second when they moved), so a takeover restores a window at most that stale; the
/// PMIPv6 sequence and timestamp checks (RFC 5213 §5.5) stand behind it for the messages of that second.
/// </para>
/// Sans-I/O; the host carries the writes. Not thread-safe: the packet loop owns it.
/// </summary>
public sealed class ReplicatedSequenceState
{
    private readonly Dictionary<SecurityStateKey, uint> _committed = [];
    private Dictionary<SecurityStateKey, uint>? _inFlight;
    private long _checkedAtReservations = -1;
    private bool _covered;

    /// <summary>False until a takeover restored and stored the state; a member that is not active sends nothing.</summary>
    public bool Serving { get; private set; }

    public bool WriteInFlight => _inFlight is not null;

    /// <summary>What the store holds (committed writes), for ctl and tests.</summary>
    public IReadOnlyDictionary<SecurityStateKey, uint> Committed => _committed;

    /// <summary>
    /// Takeover: continue from the shard's stored state (null: none stored yet, a new shard). Returns the state to store
    /// before serving; <see cref="Written"/> with it makes this member serve.
    /// </summary>
    public Dictionary<SecurityStateKey, uint> TakeOver(SignallingSecurity security, IReadOnlyDictionary<SecurityStateKey, uint>? stored)
    {
        _committed.Clear();
        _inFlight = null;
        Serving = false;
        if (stored is not null)
        {
            security.RestoreState(stored);
            foreach (var (k, v) in stored) _committed[k] = v;
        }
        Invalidate();
        return _inFlight = AheadOf(security);
    }

    /// <summary>Step down: nothing may be sent on the shard's SAs until the next takeover.</summary>
    public void StepDown()
    {
        Serving = false;
        _inFlight = null;
        _committed.Clear();
        Invalidate();
    }

    /// <summary>
    /// The next write, if the state moved past what is stored and none is in flight; null otherwise. The host calls it
    /// whenever it persisted the state locally (each reservation, and once a second while inbound edges move).
    /// </summary>
    public Dictionary<SecurityStateKey, uint>? NextWrite(SignallingSecurity security)
    {
        if (!Serving || _inFlight is not null) return null;
        var next = AheadOf(security);
        bool moved = false;
        foreach (var (k, v) in next)
        {
            if (!_committed.TryGetValue(k, out var c) || c < v)
            {
                moved = true;
                break;
            }
        }
        return moved ? _inFlight = next : null;
    }

    /// <summary>The store committed <paramref name="state"/> (from <see cref="TakeOver"/> or <see cref="NextWrite"/>).</summary>
    public void Written(Dictionary<SecurityStateKey, uint> state)
    {
        if (!ReferenceEquals(state, _inFlight)) return; // a write from before a step-down
        foreach (var (k, v) in state)
            if (!_committed.TryGetValue(k, out var c) || c < v) _committed[k] = v;
        _inFlight = null;
        Serving = true;
        Invalidate();
    }

    /// <summary>The write failed (the store unreachable, or this member no longer the leader); a later <see cref="NextWrite"/> retries.</summary>
    public void WriteFailed(Dictionary<SecurityStateKey, uint> state)
    {
        if (ReferenceEquals(state, _inFlight)) _inFlight = null;
    }

    /// <summary>
    /// May a message protected now go out? Only while serving and while every outbound reservation is at or below
    /// the committed value. Re-checked only when a reservation moved, so it costs a comparison per message.
    /// </summary>
    public bool MaySend(SignallingSecurity security)
    {
        if (!Serving) return false;
        long reservations = security.Counters.Reservations;
        if (reservations == _checkedAtReservations) return _covered;
        _covered = true;
        foreach (var (k, v) in security.ExportState())
        {
            if (k.Direction == SaDirection.Outbound && (!_committed.TryGetValue(k, out var c) || c < v))
            {
                _covered = false;
                break;
            }
        }
        // Covered stays covered until the next reservation; not covered is re-checked after the next commit.
        _checkedAtReservations = _covered ? reservations : -1;
        return _covered;
    }

    private void Invalidate() => _checkedAtReservations = -1;

    /// <summary>
    /// Outbound reservations one block ahead (saturating), including SAs that have sent nothing yet (their first
    /// reservation is then covered before it is made), and inbound right edges unchanged.
    /// </summary>
    public static Dictionary<SecurityStateKey, uint> AheadOf(SignallingSecurity security)
    {
        var export = security.ExportState();
        var ahead = new Dictionary<SecurityStateKey, uint>(export.Count);
        foreach (var (k, v) in export) ahead[k] = k.Direction == SaDirection.Outbound ? Ahead(v) : v;
        foreach (var sa in security.Associations)
        {
            if (sa.Direction != SaDirection.Outbound) continue;
            var key = new SecurityStateKey(sa.Direction, sa.Peer, sa.Spi);
            if (!ahead.ContainsKey(key)) ahead[key] = Ahead(sa.ReservedThrough);
        }
        return ahead;
    }

    private static uint Ahead(uint reservation) => (uint)Math.Min(uint.MaxValue, (ulong)reservation + SignallingSecurityOptions.SequenceReservationBlock);
}
