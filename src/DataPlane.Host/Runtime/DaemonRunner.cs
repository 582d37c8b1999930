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
    }

    public static async Task<int> RunAsync(string role, LoggingConfig logging, string controlSocket,
        Func<ILoggerFactory, IDaemon> create, CancellationToken ct)
    {
        using var provider = new LineLoggerProvider(logging.File, logging.Level);
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

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; daemon.Stop(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; daemon.Stop(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; daemon.ReloadPolicy(); });
        using var cancel = ct.Register(daemon.Stop);

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
        log.LogInformation("{Role}: control socket {Path}", role, controlSocket);
        await Task.Run(loop.Join, CancellationToken.None);
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
}
