using System.Text;
using DataPlane.Host.Configuration;
using DataPlane.Host.Control;
using DataPlane.Host.Policy;
using DataPlane.Host.Policy.Radius;
using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Fuzz;

/// <summary>The targets' names, without touching any instrumented code (see Program.cs).</summary>
public static class TargetNames
{
    public static readonly string[] All = ["ethernet", "icmpv6", "mobility", "esp", "dhcpv4", "radius", "config", "control", "from-port", "from-tunnel", "machines"];
}

/// <summary>An input broke a property the code promises (not just "it threw"): reported to afl as a crash.</summary>
public sealed class FuzzPropertyException(string message) : Exception(message);

/// <summary>
/// The fuzzing targets, by name. Each takes one input and must return normally whatever the bytes are: the
/// parsers report malformed input as a <see cref="WireError"/> (or a <see cref="ConfigException"/> for
/// configuration text), never by throwing; where a parsed representation can be written back, writing and
/// parsing again must give the same value. An exception escaping a target is a bug (afl counts a crash).
/// </summary>
public static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["ethernet"] = Ethernet,
        ["icmpv6"] = Icmpv6,
        ["mobility"] = Mobility,
        ["esp"] = Esp,
        ["dhcpv4"] = Dhcpv4,
        ["radius"] = Radius,
        ["config"] = Config,
        ["control"] = Control,
        ["from-port"] = input => DatapathHarness.Shared.FromPort(input),
        ["from-tunnel"] = input => DatapathHarness.Shared.FromTunnel(input),
        ["machines"] = input => DatapathHarness.Shared.Signalling(input),
    };

    private static readonly Ipv6Address Source = Ipv6Address.Parse("2001:db8:100:1::2");
    private static readonly Ipv6Address Destination = Ipv6Address.Parse("2001:db8:100::1");

    /// <summary>Ethernet, ARP, IPv4, IPv6 and the IPv6 extension header chain: the one-pass classifier and each view.</summary>
    public static void Ethernet(byte[] input)
    {
        var frame = (byte[])input.Clone();
        FrameClassifier.Classify(frame, out var info);
        if (!EthernetFrame.TryCreate(frame, out var eth, out _)) return;
        var payload = eth.Payload;
        ArpRepr.TryParse(payload, out _, out _);
        ArpPacket.TryCreate(payload, out _, out _);
        if (Ipv4Packet.TryCreate(payload, out _, out _)) { }
        if (Ipv6Packet.TryCreate(payload, out var ip6, out _))
            Ipv6HeaderChain.TryWalk(ip6.Payload, ip6.NextHeader, out _, out _);
        if (info.Kind != FrameKind.Malformed && info.NetworkOffset + info.NetworkLength > frame.Length)
            throw new FuzzPropertyException($"classifier points past the frame: {info.NetworkOffset}+{info.NetworkLength} > {frame.Length}");
    }

    /// <summary>ICMPv6 and Neighbor Discovery messages with their options.</summary>
    public static void Icmpv6(byte[] input)
    {
        var buffer = (byte[])input.Clone();
        Icmpv6Packet.TryCreate(buffer, out _, out _);
        Icmpv6Packet.TryCreate(buffer, Source, Destination, out _, out _);
        RouterSolicitation.TryParse(input, out _, out _);
        RouterAdvertisement.TryParse(input, out _, out _);
        NeighborSolicitation.TryParse(input, out _, out _);
        NeighborAdvertisement.TryParse(input, out _, out _);
        Icmpv6ErrorMessage.TryParse(input, out _, out _);
        PacketTooBig.TryParse(input, out _, out _);
        RouterAdvertisementView.TryCreate(buffer, out _, out _);
        NeighborSolicitationView.TryCreate(buffer, out _, out _);
        NeighborAdvertisementView.TryCreate(buffer, out _, out _);
        RedirectView.TryCreate(buffer, out _, out _);
        EchoView.TryCreate(buffer, out _, out _);
    }

    /// <summary>The Mobility Header and its options: parse, write back, parse again: the same message.</summary>
    public static void Mobility(byte[] input)
    {
        MobilityHeader.TryValidate(input, out _, out _);
        if (!MobilityMessage.TryParse(input, out var message, out _)) return;
        var written = new byte[message!.GetLength()];
        int n = message.WriteTo(written, Source, Destination);
        if (!MobilityMessage.TryParse(written.AsSpan(0, n), out var again, out var error))
            throw new FuzzPropertyException($"a parsed {message.Type} written back does not parse: {error}");
        if (!Equals(message, again)) throw new FuzzPropertyException($"a parsed {message.Type} changed in a write/parse round trip");
    }

    private static readonly byte[] EspKey = Convert.FromHexString("8f3c2a7be1d94f06a5c3127e9b4d80f1c6a2e57d03b9481fa6e2c5d7190b3e4a");
    private static readonly byte[] EspKey2 = Convert.FromHexString("1d5e93b07a2c4f68e0b1c7d3a9f24e6b5c8d0a173e9f62b4d1c0a7e3958b2f6c");
    private static readonly SignallingSecurity EspReceiver = new(new SignallingSecurityOptions
    {
        Role = SecurityRole.Responder,
        Peers = [new SecurityPeerOptions(Source, [new SecurityAssociationPairOptions("fuzz", EspAlgorithm.NullHmacSha256_128, 0x1001, EspKey, 0x2001, EspKey2)])],
    }, new SplitMix64Random(1));
    // A second pair for the seal-then-open round trip, so fuzzed packets never touch its replay window.
    private static readonly byte[] RoundTripKeyUp = Convert.FromHexString("3b9f0c5e71a2d84f6e0b93c7a15d2e8f4c6a0b19d73e5f28a4c1b0e6d9527f3a");
    private static readonly byte[] RoundTripKeyDown = Convert.FromHexString("c41e7a2d905b3f86e1d0a7c45b9e2f137d8a6c0e4b2f9153a7d6e0c8b14f29a5");
    private static readonly SignallingSecurity EspSender = new(new SignallingSecurityOptions
    {
        Peers = [new SecurityPeerOptions(Destination, [new SecurityAssociationPairOptions("fuzz", EspAlgorithm.NullHmacSha256_128, 0x3001, RoundTripKeyDown, 0x4001, RoundTripKeyUp)])],
    }, new SplitMix64Random(2));
    private static readonly SignallingSecurity EspRoundTripReceiver = new(new SignallingSecurityOptions
    {
        Role = SecurityRole.Responder,
        Peers = [new SecurityPeerOptions(Source, [new SecurityAssociationPairOptions("fuzz", EspAlgorithm.NullHmacSha256_128, 0x4001, RoundTripKeyUp, 0x3001, RoundTripKeyDown)])],
    }, new SplitMix64Random(3));
    private static readonly byte[] EspScratch = new byte[70_000];

    /// <summary>ESP: the format, inbound processing of arbitrary bytes, and sealing then opening any payload.</summary>
    public static void Esp(byte[] input)
    {
        EspRepr.TryParse(input, 16, out _, out _);
        EspPacket.TryValidate(input, 16, out _);
        EspTrailer.TryRead(input, out _, out _, out _);
        var copy = (byte[])input.Clone();
        EspReceiver.Unprotect(Source, Destination, copy, Instant.UnixEpoch, out _);
        if (input.Length > 4096) return;
        if (!EspSender.TryProtect(Destination, input, EspScratch, Instant.UnixEpoch, out int length)) throw new FuzzPropertyException("could not seal");
        var sealedCopy = EspScratch.AsSpan(0, length).ToArray();
        var verdict = EspRoundTripReceiver.Unprotect(Source, Destination, sealedCopy, Instant.UnixEpoch, out var payload);
        if (!verdict.Accepted || !sealedCopy.AsSpan(payload).SequenceEqual(input))
            throw new FuzzPropertyException($"a sealed payload did not open to itself: {verdict.Reason}");
        EspSender.MarkPersisted();
        EspReceiver.MarkPersisted();
        EspRoundTripReceiver.MarkPersisted();
    }

    /// <summary>DHCPv4 (what a VM sends the MAG's DHCP server, and the guard's view of server messages).</summary>
    public static void Dhcpv4(byte[] input)
    {
        Dhcpv4Packet.TryCreate((byte[])input.Clone(), out _, out _);
        if (!DhcpRepr.TryParse(input, out var repr, out _)) return;
        var written = new byte[1500];
        int n;
        try
        {
            n = repr.WriteTo(written);
        }
        catch (ArgumentException)
        {
            return; // more options than one frame holds: a caller buffer limit, not a parse bug
        }
        if (!DhcpRepr.TryParse(written.AsSpan(0, n), out var again, out var error))
            throw new FuzzPropertyException($"a parsed DHCP {repr.MessageType} written back does not parse: {error}");
        if (!Equals(repr, again)) throw new FuzzPropertyException($"a parsed DHCP {repr.MessageType} changed in a write/parse round trip");
    }

    private static readonly byte[] RadiusSecret = "fuzzing-secret"u8.ToArray();
    private static readonly byte[] RadiusAuthenticator = new byte[16];

    /// <summary>RADIUS answers: structure, authenticators, the profile read from the attributes.</summary>
    public static void Radius(byte[] input)
    {
        RadiusPacket.CheckStructure(input, out _);
        RadiusPacket.VerifyResponse(input, RadiusAuthenticator, RadiusSecret);
        RadiusPacket.VerifyRequestMessageAuthenticator(input, RadiusSecret);
        RadiusProfileReader.TryRead(input, RadiusAttributeType.FramedIpv6Prefix, out _, out _);
        RadiusProfileReader.ReplyMessage(input);
    }

    /// <summary>The JSON configuration files (MAG, LMA, policy): only <see cref="ConfigException"/> may come out.</summary>
    public static void Config(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        foreach (var parse in new Action<ConfigObject>[] { r => MagConfig.Parse(r), r => LmaConfig.Parse(r), r => PolicyFile.Parse(r) })
        {
            try
            {
                parse(ConfigObject.Parse(text, "fuzz.json"));
            }
            catch (ConfigException)
            {
            }
        }
    }

    /// <summary>Control-socket requests (one JSON line each) and responses.</summary>
    public static void Control(byte[] input)
    {
        var line = Encoding.UTF8.GetString(input);
        var request = ControlRequest.TryParse(line, out _);
        request?.String("name");
        try
        {
            ControlResponse.Parse(line);
        }
        catch (FormatException)
        {
            // What `dataplane ctl` reports as "the daemon's answer is not …" (exit 2).
        }
    }
}
