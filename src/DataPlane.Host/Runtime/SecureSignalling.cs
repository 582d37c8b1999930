using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DataPlane.Host.Capture;
using DataPlane.Host.Configuration;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Runtime;

/// <summary>
/// The host's half of the signalling security (RFC 5213 §4), shared by both daemons: the raw protocol-50 socket
/// (this kernel has no ESP, so the switch builds and opens ESP itself), the state file that keeps the sequence
/// numbers across restarts (written before anything that needs it is sent), key reloads, and `ctl sas`. The
/// policy decisions are the sans-I/O <see cref="SignallingSecurity"/> the data path holds.
/// </summary>
public sealed class SecureSignalling : IDisposable
{
    private readonly ILogger _log;
    private SecurityConfig _config;
    private readonly PacketBatch _rx = new(16, 4096);
    private Instant _nextStateWrite;

    private SecureSignalling(SecurityConfig config, SignallingSecurity security, RawIpv6Socket socket, ILogger log)
    {
        _config = config;
        Security = security;
        Socket = socket;
        _log = log;
    }

    /// <summary>Null when no keys are configured: signalling stays on the Mobility Header socket, in the clear.</summary>
    /// <param name="freeBind">Bind <paramref name="local"/> before it is configured (an LMA standby: the address comes with a takeover).</param>
    public static (SignallingSecurity Security, SecureSignalling? Host) Open(SecurityConfig config, Ipv6Address local, ILogger log, bool freeBind = false)
    {
        var seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        var security = new SignallingSecurity(config.Options, new SplitMix64Random(seed));
        if (!config.Enabled) return (security, null);
        var restored = ReadState(config.StateFile);
        security.RestoreState(restored);
        var socket = RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Esp, LocalAddress = local, FreeBind = freeBind });
        var host = new SecureSignalling(config, security, socket, log);
        log.LogInformation("security: {Describe}; sequence state from {File} ({Count} records)", config.Describe(), config.StateFile, restored.Count);
        // Persist at once: a restart must find every SA's reservation even if this run sends nothing.
        host.Persist();
        return (security, host);
    }

    public SignallingSecurity Security { get; }
    public RawIpv6Socket Socket { get; }
    public int Fd => Socket.Fd;

    /// <summary>ESP packets from the socket, each handed to <paramref name="deliver"/> (slot bytes, source, destination).</summary>
    public void Receive(CaptureTap[]? captures, long captureMicros, Func<PacketBatch, int, bool> deliver)
    {
        int count = Socket.Receive(_rx);
        for (int i = 0; i < count; i++)
        {
            ref var meta = ref _rx.Meta(i);
            if (captures is not null) Taps.Ipv6(captures, meta.Source, meta.Destination, IpProtocol.Esp, _rx.Frame(i), CaptureDirection.Rx, captureMicros);
            deliver(_rx, i);
        }
    }

    /// <summary>The bytes of a received slot, as <see cref="Receive"/> hands them over.</summary>
    public Span<byte> Frame(int slot) => _rx.Frame(slot);

    /// <summary>
    /// Send one ESP frame (slot 0 of <paramref name="tx"/>). The sequence reservation it may have moved is
    /// persisted first; if that fails the frame is not sent (RFC 4303 §3.3.3: a number that might not survive a
    /// restart must not go out).
    /// </summary>
    public void Send(PacketBatch tx)
    {
        if (Security.MustPersistBeforeSending && !Persist())
        {
            Security.CountNotPersisted(1);
            return;
        }
        // An LMA shard's active: the reservation must be in the shard's store too, or a standby taking over could
        // reuse the number (ReplicatedSequenceState). Normally it is, a block ahead; if not, hold and write.
        if (_shard is { } shard && !shard.MaySend(Security))
        {
            Security.CountNotPersisted(1, SecurityDropReason.SequenceNotReplicated);
            ReplicateToShard();
            return;
        }
        Socket.Send(tx, 0, 1);
    }

    /// <summary>Once a second: the inbound right edges, when they moved (and a shard write that failed, again).</summary>
    public void Maintain(Instant now)
    {
        if (now < _nextStateWrite) return;
        if (Security.StateChanged)
        {
            _nextStateWrite = now + TimeSpan.FromSeconds(1);
            Persist();
        }
        else if (_shard is { Serving: true, WriteInFlight: false })
        {
            _nextStateWrite = now + TimeSpan.FromSeconds(1);
            ReplicateToShard();
        }
    }

    // ---- an LMA shard (issue 19): the sequence state in etcd besides the file --------------------------------------

    private ReplicatedSequenceState? _shard;
    private Action<Dictionary<SecurityStateKey, uint>>? _writeToShard;

    /// <summary>The shard's copy of the sequence state, for ctl; null outside a shard.</summary>
    public ReplicatedSequenceState? Shard => _shard;

    /// <summary>
    /// Become a shard member: nothing goes out until <see cref="TakeOverShard"/>'s write is committed, and every local
    /// persist also hands the state to <paramref name="write"/>, which answers with <see cref="ShardWriteCompleted"/>
    /// on the packet loop.
    /// </summary>
    public void JoinShard(Action<Dictionary<SecurityStateKey, uint>> write)
    {
        _shard = new ReplicatedSequenceState();
        _writeToShard = write;
    }

    /// <summary>Takeover: continue from the shard's stored state; returns the state to store before serving.</summary>
    public Dictionary<SecurityStateKey, uint> TakeOverShard(IReadOnlyDictionary<SecurityStateKey, uint>? stored)
    {
        var write = _shard!.TakeOver(Security, stored);
        Persist(); // the jump forward is on disk too, before anything is sent
        return write;
    }

    /// <summary>Step down: send nothing on the shard's SAs until the next takeover.</summary>
    public void LeaveShard() => _shard?.StepDown();

    /// <summary>The shard's store answered a write of <paramref name="state"/>.</summary>
    public void ShardWriteCompleted(Dictionary<SecurityStateKey, uint> state, bool committed)
    {
        if (_shard is not { } shard) return;
        if (!committed)
        {
            shard.WriteFailed(state);
            return;
        }
        shard.Written(state);
        ReplicateToShard(); // it moved on meanwhile
    }

    private void ReplicateToShard()
    {
        if (_shard?.NextWrite(Security) is { } write) _writeToShard!(write);
    }

    /// <summary>Re-read the keys (SIGHUP, `ctl sas reload`). Null on success, else why the old keys stay.</summary>
    public string? Reload()
    {
        try
        {
            var next = _config.Reload();
            Security.Reconfigure(next.Options);
            _config = next;
            _log.LogInformation("security: keys reloaded: {Describe}", next.Describe());
            return null;
        }
        catch (Exception e) when (e is ConfigException or ProtocolOptionsException or IOException)
        {
            _log.LogError("security: reload failed, keeping the previous keys: {Reason}", e.Message);
            return e.Message;
        }
    }

    private bool Persist()
    {
        try
        {
            WriteState(_config.StateFile, Security.ExportState());
            Security.MarkPersisted();
            ReplicateToShard();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("security: cannot write the sequence state {File}: {Reason}; ESP messages are held back until it can", _config.StateFile, e.Message);
            return false;
        }
    }

    /// <summary>One line per SA: "out|in PEER SPI VALUE". Written to a temporary file, flushed to disk, renamed over.</summary>
    internal static void WriteState(string path, IReadOnlyDictionary<SecurityStateKey, uint> state)
    {
        var text = FormatState(state);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            f.Write(Encoding.ASCII.GetBytes(text));
            f.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The state as the file and the shard's etcd key hold it: a comment, then one "out|in PEER SPI VALUE" line per SA.</summary>
    public static string FormatState(IReadOnlyDictionary<SecurityStateKey, uint> state)
    {
        var text = new StringBuilder("# dataplane ESP sequence state: outbound reservations and inbound right edges; do not edit\n");
        foreach (var (k, v) in state.OrderBy(kv => kv.Key.Direction).ThenBy(kv => kv.Key.Peer.ToString(), StringComparer.Ordinal).ThenBy(kv => kv.Key.Spi))
            text.Append(CultureInfo.InvariantCulture, $"{(k.Direction == SaDirection.Outbound ? "out" : "in")} {k.Peer} {k.Spi} {v}\n");
        return text.ToString();
    }

    internal static Dictionary<SecurityStateKey, uint> ReadState(string path) =>
        File.Exists(path) ? ParseState(File.ReadAllLines(path), path) : [];

    /// <summary><see cref="FormatState"/>'s lines back; a bad line is an <see cref="InvalidDataException"/> naming <paramref name="source"/> and the line.</summary>
    public static Dictionary<SecurityStateKey, uint> ParseState(IEnumerable<string> lines, string path)
    {
        var state = new Dictionary<SecurityStateKey, uint>();
        int n = 0;
        foreach (var raw in lines)
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 4 || f[0] is not ("out" or "in") || !Ipv6Address.TryParse(f[1], out var peer)
                || !uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint spi)
                || !uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint value))
                throw new InvalidDataException($"{path}:{n}: \"{line}\" is not \"out|in PEER SPI VALUE\"; restore the file from a backup (deleting it lets a peer take our next messages for replays)");
            state[new SecurityStateKey(f[0] == "out" ? SaDirection.Outbound : SaDirection.Inbound, peer, spi)] = value;
        }
        return state;
    }

    /// <summary>`ctl sas`: every SA with its counters; never the keys.</summary>
    public static JsonArray SasJson(SignallingSecurity security, Instant now)
    {
        var list = new JsonArray();
        foreach (var sa in security.Associations.OrderBy(s => s.Peer.ToString(), StringComparer.Ordinal).ThenBy(s => s.PairName, StringComparer.Ordinal).ThenBy(s => s.Direction))
        {
            bool sending = sa.Direction == SaDirection.Outbound && ReferenceEquals(security.OutboundFor(sa.Peer), sa);
            list.Add((JsonNode)new JsonObject
            {
                ["peer"] = sa.Peer.ToString(),
                ["name"] = sa.PairName,
                ["direction"] = sa.Direction == SaDirection.Inbound ? "in" : "out",
                ["spi"] = sa.Spi,
                ["algorithm"] = EspAlgorithms.Name(sa.Algorithm),
                ["state"] = sa.Direction == SaDirection.Inbound ? "accepting" : sending ? "sending" : "standby",
                ["packets"] = sa.Packets,
                ["bytes"] = sa.Bytes,
                ["sequence"] = sa.Direction == SaDirection.Outbound ? (long)sa.NextSequence - 1 : sa.Window!.Highest,
                ["reservedThrough"] = sa.Direction == SaDirection.Outbound ? sa.ReservedThrough : null,
                ["authenticationFailures"] = sa.Direction == SaDirection.Inbound ? sa.AuthenticationFailures : null,
                ["replayDrops"] = sa.Direction == SaDirection.Inbound ? sa.ReplayDrops : null,
                ["lastUsedSecondsAgo"] = sa.LastUsed is { } t ? (long)(now - t).TotalSeconds : null,
            });
        }
        return list;
    }

    /// <summary>`policy.security` in `ctl stats`: whether it is on, and drops by reason.</summary>
    public static JsonObject StatsJson(SignallingSecurity security)
    {
        var drops = new JsonObject();
        foreach (var (reason, count) in security.Counters.Drops.NonZero()) drops[char.ToLowerInvariant(reason.ToString()[0]) + reason.ToString()[1..]] = count;
        return new JsonObject
        {
            ["enabled"] = security.Enabled,
            ["protected"] = security.Counters.Protected,
            ["accepted"] = security.Counters.Accepted,
            ["reservations"] = security.Counters.Reservations,
            ["drops"] = drops,
        };
    }

    public void Dispose()
    {
        if (Security.StateChanged) Persist();
        Socket.Dispose();
        _rx.Dispose();
    }
}
