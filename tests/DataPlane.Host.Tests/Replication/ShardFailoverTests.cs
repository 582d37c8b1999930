using Xunit.Abstractions;
using System.Diagnostics;
using System.Security.Cryptography;
using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Etcd.Tests;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;

namespace DataPlane.Host.Tests.Replication;

/// <summary>
/// Active/standby on a real etcd with real LMA machines: the active dies, the standby dies, etcd members restart,
/// the active is cut off from etcd. In every case at most one member serves at any moment (checked on the
/// intervals each member recorded) and the one that takes over has every binding, with the restart counter
/// unchanged.
/// </summary>
[Collection("etcd failover")] // several etcd clusters at once would only slow each other on two cores
public sealed class ShardFailoverTests(ITestOutputHelper output)
{
    private static int _shards;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static string NewShard() => $"f{Environment.ProcessId}x{Interlocked.Increment(ref _shards)}";

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ReplicaMember Member(string name, string shard, IReadOnlyList<Uri> endpoints, BindingPersistence mode = BindingPersistence.AcknowledgeAfterCommit) =>
        new(name, shard, endpoints, new OutputLogger(output, name, _clock), mode);

    /// <summary>Twenty VMs registered at the active, every PBA answered (after its commit).</summary>
    private static void Populate(ReplicaMember active, int count = 20)
    {
        for (int i = 1; i <= count; i++) active.Register(i % 2 == 0 ? ReplicaMember.Mag2 : ReplicaMember.Mag1, $"vm{i}@t", i);
        Assert.True(ReplicaMember.WaitFor(() => active.AcceptedPbas == count, Long), $"{active.AcceptedPbas} of {count} PBAs answered");
    }

    private static void AssertSameBindings(LocalMobilityAnchor expected, LocalMobilityAnchor actual)
    {
        var want = expected.Bindings.OrderBy(b => b.MobileNodeIdentifier, StringComparer.Ordinal).Select(b => (b.MobileNodeIdentifier, b.HomeNetworkPrefixes[0], b.State, b.ProxyCareOfAddress)).ToList();
        var got = actual.Bindings.OrderBy(b => b.MobileNodeIdentifier, StringComparer.Ordinal).Select(b => (b.MobileNodeIdentifier, b.HomeNetworkPrefixes[0], b.State, b.ProxyCareOfAddress)).ToList();
        Assert.Equal(want, got);
    }

    private static void WaitRole(ReplicaMember m, LmaRole role) =>
        Assert.True(ReplicaMember.WaitFor(() => m.Role == role, Long), $"{m.Name} is {m.Role}, not {role}, after {Long.TotalSeconds} s");

    [Fact]
    public void The_standby_takes_over_every_binding_when_the_active_dies_and_keeps_the_restart_counter()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        var shard = NewShard();
        using var a = Member("a", shard, etcd.Endpoints);
        WaitRole(a, LmaRole.Active);
        using var b = Member("b", shard, etcd.Endpoints);
        WaitRole(b, LmaRole.Standby);
        Populate(a);
        uint counter = a.Machine.RestartCounter;
        // The standby's copy has caught up with the writes.
        Assert.True(ReplicaMember.WaitFor(() => b.Replicator.Status.ReplicaBindings == 20, Long));

        var killed = Stopwatch.StartNew();
        a.Kill();
        WaitRole(b, LmaRole.Active);
        output.WriteLine($"standby active {killed.ElapsedMilliseconds} ms after the active died (lease TTL {b.Replicator.Status.LeaseTtl.TotalSeconds} s)");
        AssertSameBindings(a.Machine, b.Machine);
        Assert.Equal(counter, b.Machine.RestartCounter);
        Assert.Equal(20, b.Machine.TunnelReferences(ReplicaMember.Mag1) + b.Machine.TunnelReferences(ReplicaMember.Mag2));
        Assert.Empty(ReplicaMember.Overlaps([a, b]));

