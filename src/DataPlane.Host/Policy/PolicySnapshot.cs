using DataPlane.Host.Configuration;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Policy;

/// <summary>The IP versions a VM is served (RFC 5844 §3.2.2's policy profile field): "ipv6", "ipv4" or "dual".</summary>
public enum IpVersions : byte
{
    Ipv6,
    Ipv4,
    Dual,
}

/// <summary>One VM's entry in the policy file.</summary>
/// <param name="Ipv4PrefixLength">The prefix length written with <paramref name="Ipv4HomeAddress"/> ("10.200.0.5/24"), 0 when none.</param>
public sealed record VmEntry(MacAddress Mac, string Nai, bool Allowed, IReadOnlyList<Ipv6Prefix> HomeNetworkPrefixes,
    Ipv6Address? LocalMobilityAnchor, Ipv4Address? Ipv4HomeAddress, IpVersions Versions = IpVersions.Ipv6, byte Ipv4PrefixLength = 0)
{
    public bool Ipv6Service => Versions != IpVersions.Ipv4;
    public bool Ipv4Service => Versions != IpVersions.Ipv6;
}

/// <summary>What applies to VMs the file does not list.</summary>
public sealed record PolicyDefaults(bool Allowed, string NaiFormat, Ipv6Address? LocalMobilityAnchor, IpVersions Versions = IpVersions.Ipv6);

/// <summary>
/// An immutable, validated policy (the file store's content). Answers the MAG's question "may this VM
/// join, as whom, with which prefixes, anchored where?" and the LMA's "is this MAG allowed, which
/// prefixes may this mobile node use?" from memory. Reloading builds a new snapshot and swaps it in.
/// </summary>
public sealed class PolicySnapshot
{
    private readonly Dictionary<MacAddress, VmEntry> _byMac;
    private readonly Dictionary<string, VmEntry> _byNai;
    private readonly HashSet<Ipv6Address> _mags;
    private readonly HashSet<Ipv4Address> _staticIpv4;

    public PolicySnapshot(PolicyDefaults defaults, IReadOnlyList<VmEntry> vms, IReadOnlyCollection<Ipv6Address> mags, string source)
    {
        Defaults = defaults;
        Vms = vms;
        Source = source;
        _byMac = vms.ToDictionary(v => v.Mac);
        _byNai = vms.ToDictionary(v => v.Nai, StringComparer.Ordinal);
        _mags = [.. mags];
        _staticIpv4 = [.. vms.Where(v => v.Ipv4HomeAddress is not null).Select(v => v.Ipv4HomeAddress!.Value)];
    }

    public PolicyDefaults Defaults { get; }
    public IReadOnlyList<VmEntry> Vms { get; }
    public IReadOnlyCollection<Ipv6Address> Mags => _mags;
    /// <summary>Where it came from (file path), for logs.</summary>
    public string Source { get; }

    /// <summary>The MAG's decision for a VM seen on a port.</summary>
    public PolicyDecision Decide(MacAddress mac, string port, Ipv6Address? fallbackLma)
    {
        if (_byMac.TryGetValue(mac, out var vm))
        {
            if (!vm.Allowed) return PolicyDecision.Deny($"VM {mac} ({vm.Nai}) is not allowed by {Source}");
            var lma = vm.LocalMobilityAnchor ?? Defaults.LocalMobilityAnchor ?? fallbackLma;
            if (lma is null) return PolicyDecision.Deny($"no LMA for VM {mac}: set localMobilityAnchor in {Source} or the MAG config");
            return PolicyDecision.Allow(new VmProfile(vm.Nai, vm.HomeNetworkPrefixes, lma.Value, vm.Ipv4HomeAddress)
            {
                Ipv6Service = vm.Ipv6Service, Ipv4Service = vm.Ipv4Service, Ipv4PrefixLength = vm.Ipv4PrefixLength,
            });
        }
        if (!Defaults.Allowed) return PolicyDecision.Deny($"VM {mac} is not listed in {Source} and defaults.allowed is false");
        var defaultLma = Defaults.LocalMobilityAnchor ?? fallbackLma;
        if (defaultLma is null) return PolicyDecision.Deny($"no LMA for VM {mac}: set defaults.localMobilityAnchor in {Source} or the MAG config");
        return PolicyDecision.Allow(new VmProfile(NaiFormat.Expand(Defaults.NaiFormat, mac, port), [], defaultLma.Value)
        {
            Ipv6Service = Defaults.Versions != IpVersions.Ipv4, Ipv4Service = Defaults.Versions != IpVersions.Ipv6,
        });
    }

