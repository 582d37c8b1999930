using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// Replication to a store (LmaOptions.Persistence): which changes are written and when their PBAs go out.
// An entry is written when its persisted state changes (created, handed off, resumed, de-registered,
// deleted or expired), never for a lifetime refresh alone. Writes are compare-and-swap on the key's
// revision, at most one in flight per key; changes made meanwhile are coalesced into the next write.
public sealed partial class LocalMobilityAnchor
{
    private readonly Dictionary<long, BindingCacheEntry> _storeWrites = [];
    // Keys with a write in flight, by the entry writing them; a new entry for a key whose old entry's delete is
    // still in flight waits in _storeKeyWaiting until that delete is answered.
    private readonly Dictionary<string, BindingCacheEntry> _storeKeyOwner = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BindingCacheEntry> _storeKeyWaiting = new(StringComparer.Ordinal);
    private long _lastStoreWriteId;
    private int _acksAwaitingCommit;

    private bool Persisting => _options.Persistence != BindingPersistence.None;

    /// <summary>Store writes not answered yet.</summary>
    public int StoreWritesInFlight => _storeWrites.Count;

    /// <summary>PBAs held until the store commits the change they acknowledge (AcknowledgeAfterCommit).</summary>
    public int AcknowledgementsAwaitingCommit => _acksAwaitingCommit;

    /// <summary>True once a store write failed: this LMA is no longer the shard's writer and withholds further writes.</summary>
    public bool StoreFenced { get; private set; }

    /// <summary>The entry's persisted state changed: write it (now, or after the write in flight).</summary>
    private void Persist(BindingCacheEntry entry)
    {
        if (!Persisting) return;
        entry.StoreDirty = true;
        if (entry.StoreWriteId != 0 || StoreFenced) return;
        var key = BindingKeys.Of(entry);
        if (_storeKeyOwner.TryGetValue(key, out var owner) && owner != entry)
        {
            _storeKeyWaiting[key] = entry;
            return;
        }
        IssueWrite(entry, key);
    }

    private void IssueWrite(BindingCacheEntry entry, string key)
    {
        entry.StoreDirty = false;
        entry.StoreWriteId = ++_lastStoreWriteId;
        _storeWrites.Add(entry.StoreWriteId, entry);
        _storeKeyOwner[key] = entry;
        if (entry.AcksAwaitingWrite is { Count: > 0 } waiting)
        {
            if (entry.AcksCoveredByWrite is null) entry.AcksCoveredByWrite = waiting;
            else entry.AcksCoveredByWrite.AddRange(waiting);
            entry.AcksAwaitingWrite = null;
        }
        Counters.StoreWrites++;
        _actions.Add(new LmaAction.StoreBinding(entry.StoreWriteId, key, entry.Removed ? null : ToRecord(entry), entry.StoreRevision));
    }

    /// <summary>
    /// Send an accepting PBA for <paramref name="entry"/>, or, with AcknowledgeAfterCommit and a change of the
    /// entry not yet committed, hold it until the write that carries that change is answered.
    /// </summary>
    private void Acknowledge(BindingCacheEntry entry, Ipv6Address destination, BindingAcknowledgement pba, BindingAckStatus status)
    {
        if (_options.Persistence == BindingPersistence.AcknowledgeAfterCommit && (entry.StoreDirty || entry.StoreWriteId != 0))
        {
            var pending = new PendingAcknowledgement(destination, pba, status);
            if (entry.StoreDirty) (entry.AcksAwaitingWrite ??= []).Add(pending);
            else (entry.AcksCoveredByWrite ??= []).Add(pending);
            _acksAwaitingCommit++;
            Counters.PbasHeldForCommit++;
            return;
        }
        Send(destination, pba);
        Counters.PbasSentByStatus.Increment(status);
    }

    private void OnBindingStored(LmaEvent.BindingStored e)
    {
        if (!_storeWrites.Remove(e.WriteId, out var entry))
        {
            Counters.StoreAnswersIgnored++;
            return;
        }
        entry.StoreWriteId = 0;
        entry.StoreRevision = e.Revision;
        if (entry.AcksCoveredByWrite is { Count: > 0 } covered)
        {
            foreach (var a in covered)
            {
                Send(a.Destination, a.Pba);
                Counters.PbasSentByStatus.Increment(a.Status);
            }
            _acksAwaitingCommit -= covered.Count;
            entry.AcksCoveredByWrite = null; // not kept per entry: a million idle lists would cost ~180 MB
        }
        if (entry.AcksAwaitingWrite is { Count: 0 }) entry.AcksAwaitingWrite = null;
        var key = BindingKeys.Of(entry);
        if (entry.StoreDirty && !StoreFenced)
        {
            IssueWrite(entry, key);
            return;
        }
        _storeKeyOwner.Remove(key);
        if (_storeKeyWaiting.Remove(key, out var next))
        {
            // The old entry's last write (a delete) is done: the new one starts from the key's current revision.
            next.StoreRevision = entry.Removed ? 0 : e.Revision;
            IssueWrite(next, key);
        }
    }

    private void OnBindingStoreFailed(LmaEvent.BindingStoreFailed e)
    {
        if (!_storeWrites.Remove(e.WriteId, out var entry))
        {
            Counters.StoreAnswersIgnored++;
            return;
        }
        entry.StoreWriteId = 0;
        entry.StoreDirty = true;
        Counters.StoreWriteFailures++;
        // The change is not in the store: its PBAs are withheld (the MAG retransmits, to whoever is active then).
        if (entry.AcksCoveredByWrite is { Count: > 0 } covered)
        {
            Counters.PbasWithheldOnStoreFailure += covered.Count;
            _acksAwaitingCommit -= covered.Count;
            entry.AcksCoveredByWrite = null;
        }
        StoreFenced = true;
        _actions.Add(new LmaAction.StoreWriteFailed(BindingKeys.Of(entry), e.Failure));
    }

    private static BindingRecord ToRecord(BindingCacheEntry e) => new()
    {
        MobileNodeIdentifier = e.MobileNodeIdentifier,
        LinkLayerIdentifier = e.LinkLayerIdentifier,
        AccessTechnologyType = e.AccessTechnologyType,
        HomeNetworkPrefixes = e.HomeNetworkPrefixes,
        PrefixesFromPool = e.PrefixesFromPool,
        State = e.State,
        ProxyCareOfAddress = e.ProxyCareOfAddress,
        DeregisteredBy = e.DeregisteredBy,
        MagLinkLocalAddress = e.MagLinkLocalAddress,
        LifetimeSeconds = (int)e.GrantedLifetime.TotalSeconds,
        DeleteAt = e.State == BindingCacheState.AwaitingDeletion ? e.DeleteAt : null,
        LastAcceptedFrom = e.HasAcceptedPbu ? e.LastAcceptedFrom : null,
        LastAcceptedSequence = e.LastAcceptedSequence,
        LastAcceptedTimestamp = e.LastAcceptedTimestamp,
        Ipv4HomeAddress = e.Ipv4HomeAddress,
    };

    /// <summary>The store record of the entry holding <paramref name="prefix"/>, as it would be written now (tests, ctl).</summary>
    public BindingRecord? RecordOf(Ipv6Prefix prefix) => _cache.FindByPrefix(prefix) is { } e ? ToRecord(e) : null;

    /// <summary>The store record of the entry holding <paramref name="address"/> as its IPv4 home address (tests, ctl).</summary>
    public BindingRecord? RecordOf(Ipv4Address address) => _cache.FindByIpv4HomeAddress(address) is { } e ? ToRecord(e) : null;
}
