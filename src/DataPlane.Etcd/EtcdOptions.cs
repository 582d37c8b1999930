namespace DataPlane.Etcd;

/// <summary>How to reach etcd (the LMA's `etcd` configuration section).</summary>
public sealed record EtcdOptions
{
    /// <summary>Client URLs of the cluster's members, e.g. http://10.0.0.1:2379.</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    /// <summary>Key prefix under which every DataPlane key lives.</summary>
    public string Root { get; init; } = "/dataplane/v1";

    /// <summary>Deadline of one request (a write, a range page, a lease renewal); a member that does not answer within it is failed over.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Connection attempt timeout per member.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How many binding writes may be in flight at once (etcd batches concurrent proposals into one Raft round).</summary>
    public int MaxWritesInFlight { get; init; } = 256;

    /// <summary>Keys per page when reading a shard's bindings (a standby's snapshot).</summary>
    public int SnapshotPageSize { get; init; } = 5000;
}
