using System.Runtime.InteropServices;
using DataPlane.Host.Configuration;
using DataPlane.Host.Control;
using DataPlane.Host.Logging;
using DataPlane.Linux;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Runtime;

/// <summary>
/// What both daemons do around their packet loop: logging, signals (SIGTERM/SIGINT stop, SIGHUP reloads
/// the policy), the control socket, a dedicated loop thread, and clear exit codes — 0 after a clean stop,
/// 1 for a configuration or start-up error (printed as one line naming the problem).
/// </summary>
public static class DaemonRunner
{
    public interface IDaemon : IDisposable
    {
        void Run();
        void Stop();
        Task<ControlResponse> HandleControlAsync(ControlRequest request, CancellationToken ct);
        string? ReloadPolicy();
        /// <summary>The metrics collector (snapshots through the loop at scrape time).</summary>
        Metrics.DaemonMetrics Metrics { get; }
        /// <summary>Completes when the packet loop has run a (trivial) work item: the systemd watchdog's proof of life.</summary>
        Task<bool> PingAsync();
    }

    public static async Task<int> RunAsync(string role, LoggingConfig logging, MetricsConfig metrics, string controlSocket,
        Func<ILoggerFactory, IDaemon> create, CancellationToken ct)
    {
        using var provider = new LineLoggerProvider(logging.File, logging.Level, logging.Format);
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(logging.Level).AddProvider(provider));
        var log = factory.CreateLogger($"DataPlane.{role}");
        IDaemon daemon;
        try
        {
            daemon = create(factory);
        }
        catch (Exception e) when (e is ConfigException or LinuxIoException or InvalidDataException or IOException or UnauthorizedAccessException
                                       or DataPlane.Protocol.ProtocolOptionsException)
        {
            log.LogCritical("{Role}: cannot start: {Reason}", role, e.Message);
            Console.Error.WriteLine($"dataplane {role}: cannot start: {e.Message}");
            return 1;
        }
        using var _ = daemon;
        ControlServer control;
        try
        {
            control = new ControlServer(controlSocket, daemon.HandleControlAsync, factory.CreateLogger("DataPlane.control"));
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            log.LogCritical("{Role}: cannot open the control socket {Path}: {Reason}", role, controlSocket, e.Message);
            Console.Error.WriteLine($"dataplane {role}: cannot open the control socket {controlSocket}: {e.Message}");
            return 1;
        }
        await using var __ = control;

        Metrics.MetricsHttpServer? metricsServer = null;
        if (metrics.Enabled)
        {
            try
            {
                metricsServer = new Metrics.MetricsHttpServer(metrics.Listen, daemon.Metrics, factory.CreateLogger("DataPlane.metrics"));
            }
            catch (System.Net.Sockets.SocketException e)
            {
                var where = MetricsConfig.Format(metrics.Listen);
                log.LogCritical("{Role}: cannot listen for metrics on {Listen} (metrics.listen): {Reason}", role, where, e.Message);
                Console.Error.WriteLine($"dataplane {role}: cannot listen for metrics on {where} (metrics.listen): {e.Message}");
                return 1;
            }
        }
        await using var ___ = metricsServer;
        using var systemd = SystemdNotifier.FromEnvironment();

        void Stop()
        {
            systemd?.Notify("STOPPING=1\nSTATUS=stopping");
            daemon.Stop();
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Stop(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Stop(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; daemon.ReloadPolicy(); });
        using var cancel = ct.Register(Stop);

        Exception? crash = null;
        var loop = new Thread(() =>
        {
            try
            {
                daemon.Run();
            }
            catch (Exception e)
            {
                crash = e;
            }
        })
        { Name = $"{role}-loop", IsBackground = false };
        loop.Start();
        control.Start();
        metricsServer?.Start();
        log.LogInformation("control socket {Path}{Metrics}", controlSocket, metricsServer is null ? ", metrics off" : $", metrics {metricsServer}");
        using var watchdog = new CancellationTokenSource();
        Task? watchdogTask = null;
        if (systemd is not null)
        {
            // Ready once the loop answers: the socket, the endpoint and the loop all work.
            if (await daemon.PingAsync().WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default))
                systemd.Notify($"READY=1\nSTATUS=running; control {controlSocket}{(metricsServer is null ? "" : $", metrics {metricsServer}")}");
            if (SystemdNotifier.WatchdogInterval() is { } interval)
                watchdogTask = WatchdogAsync(daemon, systemd, interval, log, watchdog.Token);
        }
        await Task.Run(loop.Join, CancellationToken.None);
        watchdog.Cancel();
        if (watchdogTask is not null) await watchdogTask;
        if (crash is not null)
        {
            // A bug in the loop: say so loudly and exit non-zero so a supervisor restarts us.
            log.LogCritical(crash, "{Role}: packet loop failed", role);
            Console.Error.WriteLine($"dataplane {role}: packet loop failed: {crash}");
            return 70;
        }
        log.LogInformation("{Role}: stopped", role);
        return 0;
    }

    /// <summary>
    /// WATCHDOG=1 at half systemd's WatchdogSec, each time only after the packet loop has run a ping: if the loop
    /// hangs, the pings stop and systemd restarts the daemon (Restart=on-failure / on-watchdog).
    /// </summary>
    private static async Task WatchdogAsync(IDaemon daemon, SystemdNotifier systemd, TimeSpan interval, ILogger log, CancellationToken ct)
    {
        var period = interval / 2;
        Task<bool>? ping = null;
        while (!ct.IsCancellationRequested)
        {
            ping ??= daemon.PingAsync();
            try
            {
                await ping.WaitAsync(period, ct).ConfigureAwait(false);
                ping = null;
                systemd.Notify("WATCHDOG=1");
                await Task.Delay(period, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                log.LogWarning("watchdog: the packet loop has not answered for {Ms} ms", (long)period.TotalMilliseconds);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }
}
