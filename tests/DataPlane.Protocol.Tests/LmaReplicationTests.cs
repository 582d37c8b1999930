using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>Which binding changes the LMA writes to the store, when their PBAs go out, takeover and step-down.</summary>
public class LmaReplicationTests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");

    private sealed class Lma(BindingPersistence mode, uint restartCounter = 5)
    {
        private ushort _seq = 100;
        public LocalMobilityAnchor M { get; } = new(new LmaOptions
        {
            LocalMobilityAnchorAddress = LmaAddr,
            AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 },
            HomeNetworkPrefixPool = Pool,
            RestartCounter = restartCounter,
            Persistence = mode,
        }, new InMemoryLmaPolicy(), new SplitMix64Random(1));

        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        public long Revision = 10;

        public BindingUpdate Pbu(string nai, Ipv6Prefix? prefix = null, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface,
            ushort lifetime = 900, int mac = 1)
        {
            Now += TimeSpan.FromMilliseconds(1); // each PBU newer than the last (§5.5 timestamps)
            var options = Pbus.Complete(nai, Now, prefix, hi, MacAddress.Parse($"52:54:00:00:00:{mac:x2}"));
            return new BindingUpdate(_seq++, Pbus.ProxyFlags, lifetime) { Options = new MobilityOptionList(options) };
        }

        public List<LmaAction> Send(Ipv6Address from, BindingUpdate m) => [.. M.Handle(new LmaEvent.MobilityMessageReceived(from, m), Now)];

        /// <summary>The store answers a write: revision + 1 (0 for a delete).</summary>
        public List<LmaAction> Commit(LmaAction.StoreBinding w) =>
            [.. M.Handle(new LmaEvent.BindingStored(w.WriteId, w.Record is null ? 0 : ++Revision), Now)];

        public List<LmaAction> Advance(TimeSpan by) => LmaClock.Advance(M, ref Now, by);
    }

    private static IEnumerable<BindingAcknowledgement> Pbas(List<LmaAction> actions) =>
        actions.OfType<LmaAction.SendMobilityMessage>().Select(s => s.Message).OfType<BindingAcknowledgement>();

    [Fact]
    public void After_commit_the_pba_of_a_new_binding_waits_for_the_write_and_a_refresh_is_not_written()
    {
        var l = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        var a = l.Send(Mag1, l.Pbu("vm@t"));
        var write = Assert.Single(a.OfType<LmaAction.StoreBinding>());
        Assert.Equal(0, write.ExpectedRevision);
        Assert.Equal(BindingCacheState.Active, write.Record!.State);
        Assert.Equal(Mag1, write.Record.ProxyCareOfAddress);
        Assert.Single(a.OfType<LmaAction.RouteAdd>()); // forwarding does not wait
        Assert.Empty(Pbas(a));
        Assert.Equal(1, l.M.AcknowledgementsAwaitingCommit);

        var committed = l.Commit(write);
        Assert.Equal(BindingAckStatus.Accepted, Assert.Single(Pbas(committed)).Status);
        Assert.Equal(0, l.M.AcknowledgementsAwaitingCommit);

        var prefix = write.Record.HomeNetworkPrefixes[0];
        var refresh = l.Send(Mag1, l.Pbu("vm@t", prefix, HandoffIndicator.HandoffStateNotChanged));
        Assert.Empty(refresh.OfType<LmaAction.StoreBinding>());
        Assert.Equal(BindingAckStatus.Accepted, Assert.Single(Pbas(refresh)).Status);
        Assert.Equal(1, l.M.Counters.StoreWrites);
    }

    [Fact]
    public void A_pre_registered_destination_promoted_when_the_source_lets_go_is_written_to_the_store()
    {
        // Issue 16: MAG2 pre-registers (transient binding, not written), MAG1 de-registers: MAG2 serves the entry now,
        // and its activation after that is a refresh, which is not written; so the promotion itself is.
        var l = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        var create = Assert.Single(l.Send(Mag1, l.Pbu("vm@t")).OfType<LmaAction.StoreBinding>());
        l.Commit(create);
        var prefix = create.Record!.HomeNetworkPrefixes[0];
        var pre = l.Pbu("vm@t", prefix, HandoffIndicator.HandoffBetweenMagsForSameInterface);
        pre = pre with { Options = new MobilityOptionList([.. pre.Options, TransientBindingOption.For(true, TimeSpan.FromSeconds(20))]) };
        Assert.Empty(l.Send(Mag2, pre).OfType<LmaAction.StoreBinding>());
        var promoted = l.Send(Mag1, l.Pbu("vm@t", prefix, HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        var write = Assert.Single(promoted.OfType<LmaAction.StoreBinding>());
        Assert.Equal((BindingCacheState.Active, Mag2), (write.Record!.State, write.Record.ProxyCareOfAddress));
        Assert.Equal(1, l.M.Counters.Handover.TransientsPromoted);
    }

    [Fact]
    public void A_handoff_is_compare_and_swap_on_the_revision_and_changes_during_a_write_are_coalesced()
    {
        var l = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        var create = Assert.Single(l.Send(Mag1, l.Pbu("vm@t")).OfType<LmaAction.StoreBinding>());
        l.Commit(create);
        var prefix = create.Record!.HomeNetworkPrefixes[0];

        var h1 = l.Send(Mag2, l.Pbu("vm@t", prefix, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        var w1 = Assert.Single(h1.OfType<LmaAction.StoreBinding>());
        Assert.Equal(l.Revision, w1.ExpectedRevision);
        Assert.Equal(Mag2, w1.Record!.ProxyCareOfAddress);
        // Back to MAG1 and a retransmission of that, all while w1 is in flight: no second write yet.
        var h2 = l.Send(Mag1, l.Pbu("vm@t", prefix, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        Assert.Empty(h2.OfType<LmaAction.StoreBinding>());
        Assert.Empty(Pbas(h2));

        var c1 = l.Commit(w1);
        // w1's PBA (to MAG2) goes; MAG1's waits for the coalesced write, issued against w1's revision.
        Assert.Equal(Mag2, Assert.Single(c1.OfType<LmaAction.SendMobilityMessage>()).Destination);
        var w2 = Assert.Single(c1.OfType<LmaAction.StoreBinding>());
        Assert.Equal(l.Revision, w2.ExpectedRevision);
        Assert.Equal(Mag1, w2.Record!.ProxyCareOfAddress);
        var c2 = l.Commit(w2);
        Assert.Equal(Mag1, Assert.Single(c2.OfType<LmaAction.SendMobilityMessage>()).Destination);
        Assert.Equal(0, l.M.StoreWritesInFlight);
    }

    [Fact]
    public void Asynchronous_acknowledgement_answers_at_once_and_writes_behind()
    {
        var l = new Lma(BindingPersistence.AcknowledgeAsynchronously);
        var a = l.Send(Mag1, l.Pbu("vm@t"));
        Assert.Single(a.OfType<LmaAction.StoreBinding>());
        Assert.Equal(BindingAckStatus.Accepted, Assert.Single(Pbas(a)).Status);
        Assert.Equal(0, l.M.AcknowledgementsAwaitingCommit);
    }

    [Fact]
    public void Without_persistence_nothing_is_written()
    {
        var l = new Lma(BindingPersistence.None);
        var a = l.Send(Mag1, l.Pbu("vm@t"));
        Assert.Empty(a.OfType<LmaAction.StoreBinding>());
        Assert.Single(Pbas(a));
    }

    [Fact]
    public void De_registration_is_written_and_the_deletion_after_the_hold_down_deletes_the_key()
    {
        var l = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        var create = Assert.Single(l.Send(Mag1, l.Pbu("vm@t")).OfType<LmaAction.StoreBinding>());
        l.Commit(create);
        var prefix = create.Record!.HomeNetworkPrefixes[0];
        var dereg = l.Send(Mag1, l.Pbu("vm@t", prefix, HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        var w = Assert.Single(dereg.OfType<LmaAction.StoreBinding>());
        Assert.Equal(BindingCacheState.AwaitingDeletion, w.Record!.State);
        Assert.NotNull(w.Record.DeleteAt);
        Assert.Empty(Pbas(dereg));
        Assert.Single(Pbas(l.Commit(w)));

        var later = l.Advance(TimeSpan.FromSeconds(11));
        var delete = Assert.Single(later.OfType<LmaAction.StoreBinding>());
        Assert.Null(delete.Record);
        Assert.Equal(l.Revision, delete.ExpectedRevision);
        Assert.Equal(create.Key, delete.Key);
    }

    [Fact]
    public void A_new_entry_for_a_key_whose_delete_is_in_flight_waits_and_then_creates_it_from_revision_zero()
    {
        var l = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        var create = Assert.Single(l.Send(Mag1, l.Pbu("vm@t")).OfType<LmaAction.StoreBinding>());
        l.Commit(create);
        var prefix = create.Record!.HomeNetworkPrefixes[0];
        l.Commit(Assert.Single(l.Send(Mag1, l.Pbu("vm@t", prefix, HandoffIndicator.HandoffStateNotChanged, lifetime: 0)).OfType<LmaAction.StoreBinding>()));
        var delete = Assert.Single(l.Advance(TimeSpan.FromSeconds(11)).OfType<LmaAction.StoreBinding>());

        // The same VM comes back and gets the same prefix (its pool hash slot) while the delete is in flight.
        var again = l.Send(Mag1, l.Pbu("vm@t"));
        Assert.Empty(again.OfType<LmaAction.StoreBinding>());
        Assert.Empty(Pbas(again));
        var afterDelete = l.Commit(delete);
        var recreate = Assert.Single(afterDelete.OfType<LmaAction.StoreBinding>());
        Assert.Equal(create.Key, recreate.Key);
        Assert.Equal(0, recreate.ExpectedRevision);
        Assert.Single(Pbas(l.Commit(recreate)));
    }

    [Fact]
    public void A_refused_write_fences_the_machine_and_withholds_the_pba()
    {
        var l = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        var w = Assert.Single(l.Send(Mag1, l.Pbu("vm@t")).OfType<LmaAction.StoreBinding>());
        var failed = l.M.Handle(new LmaEvent.BindingStoreFailed(w.WriteId, BindingStoreFailure.NotLeader), l.Now).ToList();
        Assert.Empty(Pbas(failed));
        Assert.Equal(BindingStoreFailure.NotLeader, Assert.Single(failed.OfType<LmaAction.StoreWriteFailed>()).Failure);
        Assert.True(l.M.StoreFenced);
        Assert.Equal(1, l.M.Counters.PbasWithheldOnStoreFailure);
        // Nothing more is written while fenced.
        Assert.Empty(l.Send(Mag1, l.Pbu("other@t", mac: 2)).OfType<LmaAction.StoreBinding>());
    }

    [Fact]
    public void Records_round_trip_through_the_codec_and_unknown_fields_are_skipped()
    {
        var l = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        var w = Assert.Single(l.Send(Mag1, l.Pbu("vm@t")).OfType<LmaAction.StoreBinding>());
        var bytes = BindingRecordCodec.Encode(w.Record!);
        Assert.Equal(w.Record, BindingRecordCodec.Decode(bytes));
        var json = System.Text.Encoding.UTF8.GetString(bytes);
        var extended = json.Replace("{\"v\":1,", "{\"v\":1,\"ipv4\":{\"hoa\":\"192.0.2.7\",\"len\":24},\"future\":[1,2],");
        Assert.Equal(w.Record, BindingRecordCodec.Decode(System.Text.Encoding.UTF8.GetBytes(extended)));
        Assert.Throws<FormatException>(() => BindingRecordCodec.Decode(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"v\":1", "\"v\":2"))));
        Assert.Throws<FormatException>(() => BindingRecordCodec.Decode("{\"v\":1,\"mn\":\"x\"}"u8));
        Assert.Throws<FormatException>(() => BindingRecordCodec.Decode("[1,2"u8));
        Assert.Throws<FormatException>(() => BindingRecordCodec.Decode("{\"v\":1,\"mn\":\"x\",\"hnp\":[\"nope\"],\"state\":\"active\"}"u8));
    }

    /// <summary>Ten VMs on two MAGs, one de-registered, all committed; returns the replica the standby would hold.</summary>
    private static (Lma Active, BindingReplica Replica) Populated(BindingPersistence mode)
    {
        var l = new Lma(mode);
        var replica = new BindingReplica();
        void Apply(IEnumerable<LmaAction> actions)
        {
            foreach (var w in actions.OfType<LmaAction.StoreBinding>().ToList())
            {
                var after = l.Commit(w);
                if (w.Record is null) replica.Delete(w.Key, l.Revision);
                else replica.Put(w.Key, BindingRecordCodec.Encode(w.Record), l.Revision);
                Apply(after);
            }
        }
        for (int i = 1; i <= 10; i++) Apply(l.Send(i % 2 == 0 ? Mag2 : Mag1, l.Pbu($"vm{i}@t", mac: i)));
        var gone = l.M.Bindings.First(b => b.MobileNodeIdentifier == "vm3@t");
        Apply(l.Send(Mag1, l.Pbu("vm3@t", gone.HomeNetworkPrefixes[0], HandoffIndicator.HandoffStateNotChanged, lifetime: 0, mac: 3)));
        return (l, replica);
    }

    [Theory]
    [InlineData(BindingPersistence.AcknowledgeAfterCommit, 5u)]
    [InlineData(BindingPersistence.AcknowledgeAsynchronously, 6u)]
    public void A_standby_takes_over_every_binding_tunnel_and_route_with_the_restart_counter_the_mode_allows(BindingPersistence mode, uint expected)
    {
        var (active, replica) = Populated(mode);
        Assert.Equal(10, replica.Count);
        var standby = new Lma(mode, restartCounter: 99);
        standby.Now = active.Now + TimeSpan.FromSeconds(2);
        var actions = standby.M.TakeOver(replica.Records, storedRestartCounter: 5, standby.Now, out uint counter).ToList();
        Assert.Equal(expected, counter);
        Assert.Equal(expected, standby.M.RestartCounter);
        Assert.Equal(10, standby.M.BindingCacheCount);
        Assert.Equal(1, standby.M.EntriesAwaitingDeletion);
        Assert.Equal([Mag1, Mag2], actions.OfType<LmaAction.TunnelUp>().Select(t => t.Mag).Order());
        var routes = actions.OfType<LmaAction.RouteAdd>().ToDictionary(r => r.Prefix, r => r.Mag);
        foreach (var b in active.M.Bindings.Where(b => b.State == BindingCacheState.Active))
            Assert.Equal(b.ProxyCareOfAddress, routes[b.HomeNetworkPrefixes[0]]);
        Assert.Equal(9, routes.Count);
        Assert.DoesNotContain(actions.OfType<LmaAction.SendMobilityMessage>(), m => m.Message is BindingAcknowledgement);
        // The standby grants each entry its lifetime again from the takeover (900 × 4 s capped at 1 h).
        Assert.All(standby.M.Bindings.Where(b => b.State == BindingCacheState.Active), b => Assert.Equal(standby.Now + TimeSpan.FromHours(1), b.ExpiresAt));

        // A refresh from the serving MAG after the takeover is a refresh: accepted, not written.
        var vm2 = standby.M.Bindings.Single(b => b.MobileNodeIdentifier == "vm2@t");
        var refresh = standby.Send(Mag2, standby.Pbu("vm2@t", vm2.HomeNetworkPrefixes[0], HandoffIndicator.HandoffStateNotChanged, mac: 2));
        Assert.Equal(BindingAckStatus.Accepted, Assert.Single(Pbas(refresh)).Status);
        Assert.Empty(refresh.OfType<LmaAction.StoreBinding>());
        // A handoff after the takeover is written against the revision the standby read.
        var handoff = standby.Send(Mag1, standby.Pbu("vm2@t", vm2.HomeNetworkPrefixes[0], HandoffIndicator.HandoffBetweenMagsForSameInterface, mac: 2));
        var w = Assert.Single(handoff.OfType<LmaAction.StoreBinding>());
        Assert.True(replica.TryGet(w.Key, out var stored));
        Assert.Equal(stored.Revision, w.ExpectedRevision);
    }

    [Fact]
    public void Takeover_refuses_conflicting_records_and_relinquish_forgets_everything()
    {
        var (_, replica) = Populated(BindingPersistence.AcknowledgeAfterCommit);
        var first = replica.Records.First();
        var twin = first with { Key = "duplicate", Record = first.Record with { MobileNodeIdentifier = "twin@t" } };
        var standby = new Lma(BindingPersistence.AcknowledgeAfterCommit);
        standby.M.TakeOver([.. replica.Records, twin], 5, standby.Now, out _);
        Assert.Equal(1, standby.M.Counters.RecordsRejected);
        Assert.Equal(10, standby.M.BindingCacheCount);

        var down = standby.M.Relinquish().ToList();
        Assert.Equal(9, down.OfType<LmaAction.RouteRemove>().Count());
        Assert.Equal(2, down.OfType<LmaAction.TunnelDown>().Count());
        Assert.Equal(0, standby.M.BindingCacheCount);
        Assert.Equal(0, standby.M.TunnelCount);
        Assert.Null(standby.M.NextDeadline is { } d && d < standby.Now + TimeSpan.FromHours(2) ? d : null);
        // And it can take over again, with every pool prefix free once more.
        standby.M.TakeOver(replica.Records, 5, standby.Now, out _);
        Assert.Equal(10, standby.M.BindingCacheCount);
        Assert.Equal(0, standby.M.Counters.RecordsRejected - 1);
    }
}
