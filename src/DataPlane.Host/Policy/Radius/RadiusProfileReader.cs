using System.Buffers.Binary;
using System.Text;
using DataPlane.Wire;

namespace DataPlane.Host.Policy.Radius;

/// <summary>
/// What an Access-Accept says about a VM: its home network prefixes (none: the LMA's pool), an IPv4 home address,
/// its LMA. IPv4 service (RFC 5844) comes with Framed-IP-Address: a real address is the VM's static one (with
/// Framed-IP-Netmask, its home network's prefix length), 255.255.255.254 ("the NAS chooses", RFC 2865 §5.8) or
/// 255.255.255.255 asks for one from the LMA's IPv4 pool.
/// </summary>
public sealed record RadiusProfile(IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes, Ipv4Address? Ipv4HomeAddress, Ipv6Address? LocalMobilityAnchor)
{
    public bool Ipv4Service { get; init; } = Ipv4HomeAddress is not null;

    /// <summary>From Framed-IP-Netmask; 0 when not sent.</summary>
    public byte Ipv4PrefixLength { get; init; }
}

/// <summary>
/// Reads a VM's profile from the attributes of a verified Access-Accept. The prefixes come from one
/// configured attribute type (Framed-IPv6-Prefix, Delegated-IPv6-Prefix or PMIP6-Home-HN-Prefix, all in
/// RFC 3162's prefix format), each occurrence one prefix; Framed-IP-Address gives the IPv4 home address,
/// PMIP6-Home-LMA-IPv6-Address (RFC 6572) the LMA. Anything malformed makes the whole answer unusable: a
/// server that sends a broken prefix is misconfigured, and guessing would admit a VM with the wrong address.
/// </summary>
public static class RadiusProfileReader
{
    public static bool TryRead(ReadOnlySpan<byte> packet, RadiusAttributeType prefixAttribute, out RadiusProfile profile, out string problem)
    {
        profile = null!;
        problem = "";
        var prefixes = new List<Ipv6Prefix>();
        Ipv4Address? v4 = null;
        bool ipv4Service = false, sawAddress = false;
        byte ipv4PrefixLength = 0;
        Ipv6Address? lma = null;
        var reader = new RadiusAttributeReader(packet);
        while (reader.MoveNext())
        {
            var value = reader.Value;
            if (reader.Type == prefixAttribute)
            {
                if (!TryReadPrefix(value, out var prefix, out problem))
                {
                    problem = $"{Name(prefixAttribute)}: {problem}";
                    return false;
                }
                if (prefix.Length is < 1 or > 64)
                {
                    problem = $"{Name(prefixAttribute)}: {prefix}: a home network prefix must be /1 to /64 so the VM can autoconfigure from it";
                    return false;
                }
                if (prefix.Address.IsMulticast || prefix.Address.IsLinkLocal)
                {
                    problem = $"{Name(prefixAttribute)}: {prefix} is not a global unicast prefix";
                    return false;
                }
                if (!prefixes.Contains(prefix)) prefixes.Add(prefix);
            }
            else if (reader.Type == RadiusAttributeType.FramedIpAddress)
            {
                if (value.Length != 4 || sawAddress)
                {
                    problem = value.Length != 4 ? $"Framed-IP-Address is {value.Length} octets, not 4" : "Framed-IP-Address appears twice";
                    return false;
                }
                sawAddress = true;
                var a = Ipv4Address.ReadFrom(value);
                // RFC 2865 §5.8: 255.255.255.255 "let the user choose", 255.255.255.254 "the NAS chooses": IPv4 from the pool.
                if (a.Value >= 0xFFFF_FFFE) ipv4Service = true;
                else if (a.IsUnicast) (v4, ipv4Service) = (a, true);
                else
                {
                    problem = $"Framed-IP-Address {a} is not a unicast address";
                    return false;
                }
            }
            else if (reader.Type == RadiusAttributeType.FramedIpNetmask)
            {
                uint mask = value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value) : 1;
                int length = System.Numerics.BitOperations.PopCount(mask);
                if (value.Length != 4 || mask != Ipv4Prefix.MaskValue(length))
                {
                    problem = value.Length != 4 ? $"Framed-IP-Netmask is {value.Length} octets, not 4" : $"Framed-IP-Netmask {new Ipv4Address(mask)} is not a netmask";
                    return false;
                }
                ipv4PrefixLength = (byte)length;
            }
            else if (reader.Type == RadiusAttributeType.Pmip6HomeLmaIpv6Address)
            {
                if (value.Length != 16)
                {
                    problem = $"PMIP6-Home-LMA-IPv6-Address is {value.Length} octets, not 16";
                    return false;
                }
                var a = Ipv6Address.ReadFrom(value);
                if (!a.IsUnicast || a.IsLinkLocal)
                {
                    problem = $"PMIP6-Home-LMA-IPv6-Address {a} is not a global unicast address";
                    return false;
                }
                lma ??= a;
            }
        }
        if (reader.Malformed)
        {
            problem = "an attribute's length runs past the packet";
            return false;
        }
        profile = new RadiusProfile(prefixes, v4, lma) { Ipv4Service = ipv4Service, Ipv4PrefixLength = v4 is null ? (byte)0 : ipv4PrefixLength };
        return true;
    }

    /// <summary>
    /// RFC 3162 §2.3 (also RFC 4818 and RFC 6572): reserved octet, prefix length (0..128), then only as many
    /// prefix octets as needed (at most 16; FreeRADIUS sends all 16). Bits past the length must be zero.
    /// </summary>
    public static bool TryReadPrefix(ReadOnlySpan<byte> value, out Ipv6Prefix prefix, out string problem)
    {
        prefix = default;
        problem = "";
        if (value.Length < 2 || value.Length > 18)
        {
            problem = $"{value.Length + 2} octets (a prefix attribute is 4 to 20)";
            return false;
        }
        int length = value[1];
        var bytes = value[2..];
        if (length > 128 || bytes.Length * 8 < length)
        {
            problem = $"prefix length {length} with {bytes.Length} prefix octets";
            return false;
        }
        Span<byte> full = stackalloc byte[16];
        bytes.CopyTo(full);
        var address = Ipv6Address.ReadFrom(full);
        if (Ipv6Prefix.Mask(address, length) != address)
        {
            problem = $"{address}/{length} has bits set past its length";
            return false;
        }
        prefix = new Ipv6Prefix(address, length);
        return true;
    }

    /// <summary>The attribute's text (Reply-Message), made safe for one log line: printable, at most 200 characters.</summary>
    public static string? ReplyMessage(ReadOnlySpan<byte> packet)
    {
        var reader = new RadiusAttributeReader(packet);
        var sb = new StringBuilder();
        while (reader.MoveNext())
        {
            if (reader.Type != RadiusAttributeType.ReplyMessage) continue;
            foreach (char c in Encoding.UTF8.GetString(reader.Value))
                if (sb.Length < 200) sb.Append(char.IsControl(c) ? ' ' : c);
        }
        return sb.Length == 0 ? null : sb.ToString();
    }

    public static string Name(RadiusAttributeType type) => type switch
    {
        RadiusAttributeType.FramedIpv6Prefix => "Framed-IPv6-Prefix",
        RadiusAttributeType.DelegatedIpv6Prefix => "Delegated-IPv6-Prefix",
        RadiusAttributeType.Pmip6HomeHnPrefix => "PMIP6-Home-HN-Prefix",
        _ => type.ToString(),
    };

    internal static uint ReadInteger(ReadOnlySpan<byte> value) => value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value) : 0;
}
