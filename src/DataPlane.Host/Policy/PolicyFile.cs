using DataPlane.Host.Configuration;
using DataPlane.Wire;

namespace DataPlane.Host.Policy;

/// <summary>
/// Reads and validates the policy file (docs/configuration.md, "Policy file"). Every problem names the
/// entry and the field, e.g. <c>policy.json: vms[2].homeNetworkPrefixes[0]: 2001:db8:1::/64 is also vms[0]'s</c>.
/// </summary>
public static class PolicyFile
{
    public static PolicySnapshot Load(string path) => Parse(ConfigObject.Load(path));

    public static PolicySnapshot Parse(ConfigObject root)
    {
        var defaults = new PolicyDefaults(false, "{mac}@vm.dataplane", null);
        if (root.OptionalObject("defaults") is { } d)
        {
            var format = d.OptionalString("naiFormat") ?? defaults.NaiFormat;
            if (!NaiFormat.Placeholders.Take(2).Any(p => format.Contains(p, StringComparison.Ordinal)))
                throw d.Error("naiFormat", $"\"{format}\" must contain {{mac}} or {{machex}} so that every VM gets its own identifier");
            if (NaiFormat.Problem(NaiFormat.Expand(format, MacAddress.Broadcast, "port")) is { } problem)
                throw d.Error("naiFormat", $"\"{format}\" {problem}");
            defaults = new PolicyDefaults(d.OptionalBool("allowed", false), format, d.OptionalIpv6("localMobilityAnchor"),
                ParseVersions(d, null) ?? IpVersions.Ipv6);
            d.Done();
        }

        var vms = new List<VmEntry>();
        var macs = new Dictionary<MacAddress, int>();
        var nais = new Dictionary<string, int>(StringComparer.Ordinal);
        var prefixes = new List<(Ipv6Prefix Prefix, int Index)>();
        var ipv4Addresses = new Dictionary<Ipv4Address, int>();
        var entries = root.OptionalObjectArray("vms");
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var mac = e.OptionalMac("mac") ?? throw e.Error("mac", "is required");
            if (mac.IsMulticast || mac.IsZero) throw e.Error("mac", $"{mac} is not a unicast MAC");
            if (macs.TryGetValue(mac, out int other)) throw e.Error("mac", $"{mac} is also vms[{other}]'s");
            macs[mac] = i;
            var nai = e.OptionalString("nai") ?? NaiFormat.Expand(defaults.NaiFormat, mac, "port");
            if (NaiFormat.Problem(nai) is { } problem) throw e.Error("nai", $"\"{nai}\" {problem}");
            if (nais.TryGetValue(nai, out other)) throw e.Error("nai", $"\"{nai}\" is also vms[{other}]'s");
            nais[nai] = i;
            var hnps = e.OptionalArray("homeNetworkPrefixes", s => Ipv6Prefix.TryParse(s, out var p) ? p : (Ipv6Prefix?)null, "an IPv6 prefix");
            for (int j = 0; j < hnps.Count; j++)
            {
                var p = hnps[j];
                if (p.Length is < 1 or > 64) throw e.Error($"homeNetworkPrefixes[{j}]", $"{p}: a home network prefix must be /1 to /64 so the VM can autoconfigure from it");
                if (p.Address.IsMulticast || p.Address.IsLinkLocal) throw e.Error($"homeNetworkPrefixes[{j}]", $"{p} is not a global unicast prefix");
                foreach (var (q, owner) in prefixes)
                    if (q.Contains(p.Address) || p.Contains(q.Address))
                        throw e.Error($"homeNetworkPrefixes[{j}]", $"{p} overlaps {q} of vms[{owner}]");
                prefixes.Add((p, i));
            }
            var lma = e.OptionalIpv6("localMobilityAnchor");
            var v4 = e.OptionalIpv4WithLength("ipv4HomeAddress");
            if (v4 is { } a && ipv4Addresses.TryGetValue(a.Address, out other)) throw e.Error("ipv4HomeAddress", $"{a.Address} is also vms[{other}]'s");
            if (v4 is { } a4) ipv4Addresses[a4.Address] = i;
            // RFC 5844 §3.2.2: which IP versions the VM is served. A static IPv4 address implies IPv4 (with IPv6: dual).
            var versions = ParseVersions(e, v4 is null ? null : IpVersions.Dual) ?? defaults.Versions;
            if (versions == IpVersions.Ipv6 && v4 is not null) throw e.Error("ipVersions", "\"ipv6\" contradicts ipv4HomeAddress");
            if (versions == IpVersions.Ipv4 && hnps.Count > 0) throw e.Error("ipVersions", "\"ipv4\" contradicts homeNetworkPrefixes");
            vms.Add(new VmEntry(mac, nai, e.OptionalBool("allowed", true), hnps, lma, v4?.Address, versions, v4?.PrefixLength ?? 0));
            e.Done();
        }
        var mags = root.OptionalArray("mags", s => Ipv6Address.TryParse(s, out var a) ? a : (Ipv6Address?)null, "an IPv6 address");
        root.Done();
        return new PolicySnapshot(defaults, vms, mags, root.FileName);
    }

    /// <summary>"ipVersions": "ipv6", "ipv4" or "dual" (RFC 5844 §3.2.2: IPv6-only, IPv4-only, dual IPv4/IPv6).</summary>
    private static IpVersions? ParseVersions(ConfigObject o, IpVersions? fallback) => o.OptionalString("ipVersions") switch
    {
        null => fallback,
        "ipv6" => IpVersions.Ipv6,
        "ipv4" => IpVersions.Ipv4,
        "dual" => IpVersions.Dual,
        var v => throw o.Error("ipVersions", $"\"{v}\" is not one of ipv6, ipv4, dual"),
    };
}
