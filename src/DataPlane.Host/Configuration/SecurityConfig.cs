using System.Globalization;
using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Host.Configuration;

/// <summary>
/// The `security` section of a MAG or LMA file: manual ESP keys for the Mobility Header (RFC 5213 §4), inline
/// (`peers`) or in a separate key file (`keyFile`); where the sequence state is persisted; the replay window.
/// Absent: signalling travels in the clear, as before. Every key is checked for length and for plain weakness,
/// and the file holding keys must not be readable by group or others (docs/security.md).
/// </summary>
public sealed record SecurityConfig
{
    public static SecurityConfig Disabled { get; } = new() { Options = SignallingSecurityOptions.Disabled, StateFile = "" };

    public required SignallingSecurityOptions Options { get; init; }
    /// <summary>The file the keys came from (the configuration itself when they are inline), for reloads and messages.</summary>
    public string? KeyFile { get; init; }
    public bool KeysInline { get; init; }
    public required string StateFile { get; init; }

    public bool Enabled => Options.Enabled;

    public static SecurityConfig Parse(ConfigObject? o, SecurityRole role, string defaultStateFile)
    {
        if (o is null) return Disabled with { Options = SignallingSecurityOptions.Disabled with { Role = role }, StateFile = defaultStateFile };
        var keyFile = o.OptionalString("keyFile");
        var stateFile = o.OptionalString("stateFile") ?? defaultStateFile;
        int window = (int)o.OptionalInteger("replayWindow", SignallingSecurityOptions.DefaultReplayWindow, 64, 4096);
        if (window % 64 != 0) throw o.Error("replayWindow", $"{window} is not a multiple of 64");
        bool inline = o.Has("peers");
        IReadOnlyList<SecurityPeerOptions> peers;
        if (inline)
        {
            if (keyFile is not null) throw o.Error("keyFile", "give the keys inline (\"peers\") or in \"keyFile\", not both");
            CheckPrivate(o.FileName, o, "peers");
            peers = ParsePeers(o);
        }
        else if (keyFile is not null)
        {
            peers = LoadKeyFile(keyFile, o);
        }
        else
        {
            throw o.Error("needs \"keyFile\" (a file of keys, mode 0600) or \"peers\" (the keys inline)");
        }
        o.Done();
        var options = new SignallingSecurityOptions { Peers = peers, Role = role, ReplayWindow = window };
        try
        {
            options.Validate();
        }
        catch (ProtocolOptionsException e)
        {
            throw new ConfigException($"{keyFile ?? o.FileName}: {e.Message}");
        }
        return new SecurityConfig { Options = options, KeyFile = keyFile ?? o.FileName, KeysInline = inline, StateFile = stateFile };
    }

    /// <summary>Read the keys again (a reload): same checks as at start, so a bad file keeps the old keys.</summary>
    public SecurityConfig Reload()
    {
        if (!Enabled || KeyFile is null) return this;
        IReadOnlyList<SecurityPeerOptions> peers;
        if (KeysInline)
        {
            var root = ConfigObject.Load(KeyFile);
            var section = root.OptionalObject("security") ?? throw root.Error("security", "is gone: keys cannot be turned off by a reload (restart the daemon)");
            CheckPrivate(KeyFile, section, "peers");
            peers = ParsePeers(section);
        }
        else
        {
            peers = LoadKeyFile(KeyFile, null);
        }
        var options = Options with { Peers = peers };
        try
        {
            options.Validate();
        }
        catch (ProtocolOptionsException e)
        {
            throw new ConfigException($"{KeyFile}: {e.Message}");
        }
        return this with { Options = options };
    }

    private static IReadOnlyList<SecurityPeerOptions> LoadKeyFile(string path, ConfigObject? from)
    {
        if (!File.Exists(path)) throw from?.Error("keyFile", $"{path} does not exist") ?? new ConfigException($"{path}: does not exist");
        var root = ConfigObject.Load(path);
        CheckPrivate(path, root, "peers");
        var peers = ParsePeers(root);
        root.Done();
        return peers;
    }

