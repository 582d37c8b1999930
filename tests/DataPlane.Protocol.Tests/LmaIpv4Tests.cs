using DataPlane.Protocol.Lma;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>The LMA's RFC 5844 §3.1 processing, PBU by PBU.</summary>
public class LmaIpv4Tests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");
    private static readonly Ipv4Prefix Subnet = Ipv4Prefix.Parse("10.200.0.0/24");
    private static readonly Ipv4Address Router = Ipv4Address.Parse("10.200.0.1");
    private static readonly MacAddress Mac = MacAddress.Parse("52:54:00:00:00:01");

    private sealed class Lma
    {
        private ushort _seq = 100;

        public Lma(Ipv4Prefix? subnet = null, bool ipv4 = true, InMemoryLmaPolicy? policy = null)
        {
            var o = new LmaOptions
            {
                LocalMobilityAnchorAddress = LmaAddr,
                AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 },
                HomeNetworkPrefixPool = Pool,
                Ipv4HomeNetwork = ipv4 ? Ipv4HomeNetwork.WithFirstHostAsRouter(subnet ?? Subnet) : null,
            };
            Policy = policy ?? new InMemoryLmaPolicy { UnknownMobileNodeProfile = LmaMobileNodeProfile.DualStackFromPools };
            M = new LocalMobilityAnchor(o, Policy, new SplitMix64Random(1));
        }

        public LocalMobilityAnchor M { get; }
        public InMemoryLmaPolicy Policy { get; }
        public LmaCounters C => M.Counters;
        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        /// <summary>A PBU with the given HNP option (null: none at all) and IPv4 Requests (none: empty).</summary>
        public BindingUpdate Pbu(Ipv6Prefix? prefix, Ipv4HomeAddressRequestOption[] requests, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface,
            ushort lifetime = 900, string nai = "vm@t")
        {
            var options = Pbus.Complete(nai, Now, prefix ?? Ipv6Prefix.Unspecified, hi, Mac);
            if (prefix is null) options.RemoveAll(o => o is HomeNetworkPrefixOption);
            options.InsertRange(1, requests);
            Now += TimeSpan.FromMilliseconds(1);
            return new BindingUpdate(_seq++, Pbus.ProxyFlags, lifetime) { Options = new MobilityOptionList(options) };
        }

        public List<LmaAction> Send(Ipv6Address from, MobilityMessage m) => [.. M.Handle(new LmaEvent.MobilityMessageReceived(from, m), Now)];

        public static BindingAcknowledgement Pba(List<LmaAction> actions) =>
            (BindingAcknowledgement)Assert.Single(actions.OfType<LmaAction.SendMobilityMessage>(), s => s.Message is BindingAcknowledgement).Message;
    }

    private static readonly Ipv4HomeAddressRequestOption[] AllZero = [Ipv4HomeAddressRequestOption.AllZero];

    private static Ipv4HomeAddressRequestOption[] Asking(string address, byte length = 24) => [new(length, Ipv4Address.Parse(address))];

    [Fact]
    public void An_ipv4_only_pbu_is_accepted_with_a_pool_address_the_router_and_server_mode_and_no_prefix()
    {
        var l = new Lma();
        var actions = l.Send(Mag1, l.Pbu(null, AllZero));
        var pba = Lma.Pba(actions);
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        // §3.1.2.6: no HNP option in answer to a PBU without one; the Reply, the DRA, DHCP Support Mode S = 1.
        Assert.Empty(pba.HomeNetworkPrefixes);
        var reply = pba.Ipv4HomeAddressReply!;
        Assert.Equal(Ipv4HomeAddressReplyStatus.Success, reply.Status);
        Assert.Equal(24, reply.PrefixLength);
        Assert.True(Subnet.IsHostAddress(reply.Address) && reply.Address != Router);
        Assert.Equal(Router, pba.Ipv4DefaultRouterAddress);
        Assert.True(pba.Ipv4DhcpSupportMode!.ServerMode);
        // One tunnel, one IPv4 host route, no prefix route.
        Assert.Single(actions.OfType<LmaAction.TunnelUp>());
        Assert.Empty(actions.OfType<LmaAction.RouteAdd>());
        Assert.Equal(new LmaAction.Ipv4RouteAdd(reply.Address, Mag1), Assert.Single(actions.OfType<LmaAction.Ipv4RouteAdd>()));
        Assert.True(l.M.TryGetBindingByIpv4HomeAddress(reply.Address, out var bce));
        Assert.Empty(bce.HomeNetworkPrefixes);
        Assert.Equal((reply.Address, (byte)24, Router), (bce.Ipv4HomeAddress!.Value, bce.Ipv4PrefixLength, bce.Ipv4DefaultRouter!.Value));
        Assert.Equal(1, l.M.Ipv4HomeAddressesAllocated);
    }

    [Fact]
    public void A_dual_stack_pbu_gets_one_entry_for_both_families()
    {
        var l = new Lma();
        var actions = l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero));
        var pba = Lma.Pba(actions);
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        var prefix = Assert.Single(pba.HomeNetworkPrefixes);
        Assert.True(Pool.Contains(prefix.Address));
        Assert.Equal(Ipv4HomeAddressReplyStatus.Success, pba.Ipv4HomeAddressReply!.Status);
        Assert.Equal(1, l.M.BindingCacheCount);
        Assert.Single(actions.OfType<LmaAction.RouteAdd>());
        Assert.Single(actions.OfType<LmaAction.Ipv4RouteAdd>());
        Assert.Equal(1, l.M.TunnelReferences(Mag1));
    }

    [Fact]
    public void Neither_a_prefix_nor_a_request_is_158()
    {
        var l = new Lma();
        Assert.Equal(BindingAckStatus.MissingHomeNetworkPrefixOption, Lma.Pba(l.Send(Mag1, l.Pbu(null, []))).Status);
    }

    [Fact]
    public void Ipv4_without_ipv4_service_or_without_an_ipv4_home_network_is_170_with_reply_129()
    {
        var ipv6Only = new Lma(policy: new InMemoryLmaPolicy());
        var pba = Lma.Pba(ipv6Only.Send(Mag1, ipv6Only.Pbu(Ipv6Prefix.Unspecified, AllZero)));
        Assert.Equal(BindingAckStatus.NotAuthorizedForIpv4MobilityService, pba.Status);
        Assert.Equal(Ipv4HomeAddressReplyStatus.AdministrativelyProhibited, pba.Ipv4HomeAddressReply!.Status);
        Assert.Null(pba.Ipv4DefaultRouterAddress); // only with status 0
        Assert.Null(pba.Ipv4DhcpSupportMode);

        var noNetwork = new Lma(ipv4: false);
        Assert.Equal(BindingAckStatus.NotAuthorizedForIpv4MobilityService, Lma.Pba(noNetwork.Send(Mag1, noNetwork.Pbu(null, AllZero))).Status);
        Assert.Equal(0, noNetwork.M.BindingCacheCount);
    }

    [Fact]
    public void Prefixes_for_a_node_without_ipv6_service_are_172()
    {
        var policy = new InMemoryLmaPolicy { UnknownMobileNodeProfile = new LmaMobileNodeProfile([]) { Ipv6Service = false, Ipv4Service = true } };
        var l = new Lma(policy: policy);
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero)));
        Assert.Equal(BindingAckStatus.NotAuthorizedForIpv6MobilityService, pba.Status);
        Assert.Equal(Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, pba.Ipv4HomeAddressReply!.Status);
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(l.Send(Mag1, l.Pbu(null, AllZero))).Status);
    }

    [Fact]
    public void Two_requests_are_173()
    {
        var l = new Lma();
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(null, [Ipv4HomeAddressRequestOption.AllZero, new(24, Ipv4Address.Parse("10.200.0.9"))])));
        Assert.Equal(BindingAckStatus.MultipleIpv4HomeAddressAssignmentNotSupported, pba.Status);
        Assert.Equal(0, l.M.BindingCacheCount);
    }

    [Fact]
    public void A_requested_address_must_be_anchored_here_and_the_nodes()
    {
        var policy = new InMemoryLmaPolicy { UnknownMobileNodeProfile = LmaMobileNodeProfile.DualStackFromPools };
        policy.SetProfile("fixed@t", new LmaMobileNodeProfile([]) { Ipv4Service = true, Ipv4HomeAddress = Ipv4Address.Parse("10.200.0.50") });
        var l = new Lma(policy: policy);

        // The profile's own address: accepted. ALL_ZERO for that node: the same address.
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(null, Asking("10.200.0.50"), nai: "fixed@t")));
        Assert.Equal((BindingAckStatus.Accepted, Ipv4Address.Parse("10.200.0.50")), (pba.Status, pba.Ipv4HomeAddressReply!.Address));

        // §3.1.2.2: not the node's (another node's static one, another address for a fixed node) → 171 + Reply 129.
        foreach (var (nai, address) in new[] { ("vm@t", "10.200.0.50"), ("fixed@t", "10.200.0.51") })
        {
            pba = Lma.Pba(l.Send(Mag2, l.Pbu(null, Asking(address), nai: nai)));
            Assert.Equal(BindingAckStatus.NotAuthorizedForIpv4HomeAddress, pba.Status);
            Assert.Equal((Ipv4HomeAddressReplyStatus.AdministrativelyProhibited, Ipv4Address.Parse(address), (byte)24),
                (pba.Ipv4HomeAddressReply!.Status, pba.Ipv4HomeAddressReply.Address, pba.Ipv4HomeAddressReply.PrefixLength));
        }
        // Not anchored here (another subnet, the router itself): 171 + 129. Not a host address at all: 171 + 131.
        foreach (var (address, reply) in new[] { ("192.0.2.7", Ipv4HomeAddressReplyStatus.AdministrativelyProhibited), ("10.200.0.1", Ipv4HomeAddressReplyStatus.AdministrativelyProhibited),
            ("224.0.0.5", Ipv4HomeAddressReplyStatus.InvalidIpv4Address), ("10.200.0.255", Ipv4HomeAddressReplyStatus.InvalidIpv4Address) })
        {
            pba = Lma.Pba(l.Send(Mag1, l.Pbu(null, Asking(address), nai: "other@t")));
            Assert.Equal((BindingAckStatus.NotAuthorizedForIpv4HomeAddress, reply), (pba.Status, pba.Ipv4HomeAddressReply!.Status));
        }
        // A pool node asking for a free pool address (what a MAG does after an LMA restart) gets it; dynamic
        // allocation never hands out the static one.
        pba = Lma.Pba(l.Send(Mag1, l.Pbu(null, Asking("10.200.0.77"), nai: "back@t")));
        Assert.Equal((BindingAckStatus.Accepted, Ipv4Address.Parse("10.200.0.77")), (pba.Status, pba.Ipv4HomeAddressReply!.Address));
        Assert.Equal(6, l.C.Ipv4Refusals);
    }

    [Fact]
    public void An_exhausted_pool_is_130_with_reply_128()
    {
        var l = new Lma(subnet: Ipv4Prefix.Parse("10.9.0.0/30")); // hosts .1 (router) and .2: one address to give
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(l.Send(Mag1, l.Pbu(null, AllZero, nai: "a@t"))).Status);
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero, nai: "b@t")));
        Assert.Equal(BindingAckStatus.InsufficientResources, pba.Status);
        Assert.Equal(Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, pba.Ipv4HomeAddressReply!.Status);
        // Nothing of the refused node stayed behind: no entry, no prefix taken from the IPv6 pool.
        Assert.Equal(1, l.M.BindingCacheCount);
        Assert.False(l.M.TryGetBinding("b@t", out _));
    }

    [Fact]
    public void Refresh_and_handoff_keep_the_address_and_move_its_host_route()
    {
        var l = new Lma();
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero)));
        var hoa = pba.Ipv4HomeAddressReply!.Address;
        var hnp = pba.HomeNetworkPrefixes.Single();
        var refresh = Lma.Pba(l.Send(Mag1, l.Pbu(hnp, Asking(hoa.ToString()), HandoffIndicator.HandoffStateNotChanged)));
        Assert.Equal((BindingAckStatus.Accepted, hoa), (refresh.Status, refresh.Ipv4HomeAddressReply!.Address));

        // The new MAG knows neither (::/0 and ALL_ZERO, HI 3): the entry is found by MN-ID + MN-LL-ID.
        var actions = l.Send(Mag2, l.Pbu(Ipv6Prefix.Unspecified, AllZero, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        pba = Lma.Pba(actions);
        Assert.Equal((BindingAckStatus.Accepted, hoa, hnp), (pba.Status, pba.Ipv4HomeAddressReply!.Address, pba.HomeNetworkPrefixes.Single()));
        Assert.Equal(new LmaAction.Ipv4RouteAdd(hoa, Mag2), Assert.Single(actions.OfType<LmaAction.Ipv4RouteAdd>()));
        Assert.Equal(new LmaAction.RouteAdd(hnp, Mag2), Assert.Single(actions.OfType<LmaAction.RouteAdd>()));
        Assert.Equal(Mag1, Assert.Single(actions.OfType<LmaAction.TunnelDown>()).Mag);
        Assert.Equal(1, l.C.Handoffs);
        Assert.Equal(1, l.M.Ipv4HomeAddressesAllocated);
    }

    [Fact]
    public void A_new_mag_naming_the_address_finds_the_entry_by_it()
    {
        var l = new Lma();
        var hoa = Lma.Pba(l.Send(Mag1, l.Pbu(null, AllZero))).Ipv4HomeAddressReply!.Address;
        // §3.1.2.7: no NON_ZERO prefix, a NON_ZERO address: the address is the key.
        var actions = l.Send(Mag2, l.Pbu(null, Asking(hoa.ToString()), HandoffIndicator.HandoffBetweenMagsForSameInterface));
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(actions).Status);
        Assert.Equal(1, l.M.BindingCacheCount);
        Assert.Equal(new LmaAction.Ipv4RouteAdd(hoa, Mag2), Assert.Single(actions.OfType<LmaAction.Ipv4RouteAdd>()));
    }

    [Fact]
    public void Selective_ipv4_deregistration_keeps_the_prefixes_and_ipv4_can_be_asked_for_again()
    {
        var l = new Lma();
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero)));
        var (hoa, hnp) = (pba.Ipv4HomeAddressReply!.Address, pba.HomeNetworkPrefixes.Single());

        // §3.2.3.3: lifetime 0, only the Request.
        var actions = l.Send(Mag1, l.Pbu(null, Asking(hoa.ToString()), HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        pba = Lma.Pba(actions);
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        Assert.Equal(hoa, pba.Ipv4HomeAddressReply!.Address);
        Assert.Equal(new LmaAction.Ipv4RouteRemove(hoa), Assert.Single(actions.OfType<LmaAction.Ipv4RouteRemove>()));
        Assert.Empty(actions.OfType<LmaAction.RouteRemove>());
        Assert.Empty(actions.OfType<LmaAction.TunnelDown>());
        Assert.True(l.M.TryGetBinding("vm@t", out var bce));
        Assert.Equal((BindingCacheState.Active, (Ipv4Address?)null, hnp), (bce.State, bce.Ipv4HomeAddress, bce.HomeNetworkPrefixes.Single()));
        Assert.Equal(0, l.M.Ipv4HomeAddressesAllocated);
        Assert.Equal(1, l.C.Ipv4SelectiveDeregistrations);

        // The VM asks DHCP again: a re-registration with the HNP and ALL_ZERO extends the session (§3.1.2.1's last bullet).
        actions = l.Send(Mag1, l.Pbu(hnp, AllZero, HandoffIndicator.HandoffStateNotChanged));
        pba = Lma.Pba(actions);
        Assert.Equal(hoa, pba.Ipv4HomeAddressReply!.Address); // the MN-ID's slot again
        Assert.Equal(new LmaAction.Ipv4RouteAdd(hoa, Mag1), Assert.Single(actions.OfType<LmaAction.Ipv4RouteAdd>()));
        Assert.Equal(1, l.C.Ipv4Extensions);
    }

    [Fact]
    public void Selective_ipv6_deregistration_keeps_the_ipv4_address()
    {
        var l = new Lma();
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero)));
        var (hoa, hnp) = (pba.Ipv4HomeAddressReply!.Address, pba.HomeNetworkPrefixes.Single());
        var actions = l.Send(Mag1, l.Pbu(hnp, [], HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(actions).Status);
        Assert.Equal(new LmaAction.RouteRemove(hnp), Assert.Single(actions.OfType<LmaAction.RouteRemove>()));
        Assert.Empty(actions.OfType<LmaAction.Ipv4RouteRemove>());
        Assert.True(l.M.TryGetBindingByIpv4HomeAddress(hoa, out var bce));
        Assert.Equal(BindingCacheState.Active, bce.State);
        Assert.Empty(bce.HomeNetworkPrefixes);
        Assert.Equal(1, l.C.Ipv6SelectiveDeregistrations);
    }

    [Fact]
    public void A_full_deregistration_keeps_the_address_for_the_next_mag_and_deletion_frees_it()
    {
        var l = new Lma();
        var hoa = Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero))).Ipv4HomeAddressReply!.Address;
        var bce = l.M.Bindings.Single();
        var dereg = l.Send(Mag1, l.Pbu(bce.HomeNetworkPrefixes[0], Asking(hoa.ToString()), HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        Assert.Single(dereg.OfType<LmaAction.Ipv4RouteRemove>());
        Assert.Single(dereg.OfType<LmaAction.RouteRemove>());
        // The next MAG resumes the session within MinDelayBeforeBceDelete: same address.
        var resumed = Lma.Pba(l.Send(Mag2, l.Pbu(Ipv6Prefix.Unspecified, AllZero, HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        Assert.Equal(hoa, resumed.Ipv4HomeAddressReply!.Address);
        Assert.Equal(1, l.C.Resumptions);
        // De-registered again and left alone: the entry goes, and so does its address.
        l.Send(Mag2, l.Pbu(bce.HomeNetworkPrefixes[0], Asking(hoa.ToString()), HandoffIndicator.HandoffStateNotChanged, lifetime: 0));
        l.Now += TimeSpan.FromSeconds(11);
        l.M.Tick(l.Now);
        Assert.Equal(0, l.M.BindingCacheCount);
        Assert.Equal(0, l.M.Ipv4HomeAddressesAllocated);
        Assert.True(l.M.Ipv4Pool!.IsFree(hoa));
    }

    [Fact]
    public void A_reregistration_that_leaves_out_a_family_releases_it()
    {
        var l = new Lma();
        var pba = Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, AllZero)));
        var (hoa, hnp) = (pba.Ipv4HomeAddressReply!.Address, pba.HomeNetworkPrefixes.Single());
        // §3.1.2.4: after a handoff, a PBU with HNPs and no Request extends IPv6 only; the IPv4 state goes.
        var actions = l.Send(Mag2, l.Pbu(hnp, [], HandoffIndicator.HandoffBetweenMagsForSameInterface));
        pba = Lma.Pba(actions);
        Assert.Equal(BindingAckStatus.Accepted, pba.Status);
        Assert.Null(pba.Ipv4HomeAddressReply);
        Assert.Equal(new LmaAction.Ipv4RouteRemove(hoa), Assert.Single(actions.OfType<LmaAction.Ipv4RouteRemove>()));
        Assert.Empty(actions.OfType<LmaAction.Ipv4RouteAdd>());
        Assert.Equal(1, l.C.FamiliesReleasedByOmission);
        Assert.True(l.M.Ipv4Pool!.IsFree(hoa));
    }

    [Fact]
    public void A_rejection_of_a_pbu_with_a_request_echoes_it_with_128()
    {
        var l = new Lma();
        var first = l.Pbu(null, Asking("10.200.0.20"));
        Assert.Equal(BindingAckStatus.Accepted, Lma.Pba(l.Send(Mag1, first)).Status);
        // An older timestamp: 157, and the Reply echoes the request with 128.
        var stale = first with { Sequence = 999 };
        var pba = Lma.Pba(l.Send(Mag1, stale));
        Assert.Equal(BindingAckStatus.TimestampLowerThanPreviousAccepted, pba.Status);
        Assert.Equal((Ipv4HomeAddressReplyStatus.FailureReasonUnspecified, Ipv4Address.Parse("10.200.0.20"), (byte)24),
            (pba.Ipv4HomeAddressReply!.Status, pba.Ipv4HomeAddressReply.Address, pba.Ipv4HomeAddressReply.PrefixLength));
        // A PBU without a Request is answered without a Reply.
        Assert.Null(Lma.Pba(l.Send(Mag1, l.Pbu(Ipv6Prefix.Unspecified, [], nai: "v6@t"))).Ipv4HomeAddressReply);
    }

    [Fact]
    public void The_pool_prefers_the_nodes_hash_slot_and_never_hands_out_the_router_or_a_reserved_address()
    {
        var network = Ipv4HomeNetwork.WithFirstHostAsRouter(Ipv4Prefix.Parse("10.9.0.0/29"));
        var pool = new Ipv4HomeAddressPool(network);
        Assert.Equal(5, pool.Capacity); // .1 is the router; .0 and .7 are not hosts
        var reserved = Ipv4Address.Parse("10.9.0.3");
        var given = new HashSet<Ipv4Address>();
        for (int i = 0; i < 4; i++)
        {
            Assert.True(pool.TryAllocate($"n{i}", a => a == reserved, out var a));
            Assert.True(network.IsAssignable(a));
            Assert.NotEqual(reserved, a);
            Assert.True(given.Add(a));
        }
        Assert.False(pool.TryAllocate("n5", a => a == reserved, out _));
        Assert.True(pool.TryClaim(reserved));
        Assert.Equal(5, pool.Allocated);
        Assert.Equal(given.Append(reserved).OrderBy(a => a.Value), pool.AllocatedAddresses.OrderBy(a => a.Value));
        // Same name, same address: in a fresh pool (an LMA after a restart), and here once it is free again.
        var fresh = new Ipv4HomeAddressPool(network);
        Assert.True(fresh.TryAllocate("n0", a => a == reserved, out var n0));
        Assert.Contains(n0, given);
        pool.Release(n0);
        Assert.True(pool.TryAllocate("n0", a => a == reserved, out var again));
        Assert.Equal(n0, again);
    }
}
