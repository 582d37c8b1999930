using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>What a scripted rule does to a matching message.</summary>
public enum LinkVerdict
{
    Drop,
    Duplicate,
    /// <summary>Hold the message back by <see cref="LinkRule.ExtraDelay"/>.</summary>
    Delay,
}

/// <summary>A scripted fault: applies to the next <see cref="Count"/> messages that match.</summary>
public sealed class LinkRule(Func<MobilityMessage, bool> match, LinkVerdict verdict, int count = 1, TimeSpan extraDelay = default)
{
    public Func<MobilityMessage, bool> Match { get; } = match;
    public LinkVerdict Verdict { get; } = verdict;
    public TimeSpan ExtraDelay { get; } = extraDelay;
    public int Count { get; internal set; } = count;
}

/// <summary>Per-message-type counts on one link; sent − dropped + duplicated = delivered once nothing is in flight.</summary>
public sealed class LinkCounters
{
    private readonly long[] _sent = new long[256], _dropped = new long[256], _duplicated = new long[256], _delivered = new long[256];

    public long Sent(MobilityHeaderType t) => _sent[(int)t];
    public long Dropped(MobilityHeaderType t) => _dropped[(int)t];
    public long Duplicated(MobilityHeaderType t) => _duplicated[(int)t];
    public long Delivered(MobilityHeaderType t) => _delivered[(int)t];

    internal void CountSent(MobilityHeaderType t) => _sent[(int)t]++;
    internal void CountDropped(MobilityHeaderType t) => _dropped[(int)t]++;
    internal void CountDuplicated(MobilityHeaderType t) => _duplicated[(int)t]++;
    internal void CountDelivered(MobilityHeaderType t) => _delivered[(int)t]++;
}

/// <summary>
/// A one-way MAG↔LMA link: delay, jitter, loss, duplication and reordering from its
/// <see cref="LinkProfile"/> (drawn from its own seeded stream), plus scripted rules for exact
/// scenarios. Each message is written to bytes and parsed back, so what crosses the link is exactly
/// what the wire layer makes of it (checksum included).
/// </summary>
public sealed class SimLink
{
    private readonly Simulation _sim;
    private readonly SplitMix64Random _random;
    private readonly Action<Ipv6Address, MobilityMessage> _receiver;
    private readonly List<LinkRule> _rules = [];
    private readonly byte[] _buffer = new byte[2048];
    private readonly SimSecurity? _security;

    /// <summary>Every ESP packet sent on this link, when not null (opt-in: for replay tests).</summary>
    public List<(Ipv6Address Source, Ipv6Address Destination, byte[] Esp)>? EspTrace { get; set; }

    /// <summary>Messages the receiver's security policy refused on arrival (replays of duplicates, forgeries).</summary>
    public long SecurityDrops { get; private set; }

    public SimLink(Simulation sim, string name, LinkProfile profile, Action<Ipv6Address, MobilityMessage> receiver, bool throughWire = true,
        SimSecurity? security = null)
    {
        _security = security;
        _sim = sim;
        _random = sim.NewRandomStream();
        _receiver = receiver;
        Name = name;
        Profile = profile;
        ThroughWire = throughWire;
    }

    public string Name { get; }

    public LinkProfile Profile { get; set; }

    public bool ThroughWire { get; }

    public LinkCounters Counters { get; } = new();

    /// <summary>Every delivered message with its delivery time, when not null (opt-in: costly in long runs).</summary>
    public List<(Instant At, Ipv6Address Source, MobilityMessage Message)>? Trace { get; set; }

    public void AddRule(LinkRule rule) => _rules.Add(rule);

    public int MessagesInFlight { get; private set; }

