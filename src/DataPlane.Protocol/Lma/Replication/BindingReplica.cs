namespace DataPlane.Protocol.Lma.Replication;

/// <summary>
/// A standby's warm copy of a shard's bindings: the store's puts and deletes applied in revision order (a
/// snapshot read, then the watch from the snapshot's revision on), so that a takeover installs them without
/// reading the whole shard first. Records that do not decode are counted and left out, never installed half.
/// </summary>
public sealed class BindingReplica
{
    private readonly Dictionary<string, StoredBinding> _records = new(StringComparer.Ordinal);

    /// <summary>The store revision this copy reflects (every change up to it is applied).</summary>
    public long Revision { get; private set; }

    public int Count => _records.Count;

    public long Puts { get; private set; }
    public long Deletes { get; private set; }
    public long Undecodable { get; private set; }
    /// <summary>Why the last undecodable record was refused (for the log and ctl).</summary>
    public string? LastDecodeError { get; private set; }

    public IEnumerable<StoredBinding> Records => _records.Values;

    public bool TryGet(string key, out StoredBinding binding) => _records.TryGetValue(key, out binding);

    /// <summary>Replace the copy with a snapshot taken at <paramref name="revision"/>.</summary>
    public void Reset(long revision)
    {
        _records.Clear();
        Revision = revision;
    }

    /// <summary>A key was put at <paramref name="modRevision"/> with this value (the record's JSON).</summary>
    public void Put(string key, ReadOnlySpan<byte> value, long modRevision)
    {
        Puts++;
        try
        {
            _records[key] = new StoredBinding(key, BindingRecordCodec.Decode(value), modRevision);
        }
        catch (FormatException e)
        {
            Undecodable++;
            LastDecodeError = $"{key}: {e.Message}";
            _records.Remove(key);
        }
        Advance(modRevision);
    }

    public void Delete(string key, long revision)
    {
        Deletes++;
        _records.Remove(key);
        Advance(revision);
    }

    /// <summary>The store's revision moved on (a watch progress notification or an unrelated key).</summary>
    public void Advance(long revision)
    {
        if (revision > Revision) Revision = revision;
    }

    public void Clear()
    {
        _records.Clear();
        Revision = 0;
    }
}
