using DataPlane.Wire;

namespace DataPlane.Protocol.Security;

/// <summary>The outcome of inbound ESP processing: accepted (the payload is a Mobility Header to hand on) or why not.</summary>
public readonly record struct SecurityVerdict(bool Accepted, SecurityDropReason Reason, SecurityAssociation? Association)
{
    public static SecurityVerdict Accept(SecurityAssociation sa) => new(true, default, sa);
    public static SecurityVerdict Drop(SecurityDropReason reason, SecurityAssociation? sa = null) => new(false, reason, sa);
}

/// <summary>Persisted across restarts (RFC 4303 §3.3.3 with manual keys): per SA, the outbound reservation or the inbound right edge.</summary>
public readonly record struct SecurityStateKey(SaDirection Direction, Ipv6Address Peer, uint Spi);

/// <summary>Counters of the whole policy: drops by reason, and what passed.</summary>
public sealed class SignallingSecurityCounters
{
    public readonly LabeledCounter<SecurityDropReason> Drops = new();
    public long Protected;
    public long Accepted;
    /// <summary>Times the outbound reservation moved ahead and had to be persisted before sending.</summary>
    public long Reservations;
}

/// <summary>
/// The security association database and the RFC 5213 §4.2 policy for the Mobility Header, sans-I/O: the data path
/// hands it every Mobility Header it sends (<see cref="TryProtect"/>) and every one it receives, in ESP
/// (<see cref="Unprotect"/>) or in the clear (<see cref="AcceptPlaintext"/>). The policy selects on the peer
/// address and "proto = MH" only, never on the MH type, so every message type — PBU, PBA, Heartbeat, and any the
/// machines add later (Binding Revocation, UPN/UPA, LRI/LRA) — is protected without a change here.
/// <para>
/// Sequence numbers survive restarts (RFC 4303 §3.3.3: with manual keys "the sequence number counter at the
/// sender MUST be correctly maintained across local reboots"): the outbound counter runs only up to a reserved
/// high-water mark; passing it moves the mark <see cref="SignallingSecurityOptions.SequenceReservationBlock"/>
/// ahead and raises <see cref="MustPersistBeforeSending"/>, and the host writes <see cref="ExportState"/> to disk
/// before it sends anything. After a restart, <see cref="RestoreState"/> starts past the mark: at most one block is
/// skipped, none is reused. The inbound right edges are persisted too (lazily, <see cref="StateChanged"/>), so a
/// restarted receiver does not take a recorded old packet for new.
/// </para>
/// No syscalls, clocks or threads; nothing allocated per message. Not thread-safe: the packet loop owns it.
/// </summary>
public sealed class SignallingSecurity : IDisposable
{
    private readonly IRandomSource _random;
    private readonly Dictionary<uint, SecurityAssociation> _inbound = [];
    private readonly Dictionary<Ipv6Address, Peer> _peers = [];
    private readonly Dictionary<SecurityStateKey, uint> _persisted = [];
    private SignallingSecurityOptions _options;
    /// <summary>The high half of every AES-GCM IV: random per process (IV = epoch ‖ sequence), a second guard
    /// against IV reuse should the persisted sequence state ever be lost (RFC 4106 §3.1: an IV never repeats under a key).</summary>
    private readonly uint _ivEpoch;

    public SignallingSecurity(SignallingSecurityOptions options, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _random = random;
        _ivEpoch = (uint)(random.NextUInt64() >> 32);
        _options = options;
        Build(options, previous: null);
    }

    public SignallingSecurityOptions Options => _options;

    /// <summary>Keys are configured: every Mobility Header goes in ESP.</summary>
    public bool Enabled => _options.Enabled;

    public SignallingSecurityCounters Counters { get; } = new();

    /// <summary>An outbound reservation moved since the last <see cref="MarkPersisted"/>: persist before sending.</summary>
    public bool MustPersistBeforeSending { get; private set; }

