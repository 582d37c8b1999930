using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// An LMA data path and two MAG data paths wired together in-process on one clock: Mobility Header
/// messages go through bytes (written with checksums, received through the MH socket entry points), the
/// policy store answers at once, and data packets are carried by hand between verdicts and entry points.
/// </summary>
internal sealed class DomainFixture
{
    public static readonly Ipv6Address LmaAddress = MagFixture.Lma;
    public static readonly Ipv6Address Mag1 = MagFixture.Coa;
    public static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:ffff::3");

    /// <summary>A second VM the policy knows (for VM-to-VM tests): its MAC, NAI, prefix and SLAAC address.</summary>
    public static readonly MacAddress SecondMac = MacAddress.Parse("52:54:00:ab:cd:ef");
    public const string SecondNai = "52-54-00-ab-cd-ef@vm.test";
    public static readonly Ipv6Prefix SecondHnp = Ipv6Prefix.Parse("2001:db8:7::/64");
    public static readonly Ipv6Address SecondAddress = Ipv6Address.Parse("2001:db8:7::5054:ff:feab:cdef");

    /// <param name="ipv4">Dual stack (RFC 5844): the LMA has the IPv4 home network 10.200.0.0/24 and the VM's profile its address 10.200.0.9.</param>
    /// <param name="esp">Signalling in ESP (RFC 5213 §4): each MAG has a security association pair with the LMA, and
    /// every Mobility Header message between them must travel protected (<see cref="Settle"/> checks it).</param>
    public DomainFixture(LmaDatapathOptions? lmaOptions = null, bool ipv4 = false, Func<LmaOptions, LmaOptions>? configureLma = null, bool esp = false)
    {
        SignallingSecurity? m1Security = null, m2Security = null, lmaSecurity = null;
        if (esp)
        {
            static byte[] Key(int seed)
            {
                var key = new byte[32];
                new Random(seed).NextBytes(key);
                return key;
            }
            var p1 = new SecurityAssociationPairOptions("m1", EspAlgorithm.NullHmacSha256_128, 0x2001, Key(1), 0x1001, Key(2));
            var p2 = new SecurityAssociationPairOptions("m2", EspAlgorithm.NullHmacSha256_128, 0x2002, Key(3), 0x1002, Key(4));
            static SecurityAssociationPairOptions Mirror(SecurityAssociationPairOptions p) =>
                p with { InboundSpi = p.OutboundSpi, InboundKey = p.OutboundKey, OutboundSpi = p.InboundSpi, OutboundKey = p.InboundKey };
            m1Security = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new(LmaAddress, [p1])] }, new SplitMix64Random(21));
            m2Security = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new(LmaAddress, [p2])] }, new SplitMix64Random(22));
            lmaSecurity = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new(Mag1, [Mirror(p1)]), new(Mag2, [Mirror(p2)])], Role = SecurityRole.Responder },
                new SplitMix64Random(23));
        }
        _esp = esp;
        var policy = new InMemoryLmaPolicy();
        policy.SetProfile(MagFixture.Nai, new LmaMobileNodeProfile([MagFixture.Hnp]) { Ipv4Service = ipv4, Ipv4HomeAddress = ipv4 ? MagFixture.VmIpv4 : null });
        policy.SetProfile(SecondNai, new LmaMobileNodeProfile([SecondHnp]));
        Policy = policy;
        _profile = ipv4
            ? _ => MagFixture.Ipv4Profile(dualStack: true) with { Ipv4HomeAddress = MagFixture.VmIpv4, Ipv4PrefixLength = 24 }
            : _ => MagFixture.Profile();
        var options = new LmaOptions
        {
            LocalMobilityAnchorAddress = LmaAddress, AuthorizedMags = new HashSet<Ipv6Address> { Mag1, Mag2 }, RestartCounter = 1,
            Ipv4HomeNetwork = ipv4 ? new Ipv4HomeNetwork(Ipv4Prefix.Parse("10.200.0.0/24"), MagFixture.Router4) : null,
        };
        options = configureLma?.Invoke(options) ?? options;
        Lma = new LmaDatapath(new LocalMobilityAnchor(options, policy, new SplitMix64Random(3)), lmaOptions, lmaSecurity);
        M1 = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Mag1 }, new SplitMix64Random(11)), null, m1Security);
        M2 = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Mag2 }, new SplitMix64Random(12)), null, m2Security);
        M1.AddPort(MagFixture.Port, "vif1.0");
        M2.AddPort(MagFixture.Port, "vif7.0");
    }

    private readonly Func<MacAddress, VmProfile> _profile;
    private readonly bool _esp;

    public InMemoryLmaPolicy Policy { get; }

    /// <summary>MAG policy answers for VMs other than the fixture's own (by MAC).</summary>
    public Dictionary<MacAddress, VmProfile> Profiles { get; } = [];

    public LmaDatapath Lma { get; }
    public MagDatapath M1 { get; }
    public MagDatapath M2 { get; }
    public Instant Now { get; set; } = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

    /// <summary>Frames the MAGs sent to their ports (RAs and the like) while pumping.</summary>
    public List<(MagDatapath Mag, byte[] Frame)> PortFrames { get; } = [];

    public MagDatapath MagAt(Ipv6Address address) => address == Mag1 ? M1 : M2;

    /// <summary>The VM announces itself on <paramref name="mag"/>'s port with <paramref name="frameHex"/>; the domain settles.</summary>
    public void Attach(MagDatapath mag, string frameHex, PortId? port = null)
    {
        var p = Packet.Of(frameHex);
        Assert.Equal(VerdictKind.Consumed, mag.FromPort(port ?? MagFixture.Port, p.Buffer, p.Offset, p.Length, OffloadInfo.None, Now).Kind);
        Settle();
    }

    /// <summary>Answer policy requests and carry Mobility Header messages (5 ms each way) until nothing moves.</summary>
    public void Settle()
    {
        for (int round = 0; round < 20; round++)
        {
            bool moved = false;
            foreach (var mag in new[] { M1, M2 })
            {
                foreach (var request in mag.HostActions.OfType<MagAction.RequestPolicy>().ToList())
                {
                    var profile = Profiles.GetValueOrDefault(request.Mac)
                                  ?? (request.Mac == SecondMac ? new VmProfile(SecondNai, [SecondHnp], LmaAddress) : _profile(request.Mac));
                    mag.Handle(new MagEvent.PolicyDecided(request.RequestId, profile), Now);
                    moved = true;
                }
                mag.ClearHostActions();
                foreach (var (meta, bytes) in MagFixture.TakeControl(mag.ControlOutput))
                {
                    if (meta.Sink == ControlSink.Port)
                    {
                        PortFrames.Add((mag, bytes));
                        continue;
                    }
                    Now += TimeSpan.FromMilliseconds(5);
                    Assert.Equal(LmaAddress, meta.Destination);
                    Assert.Equal(_esp ? ControlSink.EspSocket : ControlSink.MobilityHeaderSocket, meta.Sink);
                    Assert.True(_esp ? Lma.ReceiveEsp(bytes, meta.Source, meta.Destination, Now) : Lma.ReceiveMobilityMessage(bytes, meta.Source, meta.Destination, Now));
                    moved = true;
                }
            }
            foreach (var (meta, bytes) in MagFixture.TakeControl(Lma.ControlOutput))
            {
                Assert.Equal(_esp ? ControlSink.EspSocket : ControlSink.MobilityHeaderSocket, meta.Sink);
                Now += TimeSpan.FromMilliseconds(5);
                var to = MagAt(meta.Destination);
                Assert.True(_esp ? to.ReceiveEsp(bytes, meta.Source, meta.Destination, Now) : to.ReceiveMobilityMessage(bytes, meta.Source, meta.Destination, Now));
                moved = true;
            }
            Lma.ClearHostActions();
            if (!moved) return;
        }
        Assert.Fail("the domain did not settle");
    }
}
