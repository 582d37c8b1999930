using System.Net;
using System.Text;
using DataPlane.Host.Policy;
using DataPlane.Host.Policy.Radius;
using DataPlane.Wire;

namespace DataPlane.Host.Configuration;

/// <summary>
/// Where the daemons get their policy (docs/configuration.md, "policy"): the policy file (the default
/// backend, {"file": …}) or a RADIUS server ({"radius": {…}}). Exactly one of the two.
/// </summary>
public sealed record PolicyConfig(string? File, RadiusPolicyConfig? Radius)
{
    public static PolicyConfig Parse(ConfigObject o)
    {
        var file = o.OptionalString("file");
        var radius = o.OptionalObject("radius") is { } r ? RadiusPolicyConfig.Parse(r) : null;
        o.Done();
        if (file is not null && radius is not null) throw o.Error("radius", "cannot be used together with \"file\": choose one policy backend");
        if (file is null && radius is null) throw o.Error("needs \"file\" (the policy file) or \"radius\" (a RADIUS server)");
        return new PolicyConfig(file, radius);
    }

    /// <summary>For summaries: "file /etc/dataplane/policy.json" or "radius [2001:db8::1]:1812, …".</summary>
    public string Describe() => Radius is { } r ? $"radius {string.Join(", ", r.Servers.Select(s => s.EndPoint))}" : $"file {File}";
}

/// <summary>What to do when no valid answer can be had from any RADIUS server.</summary>
public enum RadiusFailurePolicy : byte
{
    /// <summary>The VM is not admitted (the default: fail closed).</summary>
    Deny,
    /// <summary>Answer from the VM's last accepted profile even past cacheTtl, if it is at most maxStale old; else deny.</summary>
    Cached,
    /// <summary>Admit the VM with a pool-assigned prefix (fail open; for labs, or where availability beats control).</summary>
    Allow,
}

/// <param name="Secret">The shared secret (from "secret", or read from "secretFile" without its trailing newline).</param>
public sealed record RadiusServerConfig(IPEndPoint EndPoint, byte[] Secret, string? SecretFile, TimeSpan Timeout, int Retries);

