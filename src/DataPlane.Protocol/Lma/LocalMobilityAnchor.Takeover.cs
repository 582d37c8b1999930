using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

// Active/standby: a standby that wins a shard's election installs the shard's stored bindings (TakeOver);
// an active that loses it forgets them (Relinquish). The steps are decisions, so they live here and run in
// the simulation; the host does the store reads and the address move around them.
public sealed partial class LocalMobilityAnchor
{
    /// <summary>The Restart Counter this LMA answers heartbeats with now (a takeover sets the shard's).</summary>
    public uint RestartCounter => _heartbeat.LocalRestartCounter;

    /// <summary>
    /// Install a shard's stored bindings into an empty cache, as the active that wrote them had them: every
    /// active entry gets its tunnel and routes (TunnelUp, RouteAdd) and a fresh grant of its lifetime
    /// (refreshes were never stored), every de-registered one the rest of its hold-down. Records that conflict
    /// (a prefix or IPv4 home address claimed twice, outside the pools) are refused and counted, not half-installed.
    /// <para>
    /// Returns the Restart Counter to answer with: the shard's <paramref name="storedRestartCounter"/> unchanged
    /// when every acknowledged change is known to be in the store (AcknowledgeAfterCommit: RFC 5847 says a
    /// counter must not change when state survived, so the MAGs do not re-register), one more with
    /// AcknowledgeAsynchronously, where the failed active may have acknowledged changes the store never got
    /// (the counter tells every MAG to re-register, which closes that window). The host stores a changed counter
    /// before it announces the address.
    /// </para>
    /// </summary>
    public IReadOnlyList<LmaAction> TakeOver(IEnumerable<StoredBinding> records, uint storedRestartCounter, Instant now, out uint restartCounter)
    {
        _actions.Clear();
        if (_cache.Count != 0) throw new InvalidOperationException("TakeOver needs an empty binding cache (Relinquish first)");
        StoreFenced = false;
        Counters.Takeovers++;
        restartCounter = _options.Persistence == BindingPersistence.AcknowledgeAsynchronously || storedRestartCounter == 0
            ? NextRestartCounter(storedRestartCounter)
            : storedRestartCounter;
        _heartbeat.LocalRestartCounter = restartCounter;
        foreach (var stored in records)
        {
            if (Install(stored, now)) Counters.RecordsInstalled++;
            else Counters.RecordsRejected++;
        }
        return _actions;
    }

    private static uint NextRestartCounter(uint c) => c == uint.MaxValue ? 1 : c + 1;

    private bool Install(StoredBinding stored, Instant now)
    {
        var r = stored.Record;
        var prefixes = r.HomeNetworkPrefixes.ToArray();
        if (prefixes.Length == 0 && r.Ipv4HomeAddress is null) return false;
        if (prefixes.Any(_cache.IsPrefixInUse) || prefixes.Distinct().Count() != prefixes.Length) return false;
        if (r.State == BindingCacheState.Active && r.ProxyCareOfAddress is null) return false;
        if (r.PrefixesFromPool && (_pool is null || !prefixes.All(_pool.IsFree))) return false;
        // RFC 5844: the address must be free in this member's IPv4 pool (which marks every bound address, static
        // or dynamic), so claiming it makes the pool exactly the active's and the address is never handed out twice.
        if (r.Ipv4HomeAddress is { } v4 && (_ipv4Pool is null || !_ipv4Pool.IsFree(v4))) return false;
        if (r.PrefixesFromPool) foreach (var p in prefixes) _pool!.TryClaim(p);
        if (r.Ipv4HomeAddress is { } claimed) _ipv4Pool!.TryClaim(claimed);
        var entry = new BindingCacheEntry(r.MobileNodeIdentifier, r.LinkLayerIdentifier, r.AccessTechnologyType, prefixes, r.PrefixesFromPool)
        {
            StoreRevision = stored.Revision,
            GrantedLifetime = TimeSpan.FromSeconds(Math.Max(r.LifetimeSeconds, 0)),
            MagLinkLocalAddress = r.MagLinkLocalAddress,
            HasAcceptedPbu = r.LastAcceptedFrom is not null,
            LastAcceptedFrom = r.LastAcceptedFrom ?? default,
            LastAcceptedSequence = r.LastAcceptedSequence,
            LastAcceptedTimestamp = r.LastAcceptedTimestamp,
        };
        _cache.Add(entry);
        if (r.Ipv4HomeAddress is { } address)
        {
            var network = _options.Ipv4HomeNetwork!;
            _cache.SetIpv4HomeAddress(entry, address, network.Subnet.Length, network.DefaultRouter);
        }
        _awaitingDeletion++; // a new entry starts inactive; Activate moves it (and routes the IPv4 home address)
        if (r.State == BindingCacheState.Active)
        {
            Activate(entry, r.ProxyCareOfAddress!.Value, now);
            // Refreshes were never stored: grant the whole lifetime again from now.
            var lifetime = entry.GrantedLifetime > TimeSpan.Zero ? entry.GrantedLifetime : _options.MaxBindingLifetime;
            entry.ExpiresAt = now + lifetime;
        }
        else
        {
            entry.DeregisteredBy = r.DeregisteredBy;
            entry.DeleteAt = r.DeleteAt ?? now + _options.MinDelayBeforeBceDelete;
        }
        _timers.Set(entry, entry.NextDue);
        return true;
    }

    /// <summary>
    /// Step down: forget every binding (RouteRemove, TunnelDown for each), held PBAs, parked registrations,
    /// profile look-ups and writes in flight, so the machine is as new and a later <see cref="TakeOver"/> starts
    /// clean. The store keeps the state for whoever is active next. Counters are kept.
    /// </summary>
    public IReadOnlyList<LmaAction> Relinquish()
    {
        _actions.Clear();
        Counters.Relinquished++;
        foreach (var entry in _cache.Entries.ToList())
        {
            if (entry.State == BindingCacheState.Active)
            {
                foreach (var p in entry.HomeNetworkPrefixes) _actions.Add(new LmaAction.RouteRemove(p));
                if (entry.Ipv4HomeAddress is { } v4) _actions.Add(new LmaAction.Ipv4RouteRemove(v4));
            }
            _cache.Remove(entry);
        }
        foreach (var (mag, _) in _tunnels.All.ToList())
        {
            _actions.Add(new LmaAction.TunnelDown(mag));
            _heartbeat.RemovePeer(mag);
        }
        _tunnels.Clear();
        _pool?.Clear();
        _ipv4Pool?.Clear();
        _timers.Clear();
        _profileLookupsById.Clear();
        _profileLookupsByNode.Clear();
        // RFC 6705 pairs are not replicated: the MAGs' direct routes run out with their lifetime, and the new
        // active sets pairs up again from the traffic it sees.
        _lrByEntry.Clear();
        _lriOutstanding.Clear();
        _lrHeldOff.Clear();
        _lrSessions = 0;
        _storeWrites.Clear();
        _storeKeyOwner.Clear();
        _storeKeyWaiting.Clear();
        _parked = 0;
        _awaitingDeletion = 0;
        _awaitingProfile = 0;
        _acksAwaitingCommit = 0;
        return _actions;
    }
}
