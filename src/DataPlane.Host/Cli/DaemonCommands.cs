using System.CommandLine;

namespace DataPlane.Host.Cli;

/// <summary>`dataplane mag --config FILE` and `dataplane lma --config FILE`.</summary>
public static class DaemonCommands
{
    public static Command Mag() => Daemon("mag", "run the Mobile Access Gateway switch on a VM host", "/etc/dataplane/mag.json",
        (file, ct) => throw new NotImplementedException());

    public static Command Lma() => Daemon("lma", "run the Local Mobility Anchor", "/etc/dataplane/lma.json",
        (file, ct) => throw new NotImplementedException());

    private static Command Daemon(string name, string help, string defaultConfig, Func<string, CancellationToken, Task<int>> run)
    {
        var config = new Option<string>("--config", "-c") { Description = "configuration file", DefaultValueFactory = _ => defaultConfig };
        var cmd = new Command(name, help) { config };
        cmd.SetAction((r, ct) => run(r.GetValue(config)!, ct));
        return cmd;
    }
}
