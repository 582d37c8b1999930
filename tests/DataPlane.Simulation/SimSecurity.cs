using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>
/// The signalling security of a simulated domain (<see cref="DomainOptions.SignallingKeys"/>): one manually keyed
/// SA pair per MAG–LMA link, a <see cref="SignallingSecurity"/> per node, and what each node has "persisted"
/// (taken whenever the policy says it must be written before sending, and on demand), which a restarted node
/// comes back with.
/// </summary>
public sealed class SimSecurity
{
    private readonly Dictionary<Ipv6Address, SecurityAssociationPairOptions> _pairs = [];
    private readonly Dictionary<Ipv6Address, Dictionary<SecurityStateKey, uint>> _persisted = [];
    private readonly Dictionary<Ipv6Address, SignallingSecurity> _nodes = [];
    private readonly Ipv6Address _lma;
    private readonly Simulation _sim;

    internal SimSecurity(Simulation sim, Ipv6Address lma, IEnumerable<Ipv6Address> mags)
    {
        _sim = sim;
        _lma = lma;
        var random = sim.NewRandomStream();
        uint spi = 0x1000;
        foreach (var mag in mags)
        {
            byte[] Key()
            {
                var k = new byte[EspAlgorithms.HmacSha256KeyLength];
                for (int i = 0; i < k.Length; i += 8) BitConverter.TryWriteBytes(k.AsSpan(i), random.NextUInt64());
                return k;
            }
            // As the MAG configures it: inbound = LMA → MAG.
            _pairs[mag] = new SecurityAssociationPairOptions($"sim-{mag}", EspAlgorithm.NullHmacSha256_128, spi + 1, Key(), spi, Key());
            spi += 2;
        }
        foreach (var mag in mags) Start(mag);
        Start(lma);
    }

    /// <summary>Messages each node dropped under the policy, summed by reason (live and restarted instances).</summary>
    public LabeledCounter<SecurityDropReason> Drops { get; } = new();

    public SignallingSecurity Of(Ipv6Address node) => _nodes[node];

    /// <summary>The node restarts: a new instance with the same keys, continuing from what it had persisted.</summary>
    public void Restart(Ipv6Address node)
    {
        Collect(_nodes[node]);
        _nodes[node].Dispose();
        Start(node);
    }

    /// <summary>Write a node's state now (what the daemon does once a second when its inbound edges moved).</summary>
    public void Persist(Ipv6Address node)
    {
        var security = _nodes[node];
        _persisted[node] = new Dictionary<SecurityStateKey, uint>(security.ExportState());
        security.MarkPersisted();
    }

    /// <summary>Seal for the wire; false (counted) when the sender's policy refuses.</summary>
    internal bool TrySeal(Ipv6Address from, Ipv6Address to, ReadOnlySpan<byte> mh, out byte[] esp)
    {
        var security = _nodes[from];
        var buffer = new byte[mh.Length + SignallingSecurity.MaxOverhead];
        esp = [];
        if (!security.TryProtect(to, mh, buffer, _sim.Now, out int length))
        {
            Collect(security);
            return false;
        }
        // The daemon writes the reservation before the message leaves.
        if (security.MustPersistBeforeSending) Persist(from);
        esp = buffer[..length];
        return true;
    }

    /// <summary>Open at the receiver: the Mobility Header, or null (counted) when the policy refuses.</summary>
    internal byte[]? TryOpen(Ipv6Address from, Ipv6Address to, byte[] esp)
    {
        var security = _nodes[to];
        var copy = (byte[])esp.Clone();
        var verdict = security.Unprotect(from, to, copy, _sim.Now, out var payload);
        if (!verdict.Accepted)
        {
            Drops.Increment(verdict.Reason);
            return null;
        }
        return copy[payload];
    }

    private void Start(Ipv6Address node)
    {
        var options = node == _lma
            ? new SignallingSecurityOptions
            {
                Role = SecurityRole.Responder,
                Peers = _pairs.Select(kv => new SecurityPeerOptions(kv.Key, [Mirror(kv.Value)])).ToList(),
            }
            : new SignallingSecurityOptions { Role = SecurityRole.Initiator, Peers = [new SecurityPeerOptions(_lma, [_pairs[node]])] };
        var security = new SignallingSecurity(options, _sim.NewRandomStream());
        if (_persisted.TryGetValue(node, out var state)) security.RestoreState(state);
        _nodes[node] = security;
    }

    private void Collect(SignallingSecurity security)
    {
        // Sender-side refusals are counted by the policy itself; fold them in once, when the instance goes.
        foreach (var (reason, count) in security.Counters.Drops.NonZero())
            if (reason is SecurityDropReason.NoSecurityAssociation or SecurityDropReason.SequenceExhausted)
                for (long i = 0; i < count; i++) Drops.Increment(reason);
    }

    private static SecurityAssociationPairOptions Mirror(SecurityAssociationPairOptions p) =>
        p with { InboundSpi = p.OutboundSpi, InboundKey = p.OutboundKey, OutboundSpi = p.InboundSpi, OutboundKey = p.InboundKey };
}
