using System.Runtime.InteropServices;
using DataPlane.WanEmulator;

using var cts = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cts.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return Cli.Run(args, Console.Out, Console.Error, cts.Token);