    /// <summary>The LMA's view (see <see cref="ILmaPolicy"/>): MAGs listed in the file, prefixes per NAI.</summary>
    public bool IsMagAuthorized(Ipv6Address mag) => _mags.Contains(mag);

    /// <param name="anchor">The asking LMA's address: a VM the policy anchors at another LMA (its
    /// `localMobilityAnchor`, or the defaults') gets no profile here, so a MAG — even one with valid signalling
    /// keys — cannot register it at the wrong LMA (152, not the LMA for this mobile node).</param>
    public LmaMobileNodeProfile? GetLmaProfile(string nai, Ipv6Address? anchor = null)
    {
        if (_byNai.TryGetValue(nai, out var vm))
        {
            if (!vm.Allowed || !AnchoredAt(vm.LocalMobilityAnchor ?? Defaults.LocalMobilityAnchor, anchor)) return null;
            return new LmaMobileNodeProfile(vm.HomeNetworkPrefixes) { Ipv6Service = vm.Ipv6Service, Ipv4Service = vm.Ipv4Service, Ipv4HomeAddress = vm.Ipv4HomeAddress };
        }
        return Defaults.Allowed && AnchoredAt(Defaults.LocalMobilityAnchor, anchor)
            ? new LmaMobileNodeProfile([]) { Ipv6Service = Defaults.Versions != IpVersions.Ipv4, Ipv4Service = Defaults.Versions != IpVersions.Ipv6 }
            : null;
    }

    private static bool AnchoredAt(Ipv6Address? policyAnchor, Ipv6Address? asking) =>
        policyAnchor is not { } p || asking is not { } a || p == a;

    /// <summary>Some VM's static IPv4 home address: the LMA's pool must not give it to another.</summary>
    public bool IsReservedIpv4HomeAddress(Ipv4Address address) => _staticIpv4.Contains(address);

    /// <summary>The static IPv4 home addresses the file names (for the LMA's start-up check against its IPv4 home network).</summary>
    public IReadOnlyCollection<Ipv4Address> StaticIpv4HomeAddresses => _staticIpv4;
}

/// <summary>The answer for one VM: a profile, or a reason it may not join.</summary>
public readonly record struct PolicyDecision(VmProfile? Profile, string? DenialReason)
{
    public static PolicyDecision Allow(VmProfile profile) => new(profile, null);
    public static PolicyDecision Deny(string reason) => new(null, reason);
}

/// <summary>
/// Turns a MAC (and port) into an MN identifier by a documented rule: {mac} → 52-54-00-12-34-56,
/// {machex} → 525400123456, {port} → the access port's name. The result must be a usable NAI.
/// </summary>
public static class NaiFormat
{
    public static readonly string[] Placeholders = ["{mac}", "{machex}", "{port}"];

    public static string Expand(string format, MacAddress mac, string port)
    {
        var dashed = mac.ToString().Replace(':', '-');
        return format.Replace("{mac}", dashed, StringComparison.Ordinal)
            .Replace("{machex}", dashed.Replace("-", "", StringComparison.Ordinal), StringComparison.Ordinal)
            .Replace("{port}", port, StringComparison.Ordinal);
    }

    /// <summary>Null when usable as an NAI (RFC 7542 in spirit: printable, no spaces, at most 253 bytes), else why not.</summary>
    public static string? Problem(string nai)
    {
        if (nai.Length == 0) return "is empty";
        if (System.Text.Encoding.UTF8.GetByteCount(nai) > 253) return "is longer than 253 bytes (the MN Identifier option's limit)";
        if (nai.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) return "contains spaces or control characters";
        if (nai.Count(c => c == '@') > 1) return "has more than one '@'";
        return null;
    }
}
