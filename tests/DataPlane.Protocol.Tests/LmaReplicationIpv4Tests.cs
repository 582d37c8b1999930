using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Lma.Replication;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// Replication of RFC 5844 sessions: the IPv4 home address travels in the binding record, a standby that takes over
/// routes it and rebuilds the IPv4 pool from the records, so it never hands a bound address out a second time.
/// </summary>
public class LmaReplicationIpv4Tests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");
    // A /29: six hosts, the first is the default router, so five addresses for VMs.
    private static readonly Ipv4Prefix Subnet = Ipv4Prefix.Parse("10.200.0.0/29");
    private static readonly Ipv4HomeAddressRequestOption[] AllZero = [Ipv4HomeAddressRequestOption.AllZero];

    private sealed class Lma
    {
        private ushort _seq = 100;

        public Lma(BindingPersistence mode = BindingPersistence.AcknowledgeAfterCommit) =>
            M = new LocalMobilityAnchor(new LmaOptions
            {
                LocalMobilityAnchorAddress = LmaAddr,
                AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 },
                HomeNetworkPrefixPool = Pool,
                Ipv4HomeNetwork = Ipv4HomeNetwork.WithFirstHostAsRouter(Subnet),
                RestartCounter = 5,
                Persistence = mode,
            }, new InMemoryLmaPolicy { UnknownMobileNodeProfile = LmaMobileNodeProfile.DualStackFromPools }, new SplitMix64Random(1));

        public LocalMobilityAnchor M { get; }
        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        public long Revision = 10;
        public readonly BindingReplica Replica = new();

        /// <summary>A PBU with the given HNP option (null: none) and IPv4 Requests (empty: none).</summary>
        public BindingUpdate Pbu(string nai, int mac, Ipv6Prefix? prefix, Ipv4HomeAddressRequestOption[] requests,
            HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface, ushort lifetime = 900)
        {
            Now += TimeSpan.FromMilliseconds(1);
            var options = Pbus.Complete(nai, Now, prefix ?? Ipv6Prefix.Unspecified, hi, MacAddress.Parse($"52:54:00:00:00:{mac:x2}"));
            if (prefix is null) options.RemoveAll(o => o is HomeNetworkPrefixOption);
            options.InsertRange(1, requests);
            return new BindingUpdate(_seq++, Pbus.ProxyFlags, lifetime) { Options = new MobilityOptionList(options) };
        }

        /// <summary>Handle a PBU and commit every write it causes into <see cref="Replica"/> (as etcd and the standby's watch would).</summary>
        public List<LmaAction> SendCommitted(Ipv6Address from, BindingUpdate m)
        {
            var all = M.Handle(new LmaEvent.MobilityMessageReceived(from, m), Now).ToList();
            Commit(all);
            return all;
        }

        public void Commit(List<LmaAction> actions)
        {
            foreach (var w in actions.OfType<LmaAction.StoreBinding>().ToList())
            {
                var after = M.Handle(new LmaEvent.BindingStored(w.WriteId, w.Record is null ? 0 : ++Revision), Now).ToList();
                if (w.Record is null) Replica.Delete(w.Key, Revision);
                else Replica.Put(w.Key, BindingRecordCodec.Encode(w.Record), Revision);
                actions.AddRange(after);
                Commit(after);
            }
        }
    }

    private static BindingAcknowledgement Pba(List<LmaAction> actions) =>
        (BindingAcknowledgement)Assert.Single(actions.OfType<LmaAction.SendMobilityMessage>(), s => s.Message is BindingAcknowledgement).Message;

    [Fact]
    public void The_ipv4_home_address_is_in_the_record_and_round_trips_through_the_codec()
    {
        var l = new Lma();
        var w = Assert.Single(l.M.Handle(new LmaEvent.MobilityMessageReceived(Mag1, l.Pbu("v4only@t", 1, null, AllZero)), l.Now).OfType<LmaAction.StoreBinding>());
        var address = w.Record!.Ipv4HomeAddress!.Value;
        Assert.True(Subnet.IsHostAddress(address));
        Assert.Empty(w.Record.HomeNetworkPrefixes);
        var bytes = BindingRecordCodec.Encode(w.Record);
        Assert.Contains($"\"v4\":\"{address}\"", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(w.Record, BindingRecordCodec.Decode(bytes));
        // A record without any address is refused by name, not half-installed.
        Assert.Throws<FormatException>(() => BindingRecordCodec.Decode("{\"v\":1,\"mn\":\"x\",\"hnp\":[],\"state\":\"awaiting-deletion\"}"u8));
        Assert.Throws<FormatException>(() => BindingRecordCodec.Decode("{\"v\":1,\"mn\":\"x\",\"hnp\":[],\"v4\":\"10.200.0.300\",\"state\":\"awaiting-deletion\"}"u8));
    }

    [Fact]
    public void A_standby_takes_over_ipv4_sessions_with_their_addresses_routes_and_the_pool_allocation()
    {
        var active = new Lma();
        Assert.Equal(BindingAckStatus.Accepted, Pba(active.SendCommitted(Mag1, active.Pbu("v4only@t", 1, null, AllZero))).Status);
        Assert.Equal(BindingAckStatus.Accepted, Pba(active.SendCommitted(Mag2, active.Pbu("dual1@t", 2, Ipv6Prefix.Unspecified, AllZero))).Status);
        Assert.Equal(BindingAckStatus.Accepted, Pba(active.SendCommitted(Mag1, active.Pbu("dual2@t", 3, Ipv6Prefix.Unspecified, AllZero))).Status);
        Assert.Equal(BindingAckStatus.Accepted, Pba(active.SendCommitted(Mag2, active.Pbu("v6only@t", 4, Ipv6Prefix.Unspecified, []))).Status);
        var bound = active.M.Bindings.Where(b => b.Ipv4HomeAddress is not null).ToDictionary(b => b.MobileNodeIdentifier, b => b.Ipv4HomeAddress!.Value);
        Assert.Equal(3, bound.Count);
        Assert.Equal(4, active.Replica.Count);

        var standby = new Lma { Now = active.Now + TimeSpan.FromSeconds(2) };
        var actions = standby.M.TakeOver(active.Replica.Records, 5, standby.Now, out uint counter).ToList();
        Assert.Equal(5u, counter);
        Assert.Equal(0, standby.M.Counters.RecordsRejected);
        Assert.Equal(4, standby.M.BindingCacheCount);
        // Every IPv4 home address is bound to its node and routed to its MAG, as on the active.
        foreach (var (mn, address) in bound)
        {
            Assert.True(standby.M.TryGetBindingByIpv4HomeAddress(address, out var view));
            Assert.Equal(mn, view.MobileNodeIdentifier);
            Assert.Equal(Subnet.Length, view.Ipv4PrefixLength);
        }
        var v4Routes = actions.OfType<LmaAction.Ipv4RouteAdd>().ToDictionary(r => r.HomeAddress, r => r.Mag);
        Assert.Equal(active.M.Bindings.Where(b => b.Ipv4HomeAddress is not null).ToDictionary(b => b.Ipv4HomeAddress!.Value, b => b.ProxyCareOfAddress!.Value), v4Routes);
        // The pool is the active's: three taken, and the two VMs that come next get the two free ones, never a bound one.
        Assert.Equal(3, standby.M.Ipv4HomeAddressesAllocated);
        var fresh = new List<Ipv4Address>();
        for (int i = 5; i <= 6; i++)
        {
            var pba = Pba(standby.SendCommitted(Mag1, standby.Pbu($"new{i}@t", i, null, AllZero)));
            Assert.Equal(BindingAckStatus.Accepted, pba.Status);
            fresh.Add(pba.Ipv4HomeAddressReply!.Address);
        }
        Assert.Empty(fresh.Intersect(bound.Values));
        Assert.Equal(2, fresh.Distinct().Count());
        // The /29 is full now: the next one is refused (130, Reply 128), as the active would have refused it.
        var full = Pba(standby.SendCommitted(Mag1, standby.Pbu("new7@t", 7, null, AllZero)));
        Assert.Equal(BindingAckStatus.InsufficientResources, full.Status);
        // A MAG asking for a bound address for another node (NON_ZERO) is refused too.
        var stolen = Pba(standby.SendCommitted(Mag1, standby.Pbu("thief@t", 8, null, [new Ipv4HomeAddressRequestOption(29, bound["dual1@t"])])));
        Assert.NotEqual(BindingAckStatus.Accepted, stolen.Status);

        // Stepping down forgets the routes and the pool; a second takeover finds every address free again.
        var down = standby.M.Relinquish().ToList();
        Assert.Equal(5, down.OfType<LmaAction.Ipv4RouteRemove>().Count());
        Assert.Equal(0, standby.M.Ipv4HomeAddressesAllocated);
        standby.M.TakeOver(standby.Replica.Records.Concat(active.Replica.Records.Where(r => !standby.Replica.TryGet(r.Key, out _))), 5, standby.Now, out _);
        Assert.Equal(0, standby.M.Counters.RecordsRejected);
        Assert.Equal(5, standby.M.Ipv4HomeAddressesAllocated);
    }

    [Fact]
    public void A_record_whose_ipv4_address_is_taken_or_outside_the_network_is_refused()
    {
        var active = new Lma();
        active.SendCommitted(Mag1, active.Pbu("a@t", 1, null, AllZero));
        var stored = Assert.Single(active.Replica.Records);
        var twin = stored with { Key = "twin", Record = stored.Record with { MobileNodeIdentifier = "twin@t" } };
        var outside = stored with { Key = "outside", Record = stored.Record with { MobileNodeIdentifier = "outside@t", Ipv4HomeAddress = Ipv4Address.Parse("192.0.2.9") } };
        var standby = new Lma();
        standby.M.TakeOver([stored, twin, outside], 5, standby.Now, out _);
        Assert.Equal(1, standby.M.BindingCacheCount);
        Assert.Equal(2, standby.M.Counters.RecordsRejected);
        Assert.Equal(1, standby.M.Ipv4HomeAddressesAllocated);
    }

    [Fact]
    public void Selective_deregistrations_are_written_under_the_same_key_and_a_takeover_frees_the_released_family()
    {
        var l = new Lma();
        var created = l.SendCommitted(Mag1, l.Pbu("dual@t", 1, Ipv6Prefix.Unspecified, AllZero));
        var key = Assert.Single(created.OfType<LmaAction.StoreBinding>()).Key;
        var entry = Assert.Single(l.M.Bindings);
        var prefix = entry.HomeNetworkPrefixes[0];
        var address = entry.Ipv4HomeAddress!.Value;

        // §3.1.2.5: only the Request, lifetime 0 — the IPv4 address goes, the entry and its prefix stay. The PBA waits for the write.
        var pending = l.M.Handle(new LmaEvent.MobilityMessageReceived(Mag1,
            l.Pbu("dual@t", 1, null, [new Ipv4HomeAddressRequestOption(29, address)], HandoffIndicator.HandoffStateNotChanged, lifetime: 0)), l.Now).ToList();
        var w = Assert.Single(pending.OfType<LmaAction.StoreBinding>());
        Assert.Equal(key, w.Key);
        Assert.Null(w.Record!.Ipv4HomeAddress);
        Assert.Equal([prefix], w.Record.HomeNetworkPrefixes);
        Assert.Empty(pending.OfType<LmaAction.SendMobilityMessage>());
        l.Commit(pending);
        Assert.Equal(BindingAckStatus.Accepted, Pba(pending).Status);

        // Now the IPv4 address back, then only the IPv6 prefix released: still one key, the record follows.
        l.SendCommitted(Mag1, l.Pbu("dual@t", 1, prefix, AllZero, HandoffIndicator.HandoffStateNotChanged));
        var back = Assert.Single(l.M.Bindings).Ipv4HomeAddress!.Value;
        var v6Gone = l.SendCommitted(Mag1, l.Pbu("dual@t", 1, prefix, [], HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal(key, Assert.Single(v6Gone.OfType<LmaAction.StoreBinding>()).Key);
        Assert.Equal(1, l.Replica.Count);
        Assert.True(l.Replica.TryGet(key, out var record));
        Assert.Empty(record.Record.HomeNetworkPrefixes);
        Assert.Equal(back, record.Record.Ipv4HomeAddress);

        var standby = new Lma();
        standby.M.TakeOver(l.Replica.Records, 5, standby.Now, out _);
        var taken = Assert.Single(standby.M.Bindings);
        Assert.Empty(taken.HomeNetworkPrefixes);
        Assert.Equal(back, taken.Ipv4HomeAddress);
        Assert.Equal(1, standby.M.Ipv4HomeAddressesAllocated);
    }
}
