using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;

namespace DataPlane.Host.Lma.Replication;

/// <summary>What the <see cref="ShardReplicator"/> needs of the LMA daemon (the packet loop owns the machine).</summary>
public interface IShardHost
{
    /// <summary>Install the shard's bindings into the machine (on the packet loop); the restart counter to answer with.</summary>
    Task<uint> TakeOverAsync(IReadOnlyList<StoredBinding> records, uint storedRestartCounter);

    /// <summary>Bring the LMA address up and announce it (after the state is installed).</summary>
    Task BringUpAsync();

    /// <summary>Stop serving: forget the bindings (on the loop), take the address down, withdraw the announcement.</summary>
    Task StepDownAsync(string reason);

    /// <summary>Answers to the machine's store writes, in a batch, to hand to it on the packet loop.</summary>
    void StoreResults(IReadOnlyList<LmaEvent> results);
}
