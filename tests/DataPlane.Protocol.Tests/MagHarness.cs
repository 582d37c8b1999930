using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Protocol.Tests;

/// <summary>Drives one MAG event by event on a hand-held clock, keeping a copy of every action list.</summary>
internal sealed class MagHarness
{
    public static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:0:2::1");
    public static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:0:1::1");
    public static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:00:00:07");
    public static readonly Ipv6Address VmLinkLocal = Ipv6Address.LinkLocalFromMac(VmMac);
    public static readonly PortId Port = new(3);
    public const string Nai = "vm7@test";
    public static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:100:7::/64");

    public MagHarness(Func<MagOptions, MagOptions>? configure = null)
    {
        var options = new MagOptions { ProxyCareOfAddress = Coa, RestartCounter = 1 };
        Mag = new MobileAccessGateway(configure?.Invoke(options) ?? options, new SplitMix64Random(42));
    }

    public MobileAccessGateway Mag { get; }
    public Instant Now { get; set; } = Instant.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
    public MagCounters C => Mag.Counters;

    public List<MagAction> Handle(MagEvent e) => [.. Mag.Handle(e, Now)];

    /// <summary>Advance the clock, ticking at every deadline on the way; returns all actions. With
    /// <paramref name="vmAlive"/> the VM on <see cref="Port"/> is seen by the data path before each tick.</summary>
    public List<MagAction> Advance(TimeSpan by, bool vmAlive = true)
    {
        var end = Now + by;
        var all = new List<MagAction>();
        while (Mag.NextDeadline is { } due && due <= end)
        {
            Now = Instant.Max(Now, due);
            if (vmAlive) Mag.Handle(new MagEvent.ReachabilityConfirmed(Port), Now);
            all.AddRange(Mag.Tick(Now));
        }
        Now = end;
        return all;
    }

    public List<MagAction> Attach(AttachTrigger trigger = AttachTrigger.RouterSolicitation, Ipv6Address? ll = null) =>
        Handle(new MagEvent.AttachmentDetected(Port, trigger, VmMac, ll ?? (trigger == AttachTrigger.Rarp ? null : VmLinkLocal)));

    public static VmProfile Profile(params Ipv6Prefix[] prefixes) => new(Nai, prefixes, Lma);

    /// <summary>Attach and answer policy; returns the first PBU.</summary>
    public BindingUpdate Register(AttachTrigger trigger = AttachTrigger.RouterSolicitation, VmProfile? profile = null)
    {
        var request = Assert.IsType<MagAction.RequestPolicy>(Assert.Single(Attach(trigger)));
        var actions = Handle(new MagEvent.PolicyDecided(request.RequestId, profile ?? Profile()));
        return SinglePbu(actions);
    }

    public static BindingUpdate SinglePbu(IEnumerable<MagAction> actions)
    {
        var send = Assert.Single(actions.OfType<MagAction.SendMobilityMessage>(), s => s.Message is BindingUpdate);
        Assert.Equal(Coa, send.Source);
        Assert.Equal(Lma, send.Destination);
        return (BindingUpdate)send.Message;
    }

    public static IEnumerable<BindingUpdate> Pbus(IEnumerable<MagAction> actions) =>
        actions.OfType<MagAction.SendMobilityMessage>().Select(s => s.Message).OfType<BindingUpdate>();

    /// <summary>The PBA an LMA would send for <paramref name="pbu"/>.</summary>
    public static BindingAcknowledgement Pba(BindingUpdate pbu, BindingAckStatus status = BindingAckStatus.Accepted,
        Ipv6Prefix? hnp = null, ushort? lifetimeUnits = null, PmipTimestamp? timestamp = null, ushort? sequence = null, string nai = Nai)
    {
        var options = new List<MobilityOption> { new HomeNetworkPrefixOption(hnp ?? Hnp), new HandoffIndicatorOption(pbu.HandoffIndicator!.Value) };
        if ((timestamp ?? pbu.Timestamp) is { } ts) options.Add(new TimestampOption(ts));
        options.Add(MobileNodeIdentifierOption.ForNai(nai));
        return new BindingAcknowledgement(status, BindingAckFlags.ProxyRegistration, sequence ?? pbu.Sequence,
            status == BindingAckStatus.Accepted ? lifetimeUnits ?? pbu.Lifetime : (ushort)0)
        { Options = new MobilityOptionList(options) };
    }

    public List<MagAction> Receive(MobilityMessage m) => Handle(new MagEvent.MobilityMessageReceived(Lma, m));

    /// <summary>Register and accept: an established session.</summary>
    public BindingUpdate Establish(AttachTrigger trigger = AttachTrigger.RouterSolicitation)
    {
        var pbu = Register(trigger);
        Now += TimeSpan.FromMilliseconds(20);
        Receive(Pba(pbu));
        Assert.True(Mag.TryGetSession(Port, out var s));
        Assert.Equal(SessionState.Established, s.State);
        return pbu;
    }
}
