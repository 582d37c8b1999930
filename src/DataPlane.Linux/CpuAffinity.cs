using DataPlane.Linux.Native;

namespace DataPlane.Linux;

/// <summary>
/// Pin the calling thread to CPUs (sched_setaffinity with pid 0, which means "this thread" to the kernel):
/// what a packet loop does once at its start when the configuration gives it cores of its own.
/// </summary>
public static unsafe class CpuAffinity
{
    private const int MaskWords = 16; // 1024 CPUs, glibc's CPU_SETSIZE

    /// <summary>Run the calling thread only on <paramref name="cpus"/> (numbers as in /proc/cpuinfo).</summary>
    public static void SetCurrentThread(IReadOnlyCollection<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        if (cpus.Count == 0) throw new ArgumentException("no CPUs given", nameof(cpus));
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        foreach (int cpu in cpus)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu, nameof(cpus));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cpu, MaskWords * 64, nameof(cpus));
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }
        if (LibcExtras.sched_setaffinity(0, MaskWords * sizeof(ulong), mask) < 0)
            throw LinuxIoException.FromLast($"sched_setaffinity to CPUs {string.Join(",", cpus)}");
    }

    /// <summary>The CPUs the calling thread may run on.</summary>
    public static IReadOnlyList<int> GetCurrentThread()
    {
        ulong* mask = stackalloc ulong[MaskWords];
        if (LibcExtras.sched_getaffinity(0, MaskWords * sizeof(ulong), mask) < 0) throw LinuxIoException.FromLast("sched_getaffinity");
        var cpus = new List<int>();
        for (int i = 0; i < MaskWords * 64; i++)
            if ((mask[i / 64] & (1UL << (i % 64))) != 0) cpus.Add(i);
        return cpus;
    }
}
