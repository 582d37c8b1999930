using DataPlane.Wire;

namespace DataPlane.Protocol.LocalizedRouting;

/// <summary>
/// One mobile node of a localized routing pair as an LRI or LRA names it: its MN-ID and its home network prefixes.
/// The addresses of the pair are all the data path needs; they are carried per family in the option list, so an
/// IPv4 home address (RFC 6705 §8 with RFC 5844's option) joins a party without changing its shape.
/// </summary>
public sealed record LocalizedRoutingParty(string MobileNodeIdentifier, IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes)
{
    public bool Equals(LocalizedRoutingParty? other) =>
        other is not null && MobileNodeIdentifier == other.MobileNodeIdentifier
        && HomeNetworkPrefixes.SequenceEqual(other.HomeNetworkPrefixes);

    public override int GetHashCode() => HashCode.Combine(MobileNodeIdentifier, HomeNetworkPrefixes.Count);

    public override string ToString() => $"{MobileNodeIdentifier} ({string.Join(",", HomeNetworkPrefixes)})";
}

/// <summary>
/// How the two parties and the other MAG travel in an LRI and an LRA. RFC 6705's LMA-initiated case (§6.1) sends
/// each MAG the MN attached to it, the MN on the other side and that side's MAG (the MAG IPv6 Address option,
/// §11.1); the LRA echoes the parties. Options are in this order: MN-ID of the local MN, its HNPs, MN-ID of the
/// remote MN, its HNPs, then the remote MAG's address (LRI only). An option of another type is skipped, as RFC 6275
/// §6.2.1 has receivers do.
/// </summary>
public static class LocalizedRoutingMessages
{
    /// <summary>An LRI for the MAG serving <paramref name="local"/>: route its traffic to <paramref name="remote"/> via <paramref name="remoteMag"/>.</summary>
    public static LocalizedRoutingInitiation Initiation(ushort sequence, ushort lifetime, LocalizedRoutingParty local,
        LocalizedRoutingParty remote, Ipv6Address remoteMag)
    {
        var options = PartyOptions(local, remote, extra: 1);
        options.Add(new MagIpv6AddressOption(remoteMag));
        return new LocalizedRoutingInitiation(sequence, lifetime) { Options = new MobilityOptionList(options) };
    }

    public static LocalizedRoutingAcknowledgement Acknowledgement(ushort sequence, bool unsolicited, LocalizedRoutingStatus status,
        ushort lifetime, LocalizedRoutingParty local, LocalizedRoutingParty? remote) =>
        new(sequence, unsolicited, status, lifetime) { Options = new MobilityOptionList(PartyOptions(local, remote, extra: 0)) };

    private static List<MobilityOption> PartyOptions(LocalizedRoutingParty local, LocalizedRoutingParty? remote, int extra)
    {
        var options = new List<MobilityOption>(2 + local.HomeNetworkPrefixes.Count + (remote?.HomeNetworkPrefixes.Count ?? 0) + extra);
        Add(options, local);
        if (remote is not null) Add(options, remote);
        return options;
    }

    private static void Add(List<MobilityOption> options, LocalizedRoutingParty party)
    {
        options.Add(MobileNodeIdentifierOption.ForNai(party.MobileNodeIdentifier));
        foreach (var p in party.HomeNetworkPrefixes) options.Add(new HomeNetworkPrefixOption(p));
    }

    /// <summary>
    /// Read the parties and the MAG address from an LRI's or LRA's options. False when the first party is missing
    /// (no MN-ID with a usable NAI first, or no HNP after it); <paramref name="remote"/> is null when the message
    /// names only one party, <paramref name="remoteMag"/> when it carries no MAG IPv6 Address option.
    /// </summary>
    public static bool TryRead(MobilityOptionList options, out LocalizedRoutingParty? local, out LocalizedRoutingParty? remote,
        out Ipv6Address? remoteMag)
    {
        local = remote = null;
        remoteMag = null;
        var parties = new List<(string Id, List<Ipv6Prefix> Prefixes)>(2);
        foreach (var o in options)
        {
            switch (o)
            {
                case MobileNodeIdentifierOption id:
                    if (id.Nai is not { Length: > 0 } nai || parties.Count == 2) return false;
                    parties.Add((nai, []));
                    break;
                case HomeNetworkPrefixOption hnp:
                    if (parties.Count == 0 || hnp.Prefix.IsUnspecified) return false;
                    parties[^1].Prefixes.Add(hnp.Prefix);
                    break;
                case MagIpv6AddressOption mag:
                    if (remoteMag is not null) return false;
                    remoteMag = mag.Address;
                    break;
            }
        }
        if (parties.Count == 0 || parties[0].Prefixes.Count == 0) return false;
        local = new LocalizedRoutingParty(parties[0].Id, parties[0].Prefixes);
        if (parties.Count == 2)
        {
            if (parties[1].Prefixes.Count == 0) return false;
            remote = new LocalizedRoutingParty(parties[1].Id, parties[1].Prefixes);
        }
        return true;
    }
}
