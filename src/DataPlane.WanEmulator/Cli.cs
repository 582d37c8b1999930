using System.Globalization;
using System.Net;

namespace DataPlane.WanEmulator;

/// <summary>The <c>dataplane-wan</c> subcommands. Exit codes: 0 ok, 1 error, 64 usage.</summary>
public static class Cli
{
    public const int ExitOk = 0;
    public const int ExitError = 1;
    public const int ExitUsage = 64;

    public const string Usage = """
        dataplane-wan — a userspace WAN link emulator (the kernel here has no netem) and a bulk TCP stream.

        dataplane-wan run --a IF --b IF [--delay 0] [--jitter 0] [--loss 0%] [--rate 0] [--limit 0] [--reorder]
                          [--control PATH] [--buffer 64MB] [--spin 300us] [--spin-share 0.2] [--rt-priority 1]
                          [--seed 1] [--ring] [--no-realtime]
            Joins interfaces A and B (in the current network namespace) with AF_PACKET: every frame one
            reads is held for the one-way delay (± uniform jitter), may be lost (Bernoulli), is serialised
            at the rate (bit/s; 0 = unlimited) and leaves on the other, in arrival order unless --reorder.
            Both directions get the same settings, each its own queue. --limit caps the frames held per
            direction (0: only --buffer bounds it). Runs until SIGINT/SIGTERM or until an interface goes
            away, then prints its counters. Prints "ready" once forwarding. --control PATH serves the
            requests below on a Unix socket. The forwarding thread runs SCHED_FIFO (--rt-priority, below the
            probes' 10) when root; it sleeps in epoll until --spin before the next departure and spins the rest,
            but spends at most --spin-share of its time spinning.

        dataplane-wan set   --control PATH [--delay D] [--jitter J] [--loss P] [--rate R] [--limit N] [--reorder yes|no]
        dataplane-wan get   --control PATH
        dataplane-wan stats --control PATH
            Change a running emulator's settings (for frames arriving from then on), show them, or show its
            counters as JSON (frames, drops by cause, frames held, and how late frames left: p50/p99/max).

        dataplane-wan bulk-recv --port P [--bind ADDR] [--count 1] [--accept-timeout 60s]
        dataplane-wan bulk-send --target ADDR --port P --size 256MB [--connect-timeout 10s] [--json FILE]
            One bulk TCP transfer (a VM's pre-copy memory stream): the sender writes SIZE bytes and waits
            until the receiver has counted them all; it prints bytes, connect and transfer time and rate
            as JSON. The receiver serves --count transfers (0: until stopped).

        Durations: 0, 250us, 15ms, 1.5s. Loss: percent (1%, 0.1). Rate: 1gbit, 100mbit, 512kbit. Sizes: MB = MiB.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }
        try
        {
            var rest = args[1..];
            return args[0] switch
            {
                "run" => RunCommand(rest, stdout, stderr, ct),
                "set" => SetCommand(rest, stdout, stderr),
                "get" => Simple(rest, stdout, stderr, "get"),
                "stats" => Simple(rest, stdout, stderr, "stats"),
                "bulk-recv" => BulkReceiveCommand(rest, stdout, ct),
                "bulk-send" => BulkSendCommand(rest, stdout, ct),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"dataplane-wan: {e.Message}");
            stderr.WriteLine("run 'dataplane-wan --help' for usage");
            return ExitUsage;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ArgumentException or TimeoutException
                                       or UnauthorizedAccessException or DataPlane.Linux.LinuxIoException or OperationCanceledException)
        {
            stderr.WriteLine($"dataplane-wan {args[0]}: {e.Message}");
            return ExitError;
        }
    }

    private static LinkParameters ParseLink(Options o, LinkParameters p)
    {
        foreach (var key in new[] { "delay", "jitter", "loss", "rate", "limit", "reorder" })
        {
            if (o.Get(key) is { } v) p = p.With(key, v);
        }
        p.Validate();
        return p;
    }

    private static int RunCommand(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var o = new Options(args, ["a", "b", "delay", "jitter", "loss", "rate", "limit", "control", "buffer", "spin", "spin-share", "rt-priority", "seed"], ["reorder", "ring", "no-realtime"]);
        var p = ParseLink(o, LinkParameters.Default);
        if (o.Has("reorder")) p = p with { AllowReorder = true };
        long buffer = o.Get("buffer") is { } bs ? BulkTransfer.ParseSize(bs) : 64L << 20;
        if (buffer < 1 << 20 || buffer > 1L << 30) throw new UsageException("--buffer must be within 1MB..1GB");
        var options = new BridgeOptions
        {
            BufferBytes = (int)buffer,
            SpinNs = o.Get("spin") is { } sp ? LinkParameters.ParseDurationNs(sp, "spin") : 300_000,
            SpinShare = o.Get("spin-share") is { } ss ? double.Parse(ss, CultureInfo.InvariantCulture) : 0.2,
            RealtimePriority = o.Get("rt-priority") is { } rp ? int.Parse(rp, CultureInfo.InvariantCulture) : 1,
            Seed = o.Get("seed") is { } sd ? int.Parse(sd, CultureInfo.InvariantCulture) : 1,
            Ring = o.Has("ring"),
            Realtime = !o.Has("no-realtime"),
        };
        using var bridge = new WanBridge(o.Required("a"), o.Required("b"), p, options);
        using var control = o.Get("control") is { } path ? new ControlServer(path, bridge) : null;
        stdout.WriteLine($"dataplane-wan: {bridge.InterfaceA} <-> {bridge.InterfaceB}: {p}");
        stdout.WriteLine($"dataplane-wan: tunnel super-frames relabelled on egress of {bridge.Relabel}");
        stdout.WriteLine("ready");
        stdout.Flush();
        bridge.Run(ct);
        stdout.WriteLine($"dataplane-wan: stopped{(bridge.StopReason is { } r ? " (" + r + ")" : "")}; realtime {(bridge.RunningRealtime ? "yes" : "no")}");
        stdout.WriteLine($"  {bridge.InterfaceA}->{bridge.InterfaceB}: {bridge.AToB}");
        stdout.WriteLine($"  {bridge.InterfaceB}->{bridge.InterfaceA}: {bridge.BToA}");
        return ExitOk;
    }

    private static int SetCommand(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var o = new Options(args, ["control", "delay", "jitter", "loss", "rate", "limit", "reorder"], []);
        var words = new List<string> { "set" };
        foreach (var key in new[] { "delay", "jitter", "loss", "rate", "limit", "reorder" })
        {
            if (o.Get(key) is { } v)
            {
                _ = LinkParameters.Default.With(key, v); // validate here, with a usage error
                words.Add($"{key}={v}");
            }
        }
        if (words.Count == 1) throw new UsageException("set: nothing to change (--delay, --jitter, --loss, --rate, --limit, --reorder)");
        return Answer(ControlServer.Request(o.Required("control"), string.Join(' ', words)), stdout, stderr);
    }

    private static int Simple(string[] args, TextWriter stdout, TextWriter stderr, string request)
    {
        var o = new Options(args, ["control"], []);
        return Answer(ControlServer.Request(o.Required("control"), request), stdout, stderr);
    }

    private static int Answer(string answer, TextWriter stdout, TextWriter stderr)
    {
        if (answer.StartsWith("error:", StringComparison.Ordinal))
        {
            stderr.WriteLine($"dataplane-wan: {answer}");
            return ExitError;
        }
        stdout.WriteLine(answer);
        return ExitOk;
    }

    private static int BulkReceiveCommand(string[] args, TextWriter stdout, CancellationToken ct)
    {
        var o = new Options(args, ["port", "bind", "count", "accept-timeout"], []);
        var bind = o.Get("bind") is { } b ? ParseAddress(b, "bind") : IPAddress.IPv6Any;
        int count = o.Get("count") is { } c ? int.Parse(c, CultureInfo.InvariantCulture) : 1;
        var timeout = o.Get("accept-timeout") is { } t ? TimeSpan.FromTicks(LinkParameters.ParseDurationNs(t) / 100) : TimeSpan.FromSeconds(60);
        BulkTransfer.Receive(new IPEndPoint(bind, Port(o)), count, timeout, stdout, ct);
        return ExitOk;
    }

    private static int BulkSendCommand(string[] args, TextWriter stdout, CancellationToken ct)
    {
        var o = new Options(args, ["target", "port", "size", "connect-timeout", "json"], []);
        var target = new IPEndPoint(ParseAddress(o.Required("target"), "target"), Port(o));
        long size = BulkTransfer.ParseSize(o.Required("size"));
        var timeout = o.Get("connect-timeout") is { } t ? TimeSpan.FromTicks(LinkParameters.ParseDurationNs(t) / 100) : TimeSpan.FromSeconds(10);
        var result = BulkTransfer.Send(target, size, timeout, ct);
        string json = result.ToJson();
        if (o.Get("json") is { } path) File.WriteAllText(path, json + "\n");
        stdout.WriteLine(json);
        return ExitOk;
    }

    private static IPAddress ParseAddress(string s, string name) =>
        IPAddress.TryParse(s, out var a) ? a : throw new UsageException($"--{name}: '{s}' is not an IP address");

    private static int Port(Options o)
    {
        string s = o.Required("port");
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) && p is > 0 and < 65536
            ? p : throw new UsageException($"--port: '{s}' is not a port number");
    }

    /// <summary><c>--name value</c>, <c>--name=value</c>, <c>--flag</c>; anything undeclared is an error.</summary>
    private sealed class Options
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

        public Options(IReadOnlyList<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flagOptions)
        {
            for (int i = 0; i < args.Count; i++)
            {
                string a = args[i];
                if (!a.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unexpected argument '{a}'");
                string name = a[2..];
                string? inline = null;
                int eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    inline = name[(eq + 1)..];
                    name = name[..eq];
                }
                if (flagOptions.Contains(name) && inline is null) _flags.Add(name);
                else if (valueOptions.Contains(name))
                    _values[name] = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"--{name} needs a value"));
                else throw new UsageException($"unknown option --{name}");
            }
        }

        public bool Has(string name) => _flags.Contains(name) || _values.ContainsKey(name);
        public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;
        public string Required(string name) => Get(name) ?? throw new UsageException($"--{name} is required");
    }
}
