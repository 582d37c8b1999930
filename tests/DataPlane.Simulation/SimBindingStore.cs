using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;

namespace DataPlane.Simulation;

/// <summary>
/// Where a simulated LMA's binding writes go (<see cref="LmaOptions.Persistence"/>): the LMA hands every
/// <see cref="LmaAction.StoreBinding"/> issued at one virtual instant over as a batch, after
/// <see cref="CommitLatency"/> of virtual time, and delivers the answers back to the machine. In memory here
/// (deterministic), or a real etcd (perf/DataPlane.LmaScale's storm).
/// </summary>
public interface ISimBindingStore
{
    /// <summary>Virtual time from issuing a write to its answer (a commit's latency).</summary>
    TimeSpan CommitLatency { get; }

    /// <summary>Perform the writes (in any order, concurrently if the store can) and answer each.</summary>
    IReadOnlyList<LmaEvent> Commit(IReadOnlyList<LmaAction.StoreBinding> writes);
}

/// <summary>An etcd stand-in with etcd's compare-and-swap semantics: one revision counter, a key's modification revision, 0 for absent.</summary>
public sealed class InMemoryBindingStore(TimeSpan commitLatency) : ISimBindingStore
{
    private readonly Dictionary<string, StoredBinding> _keys = new(StringComparer.Ordinal);

    public TimeSpan CommitLatency { get; } = commitLatency;
    public long Revision { get; private set; } = 1;
    public long Writes { get; private set; }
    public long Conflicts { get; private set; }
    public IReadOnlyCollection<StoredBinding> Records => _keys.Values;

    public IReadOnlyList<LmaEvent> Commit(IReadOnlyList<LmaAction.StoreBinding> writes)
    {
        var answers = new List<LmaEvent>(writes.Count);
        foreach (var w in writes)
        {
            long current = _keys.TryGetValue(w.Key, out var s) ? s.Revision : 0;
            if (current != w.ExpectedRevision)
            {
                Conflicts++;
                answers.Add(new LmaEvent.BindingStoreFailed(w.WriteId, BindingStoreFailure.Conflict));
                continue;
            }
            Writes++;
            Revision++;
            if (w.Record is null)
            {
                _keys.Remove(w.Key);
                answers.Add(new LmaEvent.BindingStored(w.WriteId, 0));
            }
            else
            {
                // Through the codec, as etcd would hold it.
                var record = BindingRecordCodec.Decode(BindingRecordCodec.Encode(w.Record));
                _keys[w.Key] = new StoredBinding(w.Key, record, Revision);
                answers.Add(new LmaEvent.BindingStored(w.WriteId, Revision));
            }
        }
        return answers;
    }
}
