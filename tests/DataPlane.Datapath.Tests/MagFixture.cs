using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Datapath.Tests;

/// <summary>
/// One MAG data path with its machine on a hand-held clock, one access port, and helpers that play the
/// policy store and the LMA (synthetic PolicyDecided events and PBAs written to bytes and received through
/// the MH socket entry point).
/// </summary>
internal sealed partial class MagFixture
{
    public static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:12:34:56");
    public static readonly Ipv6Address VmLinkLocal = Ipv6Address.LinkLocalFromMac(VmMac);
    public static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:1::/64");
    public static readonly Ipv6Address VmAddress = Ipv6Address.Parse("2001:db8:1::5054:ff:fe12:3456");
    public static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:2::1");
    public static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:ffff::2");
    public static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:ffff::1");
    public static readonly MacAddress SharedMac = PmipDefaults.SharedMagMacAddress;
    public static readonly Ipv6Address SharedLinkLocal = PmipDefaults.SharedMagLinkLocalAddress;
    public static readonly PortId Port = new(1);
    public const string Nai = "52-54-00-12-34-56@vm.test";

    public MagFixture(Func<MagOptions, MagOptions>? machine = null, MagDatapathOptions? options = null, MacAddress? configuredMac = null,
        Ipv6Address? coa = null)
    {
        var mo = new MagOptions { ProxyCareOfAddress = coa ?? Coa, RestartCounter = 1 };
        Mag = new MobileAccessGateway(machine?.Invoke(mo) ?? mo, new SplitMix64Random(7));
        Dp = new MagDatapath(Mag, options);
        Dp.AddPort(Port, "vif1.0", configuredMac);
    }

    public MobileAccessGateway Mag { get; }
    public MagDatapath Dp { get; }
    public Instant Now { get; set; } = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

    public Verdict FromVm(Packet p, OffloadInfo offload = default, PortId? port = null) =>
        Dp.FromPort(port ?? Port, p.Buffer, p.Offset, p.Length, offload, Now);

    public (Verdict Verdict, Packet Packet) FromVm(byte[] frame, OffloadInfo offload = default, PortId? port = null)
    {
        var p = Packet.Of(frame);
        return (FromVm(p, offload, port), p);
    }

    public (Verdict Verdict, Packet Packet) FromVm(string hex) => FromVm(Hex.Bytes(hex));

    public Verdict FromTunnel(Packet p, Ipv6Address? outerSource = null, Ipv6Address? outerDestination = null) =>
        Dp.FromTunnel(p.Buffer, p.Offset, p.Length, outerSource ?? Lma, outerDestination ?? Coa, Now);

    /// <summary>Copy out and clear the control output.</summary>
    public List<(ControlFrame Meta, byte[] Bytes)> TakeControl() => TakeControl(Dp.ControlOutput);

    public static List<(ControlFrame Meta, byte[] Bytes)> TakeControl(ControlOutput output)
    {
        var all = new List<(ControlFrame, byte[])>();
        for (int i = 0; i < output.Count; i++) all.Add((output[i], output.Frame(i).ToArray()));
        output.Clear();
        return all;
    }

    public List<MagAction> TakeHostActions()
    {
        var all = Dp.HostActions.ToList();
        Dp.ClearHostActions();
        return all;
    }

    public static VmProfile Profile(params Ipv6Prefix[] prefixes) => new(Nai, prefixes.Length == 0 ? [Hnp] : prefixes, Lma);

    /// <summary>Answer the pending policy request; returns the PBU that went to the MH socket (checksum verified).</summary>
    public BindingUpdate AnswerPolicy(VmProfile? profile = null)
    {
        var request = Assert.Single(TakeHostActions().OfType<MagAction.RequestPolicy>());
        Dp.Handle(new MagEvent.PolicyDecided(request.RequestId, profile ?? Profile()), Now);
        return TakePbu();
    }

    public BindingUpdate TakePbu()
    {
        var (meta, bytes) = Assert.Single(TakeControl(), c => c.Meta.Sink == ControlSink.MobilityHeaderSocket);
        Assert.Equal(ControlMessageKind.MobilityMessage, meta.Kind);
        Assert.True(MobilityHeader.TryCreate(bytes, out var mh, out _));
        Assert.True(mh.IsChecksumValid(meta.Source, meta.Destination), "MH checksum filled for the uplink addresses");
        Assert.True(MobilityMessage.TryParse(bytes, out var message, out var error), error.ToString());
        return Assert.IsType<BindingUpdate>(message);
    }

    /// <summary>The PBA an LMA would answer, written to bytes and received through the MH socket entry point 20 ms later.</summary>
    public void AcceptPbu(BindingUpdate pbu, Ipv6Prefix? hnp = null)
    {
        Now += TimeSpan.FromMilliseconds(20);
        var pba = new BindingAcknowledgement(BindingAckStatus.Accepted, BindingAckFlags.ProxyRegistration, pbu.Sequence, pbu.Lifetime)
        {
            Options = new MobilityOptionList([
                new HomeNetworkPrefixOption(hnp ?? Hnp), new HandoffIndicatorOption(pbu.HandoffIndicator!.Value),
                new TimestampOption(pbu.Timestamp!.Value), MobileNodeIdentifierOption.ForNai(Nai)]),
        };
        var bytes = new byte[pba.GetLength()];
        pba.WriteTo(bytes, Lma, Coa);
        Assert.True(Dp.ReceiveMobilityMessage(bytes, Lma, Coa, Now));
    }

    /// <summary>The VM sends an RS, the policy store and the LMA say yes: returns the RA frame; everything else is cleared.</summary>
    public byte[] Establish()
    {
        Assert.Equal(VerdictKind.Consumed, FromVm(ScapyVectors.RouterSolicitation).Verdict.Kind);
        AcceptPbu(AnswerPolicy());
        var ra = Assert.Single(TakeControl(), c => c.Meta.Kind == ControlMessageKind.RouterAdvertisement);
        TakeHostActions();
        Assert.True(Mag.TryGetSession(Port, out var s));
        Assert.Equal(SessionState.Established, s.State);
        return ra.Bytes;
    }
}
