using System.Buffers.Binary;
using Xunit.Abstractions;

namespace DataPlane.Wire.Tests;

/// <summary>
/// The wire formats of the fast handover (issue 16): the Transient Binding option (RFC 6058), Handover Initiate and
/// Acknowledge (RFC 5568 with RFC 5949's flags), our delivery marker in an Experimental Mobility Option (RFC 5096),
/// and the downlink identity two MAGs compute over their copies of one packet. Byte vectors written out by hand from
/// the RFCs' figures, round trips, malformed input, and tshark as the judge of what it dissects.
/// </summary>
public sealed class HandoverWireTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-handover-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Ipv6Address Mag = JudgeFrames.Mag;
    private static readonly Ipv6Address Lma = JudgeFrames.Lma;

    internal static DeliveryMarker SampleMarker => new(true, new DownlinkIdentity(DownlinkIdentityKind.TcpData, 0x0123456789abcdefUL, 1000, 2448));

    internal static HandoverInitiate StopNotice() => new(7, HandoverInitiateFlags.Proxy, HandoverInitiateCode.CompletionOfForwarding)
    {
        Options = new([
            new HomeNetworkPrefixOption(JudgeFrames.Hnp),
            MobileNodeLinkLayerIdentifierOption.ForMac(JudgeFrames.VmMac),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
            new DeliveryMarkerOption(SampleMarker),
        ]),
    };

    internal static HandoverAcknowledge StopAcknowledged() => new(7, HandoverAcknowledgeFlags.Proxy, HandoverAcknowledgeCode.HandoverAccepted)
    {
        Options = new([MobileNodeIdentifierOption.ForNai("vm1@example.com")]),
    };

    internal static BindingUpdate PreRegistration() => JudgeFrames.Pbu() with
    {
        Options = new([
            new HomeNetworkPrefixOption(JudgeFrames.Hnp),
            new HandoffIndicatorOption(HandoffIndicator.HandoffBetweenMagsForSameInterface),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
            new TimestampOption(new PmipTimestamp(0x00006553f1008000)),
            MobileNodeLinkLayerIdentifierOption.ForMac(JudgeFrames.VmMac),
            new LinkLocalAddressOption(JudgeFrames.SharedLinkLocal),
            MobileNodeIdentifierOption.ForNai("vm1@example.com"),
            TransientBindingOption.For(latePathSwitch: true, TimeSpan.FromSeconds(20)),
        ]),
    };

    [Fact]
    public void Diagnostic_dump()
    {
        var path = Path.Combine(_dir, "x.pcap");
        using (var w = new PcapWriter(File.Create(path)))
        {
            w.Write(JudgeFrames.MobilityFrame(PreRegistration(), Mag, Lma, JudgeFrames.MagMac, JudgeFrames.LmaMac), TimeSpan.FromSeconds(1_700_000_000));
            w.Write(JudgeFrames.MobilityFrame(StopNotice(), Mag, Lma, JudgeFrames.MagMac, JudgeFrames.LmaMac), TimeSpan.FromSeconds(1_700_000_001));
            w.Write(JudgeFrames.MobilityFrame(StopAcknowledged(), Lma, Mag, JudgeFrames.LmaMac, JudgeFrames.MagMac), TimeSpan.FromSeconds(1_700_000_002));
        }
        output.WriteLine(Tshark.Run("-r", path, "-V", "-x"));
        output.WriteLine(Hex.Of(File.ReadAllBytes(path)));
    }
}
