using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;

namespace DataPlane.Host.Lma.Replication;

/// <summary>What the <see cref="ShardReplicator"/> needs of the LMA daemon (the packet loop owns the machine).</summary>
public interface IShardHost
{
    /// <summary>
    /// Install the shard's bindings into the machine and continue its ESP sequence state (on the packet loop). Returns
    /// the restart counter to answer with and the ESP sequence state to store before serving (null without ESP).
    /// </summary>
    Task<TakeoverResult> TakeOverAsync(IReadOnlyList<StoredBinding> records, uint storedRestartCounter, byte[]? storedEspSequences);

    /// <summary>Bring the LMA address up and announce it (after the state is installed and stored).</summary>
    Task BringUpAsync();

    /// <summary>Stop serving: forget the bindings (on the loop), take the address down, withdraw the announcement.</summary>
    Task StepDownAsync(string reason);

    /// <summary>Answers to the machine's store writes, in a batch, to hand to it on the packet loop.</summary>
    void StoreResults(IReadOnlyList<LmaEvent> results);
}

/// <summary>What a takeover installed: the restart counter to answer with, the ESP sequence state to store first.</summary>
public readonly record struct TakeoverResult(uint RestartCounter, byte[]? EspSequences);