    /// <summary>Anything in <see cref="ExportState"/> changed since the last <see cref="MarkPersisted"/>.</summary>
    public bool StateChanged { get; private set; }

    /// <summary>Bytes ESP adds to a Mobility Header at most (header, IV, padding, trailer, ICV).</summary>
    public const int MaxOverhead = EspPacket.HeaderLength + EspAlgorithms.GcmIvLength + 3 + EspPacket.TrailerLength + EspAlgorithms.GcmIcvLength;

    public IEnumerable<SecurityAssociation> Associations =>
        _peers.Values.SelectMany(p => p.Pairs.SelectMany(x => new[] { x.Inbound, x.Outbound }));

    /// <summary>The pair we send to <paramref name="peer"/> with now (null: none).</summary>
    public SecurityAssociation? OutboundFor(Ipv6Address peer) => _peers.TryGetValue(peer, out var p) ? p.Sending.Outbound : null;

    // ---- Outbound --------------------------------------------------------------------------------

    /// <summary>
    /// Wrap <paramref name="mobilityHeader"/> for <paramref name="destination"/> into <paramref name="output"/>
    /// (at least its length plus <see cref="MaxOverhead"/>). False, counted, when there is no SA for the peer or
    /// its sequence numbers are used up; the message is then not sent at all.
    /// </summary>
    public bool TryProtect(Ipv6Address destination, ReadOnlySpan<byte> mobilityHeader, Span<byte> output, Instant now, out int length)
    {
        length = 0;
        if (!_peers.TryGetValue(destination, out var peer))
        {
            Counters.Drops.Increment(SecurityDropReason.NoSecurityAssociation);
            return false;
        }
        var sa = peer.Sending.Outbound;
        if (sa.NextSequence > uint.MaxValue)
        {
            Counters.Drops.Increment(SecurityDropReason.SequenceExhausted);
            return false;
        }
        uint sequence = (uint)sa.NextSequence;
        if (sequence > sa.ReservedThrough) Reserve(sa, sequence);
        sa.NextSequence++;
        length = sa.Seal(sequence, ((ulong)_ivEpoch << 32) | sequence, mobilityHeader, (byte)IpProtocol.Mobility, output);
        sa.Packets++;
        sa.Bytes += length;
        sa.LastUsed = now;
        Counters.Protected++;
        return true;
    }

    private void Reserve(SecurityAssociation sa, uint from)
    {
        ulong through = Math.Min(uint.MaxValue, (ulong)from - 1 + SignallingSecurityOptions.SequenceReservationBlock);
        sa.ReservedThrough = (uint)through;
        _persisted[new SecurityStateKey(SaDirection.Outbound, sa.Peer, sa.Spi)] = sa.ReservedThrough;
        MustPersistBeforeSending = true;
        StateChanged = true;
        Counters.Reservations++;
    }

    /// <summary>The host could not persist the reservation: the messages protected since are not sent (counted here).</summary>
    public void CountNotPersisted(int messages, SecurityDropReason reason = SecurityDropReason.SequenceNotPersisted)
    {
        for (int i = 0; i < messages; i++) Counters.Drops.Increment(reason);
    }

    // ---- Inbound ---------------------------------------------------------------------------------

    /// <summary>A Mobility Header that arrived in the clear: accepted only while no keys are configured.</summary>
    public bool AcceptPlaintext(Ipv6Address source)
    {
        if (!Enabled) return true;
        Counters.Drops.Increment(SecurityDropReason.Unprotected);
        return false;
    }

