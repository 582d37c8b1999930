using DataPlane.Host.Configuration;
using DataPlane.Linux;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Runtime;

/// <summary>The packet loop thread's placement (`dataplane.cpus`), done on the loop thread itself as it starts.</summary>
public static class LoopThread
{
    public static void Pin(DataplaneConfig tuning, string configFile, ILogger log)
    {
        if (tuning.Cpus.Count == 0) return;
        try
        {
            CpuAffinity.SetCurrentThread(tuning.Cpus);
        }
        catch (LinuxIoException e)
        {
            // EINVAL: none of the CPUs exists or may be used by this process (cpuset).
            throw new ConfigException($"{configFile}: dataplane.cpus: cannot run the packet loop on CPUs {string.Join(",", tuning.Cpus)} " +
                $"(this machine has {Environment.ProcessorCount}): {e.Message}");
        }
        log.LogInformation("packet loop pinned to CPUs {Cpus}", string.Join(",", tuning.Cpus));
    }
}
