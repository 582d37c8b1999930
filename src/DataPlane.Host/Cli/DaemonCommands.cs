using System.CommandLine;
using DataPlane.Host.Configuration;
using DataPlane.Host.Lma;
using DataPlane.Host.Mag;
using DataPlane.Host.Policy;
using DataPlane.Host.Runtime;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Cli;

/// <summary>`dataplane mag --config FILE` and `dataplane lma --config FILE`.</summary>
public static class DaemonCommands
{
    public static Command Mag() => Daemon("mag", "run the Mobile Access Gateway switch on a VM host", "/etc/dataplane/mag.json", RunMag);

    public static Command Lma() => Daemon("lma", "run the Local Mobility Anchor", "/etc/dataplane/lma.json", RunLma);

    private static Command Daemon(string name, string help, string defaultConfig, Func<string, CancellationToken, Task<int>> run)
    {
        var config = new Option<string>("--config", "-c") { Description = "configuration file", DefaultValueFactory = _ => defaultConfig };
        var cmd = new Command(name, help) { config };
        cmd.SetAction((r, ct) => run(r.GetValue(config)!, ct));
        return cmd;
    }

    private static Task<int> RunMag(string file, CancellationToken ct)
    {
        MagConfig config;
        try
        {
            config = MagConfig.Load(file);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"dataplane mag: {e.Message}");
            return Task.FromResult(1);
        }
        return DaemonRunner.RunAsync("mag", config.Logging, config.Metrics, config.ControlSocket, logs =>
        {
            var policy = PolicyStores.Create(config.Policy, config.Protocol.ProxyCareOfAddress, logs.CreateLogger("DataPlane.policy"));
            MagDaemon daemon;
            try
            {
                daemon = new MagDaemon(config, policy, RestartCounter.Next(config.RestartCounterFile), logs.CreateLogger("DataPlane.mag"));
            }
            catch
            {
                policy.Dispose();
                throw;
            }
            try
            {
                daemon.AttachConfiguredPorts();
            }
            catch
            {
                daemon.Dispose();
                throw;
            }
            return daemon;
        }, ct);
    }

    private static Task<int> RunLma(string file, CancellationToken ct)
    {
        LmaConfig config;
        try
        {
            config = LmaConfig.Load(file);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"dataplane lma: {e.Message}");
            return Task.FromResult(1);
        }
        return DaemonRunner.RunAsync("lma", config.Logging, config.Metrics, config.ControlSocket, logs =>
        {
            var policy = PolicyStores.Create(config.Policy, config.Protocol.LocalMobilityAnchorAddress, logs.CreateLogger("DataPlane.policy"),
                config.Protocol.AuthorizedMags);
            try
            {
                return new LmaDaemon(config, policy, RestartCounter.Next(config.RestartCounterFile), logs.CreateLogger("DataPlane.lma"));
            }
            catch
            {
                policy.Dispose();
                throw;
            }
        }, ct);
    }
}
