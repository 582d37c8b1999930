using CsCheck;

namespace DataPlane.Wire.Tests;

/// <summary>CsCheck generators for wire values and parsed representations.</summary>
internal static class Generators
{
    public static readonly Gen<MacAddress> Mac = Gen.ULong.Select(v => MacAddress.FromUInt64(v & 0xFFFF_FFFF_FFFFUL));
    public static readonly Gen<Ipv4Address> Ipv4 = Gen.UInt.Select(v => new Ipv4Address(v));
    public static readonly Gen<Ipv6Address> Ipv6 = Gen.Select(Gen.ULong, Gen.ULong, (h, l) => new Ipv6Address(h, l));
    public static readonly Gen<Ipv6Prefix> Prefix = Gen.Select(Ipv6, Gen.Int[0, 128], (a, n) => new Ipv6Prefix(a, n));

    public static readonly Gen<OctetString> Octets1To40 = Gen.Byte.Array[1, 40].Select(b => new OctetString(b));

    /// <summary>Unknown option types: not padding and not a type we interpret.</summary>
    private static readonly Gen<byte> UnknownOptionType = Gen.Byte.Where(t =>
        t > 1 && !Enum.IsDefined((MobilityOptionType)t));

    public static readonly Gen<MobilityOption> MobilityOption = Gen.OneOf<MobilityOption>(
        Gen.Select(Gen.Byte, Octets1To40, (s, id) => new MobileNodeIdentifierOption((MobileNodeIdentifierSubtype)s, id)),
        Prefix.Select(p => new HomeNetworkPrefixOption(p)),
        Gen.Byte.Select(b => new HandoffIndicatorOption((HandoffIndicator)b)),
        Gen.Byte.Select(b => new AccessTechnologyTypeOption((AccessTechnologyType)b)),
        Octets1To40.Select(o => new MobileNodeLinkLayerIdentifierOption(o)),
        Ipv6.Select(a => new LinkLocalAddressOption(a)),
        Gen.ULong.Select(v => new TimestampOption(new PmipTimestamp(v))),
        Gen.UInt.Select(v => new RestartCounterOption(v)),
        Gen.Select(Gen.Byte[0, 32], Ipv4, (n, a) => new Ipv4HomeAddressRequestOption(n, a)),
        Gen.Select(Gen.Byte, Gen.Byte[0, 32], Ipv4, (s, n, a) => new Ipv4HomeAddressReplyOption((Ipv4HomeAddressReplyStatus)s, n, a)),
        Ipv4.Select(a => new Ipv4DefaultRouterAddressOption(a)),
        Gen.Bool.Select(s => new Ipv4DhcpSupportModeOption(s)),
        Ipv6.Select(a => new MagIpv6AddressOption(a)),
        Gen.Select(UnknownOptionType, Gen.Byte.Array[0, 30], (t, d) => new UnknownMobilityOption(t, new OctetString(d))));

    public static readonly Gen<MobilityOptionList> MobilityOptions = MobilityOption.List[0, 12].Select(l => new MobilityOptionList(l));

    public static readonly Gen<MobilityMessage> MobilityMessage = Gen.OneOf<MobilityMessage>(
        Gen.Select(Gen.UShort, Gen.UShort, Gen.UShort, MobilityOptions,
            (s, f, l, o) => new BindingUpdate(s, (BindingUpdateFlags)f, l) { Options = o }),
        Gen.Select(Gen.Byte, Gen.Byte, Gen.UShort, Gen.UShort, MobilityOptions,
            (st, f, s, l, o) => new BindingAcknowledgement((BindingAckStatus)st, (BindingAckFlags)f, s, l) { Options = o }),
        Gen.Select(Gen.Bool, Gen.Bool, Gen.UInt, MobilityOptions,
            (r, u, s, o) => new HeartbeatMessage(r, u, s) { Options = o }),
        Gen.Select(Gen.UShort, Gen.UShort, MobilityOptions,
            (s, l, o) => new LocalizedRoutingInitiation(s, l) { Options = o }),
        Gen.Select(Gen.UShort, Gen.Bool, Gen.Byte, Gen.UShort, MobilityOptions,
            (s, u, st, l, o) => new LocalizedRoutingAcknowledgement(s, u, (LocalizedRoutingStatus)st, l) { Options = o }));

    /// <summary>A valid buffer with a few random byte changes, a truncation, or both.</summary>
    public static Gen<byte[]> Mutated(byte[] valid) =>
        Gen.Select(Gen.Int[0, valid.Length], Gen.Int[0, 4].SelectMany(n => Gen.Select(Gen.Int[0, Math.Max(0, valid.Length - 1)], Gen.Byte).Array[n]),
            (keep, flips) =>
            {
                var b = valid.AsSpan(0, Math.Max(keep, 0)).ToArray();
                foreach (var (at, value) in flips)
                    if (at < b.Length) b[at] = value;
                return b;
            });
}
