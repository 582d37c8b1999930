using System.CommandLine;
using DataPlane.Host.Cli;

// The `dataplane` command: the MAG and LMA daemons, the control client and config tools.
var root = new RootCommand("DataPlane: a PMIPv6 userspace switch that keeps VMs' addresses across live migration");
root.Subcommands.Add(DaemonCommands.Mag());
root.Subcommands.Add(DaemonCommands.Lma());
root.Subcommands.Add(CtlCommand.Create());
root.Subcommands.Add(ConfigCheckCommand.Create());
return await root.Parse(args).InvokeAsync();
