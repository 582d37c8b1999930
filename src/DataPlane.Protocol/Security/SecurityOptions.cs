using DataPlane.Wire;

namespace DataPlane.Protocol.Security;

/// <summary>
/// One manually keyed SA pair with a peer (RFC 4301 SAs are unidirectional; the pair is what an operator
/// configures on both ends, mirrored): the SPI and key the peer uses to send to us, and the SPI and key we use
/// to send to it. Our inbound is the peer's outbound.
/// </summary>
/// <param name="Name">How logs, `ctl sas` and errors name it (the configuration's key path by default).</param>
public sealed record SecurityAssociationPairOptions(string Name, EspAlgorithm Algorithm, uint InboundSpi, byte[] InboundKey, uint OutboundSpi, byte[] OutboundKey);

/// <summary>
/// The SAs shared with one peer (the LMA, for a MAG; each MAG, for the LMA). More than one pair during a key
/// rollover: all of them are accepted inbound; which one we send with is the <see cref="SecurityRole"/>'s rule.
/// </summary>
public sealed record SecurityPeerOptions(Ipv6Address Address, IReadOnlyList<SecurityAssociationPairOptions> Pairs);

/// <summary>Which end of a pair picks the SA for rollover (docs/security.md, "Key rollover").</summary>
public enum SecurityRole : byte
{
    /// <summary>The MAG: sends with the newest pair (the last listed) as soon as it is configured.</summary>
    Initiator,
    /// <summary>The LMA: sends with the pair the peer was last heard on (the first listed before that), so it
    /// follows each MAG onto its new keys without a flag day.</summary>
    Responder,
}

/// <summary>
/// RFC 5213 §4 protection of the Mobility Header between MAG and LMA: ESP in transport mode with manual keys. With
/// no peers configured it is off (Mobility Headers travel in the clear, as before); with any, every Mobility
/// Header to or from any address needs an SA: one to or from an address without one is dropped and counted.
/// </summary>
public sealed record SignallingSecurityOptions
{
    /// <summary>RFC 4303 §3.4.3: "a window size of 64 is preferred and SHOULD be employed as the default".</summary>
    public const int DefaultReplayWindow = 64;

    /// <summary>
    /// How far ahead of the last persisted value the outbound sequence number may run before the reservation must
    /// be written again; also the most a restart skips. 2^16: a write per 65,536 messages, 65,536 restarts before
    /// a 32-bit SA is used up.
    /// </summary>
    public const uint SequenceReservationBlock = 1u << 16;

    public static SignallingSecurityOptions Disabled { get; } = new();

    public IReadOnlyList<SecurityPeerOptions> Peers { get; init; } = [];
    public SecurityRole Role { get; init; } = SecurityRole.Initiator;
    public int ReplayWindow { get; init; } = DefaultReplayWindow;

    public bool Enabled => Peers.Count > 0;

    /// <summary>Throws <see cref="ProtocolOptionsException"/> naming the first problem.</summary>
    public void Validate()
    {
        if (ReplayWindow < 64 || ReplayWindow > 4096 || ReplayWindow % 64 != 0)
            throw new ProtocolOptionsException("replayWindow", $"{ReplayWindow} is not a multiple of 64 from 64 to 4096");
        var peers = new HashSet<Ipv6Address>();
        var inbound = new Dictionary<uint, string>();
        foreach (var peer in Peers)
        {
            if (!peers.Add(peer.Address)) throw new ProtocolOptionsException("peers", $"{peer.Address} is listed twice");
            if (peer.Pairs.Count == 0) throw new ProtocolOptionsException("peers", $"{peer.Address} has no security association");
            var outbound = new Dictionary<uint, string>();
            foreach (var pair in peer.Pairs)
            {
                CheckSpi(pair.Name, "inboundSpi", pair.InboundSpi);
                CheckSpi(pair.Name, "outboundSpi", pair.OutboundSpi);
                int length = EspAlgorithms.KeyMaterialLength(pair.Algorithm);
                if (pair.InboundKey.Length != length)
                    throw new ProtocolOptionsException($"{pair.Name}.inboundKey", $"has {pair.InboundKey.Length} octets, {EspAlgorithms.Name(pair.Algorithm)} needs {length}");
                if (pair.OutboundKey.Length != length)
                    throw new ProtocolOptionsException($"{pair.Name}.outboundKey", $"has {pair.OutboundKey.Length} octets, {EspAlgorithms.Name(pair.Algorithm)} needs {length}");
                // The SA look-up is by SPI alone (RFC 4303 §3.4.2, unicast), so inbound SPIs are unique on this host.
                if (!inbound.TryAdd(pair.InboundSpi, pair.Name))
                    throw new ProtocolOptionsException($"{pair.Name}.inboundSpi", $"{pair.InboundSpi} is already used by {inbound[pair.InboundSpi]}");
                if (!outbound.TryAdd(pair.OutboundSpi, pair.Name))
                    throw new ProtocolOptionsException($"{pair.Name}.outboundSpi", $"{pair.OutboundSpi} is already used by {outbound[pair.OutboundSpi]}");
            }
        }
    }

    private static void CheckSpi(string name, string key, uint spi)
    {
        // RFC 4303 §2.1: 1–255 are reserved by IANA, 0 for local use and never sent.
        if (spi < 256) throw new ProtocolOptionsException($"{name}.{key}", $"{spi} is reserved (RFC 4303 §2.1: use 256 or more)");
    }
}