    /// <summary>Keys in a file anyone else may read are no secret: refuse them, as ssh does a private key.</summary>
    private static void CheckPrivate(string path, ConfigObject o, string key)
    {
        UnixFileMode mode;
        try
        {
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw o.Error(key, $"cannot stat {path}: {e.Message}");
        }
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & others) != 0)
            throw o.Error(key, $"{path} holds keys but its mode is {Convert.ToString((int)mode, 8).PadLeft(4, '0')}: it must not be accessible to group or others (chmod 600 {path})");
    }

    private static List<SecurityPeerOptions> ParsePeers(ConfigObject o)
    {
        var peers = new List<SecurityPeerOptions>();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        int p = 0;
        foreach (var peer in o.OptionalObjectArray("peers"))
        {
            var address = peer.RequiredIpv6("address");
            if (!address.IsUnicast || address.IsLinkLocal) throw peer.Error("address", $"{address} must be a global unicast address");
            var pairs = new List<SecurityAssociationPairOptions>();
            int a = 0;
            foreach (var sa in peer.OptionalObjectArray("associations"))
            {
                string path = $"peers[{p}].associations[{a}]";
                var name = sa.OptionalString("name") ?? path;
                var algorithmName = sa.OptionalString("algorithm") ?? EspAlgorithms.Name(EspAlgorithm.NullHmacSha256_128);
                if (!EspAlgorithms.TryParse(algorithmName, out var algorithm))
                    throw sa.Error("algorithm", $"\"{algorithmName}\" is not one of {string.Join(", ", EspAlgorithms.Names)}");
                uint inSpi = (uint)sa.OptionalInteger("inboundSpi", 0, 256, uint.MaxValue);
                uint outSpi = (uint)sa.OptionalInteger("outboundSpi", 0, 256, uint.MaxValue);
                if (inSpi == 0) throw sa.Error("inboundSpi", "is required (256 or more)");
                if (outSpi == 0) throw sa.Error("outboundSpi", "is required (256 or more)");
                var inKey = Key(sa, "inboundKey", path, algorithm, keys);
                var outKey = Key(sa, "outboundKey", path, algorithm, keys);
                sa.Done();
                pairs.Add(new SecurityAssociationPairOptions(name, algorithm, inSpi, inKey, outSpi, outKey));
                a++;
            }
            if (pairs.Count == 0) throw peer.Error("associations", "needs at least one security association");
            peer.Done();
            peers.Add(new SecurityPeerOptions(address, pairs));
            p++;
        }
        if (peers.Count == 0) throw o.Error("peers", "needs at least one peer");
        return peers;
    }

    /// <summary>A key: hex (optionally "0x"-prefixed, ':' or ' ' separated), the algorithm's length, not weak, used once.</summary>
    private static byte[] Key(ConfigObject sa, string name, string path, EspAlgorithm algorithm, Dictionary<string, string> used)
    {
        var text = sa.OptionalString(name) ?? throw sa.Error(name, "is required");
        var hex = text.Trim();
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) hex = hex[2..];
        hex = hex.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal);
        byte[] key;
        try
        {
            key = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            throw sa.Error(name, "is not hexadecimal (generate one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')");
        }
        int length = EspAlgorithms.KeyMaterialLength(algorithm);
        if (key.Length != length)
            throw sa.Error(name, $"has {key.Length} octets; {EspAlgorithms.Name(algorithm)} needs {length}" +
                (algorithm == EspAlgorithm.NullHmacSha256_128 ? " (RFC 4868: a 256-bit key)" : " (RFC 4106: the AES key and a 4-octet salt)"));
        if (KeyQuality.Weakness(key) is { } weakness) throw sa.Error(name, $"is a weak key: it {weakness}");
        var normal = Convert.ToHexString(key);
        if (used.TryGetValue(normal, out var other)) throw sa.Error(name, $"is the same key as {other}: every SA needs its own");
        used[normal] = $"{path}.{name}";
        return key;
    }

    public string Describe() => !Enabled ? "signalling in the clear"
        : $"ESP on the Mobility Header with {Options.Peers.Count} peers, {Options.Peers.Sum(p => p.Pairs.Count)} SA pairs, keys from {KeyFile}";

    internal static string Hex(uint v) => "0x" + v.ToString("x8", CultureInfo.InvariantCulture);
}