    /// <summary>
    /// RFC 4303 §3.4 for an ESP packet from <paramref name="source"/> to <paramref name="destination"/> (as a raw
    /// protocol-50 socket delivers it): SA by SPI, selectors (the SA's peer must be the source), the preliminary
    /// replay check, the ICV (constant time; AES-GCM decrypts in place), the window moved only then, padding and
    /// next header checked. Accepted: <paramref name="payload"/> is the Mobility Header inside
    /// <paramref name="packet"/>.
    /// </summary>
    public SecurityVerdict Unprotect(Ipv6Address source, Ipv6Address destination, Span<byte> packet, Instant now, out Range payload)
    {
        payload = default;
        if (packet.Length < EspPacket.HeaderLength) return Drop(SecurityDropReason.Malformed);
        uint spi = EspPacket.ReadSpi(packet);
        if (spi == 0) return Drop(SecurityDropReason.Malformed);
        if (!_inbound.TryGetValue(spi, out var sa)) return Drop(SecurityDropReason.UnknownSpi);
        // Transport mode, manual SAs: the selectors are the two addresses (RFC 4301 §5.2 inbound policy check).
        if (sa.Peer != source) return Drop(SecurityDropReason.WrongPeer, sa);
        if (!EspPacket.TryValidate(packet, sa.IcvLength, out _) || packet.Length < EspPacket.HeaderLength + sa.IvLength + EspPacket.TrailerLength + sa.IcvLength)
            return Drop(SecurityDropReason.Malformed, sa);
        uint sequence = EspPacket.ReadSequenceNumber(packet);
        var window = sa.Window!;
        if (!window.Check(sequence))
        {
            sa.ReplayDrops++;
            return Drop(SecurityDropReason.Replay, sa);
        }
        if (!sa.Open(packet, out var plain))
        {
            sa.AuthenticationFailures++;
            return Drop(SecurityDropReason.AuthenticationFailed, sa);
        }
        // Authenticated: the window moves even if what is inside is then refused (the sender did send it).
        window.Accept(sequence);
        _persisted[new SecurityStateKey(SaDirection.Inbound, sa.Peer, sa.Spi)] = window.Highest;
        StateChanged = true;
        sa.Packets++;
        sa.Bytes += packet.Length;
        sa.LastUsed = now;
        var body = packet[plain];
        if (!EspTrailer.TryRead(body, out int payloadLength, out byte nextHeader, out _)) return Drop(SecurityDropReason.BadPadding, sa);
        if (nextHeader != (byte)IpProtocol.Mobility) return Drop(SecurityDropReason.NotMobilityHeader, sa);
        var peer = _peers[sa.Peer];
        if (_options.Role == SecurityRole.Responder) peer.HeardOn(sa);
        Counters.Accepted++;
        payload = plain.Start..(plain.Start.Value + payloadLength);
        return SecurityVerdict.Accept(sa);
    }

    private SecurityVerdict Drop(SecurityDropReason reason, SecurityAssociation? sa = null)
    {
        Counters.Drops.Increment(reason);
        return SecurityVerdict.Drop(reason, sa);
    }

    // ---- Persistence and reconfiguration -------------------------------------------------------------

    /// <summary>What must survive a restart: outbound reservations and inbound right edges, by SA.</summary>
    public IReadOnlyDictionary<SecurityStateKey, uint> ExportState() => _persisted;

    /// <summary>The host wrote <see cref="ExportState"/> to stable storage.</summary>
    public void MarkPersisted()
    {
        MustPersistBeforeSending = false;
        StateChanged = false;
    }

    /// <summary>
    /// At start, before anything is sent or received: outbound SAs continue after their reservation (the jump
    /// ahead), inbound windows start at their right edge. State for SAs not configured now is kept, so an SA that
    /// comes back in a later reload does not reuse its numbers either.
    /// </summary>
    public void RestoreState(IEnumerable<KeyValuePair<SecurityStateKey, uint>> state)
    {
        foreach (var (key, value) in state)
        {
            _persisted[key] = value;
            foreach (var sa in Associations)
                if (sa.Direction == key.Direction && sa.Peer == key.Peer && sa.Spi == key.Spi) Apply(sa, value);
        }
    }

