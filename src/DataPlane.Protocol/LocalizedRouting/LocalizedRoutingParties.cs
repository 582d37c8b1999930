using DataPlane.Wire;

namespace DataPlane.Protocol.LocalizedRouting;

/// <summary>
/// One mobile node of a localized routing pair as an LRI or LRA names it: its MN-ID, its home network prefixes and its
/// IPv4 home address (RFC 6705 §7 with RFC 5844's option), whichever it has: a dual-stack VM has both, an IPv6-only
/// one no IPv4 address, an IPv4-only one no prefix. The addresses are all the data path needs.
/// </summary>
public sealed record LocalizedRoutingParty(string MobileNodeIdentifier, IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    Ipv4Address? Ipv4HomeAddress = null)
{
    public bool Equals(LocalizedRoutingParty? other) =>
        other is not null && MobileNodeIdentifier == other.MobileNodeIdentifier
        && HomeNetworkPrefixes.SequenceEqual(other.HomeNetworkPrefixes) && Ipv4HomeAddress == other.Ipv4HomeAddress;

    public override int GetHashCode() => HashCode.Combine(MobileNodeIdentifier, HomeNetworkPrefixes.Count, Ipv4HomeAddress);

    public override string ToString() =>
        $"{MobileNodeIdentifier} ({string.Join(",", Ipv4HomeAddress is { } v4 ? [.. HomeNetworkPrefixes.Select(p => p.ToString()), v4.ToString()] : HomeNetworkPrefixes.Select(p => p.ToString()))})";
}

/// <summary>
/// How the two parties and the other MAG travel in an LRI and an LRA. RFC 6705's LMA-initiated case (§6.1) sends
/// each MAG the MN attached to it, the MN on the other side and that side's MAG (the MAG IPv6 Address option,
/// §11.1); the LRA echoes the parties. Options are in this order: MN-ID of the local MN, its HNPs, its IPv4 home
/// address, MN-ID of the remote MN, its HNPs, its IPv4 home address, then the remote MAG's address (LRI only). An
/// IPv4 home address travels as RFC 6705 §7 has it: in an LRI as an IPv4 Home Address Request option (RFC 5844
/// §3.3.1), in an LRA as an IPv4 Home Address Reply option (§3.3.2, status 0), prefix length 32 because a pair names
/// one host; a reader takes either. An option of another type is skipped, as RFC 6275 §6.2.1 has receivers do.
/// </summary>
public static class LocalizedRoutingMessages
{
    /// <summary>An LRI for the MAG serving <paramref name="local"/>: route its traffic to <paramref name="remote"/> via <paramref name="remoteMag"/>.</summary>
    public static LocalizedRoutingInitiation Initiation(ushort sequence, ushort lifetime, LocalizedRoutingParty local,
        LocalizedRoutingParty remote, Ipv6Address remoteMag)
    {
        var options = PartyOptions(local, remote, extra: 1, reply: false);
        options.Add(new MagIpv6AddressOption(remoteMag));
        return new LocalizedRoutingInitiation(sequence, lifetime) { Options = new MobilityOptionList(options) };
    }

    public static LocalizedRoutingAcknowledgement Acknowledgement(ushort sequence, bool unsolicited, LocalizedRoutingStatus status,
        ushort lifetime, LocalizedRoutingParty local, LocalizedRoutingParty? remote) =>
        new(sequence, unsolicited, status, lifetime) { Options = new MobilityOptionList(PartyOptions(local, remote, extra: 0, reply: true)) };

    /// <summary>The prefix length an IPv4 home address of a pair is sent with: the pair routes one host.</summary>
    public const byte Ipv4HostPrefixLength = 32;

    private static List<MobilityOption> PartyOptions(LocalizedRoutingParty local, LocalizedRoutingParty? remote, int extra, bool reply)
    {
        var options = new List<MobilityOption>(4 + local.HomeNetworkPrefixes.Count + (remote?.HomeNetworkPrefixes.Count ?? 0) + extra);
        Add(options, local, reply);
        if (remote is not null) Add(options, remote, reply);
        return options;
    }

    private static void Add(List<MobilityOption> options, LocalizedRoutingParty party, bool reply)
    {
        options.Add(MobileNodeIdentifierOption.ForNai(party.MobileNodeIdentifier));
        foreach (var p in party.HomeNetworkPrefixes) options.Add(new HomeNetworkPrefixOption(p));
        if (party.Ipv4HomeAddress is { } v4)
            options.Add(reply
                ? new Ipv4HomeAddressReplyOption(Ipv4HomeAddressReplyStatus.Success, Ipv4HostPrefixLength, v4)
                : new Ipv4HomeAddressRequestOption(Ipv4HostPrefixLength, v4));
    }

    /// <summary>
    /// Read the parties and the MAG address from an LRI's or LRA's options. False when the first party is missing
    /// (no MN-ID with a usable NAI first, or neither an HNP nor an IPv4 home address after it), when a party names two
    /// IPv4 home addresses, or one that is not a unicast host (or a failed Reply); <paramref name="remote"/> is null
    /// when the message names only one party, <paramref name="remoteMag"/> when it carries no MAG IPv6 Address option.
    /// </summary>
    public static bool TryRead(MobilityOptionList options, out LocalizedRoutingParty? local, out LocalizedRoutingParty? remote,
        out Ipv6Address? remoteMag)
    {
        local = remote = null;
        remoteMag = null;
        var parties = new List<(string Id, List<Ipv6Prefix> Prefixes, Ipv4Address? Ipv4)>(2);
        foreach (var o in options)
        {
            switch (o)
            {
                case MobileNodeIdentifierOption id:
                    if (id.Nai is not { Length: > 0 } nai || parties.Count == 2) return false;
                    parties.Add((nai, [], null));
                    break;
                case HomeNetworkPrefixOption hnp:
                    if (parties.Count == 0 || hnp.Prefix.IsUnspecified) return false;
                    parties[^1].Prefixes.Add(hnp.Prefix);
                    break;
                case Ipv4HomeAddressRequestOption request:
                    if (!TryAddIpv4(parties, request.Address)) return false;
                    break;
                case Ipv4HomeAddressReplyOption reply:
                    if (!reply.IsSuccess || !TryAddIpv4(parties, reply.Address)) return false;
                    break;
                case MagIpv6AddressOption mag:
                    if (remoteMag is not null) return false;
                    remoteMag = mag.Address;
                    break;
            }
        }
        if (parties.Count == 0 || !HasAddress(parties[0])) return false;
        local = new LocalizedRoutingParty(parties[0].Id, parties[0].Prefixes, parties[0].Ipv4);
        if (parties.Count == 2)
        {
            if (!HasAddress(parties[1])) return false;
            remote = new LocalizedRoutingParty(parties[1].Id, parties[1].Prefixes, parties[1].Ipv4);
        }
        return true;
    }

    private static bool HasAddress((string Id, List<Ipv6Prefix> Prefixes, Ipv4Address? Ipv4) party) =>
        party.Prefixes.Count > 0 || party.Ipv4 is not null;

    private static bool TryAddIpv4(List<(string Id, List<Ipv6Prefix> Prefixes, Ipv4Address? Ipv4)> parties, Ipv4Address address)
    {
        if (parties.Count == 0 || parties[^1].Ipv4 is not null || !address.IsUnicast || address.IsBroadcast) return false;
        parties[^1] = parties[^1] with { Ipv4 = address };
        return true;
    }
}