        // The new active writes against the revisions it read: a handoff commits and is answered.
        var vm1 = b.Machine.Bindings.Single(x => x.MobileNodeIdentifier == "vm1@t");
        int before = b.AcceptedPbas;
        b.Register(ReplicaMember.Mag2, "vm1@t", 1, vm1.HomeNetworkPrefixes[0], Wire.HandoffIndicator.HandoffBetweenMagsForSameInterface);
        Assert.True(ReplicaMember.WaitFor(() => b.AcceptedPbas == before + 1, Long), "the handoff after the takeover was not answered");
        Assert.Equal(0, b.Machine.Counters.StoreWriteFailures);
    }

    [Fact]
    public async Task An_active_that_shuts_down_revokes_its_lease_and_the_standby_takes_over_without_waiting_for_it()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        var shard = NewShard();
        using var a = Member("a", shard, etcd.Endpoints);
        WaitRole(a, LmaRole.Active);
        using var b = Member("b", shard, etcd.Endpoints);
        WaitRole(b, LmaRole.Standby);
        Populate(a, 5);
        Assert.True(ReplicaMember.WaitFor(() => b.Replicator.Status.ReplicaBindings == 5, Long));
        long lease = a.Replicator.Status.LeaseId;
        var stopped = Stopwatch.StartNew();
        Assert.True(a.Resign());
        // The lease is gone as soon as the resignation returns (revoked), not left to expire: asked before b's takeover,
        // this fails if the revoke was not made (the lease would have seconds left).
        Assert.True(await b.Replicator.Store.KeepAliveAsync(lease, default) <= TimeSpan.Zero, "the resigned member's lease is still alive");
        WaitRole(b, LmaRole.Active);
        output.WriteLine($"b active {stopped.ElapsedMilliseconds} ms after a resigned");
        Assert.Equal(5, b.Machine.BindingCacheCount);
        Assert.Empty(ReplicaMember.Overlaps([a, b]));
    }

    [Fact]
    public void With_asynchronous_acknowledgement_a_takeover_increments_the_restart_counter()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        var shard = NewShard();
        using var a = Member("a", shard, etcd.Endpoints, BindingPersistence.AcknowledgeAsynchronously);
        WaitRole(a, LmaRole.Active);
        using var b = Member("b", shard, etcd.Endpoints, BindingPersistence.AcknowledgeAsynchronously);
        WaitRole(b, LmaRole.Standby);
        Populate(a, 5);
        uint counter = a.Machine.RestartCounter;
        Assert.True(ReplicaMember.WaitFor(() => b.Replicator.Status.ReplicaBindings == 5, Long));
        a.Kill();
        WaitRole(b, LmaRole.Active);
        Assert.Equal(counter + 1, b.Machine.RestartCounter);
        Assert.True(ReplicaMember.WaitFor(() => b.Replicator.Store.GetRestartCounterAsync(default).Result == counter + 1, Long));
    }

    [Fact]
    public void Killing_the_standby_leaves_the_active_alone_and_a_restarted_standby_catches_up()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        var shard = NewShard();
        using var a = Member("a", shard, etcd.Endpoints);
        WaitRole(a, LmaRole.Active);
        var b = Member("b", shard, etcd.Endpoints);
        WaitRole(b, LmaRole.Standby);
        Populate(a, 10);
        b.Kill();
        // The active keeps serving and committing; the wait is part of the scenario: longer than a lease period,
        // so a standby's death that disturbed the active would show.
        a.Register(ReplicaMember.Mag1, "late@t", 99);
        Assert.True(ReplicaMember.WaitFor(() => a.AcceptedPbas == 11, Long));
        Thread.Sleep(2500);
        Assert.Equal(LmaRole.Active, a.Role);
        Assert.Equal(0, a.Replicator.Status.StepDowns);
        using var b2 = Member("b2", shard, etcd.Endpoints);
        WaitRole(b2, LmaRole.Standby);
        Assert.True(ReplicaMember.WaitFor(() => b2.Replicator.Status.ReplicaBindings == 11, Long), $"replica has {b2.Replicator.Status.ReplicaBindings}");
        Assert.Empty(ReplicaMember.Overlaps([a, b, b2]));
    }

    [Fact]
    public void An_active_cut_off_from_etcd_steps_down_before_the_standby_takes_over()
    {
        using var etcd = LocalEtcd.Start(3, output.WriteLine);
        var shard = NewShard();
        // a reaches etcd only through member 0, b only through members 1 and 2: stopping member 0 partitions a.
        using var a = Member("a", shard, [etcd.Endpoint(0)]);
        WaitRole(a, LmaRole.Active);
        using var b = Member("b", shard, [etcd.Endpoint(1), etcd.Endpoint(2)]);
        WaitRole(b, LmaRole.Standby);
        Populate(a, 10);
        Assert.True(ReplicaMember.WaitFor(() => b.Replicator.Status.ReplicaBindings == 10, Long));

        var cut = Stopwatch.StartNew();
        etcd.Pause(0);
        try
        {
            WaitRole(b, LmaRole.Active);
            output.WriteLine($"b active {cut.ElapsedMilliseconds} ms after a lost etcd; a stepped down: {a.Replicator.Status.LastStepDownReason}");
            Assert.NotEqual(LmaRole.Active, a.Role);
            Assert.Equal(1, a.Replicator.Status.StepDowns);
            AssertSameBindings(b.Machine, b.Machine);
            Assert.Equal(10, b.Machine.BindingCacheCount);
            Assert.Empty(ReplicaMember.Overlaps([a, b]));
        }
        finally
        {
            etcd.Resume(0);
        }
        // Back in touch, a is a standby: still one active.
        WaitRole(a, LmaRole.Standby);
        Assert.Equal(LmaRole.Active, b.Role);
        Assert.Empty(ReplicaMember.Overlaps([a, b]));
    }

    [Fact]
    public void Restarting_etcd_members_one_by_one_and_then_all_at_once_never_gives_two_actives()
    {
        using var etcd = LocalEtcd.Start(3, output.WriteLine);
        var shard = NewShard();
        using var a = Member("a", shard, etcd.Endpoints);
        WaitRole(a, LmaRole.Active);
        using var b = Member("b", shard, etcd.Endpoints);
        WaitRole(b, LmaRole.Standby);
        Populate(a, 10);
        for (int i = 0; i < 3; i++)
        {
            etcd.Restart(i);
            etcd.WaitHealthy(Long);
        }
        Assert.True(ReplicaMember.WaitFor(() => a.Role == LmaRole.Active ^ b.Role == LmaRole.Active, Long), $"a {a.Role}, b {b.Role}");

        // The whole cluster down: nobody can renew, so nobody may serve; then back.
        for (int i = 0; i < 3; i++) etcd.Kill(i);
        Assert.True(ReplicaMember.WaitFor(() => a.Role != LmaRole.Active && b.Role != LmaRole.Active, TimeSpan.FromSeconds(15)),
            $"still active with etcd gone: a {a.Role}, b {b.Role}");
        for (int i = 0; i < 3; i++) etcd.Restart(i);
        etcd.WaitHealthy(Long);
        Assert.True(ReplicaMember.WaitFor(() => a.Role == LmaRole.Active ^ b.Role == LmaRole.Active, Long), $"a {a.Role}, b {b.Role}");
        var active = a.Role == LmaRole.Active ? a : b;
        Assert.Equal(10, active.Machine.BindingCacheCount);
        Assert.Empty(ReplicaMember.Overlaps([a, b]));
    }

    [Fact]
    public void The_new_active_continues_every_esp_sequence_past_the_dead_one_from_etcd()
    {
        using var etcd = LocalEtcd.Start(1, output.WriteLine);
        var shard = NewShard();
        var magToLma = RandomNumberGenerator.GetBytes(32);
        var lmaToMag = RandomNumberGenerator.GetBytes(32);
        var lmaPair = new SecurityAssociationPairOptions("a", EspAlgorithm.NullHmacSha256_128, 0x1001, magToLma, 0x2001, lmaToMag);
        using var mag = new SignallingSecurity(new SignallingSecurityOptions
        {
            Peers = [new SecurityPeerOptions(ReplicaMember.LmaAddress, [new SecurityAssociationPairOptions("a", EspAlgorithm.NullHmacSha256_128, 0x2001, lmaToMag, 0x1001, magToLma)])],
            Role = SecurityRole.Initiator,
        }, new SplitMix64Random(3));
        uint Accept(byte[] esp)
        {
            var verdict = mag.Unprotect(ReplicaMember.LmaAddress, ReplicaMember.Mag1, esp, default, out _);
            Assert.True(verdict.Accepted, $"the MAG refused a PBA: {verdict.Reason}");
            return Wire.EspPacket.ReadSequenceNumber(esp);
        }

        using var a = new ReplicaMember("a", shard, etcd.Endpoints, new OutputLogger(output, "a", _clock), esp: lmaPair);
        WaitRole(a, LmaRole.Active);
        using var b = new ReplicaMember("b", shard, etcd.Endpoints, new OutputLogger(output, "b", _clock), esp: lmaPair);
        WaitRole(b, LmaRole.Standby);
        Assert.True(a.EspGuard.Serving);
        uint sent = 0;
        for (int i = 0; i < 30; i++) sent = Accept(a.SendEspPba() ?? throw new Xunit.Sdk.XunitException("the active held a PBA its takeover write covered"));

        a.Kill();
        WaitRole(b, LmaRole.Active);
        Assert.True(ReplicaMember.WaitFor(() => b.EspGuard.Serving, Long));
        // What b read from etcd covered everything a sent; b continues after it and the MAG takes it as new.
        uint first = Accept(b.SendEspPba() ?? throw new Xunit.Sdk.XunitException("the new active held its first PBA"));
        Assert.True(first > sent, $"the new active sent {first}, the dead one had sent up to {sent}");
        for (int i = 0; i < 10; i++) Accept(b.SendEspPba()!);
        Assert.Equal(0, mag.Counters.Drops.Total);
        Assert.Empty(ReplicaMember.Overlaps([a, b]));
    }
}