    public void Send(Ipv6Address source, Ipv6Address destination, MobilityMessage message)
    {
        var type = message.Type;
        Counters.CountSent(type);
        var verdict = ApplyRules(message, out var extra);
        if (verdict == LinkVerdict.Drop || (Profile.Loss > 0 && _random.NextDouble() < Profile.Loss))
        {
            Counters.CountDropped(type);
            return;
        }
        if (_security is not null)
        {
            // In ESP: the sender seals now; the receiver opens on arrival (a duplicate then dies in the replay window).
            int length = message.WriteTo(_buffer, source, destination);
            if (!_security.TrySeal(source, destination, _buffer.AsSpan(0, length), out var esp))
            {
                Counters.CountDropped(type);
                return;
            }
            EspTrace?.Add((source, destination, esp));
            ScheduleEspDelivery(source, destination, type, esp, extra);
            if (verdict == LinkVerdict.Duplicate || (Profile.Duplication > 0 && _random.NextDouble() < Profile.Duplication))
            {
                Counters.CountDuplicated(type);
                ScheduleEspDelivery(source, destination, type, esp, extra);
            }
            return;
        }
        var received = ThroughWire ? RoundTrip(source, destination, message) : message;
        ScheduleDelivery(source, received, extra);
        if (verdict == LinkVerdict.Duplicate || (Profile.Duplication > 0 && _random.NextDouble() < Profile.Duplication))
        {
            Counters.CountDuplicated(type);
            ScheduleDelivery(source, received, extra);
        }
    }

    /// <summary>Put raw ESP bytes on the link (an attacker replaying or forging), delivered after the link's delay.</summary>
    public void InjectEsp(Ipv6Address source, Ipv6Address destination, byte[] esp) =>
        ScheduleEspDelivery(source, destination, null, esp, TimeSpan.Zero);

    private void ScheduleEspDelivery(Ipv6Address source, Ipv6Address destination, MobilityHeaderType? type, byte[] esp, TimeSpan extra)
    {
        var delay = Profile.Delay + extra;
        if (Profile.Jitter > TimeSpan.Zero) delay += _random.NextTimeSpan(TimeSpan.Zero, Profile.Jitter);
        if (Profile.Reordering > 0 && _random.NextDouble() < Profile.Reordering) delay += Profile.ReorderDelay;
        MessagesInFlight++;
        _sim.Schedule(delay, () =>
        {
            MessagesInFlight--;
            if (_security!.TryOpen(source, destination, esp) is not { } mh)
            {
                SecurityDrops++;
                return;
            }
            if (!MobilityHeader.TryCreate(mh, out var view, out var error) || !view.IsChecksumValid(source, destination) || !MobilityMessage.TryParse(mh, out var message, out error))
                throw new InvalidOperationException($"{Name}: an authenticated Mobility Header did not parse: {error}");
            if (type is { } t) Counters.CountDelivered(t);
            Trace?.Add((_sim.Now, source, message!));
            _receiver(source, message!);
        });
    }

    private LinkVerdict? ApplyRules(MobilityMessage message, out TimeSpan extra)
    {
        extra = TimeSpan.Zero;
        for (int i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            if (!rule.Match(message)) continue;
            if (--rule.Count <= 0) _rules.RemoveAt(i);
            if (rule.Verdict == LinkVerdict.Delay) extra = rule.ExtraDelay;
            return rule.Verdict;
        }
        return null;
    }

    private void ScheduleDelivery(Ipv6Address source, MobilityMessage message, TimeSpan extra)
    {
        var delay = Profile.Delay + extra;
        if (Profile.Jitter > TimeSpan.Zero) delay += _random.NextTimeSpan(TimeSpan.Zero, Profile.Jitter);
        if (Profile.Reordering > 0 && _random.NextDouble() < Profile.Reordering) delay += Profile.ReorderDelay;
        MessagesInFlight++;
        _sim.Schedule(delay, () =>
        {
            MessagesInFlight--;
            Counters.CountDelivered(message.Type);
            Trace?.Add((_sim.Now, source, message));
            _receiver(source, message);
        });
    }

    private MobilityMessage RoundTrip(Ipv6Address source, Ipv6Address destination, MobilityMessage message)
    {
        int length = message.WriteTo(_buffer, source, destination);
        var bytes = _buffer.AsSpan(0, length);
        if (!MobilityHeader.TryCreate(bytes, out var mh, out var error) || !mh.IsChecksumValid(source, destination))
            throw new InvalidOperationException($"{Name}: the wire layer rejected a {message.Type} we built: {error}");
        if (!MobilityMessage.TryParse(bytes, out var parsed, out error))
            throw new InvalidOperationException($"{Name}: could not parse back a {message.Type}: {error}");
        return parsed!;
    }
}
