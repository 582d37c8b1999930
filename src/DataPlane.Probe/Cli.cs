using System.Globalization;
using System.Net;
using DataPlane.Wire;

namespace DataPlane.Probe;

/// <summary>The <c>dataplane-probe</c> subcommands. Exit codes: 0 ok, 1 error, 2 the measurement's
/// negative outcome (no recovery, session lost, nothing acknowledged), 64 usage.</summary>
public static class Cli
{
    public const int ExitOk = 0;
    public const int ExitError = 1;
    public const int ExitNegative = 2;
    public const int ExitUsage = 64;

    public const string Usage = """
        dataplane-probe — the seed study's measurement tools (10 ms UDP probe, TCP survivability) and
        the announce frames a hypervisor sends after a migration.

        dataplane-probe udp-responder --port P [--bind ADDR] [--no-realtime]
            Reflects every probe: sequence number + 1, client timestamps echoed. Runs until SIGINT/SIGTERM,
            then prints its counters. --port 0 picks a free port (printed).

        dataplane-probe udp-client --target ADDR --port P [--interval 10ms]
                                   [--duration D | --until-recovered [--max-duration 60s] | --until-settled [--max-duration 60s]]
                                   [--outage-intervals 5] [--linger 250ms] [--size 52] [--bind ADDR]
                                   [--json FILE] [--series] [--quiet] [--no-realtime]
            One probe per interval ("DATAPLANE-PROBE", sequence number, timestamps). Reports sent/acked/lost,
            service downtime (longest gap between consecutive acknowledged probes, on their send timestamps),
            total migration time (first probe → first ack after the downtime; start the client when the
            migration is invoked) and the achieved interval. --until-recovered stops once acks resume after
            an outage of at least --outage-intervals intervals (or at --max-duration). --until-settled needs no
            threshold, so it measures an outage of any length, down to none: it runs until a line "end" on
            standard input says the scenario is over (the migration finished), then until a probe sent after
            that has been acknowledged, or to --max-duration. --duration defaults to 10s. --series puts the raw per-probe series in the JSON. Writes "udp-client: first ack" on
            standard error when the first acknowledgement arrives (wait for it before starting a migration).

        dataplane-probe tcp-server --port P [--bind ADDR] [--json FILE] [--accept-timeout 60s] [--idle-timeout 60s]
                                   [--no-realtime]
            Accepts one connection and recv()s until it ends. The session survived when the client's END
            marker came before recv returned 0 or -1. Reports the longest gap between received messages.
            Prints "listening on ..." once ready.

        dataplane-probe tcp-client --target ADDR --port P [--interval 10ms] [--duration 10s] [--bind ADDR]
                                   [--connect-timeout 10s] [--json FILE] [--no-realtime]
            Sends a 32-byte message every interval, then the END marker, then closes.

        dataplane-probe announce-rarp --dev IF [--mac MAC] [--count 1] [--interval 50ms]
            QEMU's self-announce: a broadcast RARP (opcode 3) carrying the MAC, sent raw (AF_PACKET) on IF.

        dataplane-probe announce-na --dev IF [--address ADDR]... [--mac MAC] [--count 1] [--interval 50ms]
            A guest's unsolicited Neighbor Advertisement (to ff02::1, Override, Target LL option), one per
            address (default: every IPv6 address on IF), sent raw on IF.

        dataplane-probe announce-garp --dev IF [--address ADDR]... [--mac MAC] [--count 1] [--interval 50ms]
            A guest's gratuitous ARP (a broadcast request for its own IPv4 address), one per address
            (default: every IPv4 address on IF), sent raw on IF.

        The clients time everything on the monotonic clock, sleep until ~1.5 ms before each send and spin
        the rest; every command runs its sending or receiving thread under SCHED_FIFO when allowed (root),
        so a busy machine does not add scheduling delay to the numbers; --no-realtime keeps normal
        scheduling. The achieved interval is reported.

        Durations take a unit: 500us, 10ms, 1.5s, 2m. Exit codes: 0 ok, 1 error, 2 negative outcome
        (udp-client: nothing acknowledged, no recovery with --until-recovered, or no ack after the end mark
        with --until-settled; tcp-server: session lost;
        tcp-client: send failed), 64 usage.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, TextReader? stdin = null)
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
                "udp-responder" => UdpResponderCommand(rest, stdout, cancellationToken),
                "udp-client" => UdpClientCommand(rest, stdout, stderr, cancellationToken, stdin),
                "tcp-server" => TcpServerCommand(rest, stdout, cancellationToken),
                "tcp-client" => TcpClientCommand(rest, stdout, cancellationToken),
                "announce-rarp" => AnnounceCommand(rest, stdout, rarp: true, cancellationToken),
                "announce-na" => AnnounceCommand(rest, stdout, rarp: false, cancellationToken),
                "announce-garp" => GratuitousArpCommand(rest, stdout, cancellationToken),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"dataplane-probe: {e.Message}");
            stderr.WriteLine("run 'dataplane-probe --help' for usage");
            return ExitUsage;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"dataplane-probe {args[0]}: {e.Message}");
            return ExitError;
        }
    }

    private static IPAddress Target(Arguments a)
    {
        string t = a.Required("target");
        return IPAddress.TryParse(t, out var ip) ? ip : throw new UsageException($"--target: '{t}' is not an IP address");
    }

    private static IPAddress BindOrAny(Arguments a) => a.Address("bind") ?? IPAddress.IPv6Any;

    private static int UdpResponderCommand(string[] args, TextWriter stdout, CancellationToken ct)
    {
        var a = new Arguments(args, ["port", "bind"], ["no-realtime"]);
        using var responder = new UdpResponder(BindOrAny(a), a.Port(allowZero: true));
        stdout.WriteLine($"udp-responder listening on {responder.LocalEndPoint}");
        stdout.Flush();
        responder.Run(ct, realtime: !a.Has("no-realtime"));
        stdout.WriteLine($"udp-responder: received {responder.Received}, reflected {responder.Reflected}, malformed {responder.Malformed}");
        return ExitOk;
    }

    /// <summary>The line udp-client writes on standard error when the first acknowledgement arrives.</summary>
    public const string FirstAckLine = "udp-client: first ack";

    private static int UdpClientCommand(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct, TextReader? stdin)
    {
        var a = new Arguments(args,
            ["target", "port", "interval", "duration", "max-duration", "outage-intervals", "linger", "size", "bind", "json"],
            ["until-recovered", "until-settled", "series", "quiet", "no-realtime"]);
        bool until = a.Has("until-recovered");
        bool settled = a.Has("until-settled");
        if (until && settled) throw new UsageException("--until-recovered and --until-settled exclude each other");
        if ((until || settled) && a.Has("duration")) throw new UsageException("--duration and --until-recovered/--until-settled exclude each other (use --max-duration)");
        if (!until && !settled && a.Has("max-duration")) throw new UsageException("--max-duration goes with --until-recovered or --until-settled");
        using var endMark = new CancellationTokenSource();
        if (settled) WatchForEndMark(endMark, stdin ?? Console.In);
        var o = new UdpClientOptions
        {
            Target = new IPEndPoint(Target(a), a.Port()),
            Interval = a.Duration("interval", TimeSpan.FromMilliseconds(10)),
            Duration = a.Duration("duration", TimeSpan.FromSeconds(10)),
            UntilRecovered = until,
            UntilSettled = settled,
            EndMark = endMark.Token,
            MaxDuration = a.Duration("max-duration", TimeSpan.FromSeconds(60)),
            OutageIntervals = a.Int("outage-intervals", 5, min: 2),
            Linger = a.Has("linger") ? a.Duration("linger", default) : TimeSpan.FromMilliseconds(250),
            PacketSize = a.Int("size", UdpProbeMessage.Length, min: UdpProbeMessage.Length, max: 65000),
            Bind = a.Address("bind"),
            Realtime = !a.Has("no-realtime"),
            OnFirstAck = () =>
            {
                stderr.WriteLine(FirstAckLine);
                stderr.Flush();
            },
        };
        var series = UdpProbeClient.Run(o, ct, out bool recovered);
        var report = ProbeAnalysis.Analyze(series, o.OutageIntervals, a.Has("series")) with
        {
            Target = o.Target.Address.ToString(),
            Port = o.Target.Port,
            Mode = until ? "until-recovered" : settled ? "until-settled" : "duration",
            RecoveredBeforeStop = until || settled ? recovered : null,
        };
        if (a.Get("json") is { } json) ReportWriter.WriteJson(json, report);
        if (!a.Has("quiet")) stdout.Write(ReportWriter.Format(report));
        if (report.Acked == 0) return ExitNegative;
        return (until || settled) && !recovered ? ExitNegative : ExitOk;
    }

    /// <summary>The line on standard input that marks the end of the scenario for --until-settled.</summary>
    public const string EndMarkLine = "end";

    /// <summary>
    /// --until-settled: a background thread reads standard input and cancels <paramref name="endMark"/> at the first
    /// line "end". End of input without it marks nothing (a harness that closed its end early has not said the
    /// scenario is over; --max-duration still ends the run).
    /// </summary>
    private static void WatchForEndMark(CancellationTokenSource endMark, TextReader input)
    {
        var reader = new Thread(() =>
        {
            try
            {
                string? line;
                while ((line = input.ReadLine()) is not null)
                {
                    if (line.Trim() != EndMarkLine) continue;
                    endMark.Cancel();
                    return;
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // Input gone, or the run ended before the mark came.
            }
        })
        { IsBackground = true, Name = "end-mark" };
        reader.Start();
    }

    private static int TcpServerCommand(string[] args, TextWriter stdout, CancellationToken ct)
    {
        var a = new Arguments(args, ["port", "bind", "json", "accept-timeout", "idle-timeout"], ["no-realtime"]);
        using var server = new TcpProbeServer(new TcpServerOptions
        {
            Bind = BindOrAny(a),
            Port = a.Port(allowZero: true),
            AcceptTimeout = a.Duration("accept-timeout", TimeSpan.FromSeconds(60)),
            IdleTimeout = a.Duration("idle-timeout", TimeSpan.FromSeconds(60)),
            Realtime = !a.Has("no-realtime"),
        });
        stdout.WriteLine($"tcp-server listening on {server.LocalEndPoint}");
        stdout.Flush();
        var report = server.Run(ct);
        if (a.Get("json") is { } json) ReportWriter.WriteJson(json, report);
        stdout.Write(ReportWriter.Format(report));
        return report.Survived ? ExitOk : ExitNegative;
    }

    private static int TcpClientCommand(string[] args, TextWriter stdout, CancellationToken ct)
    {
        var a = new Arguments(args, ["target", "port", "interval", "duration", "bind", "connect-timeout", "json"], ["no-realtime"]);
        var report = TcpProbeClient.Run(new TcpClientOptions
        {
            Target = new IPEndPoint(Target(a), a.Port()),
            Interval = a.Duration("interval", TimeSpan.FromMilliseconds(10)),
            Duration = a.Duration("duration", TimeSpan.FromSeconds(10)),
            ConnectTimeout = a.Duration("connect-timeout", TimeSpan.FromSeconds(10)),
            Bind = a.Address("bind"),
            Realtime = !a.Has("no-realtime"),
        }, ct);
        if (a.Get("json") is { } json) ReportWriter.WriteJson(json, report);
        stdout.Write(ReportWriter.Format(report));
        return report.Completed ? ExitOk : ExitNegative;
    }

    private static int AnnounceCommand(string[] args, TextWriter stdout, bool rarp, CancellationToken ct)
    {
        var a = new Arguments(args, rarp ? ["dev", "mac", "count", "interval"] : ["dev", "mac", "count", "interval", "address"], []);
        string dev = a.Required("dev");
        var (index, mac, addresses) = Announce.Describe(dev);
        if (a.Get("mac") is { } m)
        {
            mac = MacAddress.TryParse(m, out var parsed) ? parsed : throw new UsageException($"--mac: '{m}' is not a MAC address");
        }
        if (!rarp && a.GetAll("address") is { Count: > 0 } given)
        {
            addresses = given.Select(s => Ipv6Address.TryParse(s, out var x) ? x : throw new UsageException($"--address: '{s}' is not an IPv6 address")).ToList();
        }
        if (!rarp && addresses.Count == 0) throw new ArgumentException($"{dev} has no IPv6 address to announce (give --address)");
        int count = a.Int("count", 1, min: 1);
        var interval = a.Duration("interval", TimeSpan.FromMilliseconds(50));
        var frame = new byte[128];
        for (int round = 0; round < count && !ct.IsCancellationRequested; round++)
        {
            if (round > 0 && ct.WaitHandle.WaitOne(interval)) break;
            if (rarp)
            {
                int n = Announce.WriteRarp(frame, mac);
                Announce.Send(index, frame.AsSpan(0, n));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{UnixMs()} announce-rarp dev {dev} mac {mac}"));
            }
            else
            {
                foreach (var address in addresses)
                {
                    int n = Announce.WriteUnsolicitedNa(frame, mac, address);
                    Announce.Send(index, frame.AsSpan(0, n));
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{UnixMs()} announce-na dev {dev} mac {mac} target {address}"));
                }
            }
        }
        return ExitOk;
    }

    private static int GratuitousArpCommand(string[] args, TextWriter stdout, CancellationToken ct)
    {
        var a = new Arguments(args, ["dev", "mac", "count", "interval", "address"], []);
        string dev = a.Required("dev");
        var (index, mac, _) = Announce.Describe(dev);
        if (a.Get("mac") is { } m)
        {
            mac = MacAddress.TryParse(m, out var parsed) ? parsed : throw new UsageException($"--mac: '{m}' is not a MAC address");
        }
        var addresses = a.GetAll("address") is { Count: > 0 } given
            ? given.Select(s => Ipv4Address.TryParse(s, out var x) ? x : throw new UsageException($"--address: '{s}' is not an IPv4 address")).ToList()
            : Announce.Ipv4Addresses(dev);
        if (addresses.Count == 0) throw new ArgumentException($"{dev} has no IPv4 address to announce (give --address)");
        int count = a.Int("count", 1, min: 1);
        var interval = a.Duration("interval", TimeSpan.FromMilliseconds(50));
        var frame = new byte[128];
        for (int round = 0; round < count && !ct.IsCancellationRequested; round++)
        {
            if (round > 0 && ct.WaitHandle.WaitOne(interval)) break;
            foreach (var address in addresses)
            {
                int n = Announce.WriteGratuitousArp(frame, mac, address);
                Announce.Send(index, frame.AsSpan(0, n));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{UnixMs()} announce-garp dev {dev} mac {mac} address {address}"));
            }
        }
        return ExitOk;
    }

    private static long UnixMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
