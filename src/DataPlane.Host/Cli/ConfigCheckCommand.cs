using System.CommandLine;
using DataPlane.Host.Configuration;
using DataPlane.Host.Policy;

namespace DataPlane.Host.Cli;

/// <summary>`dataplane config check FILE`: validate a MAG, LMA or policy file without starting anything.</summary>
public static class ConfigCheckCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a MAG, LMA or policy file" };
        var kind = new Option<string?>("--kind") { Description = "mag, lma or policy (default: guessed from the keys)" };
        var check = new Command("check", "validate a configuration or policy file") { file, kind };
        check.SetAction(r =>
        {
            var path = r.GetValue(file)!;
            try
            {
                var root = ConfigObject.Load(path);
                var k = r.GetValue(kind) ?? (root.Has("proxyCareOfAddress") ? "mag" : root.Has("address") ? "lma" : "policy");
                string summary = k switch
                {
                    "mag" => Describe(MagConfig.Parse(root)),
                    "lma" => Describe(LmaConfig.Parse(root)),
                    "policy" => Describe(PolicyFile.Parse(root)),
                    _ => throw new ConfigException($"--kind: \"{k}\" is not mag, lma or policy"),
                };
                Console.WriteLine($"{path}: ok ({summary})");
                return 0;
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        });
        var config = new Command("config", "configuration files");
        config.Subcommands.Add(check);
        return config;
    }

    private static string Describe(MagConfig c) =>
        $"MAG {c.Protocol.ProxyCareOfAddress}, {c.Ports.Count} static ports, control {c.ControlSocket}, policy {c.Policy.Describe()}, {c.Metrics.Describe()}, {Describe(c.Logging)}, {c.Security.Describe()}";

    private static string Describe(LmaConfig c) =>
        $"LMA {c.Protocol.LocalMobilityAnchorAddress}, pool {c.Protocol.HomeNetworkPrefixPool?.ToString() ?? "none"}, {c.Protocol.AuthorizedMags.Count} MAGs, home {c.HomeInterface}, policy {c.Policy.Describe()}, {c.Metrics.Describe()}, {Describe(c.Logging)}, {c.Security.Describe()}";

    private static string Describe(LoggingConfig l) =>
        $"log {l.Level.ToString().ToLowerInvariant()} to {l.File ?? "standard error"}{(l.Format == LogFormat.Auto ? "" : $" ({l.Format.ToString().ToLowerInvariant()})")}";

    private static string Describe(PolicySnapshot p) =>
        $"policy: {p.Vms.Count} VMs, defaults.allowed={p.Defaults.Allowed.ToString().ToLowerInvariant()}, {p.Mags.Count} MAGs";
}
