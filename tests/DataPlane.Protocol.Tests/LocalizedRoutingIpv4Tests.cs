using DataPlane.Protocol.LocalizedRouting;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>
/// RFC 6705 §7, IPv4 between two MAGs, event by event: the LRI/LRA encoding of IPv4 home addresses, the LMA putting
/// each VM's IPv4 home address into its pair (dual-stack and IPv4-only VMs) and keeping it true through migrations and
/// address changes, and the MAG checking and installing it.
/// </summary>
public class LocalizedRoutingIpv4Tests
{
    private static readonly Ipv6Address LmaAddr = Ipv6Address.Parse("2001:db8:0:1::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:0:2::1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:0:2::2");
    private static readonly Ipv6Address Mag3 = Ipv6Address.Parse("2001:db8:0:2::3");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:100::/48");
    private static readonly Ipv4Prefix Subnet = Ipv4Prefix.Parse("10.200.0.0/24");

    // ---- Wire: the parties with IPv4 home addresses, against the independent vector of the Wire tests ----

    /// <summary>The reference LRI of DataPlane.Wire.Tests' LocalizedRoutingIpv4VectorTests (written by an independent encoder).</summary>
    private const string LriVector =
        "3b0d1100017800150000012c081001766d31406578616d706c652e636f6d0104000000001612004020010db8000100000000000000000000" +
        "240680000a00000b081001766d32406578616d706c652e636f6d0100240680000a00000c3312008020010db8010000000000000000000003";

    private const string LraVector =
        "3b0b12005ed700150000012c081001766d31406578616d706c652e636f6d0104000000001612004020010db8000100000000000000000000" +
        "250600800a00000b081001766d32406578616d706c652e636f6d0100250600800a00000c01020000";

    private static readonly LocalizedRoutingParty DualStackVm1 =
        new("vm1@example.com", [Ipv6Prefix.Parse("2001:db8:1::/64")], Ipv4Address.Parse("10.0.0.11"));

    private static readonly LocalizedRoutingParty Ipv4OnlyVm2 = new("vm2@example.com", [], Ipv4Address.Parse("10.0.0.12"));

    private static string Bytes(MobilityMessage m, Ipv6Address source, Ipv6Address destination)
    {
        var buffer = new byte[m.GetLength()];
        m.WriteTo(buffer, source, destination);
        return Convert.ToHexStringLower(buffer);
    }

    [Fact]
    public void An_lri_and_lra_naming_a_dual_stack_and_an_ipv4_only_vm_are_the_reference_bytes_and_read_back()
    {
        var lma = Ipv6Address.Parse("2001:db8:100::1");
        var mag = Ipv6Address.Parse("2001:db8:100::2");
        var lri = LocalizedRoutingMessages.Initiation(21, 300, DualStackVm1, Ipv4OnlyVm2, Ipv6Address.Parse("2001:db8:100::3"));
        Assert.Equal(LriVector, Bytes(lri, lma, mag));
        var lra = LocalizedRoutingMessages.Acknowledgement(21, false, LocalizedRoutingStatus.Success, 300, DualStackVm1, Ipv4OnlyVm2);
        Assert.Equal(LraVector, Bytes(lra, mag, lma));

        Assert.True(MobilityMessage.TryParse(Convert.FromHexString(LriVector), out var parsed, out _));
        Assert.True(LocalizedRoutingMessages.TryRead(parsed!.Options, out var local, out var remote, out var remoteMag));
        Assert.Equal((DualStackVm1, Ipv4OnlyVm2, Ipv6Address.Parse("2001:db8:100::3")), (local, remote, remoteMag!.Value));
        Assert.True(MobilityMessage.TryParse(Convert.FromHexString(LraVector), out parsed, out _));
        Assert.True(LocalizedRoutingMessages.TryRead(parsed!.Options, out local, out remote, out remoteMag));
        Assert.Equal((DualStackVm1, Ipv4OnlyVm2, (Ipv6Address?)null), (local, remote, remoteMag));
        // The party's address is part of its identity: an LRI naming another address is a change.
        Assert.NotEqual(Ipv4OnlyVm2, Ipv4OnlyVm2 with { Ipv4HomeAddress = Ipv4Address.Parse("10.0.0.13") });
    }

