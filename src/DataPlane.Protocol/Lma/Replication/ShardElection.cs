namespace DataPlane.Protocol.Lma.Replication;

/// <summary>An LMA's role for its shard.</summary>
public enum LmaRole : byte
{
    /// <summary>No lease yet (starting, or the store is unreachable): serves nothing, campaigns for nothing.</summary>
    Unelected,
    /// <summary>Holds a lease, watches the shard's state, takes over when the leader key goes.</summary>
    Standby,
    /// <summary>Won the leader key and is installing the shard's state; not yet serving.</summary>
    TakingOver,
    /// <summary>Serves the shard: holds the LMA address, answers PBUs, writes the bindings.</summary>
    Active,
}

/// <summary>Timing of the election (docs/high-availability.md).</summary>
public sealed record ElectionOptions
{
    /// <summary>The lease TTL asked for. etcd counts leases in whole seconds and raises a TTL below its minimum (1.5 × its election timeout).</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the lease is renewed; null: a third of the granted TTL.</summary>
    public TimeSpan? KeepAliveInterval { get; init; }

    /// <summary>
    /// An active steps down this long before its lease could expire in the store, counted from the sending
    /// of the last renewal the store answered: the store cannot expire it earlier than TTL after receiving it,
    /// so the active is gone before any standby can win (covers clock-rate differences).
    /// </summary>
    public TimeSpan SafetyMargin { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Wait before asking the store again after a failed request.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    public void Validate()
    {
        Check.That(LeaseTtl >= TimeSpan.FromSeconds(1), "Election.LeaseTtl", "must be at least 1 s (etcd leases are whole seconds)");
        Check.That(KeepAliveInterval is null || KeepAliveInterval > TimeSpan.Zero && KeepAliveInterval < LeaseTtl,
            "Election.KeepAliveInterval", "must be positive and below the lease TTL");
        Check.That(SafetyMargin >= TimeSpan.Zero && SafetyMargin < LeaseTtl, "Election.SafetyMargin", "must be within [0, lease TTL)");
        Check.Positive(RetryInterval, "Election.RetryInterval");
    }
}

public abstract record ElectionEvent
{
    private ElectionEvent() { }

    public sealed record LeaseGranted(long LeaseId, TimeSpan Ttl, Instant RequestedAt) : ElectionEvent;
    public sealed record LeaseRequestFailed(string Reason) : ElectionEvent;
    /// <summary>The store answered a renewal sent at <paramref name="SentAt"/>; a TTL of zero or less means the lease is gone.</summary>
    public sealed record KeepAliveAnswered(long LeaseId, TimeSpan Ttl, Instant SentAt) : ElectionEvent;
    public sealed record KeepAliveFailed(long LeaseId, string Reason) : ElectionEvent;
    /// <summary>
    /// The shard's leader key, as read or watched: null holder when there is none. <paramref name="Revision"/> is the
    /// store revision the observation is of (a watched change's, a read's), 0 when unknown: a watch can deliver the
    /// deletion of the previous holder's key after this member's campaign created its own, and that must not count.
    /// </summary>
    public sealed record LeaderObserved(long? HolderLeaseId, string? Holder, long Revision = 0) : ElectionEvent;
    /// <summary>
    /// The campaign's transaction: <paramref name="Won"/> when it created the key; otherwise the key as found, its create
    /// revision in <paramref name="LeaderRevision"/> and the lease it is under in <paramref name="HolderLeaseId"/> (0:
    /// unknown). Found under this member's own lease, the key is this member's: an earlier campaign created it and
    /// its answer was lost (a deadline that ran out after etcd had committed).
    /// </summary>
    public sealed record CampaignAnswered(bool Won, long LeaderRevision, string? Holder, long HolderLeaseId = 0) : ElectionEvent;
    public sealed record CampaignFailed(string Reason) : ElectionEvent;
    /// <summary>The host finished the takeover (state installed, address up and announced).</summary>
    public sealed record TakeoverCompleted : ElectionEvent;
    public sealed record TakeoverFailed(string Reason) : ElectionEvent;
    /// <summary>A store write was refused for leadership (the machine's StoreWriteFailed): fenced.</summary>
    public sealed record Fenced(string Reason) : ElectionEvent;
    /// <summary>Orderly shutdown: hand the shard over at once instead of letting the lease run out.</summary>
    public sealed record Resign : ElectionEvent;
}

public abstract record ElectionAction
{
    private ElectionAction() { }

