using DataPlane.Etcd;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;

namespace DataPlane.Host.Configuration;

/// <summary>
/// The LMA's optional `etcd` section (docs/high-availability.md): the binding cache replicated to etcd and an
/// active/standby election per shard. Without it the LMA keeps its cache in memory, as it always did.
/// </summary>
public sealed record EtcdConfig
{
    public required EtcdOptions Store { get; init; }
    /// <summary>The shard this LMA serves (one LMA address and its pools); every member of the shard names the same.</summary>
    public required string Shard { get; init; }
    /// <summary>This member's name in the leader key (unique within the shard).</summary>
    public required string Member { get; init; }
    public BindingPersistence Acknowledge { get; init; } = BindingPersistence.AcknowledgeAfterCommit;
    public ElectionOptions Election { get; init; } = new();
    /// <summary>The interface the LMA address is added to when this member becomes active (and removed from when it steps down).</summary>
    public required string AddressInterface { get; init; }
    /// <summary>Run with "up"|"down" ADDRESS [PREFIX…] after the address is added or removed: the routing daemon's hook.</summary>
    public IReadOnlyList<string> AnnounceCommand { get; init; } = [];

    public static EtcdConfig? Parse(ConfigObject? o, LmaOptions protocol)
    {
        if (o is null) return null;
        var endpoints = new List<Uri>();
        var texts = o.OptionalStringArray("endpoints");
        if (texts.Count == 0) throw o.Error("endpoints", "is required (the client URLs of the etcd members, e.g. [\"http://127.0.0.1:2379\"])");
        for (int i = 0; i < texts.Count; i++)
        {
            if (!Uri.TryCreate(texts[i], UriKind.Absolute, out var u) || u.Scheme != "http" || u.Port <= 0 || u.AbsolutePath != "/")
                throw o.Error($"endpoints[{i}]", $"\"{texts[i]}\" is not an etcd client URL like http://HOST:PORT (TLS is not supported yet)");
            endpoints.Add(u);
        }
        var shard = o.OptionalString("shard") ?? protocol.LocalMobilityAnchorAddress.ToString();
        if (shard.Length == 0 || shard.Contains('/')) throw o.Error("shard", $"\"{shard}\" must be non-empty and contain no '/'");
        var member = o.OptionalString("member") ?? $"{Environment.MachineName}-{Environment.ProcessId}";
        var acknowledge = o.OptionalString("acknowledge") switch
        {
            null or "after-commit" => BindingPersistence.AcknowledgeAfterCommit,
            "async" => BindingPersistence.AcknowledgeAsynchronously,
            var s => throw o.Error("acknowledge", $"\"{s}\" is not \"after-commit\" (the PBA waits for etcd) or \"async\" (the PBA goes out at once)"),
        };
        var root = o.OptionalString("root") ?? "/dataplane/v1";
        if (!root.StartsWith('/')) throw o.Error("root", $"\"{root}\" must start with /");
        var store = new EtcdOptions
        {
            Endpoints = endpoints,
            Root = root,
            RequestTimeout = o.OptionalDuration("requestTimeout", TimeSpan.FromMilliseconds(500)),
            DialTimeout = o.OptionalDuration("dialTimeout", TimeSpan.FromMilliseconds(500)),
            MaxWritesInFlight = (int)o.OptionalInteger("maxWritesInFlight", 256, 1, 10_000),
        };
        if (store.RequestTimeout <= TimeSpan.Zero) throw o.Error("requestTimeout", "must be positive");
        if (store.DialTimeout <= TimeSpan.Zero) throw o.Error("dialTimeout", "must be positive");
        var election = new ElectionOptions
        {
            LeaseTtl = o.OptionalDuration("leaseTtl", TimeSpan.FromSeconds(1)),
            SafetyMargin = o.OptionalDuration("safetyMargin", TimeSpan.FromMilliseconds(100)),
        };
        if (election.LeaseTtl.Ticks % TimeSpan.TicksPerSecond != 0) throw o.Error("leaseTtl", "etcd leases are whole seconds (1s, 2s, …)");
        try
        {
            election.Validate();
        }
        catch (Protocol.ProtocolOptionsException e)
        {
            throw o.Error(e.Message);
        }
        if (store.RequestTimeout >= election.LeaseTtl) throw o.Error("requestTimeout", "must be shorter than leaseTtl, or a single slow renewal costs the lease");
        var iface = o.OptionalString("addressInterface") ?? throw o.Error("addressInterface", "is required: the interface the LMA address is brought up on when this member becomes active");
        if (!InterfaceNames.IsValid(iface)) throw o.Error("addressInterface", $"\"{iface}\" is not a valid interface name");
        var announce = o.OptionalStringArray("announceCommand");
        o.Done();
        return new EtcdConfig
        {
            Store = store,
            Shard = shard,
            Member = member,
            Acknowledge = acknowledge,
            Election = election,
            AddressInterface = iface,
            AnnounceCommand = announce,
        };
    }
}
