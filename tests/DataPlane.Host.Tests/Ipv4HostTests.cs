using DataPlane.Host.Configuration;
using DataPlane.Host.Policy;
using DataPlane.Host.Policy.Radius;
using DataPlane.Host.Runtime;
using DataPlane.Host.Tests.Radius;
using DataPlane.Linux;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

/// <summary>The daemons' IPv4 (RFC 5844) configuration, policy profiles and the tunnel sink's split by IP version.</summary>
public class Ipv4HostTests
{
    private static MagConfig Mag(string json) => MagConfig.Parse(ConfigObject.Parse(json, "mag.json"));
    private static LmaConfig Lma(string json) => LmaConfig.Parse(ConfigObject.Parse(json, "lma.json"));
    private static PolicySnapshot Policy(string json) => PolicyFile.Parse(ConfigObject.Parse(json, "policy.json"));

    [Fact]
    public void A_forgotten_bindings_ipv4_home_address_is_handed_to_the_data_path_to_drop_its_counters()
    {
        var t0 = Protocol.Instant.FromDateTime(new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc));
        var tracker = new Metrics.BindingTracker(TimeSpan.FromMinutes(10));
        var forgotten = new List<Ipv4Address>();
        tracker.Ipv4Forgotten = forgotten.Add;
        var address = Ipv4Address.Parse("10.200.0.7");
        tracker.OnChanged(new Protocol.Lma.LmaAction.BindingChanged("vm1@test", Protocol.Lma.BindingChange.Created,
            Ipv6Address.Parse("2001:db8:100:1::2"), [], address), t0);
        tracker.Refresh([], t0);                              // gone from the cache: absent, kept for the retention
        tracker.Refresh([], t0 + TimeSpan.FromMinutes(5));
        Assert.Empty(forgotten);
        tracker.Refresh([], t0 + TimeSpan.FromMinutes(11));
        Assert.Equal([address], forgotten);
    }

    [Fact]
    public void The_lma_ipv4_pool_is_the_home_subnet_with_its_first_host_as_router_unless_named()
    {
        var c = Lma("""{"address":"2001:db8:100::1","ipv4Pool":"10.200.0.0/24","policy":{"file":"p"}}""");
        Assert.Equal(Ipv4Prefix.Parse("10.200.0.0/24"), c.Protocol.Ipv4HomeNetwork!.Subnet);
        Assert.Equal(Ipv4Address.Parse("10.200.0.1"), c.Protocol.Ipv4HomeNetwork.DefaultRouter);
        c = Lma("""{"address":"2001:db8:100::1","ipv4Pool":"10.200.0.0/24","ipv4DefaultRouter":"10.200.0.254","policy":{"file":"p"}}""");
        Assert.Equal(Ipv4Address.Parse("10.200.0.254"), c.Protocol.Ipv4HomeNetwork!.DefaultRouter);
        Assert.Null(Lma("""{"address":"2001:db8:100::1","policy":{"file":"p"}}""").Protocol.Ipv4HomeNetwork);
    }

    [Theory]
    [InlineData("""{"address":"2001:db8:100::1","ipv4Pool":"10.200.0.1/24","policy":{"file":"p"}}""", "lma.json: ipv4Pool: \"10.200.0.1/24\" has bits set past its length (did you mean 10.200.0.0/24?)")]
    [InlineData("""{"address":"2001:db8:100::1","ipv4Pool":"10.200.0.0/31","policy":{"file":"p"}}""", "lma.json: ipv4Pool: 10.200.0.0/31 must be a /8 to /30")]
    [InlineData("""{"address":"2001:db8:100::1","ipv4Pool":"224.0.0.0/24","policy":{"file":"p"}}""", "lma.json: ipv4Pool: 224.0.0.0/24 is not a unicast subnet")]
    [InlineData("""{"address":"2001:db8:100::1","ipv4Pool":"10.200.0.0/24","ipv4DefaultRouter":"10.201.0.1","policy":{"file":"p"}}""", "lma.json: ipv4DefaultRouter: 10.201.0.1 is not a host address of ipv4Pool 10.200.0.0/24")]
    [InlineData("""{"address":"2001:db8:100::1","ipv4DefaultRouter":"10.200.0.1","policy":{"file":"p"}}""", "lma.json: ipv4DefaultRouter: needs ipv4Pool")]
    [InlineData("""{"address":"2001:db8:100::1","ipv4Pool":"nope","policy":{"file":"p"}}""", "lma.json: ipv4Pool: \"nope\" is not an IPv4 prefix")]
    public void Bad_ipv4_lma_settings_name_the_key(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ConfigException>(() => Lma(json)).Message);

    [Fact]
    public void The_mag_dhcp_section_sets_the_server_and_the_interface_mtu_follows_the_uplink()
    {
        var c = Mag("""
            {"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p"},"uplink":{"mtu":1400},
             "dhcp":{"serverIdentifier":"192.168.255.254","leaseTime":"2h","dnsServers":["10.0.0.53","10.0.0.54"],"domainName":"vm.example"}}
            """);
        Assert.Equal(1360, c.Datapath.TunnelMtu);
        Assert.Equal(Ipv4Address.Parse("192.168.255.254"), c.Datapath.DhcpServerIdentifier);
        Assert.Equal(TimeSpan.FromHours(2), c.Datapath.DhcpLeaseTime);
        Assert.Equal([Ipv4Address.Parse("10.0.0.53"), Ipv4Address.Parse("10.0.0.54")], c.Datapath.DhcpDnsServers);
        Assert.Equal("vm.example", c.Datapath.DhcpDomainName);
        var defaults = Mag("""{"proxyCareOfAddress":"2001:db8:100:1::2","policy":{"file":"p"}}""").Datapath;
        Assert.Null(defaults.DhcpServerIdentifier); // each VM's default router
        Assert.Equal(TimeSpan.FromHours(1), defaults.DhcpLeaseTime);
    }

    [Theory]
    [InlineData("""{"serverIdentifier":"255.255.255.255"}""", "dhcp.serverIdentifier: 255.255.255.255 is not a unicast IPv4 address")]
    [InlineData("""{"leaseTime":"10s"}""", "dhcp.leaseTime: 10s must be at least 1 min")]
    [InlineData("""{"dnsServers":["10.0.0.53","x"]}""", "dhcp.dnsServers[1]")]
    [InlineData("""{"domainName":"has space"}""", "dhcp.domainName")]
    [InlineData("""{"sever":"1.2.3.4"}""", "dhcp.sever: unknown key")]
    public void Bad_dhcp_settings_name_the_key(string dhcp, string expected) =>
        Assert.Contains(expected, Assert.Throws<ConfigException>(() => Mag($$"""{"proxyCareOfAddress":"2001:db8::2","policy":{"file":"p"},"dhcp":{{dhcp}}}""")).Message);

    private const string File = """
        {
          "defaults": { "allowed": true, "naiFormat": "{mac}@vm.test", "localMobilityAnchor": "2001:db8:100::1", "ipVersions": "dual" },
          "vms": [
            { "mac": "52:54:00:00:00:01", "nai": "v6@vm.test" , "ipVersions": "ipv6" },
            { "mac": "52:54:00:00:00:02", "nai": "v4@vm.test", "ipVersions": "ipv4" },
            { "mac": "52:54:00:00:00:03", "nai": "fixed@vm.test", "ipv4HomeAddress": "10.200.0.50/24" }
          ]
        }
        """;

    [Fact]
    public void The_policy_file_says_which_ip_versions_each_vm_gets_and_its_static_address()
    {
        var p = Policy(File);
        var lma = Ipv6Address.Parse("2001:db8:100::1");
        var v6 = p.Decide(MacAddress.Parse("52:54:00:00:00:01"), "vif1", lma).Profile!;
        Assert.Equal((true, false), (v6.Ipv6Service, v6.Ipv4Service));
        var v4 = p.Decide(MacAddress.Parse("52:54:00:00:00:02"), "vif2", lma).Profile!;
        Assert.Equal((false, true, (Ipv4Address?)null), (v4.Ipv6Service, v4.Ipv4Service, v4.Ipv4HomeAddress));
        var fixedVm = p.Decide(MacAddress.Parse("52:54:00:00:00:03"), "vif3", lma).Profile!;
        Assert.Equal((true, true, Ipv4Address.Parse("10.200.0.50"), (byte)24),
            (fixedVm.Ipv6Service, fixedVm.Ipv4Service, fixedVm.Ipv4HomeAddress!.Value, fixedVm.Ipv4PrefixLength));
        var stranger = p.Decide(MacAddress.Parse("52:54:00:00:00:99"), "vif9", lma).Profile!;
        Assert.Equal((true, true), (stranger.Ipv6Service, stranger.Ipv4Service)); // defaults.ipVersions: dual

        // The LMA's view of the same file.
        Assert.Equal((false, true), (p.GetLmaProfile("v4@vm.test")!.Ipv6Service, p.GetLmaProfile("v4@vm.test")!.Ipv4Service));
        Assert.Equal(Ipv4Address.Parse("10.200.0.50"), p.GetLmaProfile("fixed@vm.test")!.Ipv4HomeAddress);
        Assert.True(p.IsReservedIpv4HomeAddress(Ipv4Address.Parse("10.200.0.50")));
        Assert.False(p.IsReservedIpv4HomeAddress(Ipv4Address.Parse("10.200.0.51")));
    }

    [Theory]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","ipVersions":"both"}]}""", "vms[0].ipVersions: \"both\" is not one of ipv6, ipv4, dual")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","ipVersions":"ipv6","ipv4HomeAddress":"10.0.0.5"}]}""", "vms[0].ipVersions: \"ipv6\" contradicts ipv4HomeAddress")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","ipVersions":"ipv4","homeNetworkPrefixes":["2001:db8:1::/64"]}]}""", "vms[0].ipVersions: \"ipv4\" contradicts homeNetworkPrefixes")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","ipv4HomeAddress":"10.0.0.5"},{"mac":"52:54:00:00:00:02","ipv4HomeAddress":"10.0.0.5/24"}]}""", "vms[1].ipv4HomeAddress: 10.0.0.5 is also vms[0]'s")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","ipv4HomeAddress":"10.0.0.5/33"}]}""", "vms[0].ipv4HomeAddress: \"10.0.0.5/33\" is not an IPv4 address")]
    [InlineData("""{"vms":[{"mac":"52:54:00:00:00:01","ipv4HomeAddress":"224.0.0.5"}]}""", "vms[0].ipv4HomeAddress: 224.0.0.5 is not a unicast IPv4 address")]
    public void Bad_ipv4_policy_entries_name_the_entry_and_field(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ConfigException>(() => Policy(json)).Message);

    [Fact]
    public void Radius_framed_ip_address_gives_ipv4_static_or_from_the_pool_with_its_netmask()
    {
        static byte[] Accept(params byte[][] attributes) =>
            RadiusTestPackets.Sign(RadiusCode.AccessAccept, 1, new byte[16], attributes.SelectMany(a => a).ToArray(), "s");
        var staticAddress = Accept(RadiusTestPackets.Attribute(8, [10, 200, 0, 7]), RadiusTestPackets.Attribute(9, [255, 255, 255, 0]));
        Assert.True(RadiusProfileReader.TryRead(staticAddress, RadiusAttributeType.FramedIpv6Prefix, out var fixedProfile, out var problem), problem);
        Assert.Equal((Ipv4Address.Parse("10.200.0.7"), (byte)24, true), (fixedProfile.Ipv4HomeAddress!.Value, fixedProfile.Ipv4PrefixLength, fixedProfile.Ipv4Service));
        // RFC 2865 §5.8: 255.255.255.254, "the NAS should select an address": from the LMA's IPv4 pool.
        Assert.True(RadiusProfileReader.TryRead(Accept(RadiusTestPackets.Attribute(8, [255, 255, 255, 254])), RadiusAttributeType.FramedIpv6Prefix, out var pool, out _));
        Assert.Equal(((Ipv4Address?)null, true), (pool.Ipv4HomeAddress, pool.Ipv4Service));
        Assert.True(RadiusProfileReader.TryRead(Accept(), RadiusAttributeType.FramedIpv6Prefix, out var none, out _));
        Assert.False(none.Ipv4Service);
        Assert.False(RadiusProfileReader.TryRead(Accept(RadiusTestPackets.Attribute(9, [255, 0, 255, 0])), RadiusAttributeType.FramedIpv6Prefix, out _, out problem));
        Assert.Contains("Framed-IP-Netmask 255.0.255.0 is not a netmask", problem);
        Assert.False(RadiusProfileReader.TryRead(Accept(RadiusTestPackets.Attribute(8, [224, 0, 0, 1])), RadiusAttributeType.FramedIpv6Prefix, out _, out problem));
        Assert.Contains("224.0.0.1 is not a unicast address", problem);
    }

    [Fact]
    public void The_tunnel_sink_sends_ipv4_by_its_own_socket_and_keeps_each_versions_order()
    {
        using var batch = new PacketBatch(8, 2048);
        // Slots alternate versions: v6 #0, v4 #1, v6 #2, v4 #3, v4 #4.
        byte[] versions = [6, 4, 6, 4, 4];
        for (int i = 0; i < versions.Length; i++)
        {
            batch.Reset(i);
            var slot = batch.Slot(i);
            slot[batch.Headroom] = (byte)(versions[i] << 4);
            slot[batch.Headroom + 1] = (byte)i;
            batch.SetFrame(i, batch.Headroom, 40);
        }
        var v6 = new Recorder();
        var v4 = new Recorder();
        var sink = new Ipv4TunnelSink(v6, v4);
        sink.Send(batch, [0, 1, 2, 3, 4]);
        Assert.Equal([0, 2], v6.Sent);
        Assert.Equal([1, 3, 4], v4.Sent);
        sink.Send(batch, 5); // the range form (super-frame segments)
        Assert.Equal([0, 2, 0, 2], v6.Sent);
        Assert.Equal([1, 3, 4, 1, 3, 4], v4.Sent);
        Assert.Equal(6, sink.Ipv4Packets);
        // An IPv6-only batch goes through unsplit, as the range it was.
        for (int i = 0; i < 5; i++) batch.Slot(i)[batch.Headroom] = 0x60;
        sink.Send(batch, 5);
        Assert.Equal(1, v6.Ranges);
    }

    [Fact]
    public void With_the_packet_uplink_ipv4_goes_by_it_except_what_only_the_protocol_4_socket_can_send()
    {
        using var batch = new PacketBatch(8, 4096);
        var resolved = Ipv6Address.Parse("2001:db8:100::1");
        var unresolved = Ipv6Address.Parse("2001:db8:100::2");
        // #0 v6; #1 v4 small; #2 v4 oversize without GSO (to be fragmented); #3 v4 super-frame (GSO, oversize);
        // #4 v4 to a peer with no AF_PACKET header yet, with a partial UDP checksum the raw socket cannot leave partial.
        (byte Version, int Length, bool Gso, Ipv6Address Peer)[] slots =
            [(6, 100, false, resolved), (4, 100, false, resolved), (4, 2000, false, resolved), (4, 3000, true, resolved), (4, 60, false, unresolved)];
        for (int i = 0; i < slots.Length; i++)
        {
            batch.Reset(i);
            var frame = batch.Slot(i).Slice(batch.Headroom, slots[i].Length);
            if (slots[i].Version == 4)
            {
                Ipv4Packet.WriteHeader(frame, new Ipv4Address(10, 200, 0, 9), new Ipv4Address(198, 51, 100, 20), IpProtocol.Udp, slots[i].Length - 20);
                UdpDatagram.WriteHeader(frame[20..], (ushort)(1000 + i), 2000, slots[i].Length - 28);
            }
            else frame[0] = 0x60;
            frame[1] = (byte)i;
            batch.SetFrame(i, batch.Headroom, slots[i].Length);
            ref var meta = ref batch.Meta(i);
            meta.Destination = slots[i].Peer;
            if (slots[i].Gso) meta.Vnet = new VirtioNetHeader { Flags = VirtioNetHeaderFlags.NeedsChecksum, GsoType = VirtioGsoType.TcpV4, GsoSize = 1400, CsumStart = 20, CsumOffset = 16 };
        }
        // #4's partial checksum: the pseudo-header sum, as a kernel leaves it.
        var f4 = batch.Frame(4);
        uint pseudo = InternetChecksum.PseudoHeader(new Ipv4Address(10, 200, 0, 9), new Ipv4Address(198, 51, 100, 20), 40, (byte)IpProtocol.Udp);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(f4[26..], (ushort)~InternetChecksum.Finish(pseudo));
        batch.Meta(4).Vnet = new VirtioNetHeader { Flags = VirtioNetHeaderFlags.NeedsChecksum, CsumStart = 20, CsumOffset = 6 };

        var uplink = new Recorder();
        var raw = new Recorder();
        var sink = new Ipv4TunnelSink(uplink, raw, new PeersWithHeaders(resolved), tunnelMtu: 1460);
        sink.Send(batch, [0, 1, 2, 3, 4]);
        Assert.Equal([0, 1, 3], uplink.Sent);
        Assert.Equal([2, 4], raw.Sent);
        Assert.Equal((2, 2), (sink.Ipv4PacketUplinkPackets, sink.Ipv4Packets));
        // The raw socket got #4 complete: no metadata left, a checksum that verifies.
        Assert.False(batch.Meta(4).Vnet.NeedsChecksum);
        Assert.True(Ipv4Packet.TryCreate(batch.Frame(4), out var ip, out _));
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out var udp, out _));
        Assert.True(udp.IsChecksumValid(ip.Source, ip.Destination));
        // Without the packet uplink (raw mode) every IPv4 slot takes the protocol-4 socket, as before.
        var rawOnly = new Recorder();
        new Ipv4TunnelSink(new Recorder(), rawOnly).Send(batch, [1, 3]);
        Assert.Equal([1, 3], rawOnly.Sent);
    }

    private sealed class PeersWithHeaders(Ipv6Address peer) : DataPlane.Datapath.ITunnelOffloads
    {
        public bool CarriesSuperFrames(Ipv6Address p) => p == peer;
        public bool CompletesChecksums(Ipv6Address p) => p == peer;
    }

    private sealed class Recorder : ITunnelSink
    {
        public List<int> Sent { get; } = [];
        public int Ranges { get; private set; }

        public void Send(PacketBatch batch, ReadOnlySpan<int> slots)
        {
            foreach (int s in slots) Sent.Add(batch.Frame(s)[1]);
        }

        public void Send(PacketBatch batch, int count)
        {
            Ranges++;
            for (int s = 0; s < count; s++) Sent.Add(batch.Frame(s)[1]);
        }
    }
}