    public sealed record GrantLease(TimeSpan Ttl) : ElectionAction;
    public sealed record SendKeepAlive(long LeaseId, Instant SentAt) : ElectionAction;
    /// <summary>Create the shard's leader key under the lease if it is absent (a transaction); answer with CampaignAnswered.</summary>
    public sealed record Campaign(long LeaseId) : ElectionAction;
    /// <summary>
    /// Won: install the shard's state as of <paramref name="LeaderRevision"/> (every write of the previous active is
    /// older, because its writes are conditional on its own leader key), bring the LMA address up, announce it;
    /// answer with TakeoverCompleted or TakeoverFailed.
    /// </summary>
    public sealed record BecomeActive(long LeaderRevision) : ElectionAction;
    /// <summary>Stop serving at once: forget the bindings, take the address down (the store keeps the state).</summary>
    public sealed record StepDown(string Reason) : ElectionAction;
    public sealed record RevokeLease(long LeaseId) : ElectionAction;
}

/// <summary>
/// Which LMA of a shard is active, decided on a store lease (etcd's election recipe) and fenced by it:
/// sans-I/O like the protocol machines. The host turns actions into store requests and feeds the answers
/// back; time is injected.
/// <para>
/// Safety: the active keeps serving only while <c>sentAt(last answered renewal) + TTL − margin</c> lies ahead.
/// The store expires the lease no earlier than TTL after it <em>received</em> that renewal, which is later
/// than it was sent, so an active that cannot renew has stepped down before the leader key disappears and a
/// standby can win. Writes are also conditional on the leader key (the host's transactions), so even a paused
/// process that wakes up late cannot change the store.
/// </para>
/// </summary>
public sealed class ShardElection
{
    private readonly ElectionOptions _options;
    private readonly List<ElectionAction> _actions = [];
    private long _leaseId;
    private TimeSpan _ttl;
    private Instant _validUntil;
    private Instant? _nextKeepAlive;
    private Instant? _retryAt;
    private bool _grantOutstanding;
    private bool _campaignOutstanding;
    private bool _leaderVacant;
    // The leader key is under our current lease while we are only a standby: a campaign of ours created it, and its
    // answer was lost. Campaigning again finds it (CampaignAnswered with our lease) and learns its create revision.
    private bool _leaderKeyOurs;
    private bool _started;
    private bool _resigned;

    public ShardElection(ElectionOptions options)
    {
        options.Validate();
        _options = options;
    }

    public LmaRole Role { get; private set; } = LmaRole.Unelected;

    public long LeaseId => _leaseId;

    public TimeSpan GrantedTtl => _ttl;

    /// <summary>The holder of the leader key as last observed (null: none or unknown).</summary>
    public string? Leader { get; private set; }

    /// <summary>Why the last step-down happened.</summary>
    public string? LastStepDownReason { get; private set; }

    public long StepDowns { get; private set; }
    public long Elections { get; private set; }

    /// <summary>Campaigns that found the leader key already under this member's lease (an earlier answer was lost).</summary>
    public long CampaignsResumed { get; private set; }
    public long KeepAliveFailures { get; private set; }

    public Instant? NextDeadline
    {
        get
        {
            if (_resigned) return null;
            Instant? d = Instant.Earliest(_nextKeepAlive, _retryAt);
            if (_leaseId != 0) d = Instant.Earliest(d, _validUntil);
            return d;
        }
    }

    public IReadOnlyList<ElectionAction> Start(Instant now)
    {
        _actions.Clear();
        _started = true;
        RequestLease(now);
        return _actions;
    }

    public IReadOnlyList<ElectionAction> Handle(ElectionEvent e, Instant now)
    {
        _actions.Clear();
        if (!_started || _resigned) return _actions;
        switch (e)
        {
            case ElectionEvent.LeaseGranted g:
                _grantOutstanding = false;
                _leaseId = g.LeaseId;
                _ttl = g.Ttl;
                _validUntil = g.RequestedAt + g.Ttl - _options.SafetyMargin;
                _nextKeepAlive = now + KeepAliveInterval;
                Role = LmaRole.Standby;
                MaybeCampaign(now);
                break;
            case ElectionEvent.LeaseRequestFailed:
                _grantOutstanding = false;
                _retryAt = now + _options.RetryInterval;
                break;
            case ElectionEvent.KeepAliveAnswered k when k.LeaseId == _leaseId:
                if (k.Ttl <= TimeSpan.Zero) LoseLease("the store says the lease has expired", now);
                else _validUntil = Instant.Max(_validUntil, k.SentAt + k.Ttl - _options.SafetyMargin);
                break;
            case ElectionEvent.KeepAliveFailed k when k.LeaseId == _leaseId:
                KeepAliveFailures++;
                break;
            case ElectionEvent.LeaderObserved o:
                OnLeaderObserved(o, now);
                break;
            case ElectionEvent.CampaignAnswered c:
                _campaignOutstanding = false;
                if (Role != LmaRole.Standby) break;
                Leader = c.Holder;
                _leaderVacant = false;
                _leaderKeyOurs = false;
                // Not created by this transaction but under our lease: created by an earlier one of ours (etcd's own
                // election recipe resumes a key under its lease the same way). Anyone else's key: we lost.
                if (c.Won || c.HolderLeaseId != 0 && c.HolderLeaseId == _leaseId)
                {
                    if (!c.Won) CampaignsResumed++;
                    Elections++;
                    _ourLeaderRevision = c.LeaderRevision;
                    Role = LmaRole.TakingOver;
                    _actions.Add(new ElectionAction.BecomeActive(c.LeaderRevision));
                }
                break;
            case ElectionEvent.CampaignFailed:
                _campaignOutstanding = false;
                _retryAt = now + _options.RetryInterval;
                break;
            case ElectionEvent.TakeoverCompleted:
                if (Role == LmaRole.TakingOver) Role = LmaRole.Active;
                break;
            case ElectionEvent.TakeoverFailed f:
                if (Role is LmaRole.TakingOver or LmaRole.Active) Abdicate("takeover failed: " + f.Reason, now);
                break;
            case ElectionEvent.Fenced f:
                if (Role is LmaRole.TakingOver or LmaRole.Active) Abdicate("fenced: " + f.Reason, now);
                break;
            case ElectionEvent.Resign:
                _resigned = true;
                if (Role is LmaRole.TakingOver or LmaRole.Active) StepDown("resigned (shutting down)");
                if (_leaseId != 0) _actions.Add(new ElectionAction.RevokeLease(_leaseId));
                _leaseId = 0;
                _leaderKeyOurs = false;
                Role = LmaRole.Unelected;
                break;
        }
        return _actions;
    }

