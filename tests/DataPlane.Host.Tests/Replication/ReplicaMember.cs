using System.Diagnostics;
using System.Text;
using DataPlane.Etcd;
using DataPlane.Host.Lma.Replication;
using DataPlane.Host.Runtime;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Protocol.Security;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Tests.Replication;

/// <summary>
/// One LMA shard member as the daemon runs it, minus sockets: a real <see cref="LocalMobilityAnchor"/> (behind a
/// lock standing in for the packet loop) driven by a real <see cref="ShardReplicator"/> against a real etcd. It
/// records when it served (from bringing the address up to stepping down, a superset of the time it answered
/// PBUs), so tests can check that two members never served at once.
/// </summary>
public sealed class ReplicaMember : IShardHost, IDisposable
{
    public static readonly Ipv6Address LmaAddress = Ipv6Address.Parse("2001:db8:0:1::1");
    public static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    public static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    public static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");

    private readonly object _loop = new();
    private readonly DaemonClock _clock = new();
    private readonly List<(long Start, long End)> _served = [];
    private readonly List<BindingAcknowledgement> _pbas = [];
    private long _servingSince = -1;
    private ushort _seq;

    /// <param name="leaseTtl">4 s by default: a 1 s lease renewed every 333 ms steps down (correctly) whenever the
    /// test machine stalls the renewals for ~0.6 s, which a loaded CI machine does, and a 2 s lease was seen to run out
    /// too (a single etcd's renewals unanswered for 1.5 s while the whole suite ran); the tests check decisions, not speed.</param>
    /// <param name="address">The shard's LMA address and <paramref name="pool"/> its prefix pool, as registered in etcd (checked against the other shards).</param>
    public ReplicaMember(string name, string shard, IReadOnlyList<Uri> endpoints, ILogger log, BindingPersistence mode = BindingPersistence.AcknowledgeAfterCommit,
        uint fileRestartCounter = 1, TimeSpan? leaseTtl = null, Ipv6Address? address = null, Ipv6Prefix? pool = null,
        SecurityAssociationPairOptions? esp = null)
    {
        if (esp is not null)
            Security = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new SecurityPeerOptions(Mag1, [esp])], Role = SecurityRole.Responder },
                new SplitMix64Random((ulong)Random.Shared.NextInt64()));
        var lma = address ?? LmaAddress;
        var prefixes = pool ?? Pool;
        Name = name;
        FileRestartCounter = fileRestartCounter;
        Machine = new LocalMobilityAnchor(new LmaOptions
        {
            LocalMobilityAnchorAddress = lma,
            AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 },
            HomeNetworkPrefixPool = prefixes,
            RestartCounter = fileRestartCounter,
            Persistence = mode,
        }, new InMemoryLmaPolicy(), new SplitMix64Random(7));
        var store = new EtcdShardStore(new EtcdOptions { Endpoints = endpoints }, new ShardKeys("/dataplane-test/v1", shard));
        Replicator = new ShardReplicator(store, new ElectionOptions { LeaseTtl = leaseTtl ?? TimeSpan.FromSeconds(4) }, name, this, _clock, log,
            ShardRegistry.Describe(lma, prefixes), shards => ShardRegistry.Conflict(shard, lma, prefixes, shards));
        Replicator.Start();
    }

    public string Name { get; }
    public uint FileRestartCounter { get; }
    public LocalMobilityAnchor Machine { get; }
    public ShardReplicator Replicator { get; }
    public LmaRole Role => Replicator.Status.Role;
    public bool Dead { get; private set; }

    /// <summary>Stopwatch timestamps of the intervals this member served (an open one ends now).</summary>
    public IReadOnlyList<(long Start, long End)> Served
    {
        get
        {
            lock (_loop) return _servingSince >= 0 ? [.. _served, (_servingSince, Stopwatch.GetTimestamp())] : [.. _served];
        }
    }

    public int AcceptedPbas
    {
        get { lock (_loop) return _pbas.Count(p => p.Status == BindingAckStatus.Accepted); }
    }

    /// <summary>A PBU from a MAG, as the packet loop would hand it to the machine.</summary>
    public void Register(Ipv6Address mag, string nai, int mac, Ipv6Prefix? prefix = null, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface)
    {
        lock (_loop)
        {
            var now = _clock.Now;
            var options = new List<MobilityOption>
            {
                new HomeNetworkPrefixOption(prefix ?? Ipv6Prefix.Unspecified),
                new HandoffIndicatorOption(hi),
                new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
                new TimestampOption(now.ToPmipTimestamp()),
                MobileNodeLinkLayerIdentifierOption.ForMac(MacAddress.Parse($"52:54:00:00:{mac >> 8:x2}:{mac & 0xff:x2}")),
                MobileNodeIdentifierOption.ForNai(nai),
            };
            var pbu = new BindingUpdate(++_seq, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 300)
            {
                Options = new MobilityOptionList(options),
            };
            Perform(Machine.Handle(new LmaEvent.MobilityMessageReceived(mag, pbu), now));
        }
    }

    private void Perform(IReadOnlyList<LmaAction> actions)
    {
        foreach (var a in actions.ToArray())
        {
            switch (a)
            {
                case LmaAction.SendMobilityMessage { Message: BindingAcknowledgement pba }: _pbas.Add(pba); break;
                case LmaAction.StoreBinding w: Replicator.Write(w); break;
                case LmaAction.StoreWriteFailed f: Replicator.Fenced(f.Failure.ToString()); break;
            }
        }
    }

    public Task<TakeoverResult> TakeOverAsync(IReadOnlyList<StoredBinding> records, uint storedRestartCounter, byte[]? storedEspSequences)
    {
        lock (_loop)
        {
            byte[]? espWrite = null;
            if (Security is { } security)
            {
                // As LmaDaemon does: continue from the stored state, store ours (a block ahead) before serving.
                var stored = storedEspSequences is null ? null : SecureSignalling.ParseState(Encoding.ASCII.GetString(storedEspSequences).Split('\n'), "etcd");
                _pendingEsp = EspGuard.TakeOver(security, stored);
                espWrite = Encoding.ASCII.GetBytes(SecureSignalling.FormatState(_pendingEsp));
            }
            Perform(Machine.TakeOver(records, storedRestartCounter != 0 ? storedRestartCounter : FileRestartCounter, _clock.Now, out uint counter));
            return Task.FromResult(new TakeoverResult(counter, espWrite));
        }
    }

    public Task BringUpAsync()
    {
        lock (_loop)
        {
            if (_pendingEsp is { } esp) EspGuard.Written(esp);
            _pendingEsp = null;
            if (_servingSince < 0) _servingSince = Stopwatch.GetTimestamp();
        }
        return Task.CompletedTask;
    }

    public Task StepDownAsync(string reason)
    {
        lock (_loop)
        {
            EndServing();
            Perform(Machine.Relinquish());
            EspGuard.StepDown();
            _pendingEsp = null;
        }
        return Task.CompletedTask;
    }

    // ---- ESP (optional): the LMA's SAs with Mag1, the shard's sequence state in etcd as LmaDaemon keeps it ----------

    private Dictionary<SecurityStateKey, uint>? _pendingEsp;

    /// <summary>The LMA side of the SA pair with <see cref="Mag1"/>; null without ESP.</summary>
    public SignallingSecurity? Security { get; }
    public ReplicatedSequenceState EspGuard { get; } = new();

    /// <summary>
    /// Protect a PBA for <see cref="Mag1"/> and send it if the shard's store covers its sequence number (as
    /// SecureSignalling.Send does); the ESP bytes, or null when held. Every local change goes to etcd behind it.
    /// </summary>
    public byte[]? SendEspPba()
    {
        lock (_loop)
        {
            var mh = new byte[64];
            var output = new byte[mh.Length + SignallingSecurity.MaxOverhead];
            Assert.True(Security!.TryProtect(Mag1, mh, output, _clock.Now, out int length));
            bool send = EspGuard.MaySend(Security);
            ReplicateEsp();
            return send ? output[..length] : null;
        }
    }

    private void ReplicateEsp()
    {
        if (EspGuard.NextWrite(Security!) is not { } write) return;
        Replicator.WriteEspSequences(Encoding.ASCII.GetBytes(SecureSignalling.FormatState(write)), ok =>
        {
            lock (_loop)
            {
                if (ok) EspGuard.Written(write);
                else EspGuard.WriteFailed(write);
            }
        });
    }

    private void EndServing()
    {
        if (_servingSince < 0) return;
        _served.Add((_servingSince, Stopwatch.GetTimestamp()));
        _servingSince = -1;
    }

    public void StoreResults(IReadOnlyList<LmaEvent> results)
    {
        lock (_loop)
        {
            foreach (var e in results) Perform(Machine.Handle(e, _clock.Now));
        }
    }

    /// <summary>Die as kill -9 would: no resignation, the lease just stops being renewed.</summary>
    public void Kill()
    {
        lock (_loop)
        {
            EndServing();
            Dead = true;
        }
        Replicator.Dispose();
    }

    /// <summary>Stop as the daemon does on SIGTERM: stop serving, resign (revoke the lease), then go.</summary>
    public bool Resign()
    {
        lock (_loop) EndServing();
        bool wasActive = Replicator.ResignAsync(TimeSpan.FromSeconds(5)).Result;
        lock (_loop) Dead = true;
        Replicator.Dispose();
        return wasActive;
    }

    public void Dispose()
    {
        if (!Dead) Kill();
        Security?.Dispose();
    }

    /// <summary>Wait for a condition with a deadline (never a fixed sleep).</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition()) return true;
            Thread.Sleep(10);
        }
        return condition();
    }

    /// <summary>Intervals of two members that overlap (there must be none).</summary>
    public static IEnumerable<string> Overlaps(IEnumerable<ReplicaMember> members)
    {
        var all = members.SelectMany(m => m.Served.Select(i => (m.Name, i.Start, i.End))).ToList();
        foreach (var a in all)
            foreach (var b in all)
                if (string.CompareOrdinal(a.Name, b.Name) < 0 && a.Start < b.End && b.Start < a.End)
                    yield return $"{a.Name} served [{a.Start}, {a.End}) while {b.Name} served [{b.Start}, {b.End})";
    }
}