/// <summary>The "policy.radius" section: servers, the NAS identity, the request, the cache and the failure policy.</summary>
public sealed record RadiusPolicyConfig
{
    public const string DefaultNaiFormat = "{mac}@vm.dataplane";
    public const int DefaultPort = 1812;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);
    public const int DefaultRetries = 1;
    public static readonly TimeSpan DefaultCacheTtl = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan DefaultMaxStale = TimeSpan.FromHours(1);

    public required IReadOnlyList<RadiusServerConfig> Servers { get; init; }
    public string NaiFormat { get; init; } = DefaultNaiFormat;
    /// <summary>NAS-Identifier; null: the host name.</summary>
    public string? NasIdentifier { get; init; }
    /// <summary>NAS-IPv6-Address; null: the daemon's own address (the MAG's Proxy-CoA, the LMA's address).</summary>
    public Ipv6Address? NasIpv6Address { get; init; }
    /// <summary>Sent hidden in User-Password; null: no password, Service-Type = Call-Check (MAC authorisation).</summary>
    public byte[]? Password { get; init; }
    public string? PasswordFile { get; init; }
    public RadiusAttributeType PrefixAttribute { get; init; } = RadiusAttributeType.FramedIpv6Prefix;
    public TimeSpan CacheTtl { get; init; } = DefaultCacheTtl;
    public RadiusFailurePolicy OnFailure { get; init; } = RadiusFailurePolicy.Deny;
    public TimeSpan MaxStale { get; init; } = DefaultMaxStale;

    /// <summary>The longest a look-up can take before the failure policy decides: every server, every try.</summary>
    public TimeSpan WorstCase => Servers.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Timeout * (s.Retries + 1));

    public static RadiusPolicyConfig Parse(ConfigObject o)
    {
        var timeout = o.OptionalDuration("timeout", DefaultTimeout);
        CheckTimeout(o, "timeout", timeout);
        int retries = (int)o.OptionalInteger("retries", DefaultRetries, 0, 10);
        var servers = new List<RadiusServerConfig>();
        foreach (var s in o.OptionalObjectArray("servers"))
        {
            var address = s.RequiredString("address");
            if (!IPAddress.TryParse(address, out var ip) || address.Contains('/'))
                throw s.Error("address", $"\"{address}\" is not an IP address (names are not resolved: the policy path must not wait on DNS)");
            int port = (int)s.OptionalInteger("port", DefaultPort, 1, 65535);
            var secretText = s.OptionalString("secret");
            var secretFile = s.OptionalString("secretFile");
            if (secretText is not null && secretFile is not null) throw s.Error("secretFile", "give \"secret\" or \"secretFile\", not both");
            byte[] secret = secretText is not null ? Encoding.UTF8.GetBytes(secretText)
                : secretFile is not null ? ReadSecret(s, "secretFile", secretFile)
                : throw s.Error("secret", "is required (or \"secretFile\"): RADIUS cannot work without the shared secret");
            if (secret.Length == 0) throw s.Error(secretText is not null ? "secret" : "secretFile", "the shared secret is empty");
            var serverTimeout = s.OptionalDuration("timeout", timeout);
            CheckTimeout(s, "timeout", serverTimeout);
            int serverRetries = (int)s.OptionalInteger("retries", retries, 0, 10);
            s.Done();
            var endPoint = new IPEndPoint(ip, port);
            if (servers.Any(x => x.EndPoint.Equals(endPoint))) throw s.Error("address", $"{endPoint} is listed twice");
            servers.Add(new RadiusServerConfig(endPoint, secret, secretFile, serverTimeout, serverRetries));
        }
        if (servers.Count == 0) throw o.Error("servers", "is required: at least one {\"address\": …, \"secret\": …}");

        var format = o.OptionalString("naiFormat") ?? DefaultNaiFormat;
        if (!DataPlane.Host.Policy.NaiFormat.Placeholders.Take(2).Any(p => format.Contains(p, StringComparison.Ordinal)))
            throw o.Error("naiFormat", $"\"{format}\" must contain {{mac}} or {{machex}} so that every VM gets its own identifier");
        if (DataPlane.Host.Policy.NaiFormat.Problem(DataPlane.Host.Policy.NaiFormat.Expand(format, MacAddress.Broadcast, "port")) is { } problem)
            throw o.Error("naiFormat", $"\"{format}\" {problem}");

        var nasIdentifier = o.OptionalString("nasIdentifier");
        if (nasIdentifier is { Length: 0 } || (nasIdentifier is not null && Encoding.UTF8.GetByteCount(nasIdentifier) > 253))
            throw o.Error("nasIdentifier", "must be 1 to 253 bytes");
        var nasAddress = o.OptionalIpv6("nasIpv6Address");
        if (nasAddress is { } na && (!na.IsUnicast || na.IsLinkLocal)) throw o.Error("nasIpv6Address", $"{na} must be a global unicast address");

        var passwordText = o.OptionalString("password");
        var passwordFile = o.OptionalString("passwordFile");
        if (passwordText is not null && passwordFile is not null) throw o.Error("passwordFile", "give \"password\" or \"passwordFile\", not both");
        byte[]? password = passwordText is not null ? Encoding.UTF8.GetBytes(passwordText)
            : passwordFile is not null ? ReadSecret(o, "passwordFile", passwordFile) : null;
        if (password is { Length: 0 or > RadiusPacket.MaxPasswordLength })
            throw o.Error(passwordText is not null ? "password" : "passwordFile", $"must be 1 to {RadiusPacket.MaxPasswordLength} bytes (RFC 2865 §5.2)");

        var prefixAttribute = o.OptionalString("prefixAttribute") switch
        {
            null or "Framed-IPv6-Prefix" => RadiusAttributeType.FramedIpv6Prefix,
            "Delegated-IPv6-Prefix" => RadiusAttributeType.DelegatedIpv6Prefix,
            "PMIP6-Home-HN-Prefix" => RadiusAttributeType.Pmip6HomeHnPrefix,
            var a => throw o.Error("prefixAttribute", $"\"{a}\" is not one of Framed-IPv6-Prefix, Delegated-IPv6-Prefix, PMIP6-Home-HN-Prefix"),
        };
        var cacheTtl = o.OptionalDuration("cacheTtl", DefaultCacheTtl);
        if (cacheTtl > TimeSpan.FromDays(1)) throw o.Error("cacheTtl", $"{Durations.Format(cacheTtl)} is more than 1d: a revoked VM would stay admitted that long");
        var onFailure = o.OptionalString("onFailure") switch
        {
            null or "deny" => RadiusFailurePolicy.Deny,
            "cached" => RadiusFailurePolicy.Cached,
            "allow" => RadiusFailurePolicy.Allow,
            var f => throw o.Error("onFailure", $"\"{f}\" is not a failure policy (deny, cached or allow)"),
        };
        bool maxStaleGiven = o.Has("maxStale");
        var maxStale = o.OptionalDuration("maxStale", DefaultMaxStale);
        if (maxStaleGiven && onFailure != RadiusFailurePolicy.Cached) throw o.Error("maxStale", "only applies with \"onFailure\": \"cached\"");
        if (maxStale < cacheTtl) throw o.Error("maxStale", $"{Durations.Format(maxStale)} is shorter than cacheTtl {Durations.Format(cacheTtl)}");
        o.Done();
        return new RadiusPolicyConfig
        {
            Servers = servers,
            NaiFormat = format,
            NasIdentifier = nasIdentifier,
            NasIpv6Address = nasAddress,
            Password = password,
            PasswordFile = passwordFile,
            PrefixAttribute = prefixAttribute,
            CacheTtl = cacheTtl,
            OnFailure = onFailure,
            MaxStale = maxStale,
        };
    }

    private static void CheckTimeout(ConfigObject o, string key, TimeSpan t)
    {
        if (t < TimeSpan.FromMilliseconds(10) || t > TimeSpan.FromSeconds(30)) throw o.Error(key, $"{Durations.Format(t)} is outside 10ms..30s");
    }

    private static byte[] ReadSecret(ConfigObject o, string key, string path)
    {
        try
        {
            return ReadSecretFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw o.Error(key, $"cannot read {path}: {e.Message}");
        }
    }

    /// <summary>A secret file's content without its trailing newline (what `echo secret > file` leaves).</summary>
    public static byte[] ReadSecretFile(string path)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        int n = bytes.Length;
        while (n > 0 && bytes[n - 1] is (byte)'\n' or (byte)'\r') n--;
        return bytes[..n];
    }

    /// <summary>
    /// The secrets and password again from their files (for a policy reload), or an error naming the file.
    /// Inline values are kept as they are.
    /// </summary>
    public RadiusPolicyConfig ReloadSecrets()
    {
        var servers = Servers.Select(s => s.SecretFile is { } f ? s with { Secret = Reread(f) } : s).ToList();
        var password = PasswordFile is { } p ? Reread(p) : Password;
        return this with { Servers = servers, Password = password };

        static byte[] Reread(string path)
        {
            byte[] b;
            try
            {
                b = ReadSecretFile(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"cannot read {path}: {e.Message}");
            }
            return b.Length == 0 ? throw new ConfigException($"{path} is empty") : b;
        }
    }
}