    public IReadOnlyList<ElectionAction> Tick(Instant now)
    {
        _actions.Clear();
        if (!_started || _resigned) return _actions;
        if (_leaseId != 0 && now >= _validUntil)
        {
            LoseLease($"no renewal answered within the lease TTL ({_ttl.TotalSeconds:0.#} s)", now);
            return _actions;
        }
        if (_nextKeepAlive is { } k && now >= k && _leaseId != 0)
        {
            _nextKeepAlive = now + KeepAliveInterval;
            _actions.Add(new ElectionAction.SendKeepAlive(_leaseId, now));
        }
        if (_retryAt is { } r && now >= r)
        {
            _retryAt = null;
            if (_leaseId == 0) RequestLease(now);
            else MaybeCampaign(now);
        }
        return _actions;
    }

    private TimeSpan KeepAliveInterval => _options.KeepAliveInterval ?? _ttl / 3;

    // The create revision of our leader key while taking over or active.
    private long _ourLeaderRevision;

    private void OnLeaderObserved(ElectionEvent.LeaderObserved o, Instant now)
    {
        // Older than our own leader key: the previous holder's key (or its deletion), overtaken by our campaign.
        if (Role is LmaRole.TakingOver or LmaRole.Active && o.Revision != 0 && o.Revision < _ourLeaderRevision) return;
        Leader = o.Holder;
        bool ours = o.HolderLeaseId is { } id && id == _leaseId && _leaseId != 0;
        if (o.HolderLeaseId is null)
        {
            _leaderVacant = true;
            _leaderKeyOurs = false;
            if (Role is LmaRole.TakingOver or LmaRole.Active) Abdicate("the leader key is gone", now);
            else MaybeCampaign(now);
        }
        else
        {
            _leaderVacant = false;
            _leaderKeyOurs = ours && Role == LmaRole.Standby;
            if (!ours && Role is LmaRole.TakingOver or LmaRole.Active) Abdicate($"another member ({o.Holder}) holds the leader key", now);
            else MaybeCampaign(now);
        }
    }

    private void MaybeCampaign(Instant now)
    {
        if (Role != LmaRole.Standby || !(_leaderVacant || _leaderKeyOurs) || _campaignOutstanding || _leaseId == 0 || now >= _validUntil) return;
        _campaignOutstanding = true;
        _actions.Add(new ElectionAction.Campaign(_leaseId));
    }

    /// <summary>The lease cannot be counted on any more: stop serving and start again with a new one.</summary>
    private void LoseLease(string reason, Instant now)
    {
        if (Role is LmaRole.TakingOver or LmaRole.Active) StepDown(reason);
        else LastStepDownReason = reason;
        _leaseId = 0;
        _leaderKeyOurs = false;
        _nextKeepAlive = null;
        Role = LmaRole.Unelected;
        RequestLease(now);
    }

    /// <summary>Step down but keep trying: revoke the lease (the leader key goes with it) and take a new one.</summary>
    private void Abdicate(string reason, Instant now)
    {
        StepDown(reason);
        if (_leaseId != 0) _actions.Add(new ElectionAction.RevokeLease(_leaseId));
        _leaseId = 0;
        _leaderKeyOurs = false;
        _nextKeepAlive = null;
        Role = LmaRole.Unelected;
        RequestLease(now);
    }

    private void StepDown(string reason)
    {
        StepDowns++;
        LastStepDownReason = reason;
        _actions.Add(new ElectionAction.StepDown(reason));
    }

    private void RequestLease(Instant now)
    {
        if (_grantOutstanding) return;
        _grantOutstanding = true;
        _retryAt = null;
        _actions.Add(new ElectionAction.GrantLease(_options.LeaseTtl));
    }
}