    private static void Apply(SecurityAssociation sa, uint value)
    {
        if (sa.Direction == SaDirection.Outbound)
        {
            if ((ulong)value + 1 > sa.NextSequence) sa.NextSequence = (ulong)value + 1;
            sa.ReservedThrough = Math.Max(sa.ReservedThrough, value);
            // Continue strictly after the persisted mark: the next send reserves (and persists) a new block first.
            if (sa.NextSequence <= sa.ReservedThrough) sa.NextSequence = (ulong)sa.ReservedThrough + 1;
        }
        else if (value > sa.Window!.Highest)
        {
            sa.Window.Restore(value);
        }
    }

    /// <summary>
    /// Replace the configured SAs (a reload, e.g. a key rollover step). An SA configured as before (same direction,
    /// peer, SPI, transform and key) keeps its sequence, window and counters; new ones start from any persisted
    /// state; removed ones are gone at once.
    /// </summary>
    public void Reconfigure(SignallingSecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var previous = Associations.ToList();
        var previousSending = _peers.ToDictionary(p => p.Key, p => p.Value.Sending.Name);
        _inbound.Clear();
        _peers.Clear();
        _options = options;
        Build(options, previous);
        foreach (var (address, peer) in _peers)
            if (previousSending.TryGetValue(address, out var name)) peer.PreferIfPresent(name, options.Role);
        foreach (var sa in previous)
            if (!Associations.Contains(sa)) sa.Dispose();
    }

    private void Build(SignallingSecurityOptions options, List<SecurityAssociation>? previous)
    {
        foreach (var p in options.Peers)
        {
            var pairs = new List<SaPair>();
            foreach (var c in p.Pairs)
            {
                var inbound = Reuse(new SecurityAssociation(SaDirection.Inbound, p.Address, c.InboundSpi, c.Algorithm, c.InboundKey, c.Name, options.ReplayWindow), previous);
                var outbound = Reuse(new SecurityAssociation(SaDirection.Outbound, p.Address, c.OutboundSpi, c.Algorithm, c.OutboundKey, c.Name, options.ReplayWindow), previous);
                pairs.Add(new SaPair(c.Name, inbound, outbound));
                _inbound.Add(inbound.Spi, inbound);
            }
            _peers.Add(p.Address, new Peer(pairs, options.Role));
        }
    }

    private SecurityAssociation Reuse(SecurityAssociation fresh, List<SecurityAssociation>? previous)
    {
        var old = previous?.FirstOrDefault(o => o.SameAs(fresh));
        if (old is not null)
        {
            fresh.Dispose();
            return old;
        }
        if (_persisted.TryGetValue(new SecurityStateKey(fresh.Direction, fresh.Peer, fresh.Spi), out var value)) Apply(fresh, value);
        return fresh;
    }

    public void Dispose()
    {
        foreach (var sa in Associations) sa.Dispose();
        _inbound.Clear();
        _peers.Clear();
    }

    private sealed record SaPair(string Name, SecurityAssociation Inbound, SecurityAssociation Outbound);

    /// <summary>A peer's SA pairs and the one we send with (rollover: <see cref="SecurityRole"/>).</summary>
    private sealed class Peer
    {
        public Peer(List<SaPair> pairs, SecurityRole role)
        {
            Pairs = pairs;
            Sending = role == SecurityRole.Initiator ? pairs[^1] : pairs[0];
        }

        public List<SaPair> Pairs { get; }
        public SaPair Sending { get; private set; }

        /// <summary>Responder: answer on the pair the peer last used, so both ends move to new keys without a flag day.</summary>
        public void HeardOn(SecurityAssociation inbound)
        {
            if (ReferenceEquals(Sending.Inbound, inbound)) return;
            foreach (var pair in Pairs)
            {
                if (ReferenceEquals(pair.Inbound, inbound))
                {
                    Sending = pair;
                    return;
                }
            }
        }

        /// <summary>After a reload the responder keeps following the pair it used, if that pair is still configured.</summary>
        public void PreferIfPresent(string name, SecurityRole role)
        {
            if (role != SecurityRole.Responder) return;
            foreach (var pair in Pairs)
                if (pair.Name == name) Sending = pair;
        }
    }
}