    public static TheoryData<string> BadIpv4Options => ["two addresses for one party", "address before any party", "multicast", "broadcast",
        "unspecified", "failed reply"];

    [Theory]
    [MemberData(nameof(BadIpv4Options))]
    public void A_bogus_ipv4_home_address_makes_the_message_unreadable(string which)
    {
        var id1 = MobileNodeIdentifierOption.ForNai("vm1@t");
        var id2 = MobileNodeIdentifierOption.ForNai("vm2@t");
        static MobilityOption Request(string a) => new Ipv4HomeAddressRequestOption(32, Ipv4Address.Parse(a));
        MobilityOption[] options = which switch
        {
            "two addresses for one party" => [id1, Request("10.0.0.1"), Request("10.0.0.2"), id2, Request("10.0.0.3")],
            "address before any party" => [Request("10.0.0.1"), id1, Request("10.0.0.2")],
            "multicast" => [id1, Request("224.0.0.1")],
            "broadcast" => [id1, Request("255.255.255.255")],
            "unspecified" => [id1, Request("0.0.0.0")],
            _ => [id1, new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.AdministrativelyProhibited, 32, Ipv4Address.Parse("10.0.0.1"))],
        };
        Assert.False(LocalizedRoutingMessages.TryRead(new MobilityOptionList(options), out _, out _, out _));
    }

    [Fact]
    public void A_party_with_neither_a_prefix_nor_an_ipv4_address_is_unreadable_and_an_ipv4_only_one_is_fine()
    {
        var id1 = MobileNodeIdentifierOption.ForNai("vm1@t");
        var id2 = MobileNodeIdentifierOption.ForNai("vm2@t");
        var v4 = new Ipv4HomeAddressRequestOption(32, Ipv4Address.Parse("10.0.0.1"));
        Assert.False(LocalizedRoutingMessages.TryRead(new MobilityOptionList([id1, v4, id2]), out _, out _, out _));
        Assert.True(LocalizedRoutingMessages.TryRead(new MobilityOptionList([id1, v4]), out var local, out var remote, out _));
        Assert.Equal((new LocalizedRoutingParty("vm1@t", [], Ipv4Address.Parse("10.0.0.1")), (LocalizedRoutingParty?)null), (local, remote));
    }

    // ---- The LMA ----

    private sealed class Anchor
    {
        private ushort _seq = 1;

        public Anchor()
        {
            var o = new LmaOptions
            {
                LocalMobilityAnchorAddress = LmaAddr,
                AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2, Mag3 },
                HomeNetworkPrefixPool = Pool,
                Ipv4HomeNetwork = Ipv4HomeNetwork.WithFirstHostAsRouter(Subnet),
            };
            M = new LocalMobilityAnchor(o, new InMemoryLmaPolicy { UnknownMobileNodeProfile = LmaMobileNodeProfile.DualStackFromPools },
                new SplitMix64Random(5));
        }

        public LocalMobilityAnchor M { get; }
        public LmaCounters C => M.Counters;
        public Instant Now = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        /// <summary>A PBU for <paramref name="nai"/> from <paramref name="mag"/>: IPv6 (an all-zero HNP) and/or IPv4 (ALL_ZERO request).</summary>
        public List<LmaAction> Register(Ipv6Address mag, string nai, bool ipv6, bool ipv4, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface)
        {
            var options = Pbus.Complete(nai, Now, Ipv6Prefix.Unspecified, hi, MacAddress.FromUInt64((ulong)nai.GetHashCode() & 0xFFFF_FFFF));
            if (!ipv6) options.RemoveAll(o => o is HomeNetworkPrefixOption);
            if (ipv4) options.Insert(1, Ipv4HomeAddressRequestOption.AllZero);
            Now += TimeSpan.FromMilliseconds(1);
            return Handle(new LmaEvent.MobilityMessageReceived(mag, new BindingUpdate(_seq++, Pbus.ProxyFlags, 900) { Options = new MobilityOptionList(options) }));
        }

        public List<LmaAction> Handle(LmaEvent e) => [.. M.Handle(e, Now)];

        public Ipv4Address Ipv4Of(string nai) => Assert.Single(M.Bindings, b => b.MobileNodeIdentifier == nai).Ipv4HomeAddress!.Value;

        public List<LmaAction> Traffic4(string from, string to) => Handle(new LmaEvent.Ipv4TrafficObserved(Ipv4Of(from), Ipv4Of(to)));

        public List<LmaAction> Answer(Ipv6Address mag, LocalizedRoutingInitiation lri)
        {
            Assert.True(LocalizedRoutingMessages.TryRead(lri.Options, out var local, out var remote, out _));
            var lra = LocalizedRoutingMessages.Acknowledgement(lri.Sequence, false, LocalizedRoutingStatus.Success, lri.Lifetime, local!, remote);
            return Handle(new LmaEvent.MobilityMessageReceived(mag, lra));
        }
    }

    private static List<(Ipv6Address Mag, LocalizedRoutingInitiation Lri)> Lris(IEnumerable<LmaAction> actions) =>
        [.. actions.OfType<LmaAction.SendMobilityMessage>().Where(s => s.Message is LocalizedRoutingInitiation)
            .Select(s => (s.Destination, (LocalizedRoutingInitiation)s.Message))];

    private static LocalizedRoutingInitiation To(IEnumerable<(Ipv6Address Mag, LocalizedRoutingInitiation Lri)> lris, Ipv6Address mag) =>
        Assert.Single(lris, l => l.Mag == mag).Lri;

    private static (LocalizedRoutingParty Local, LocalizedRoutingParty Remote, Ipv6Address Mag) Read(LocalizedRoutingInitiation lri)
    {
        Assert.True(LocalizedRoutingMessages.TryRead(lri.Options, out var local, out var remote, out var mag));
        return (local!, remote!, mag!.Value);
    }

    /// <summary>Dual-stack a@t on MAG1, IPv4-only b@t on MAG2; IPv4 traffic between them; the pair set up and confirmed.</summary>
    private static Anchor Established()
    {
        var l = new Anchor();
        l.Register(Mag1, "a@t", ipv6: true, ipv4: true);
        l.Register(Mag2, "b@t", ipv6: false, ipv4: true);
        var setup = Lris(l.Traffic4("a@t", "b@t"));
        Assert.Empty(Lris(l.Answer(Mag1, To(setup, Mag1))));
        var confirms = Lris(l.Answer(Mag2, To(setup, Mag2)));
        l.Answer(Mag1, To(confirms, Mag1));
        l.Answer(Mag2, To(confirms, Mag2));
        Assert.Equal(1, l.C.LocalizedRoutingSessionsEstablished);
        return l;
    }

    [Fact]
    public void Ipv4_traffic_between_two_mags_sets_up_the_pair_with_every_address_of_both_vms()
    {
        var l = new Anchor();
        l.Register(Mag1, "a@t", ipv6: true, ipv4: true);
        l.Register(Mag2, "b@t", ipv6: false, ipv4: true);
        var a = Assert.Single(l.M.Bindings, b => b.MobileNodeIdentifier == "a@t");
        var setup = Lris(l.Traffic4("a@t", "b@t"));
        Assert.Equal(2, setup.Count);
        var (local1, remote1, mag1) = Read(To(setup, Mag1));
        Assert.Equal(new LocalizedRoutingParty("a@t", a.HomeNetworkPrefixes, l.Ipv4Of("a@t")), local1);
        Assert.Equal((new LocalizedRoutingParty("b@t", [], l.Ipv4Of("b@t")), Mag2), (remote1, mag1));
        var (local2, remote2, mag2) = Read(To(setup, Mag2));
        Assert.Equal((local1, remote1, Mag1), (remote2, local2, mag2));
        // IPv4 Home Address Request options (RFC 6705 §7), one per party, prefix length 32.
        Assert.Equal(2, To(setup, Mag1).Options.OfType<Ipv4HomeAddressRequestOption>().Count(o => o.PrefixLength == 32));
        var view = Assert.Single(l.M.LocalizedRoutingSessions);
        Assert.Equal((l.Ipv4Of("a@t"), l.Ipv4Of("b@t")), (view.Ipv4A!.Value, view.Ipv4B!.Value));
        Assert.Equal(1, l.C.TrafficObservations);
    }

    [Fact]
    public void Ipv4_traffic_to_an_unbound_address_or_within_one_mag_sets_up_nothing()
    {
        var l = new Anchor();
        l.Register(Mag1, "a@t", ipv6: true, ipv4: true);
        l.Register(Mag1, "c@t", ipv6: false, ipv4: true);
        Assert.Empty(Lris(l.Handle(new LmaEvent.Ipv4TrafficObserved(l.Ipv4Of("a@t"), Ipv4Address.Parse("10.200.0.250")))));
        Assert.Empty(Lris(l.Traffic4("a@t", "c@t")));
        Assert.Equal(0, l.M.LocalizedRoutingSessionCount);
    }

    [Fact]
    public void When_the_ipv4_only_vm_moves_the_pair_is_repointed_with_its_address_and_the_mag_it_left_is_told_to_stop()
    {
        var l = Established();
        var moved = Lris(l.Register(Mag3, "b@t", ipv6: false, ipv4: true, HandoffIndicator.HandoffBetweenMagsForSameInterface));
        var stop = To(moved, Mag2);
        Assert.True(stop.IsTermination);
        var (repointedLocal, repointedRemote, repointedMag) = Read(To(moved, Mag1));
        Assert.Equal(("a@t", Mag3, l.Ipv4Of("b@t")), (repointedLocal.MobileNodeIdentifier, repointedMag, repointedRemote.Ipv4HomeAddress!.Value));
        var (newLocal, _, newMag) = Read(To(moved, Mag3));
        Assert.Equal(("b@t", l.Ipv4Of("b@t"), Mag1), (newLocal.MobileNodeIdentifier, newLocal.Ipv4HomeAddress!.Value, newMag));
    }

    [Fact]
    public void When_a_vm_gives_up_its_ipv4_address_the_pair_ends_at_both_mags()
    {
        var l = Established();
        // a@t re-registers from MAG1 without the IPv4 Request: its IPv4 address is released (RFC 5844 §3.1.2.5 by omission).
        var actions = l.Register(Mag1, "a@t", ipv6: true, ipv4: false, HandoffIndicator.HandoffStateNotChanged);
        var ends = Lris(actions);
        Assert.Equal(2, ends.Count);
        Assert.All(ends, e => Assert.True(e.Lri.IsTermination));
        Assert.Equal(0, l.M.LocalizedRoutingSessionCount);
        Assert.Equal(1, l.C.LocalizedRoutingSessionsEnded[LocalizedRoutingSessionEnd.AddressesChanged]);
        // Its IPv6 traffic sets the pair up again, now without the address it gave up.
        var a = Assert.Single(l.M.Bindings, b => b.MobileNodeIdentifier == "a@t");
        Assert.Null(a.Ipv4HomeAddress);
    }

    // ---- The MAG ----

    private static readonly Ipv6Address OtherMag = Ipv6Address.Parse("2001:db8:0:2::9");
    private static readonly Ipv4Address Hoa = Ipv4Address.Parse("10.200.0.9");
    private static readonly Ipv4Address RemoteHoa = Ipv4Address.Parse("10.200.0.77");

    private static MagHarness DualStackMag()
    {
        var h = new MagHarness();
        var profile = new VmProfile(MagHarness.Nai, [], MagHarness.Lma) { Ipv4Service = true };
        var pbu = h.Register(AttachTrigger.Dhcp, profile);
        h.Now += TimeSpan.FromMilliseconds(20);
        var pba = MagHarness.Pba(pbu);
        pba = pba with
        {
            Options = new MobilityOptionList([.. pba.Options, new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, 24, Hoa),
                new Ipv4DefaultRouterAddressOption(Ipv4Address.Parse("10.200.0.1")), new Ipv4DhcpSupportModeOption(true)]),
        };
        h.Receive(pba);
        Assert.True(h.Mag.TryGetSession(MagHarness.Port, out var s));
        Assert.Equal(SessionState.Established, s.State);
        return h;
    }

    private static LocalizedRoutingAcknowledgement SingleLra(IEnumerable<MagAction> actions) =>
        (LocalizedRoutingAcknowledgement)Assert.Single(actions.OfType<MagAction.SendMobilityMessage>(), s => s.Message is LocalizedRoutingAcknowledgement).Message;

    [Fact]
    public void The_mag_installs_the_remote_ipv4_home_address_and_answers_with_ipv4_home_address_replies()
    {
        var h = DualStackMag();
        var local = new LocalizedRoutingParty(MagHarness.Nai, [MagHarness.Hnp], Hoa);
        var remote = new LocalizedRoutingParty("vm9@test", [], RemoteHoa);
        var actions = h.Receive(LocalizedRoutingMessages.Initiation(40, 120, local, remote, OtherMag));
        var install = Assert.Single(actions.OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal((OtherMag, false, RemoteHoa), (install.RemoteMag, install.Egress, install.RemoteIpv4HomeAddress!.Value));
        Assert.Empty(install.RemotePrefixes);
        var lra = SingleLra(actions);
        Assert.Equal(LocalizedRoutingStatus.Success, lra.Status);
        Assert.Equal([Hoa, RemoteHoa], lra.Options.OfType<Ipv4HomeAddressReplyOption>().Select(o => o.Address));
        Assert.Empty(lra.Options.OfType<Ipv4HomeAddressRequestOption>());
        // Confirmed by the next LRI; the view shows the address.
        var confirmed = Assert.Single(h.Receive(LocalizedRoutingMessages.Initiation(41, 120, local, remote, OtherMag)).OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal((true, RemoteHoa), (confirmed.Egress, confirmed.RemoteIpv4HomeAddress!.Value));
        Assert.Equal(RemoteHoa, Assert.Single(h.Mag.LocalizedRoutes).RemoteIpv4HomeAddress);
        // The remote VM's address changes (a new pair as far as the route goes): back to accepting only.
        var changed = remote with { Ipv4HomeAddress = Ipv4Address.Parse("10.200.0.78") };
        var repointed = Assert.Single(h.Receive(LocalizedRoutingMessages.Initiation(42, 120, local, changed, OtherMag)).OfType<MagAction.InstallLocalizedRoute>());
        Assert.Equal((false, Ipv4Address.Parse("10.200.0.78")), (repointed.Egress, repointed.RemoteIpv4HomeAddress!.Value));
    }

    [Fact]
    public void An_lri_naming_an_ipv4_address_the_vm_does_not_hold_is_answered_129_and_one_naming_ours_as_remote_is_refused()
    {
        var h = DualStackMag();
        var notOurs = new LocalizedRoutingParty(MagHarness.Nai, [MagHarness.Hnp], Ipv4Address.Parse("10.200.0.10"));
        var remote = new LocalizedRoutingParty("vm9@test", [], RemoteHoa);
        var actions = h.Receive(LocalizedRoutingMessages.Initiation(50, 120, notOurs, remote, OtherMag));
        Assert.Equal(LocalizedRoutingStatus.MobileNodeNotAttached, SingleLra(actions).Status);
        Assert.Empty(actions.OfType<MagAction.InstallLocalizedRoute>());

        var local = new LocalizedRoutingParty(MagHarness.Nai, [MagHarness.Hnp], Hoa);
        actions = h.Receive(LocalizedRoutingMessages.Initiation(51, 120, local, remote with { Ipv4HomeAddress = Hoa }, OtherMag));
        Assert.Equal(LocalizedRoutingStatus.LocalizedRoutingNotAllowed, SingleLra(actions).Status);
        Assert.Empty(actions.OfType<MagAction.InstallLocalizedRoute>());
    }
}
