using DataPlane.Wire;

namespace DataPlane.Protocol.Mag;

// PBU transactions: sending, retransmitting with backoff, refreshing, giving up.
public sealed partial class MobileAccessGateway
{
    private void StartTransaction(BindingUpdateListEntry entry, RegistrationKind kind, HandoffIndicator indicator,
        Ipv6Prefix[] prefixes, Ipv4HomeAddressRequestOption? ipv4Request, TimeSpan lifetime, Instant now)
    {
        if (kind is not (RegistrationKind.Deregistration or RegistrationKind.Ipv4Release))
        {
            entry.RequestedPrefixes = prefixes;
            entry.RequestedIpv4 = ipv4Request;
            entry.MayBeRegistered = true;
        }
        if (ipv4Request is not null) Counters.PbusWithIpv4Request++;
        entry.Transaction = new PbuTransaction(kind, indicator, prefixes, ipv4Request, lifetime);
        Counters.PbusSent.Increment(kind);
        Counters.PbusByHandoffIndicator.Increment(indicator);
        Transmit(entry, entry.Transaction, now);
    }

    private void Transmit(BindingUpdateListEntry entry, PbuTransaction tx, Instant now)
    {
        ushort sequence = entry.NextSequence++;
        PmipTimestamp? timestamp = _options.SendTimestamp ? entry.NextTimestamp(now) : null;
        var pbu = ProxyBindingUpdateFactory.Create(sequence, tx.Lifetime, tx.Prefixes, tx.HandoffIndicator, timestamp,
            entry.Mac, _options.SharedLinkLocalAddress, entry.MobileNodeIdentifier, tx.Ipv4Request,
            tx.Kind == RegistrationKind.PreRegistration ? TransientBindingOption.For(latePathSwitch: true, _options.TransientLifetime) : null);
        tx.OnTransmit(sequence, timestamp, now, RetransmissionTimeout(tx));
        _actions.Add(new MagAction.SendMobilityMessage(_options.ProxyCareOfAddress, entry.LocalMobilityAnchor, pbu));
        Reschedule(entry);
    }

    /// <summary>Initial timeout doubled per transmission already made, capped (RFC 6275 §11.8).</summary>
    private TimeSpan RetransmissionTimeout(PbuTransaction tx)
    {
        var initial = tx.Kind is RegistrationKind.Initial or RegistrationKind.PreRegistration or RegistrationKind.Activation
            ? _options.InitialBindackTimeoutFirstReg : _options.InitialBindackTimeout;
        var timeout = initial * Math.Pow(2, Math.Min(tx.Transmissions, 20));
        return timeout < _options.MaxBindackTimeout ? timeout : _options.MaxBindackTimeout;
    }

    private void OnBindingTimer(BindingUpdateListEntry entry, Instant now)
    {
        if (entry.Registered && now >= entry.BindingExpiresAt)
        {
            OnBindingExpired(entry, now);
        }
        else if (entry.Transaction is { } tx && now >= tx.RetransmitAt)
        {
            if (tx.Transmissions >= _options.MaxPbuTransmissions)
            {
                OnTransactionExhausted(entry, tx, now);
            }
            else
            {
                Counters.PbusRetransmitted++;
                Transmit(entry, tx, now);
            }
        }
        else if (entry.Registered && entry.Transaction is null && now >= entry.RefreshAt)
        {
            StartTransaction(entry, RegistrationKind.Refresh, HandoffIndicator.HandoffStateNotChanged,
                entry.HomeNetworkPrefixes, RegisteredIpv4Request(entry), _options.BindingLifetime, now);
        }
        if (!_bindingUpdateList.ContainsKey(entry.MobileNodeIdentifier)) return;
        RequestIpv4IfPending(entry, now);
        Reschedule(entry);
    }

    private void OnTransactionExhausted(BindingUpdateListEntry entry, PbuTransaction tx, Instant now)
    {
        entry.Transaction = null;
        switch (tx.Kind)
        {
            case RegistrationKind.Deregistration:
                Counters.DeregistrationsTimedOut++;
                RemoveEntry(entry);
                break;
            case RegistrationKind.Initial:
            case RegistrationKind.Activation:
                if (entry.Session is { } s) FailSession(s, SessionFailureReason.NoResponse, null, retry: true, now);
                break;
            case RegistrationKind.PreRegistration:
                OnPreRegistrationUnanswered(entry, now);
                break;
            default:
                // A refresh went unanswered: the binding is still valid for a while, so keep trying at the
                // slowest pace until it is refreshed or lapses.
                entry.RefreshAt = now + _options.MaxBindackTimeout;
                break;
        }
    }

    private void OnBindingExpired(BindingUpdateListEntry entry, Instant now)
    {
        entry.Registered = false;
        entry.Transaction = null;
        if (entry.Session is { } s) FailSession(s, SessionFailureReason.BindingExpired, null, retry: true, now);
    }
}
