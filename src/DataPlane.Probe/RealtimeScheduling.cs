using System.Runtime.InteropServices;

namespace DataPlane.Probe;

/// <summary>
/// Puts the calling thread (only it: on Linux every thread is its own task) under SCHED_FIFO, so that on
/// a busy machine the probe stream is not delayed by the CFS scheduler: measured on the two-core test
/// machine under load, 10 ms sends ran up to 4 ms late without it and rarely more than 0.1 ms with it.
/// The pacer spins at most 1.5 ms per interval, so the thread never holds a core for long; the kernel's
/// RT throttling is a backstop. Needs root or CAP_SYS_NICE; without them the thread stays as it was.
/// </summary>
public static class RealtimeScheduling
{
    private const int SchedFifo = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedParam
    {
        public int Priority;
    }

    [DllImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
#pragma warning disable SYSLIB1054 // a single blittable call; LibraryImport would need unsafe code
    private static extern int SchedSetScheduler(int pid, int policy, ref SchedParam param);
#pragma warning restore SYSLIB1054

    /// <summary>True when the calling thread now runs SCHED_FIFO at <paramref name="priority"/>.</summary>
    public static bool TryEnterForCurrentThread(int priority = 10)
    {
        if (!OperatingSystem.IsLinux()) return false;
        var p = new SchedParam { Priority = priority };
        try
        {
            return SchedSetScheduler(0, SchedFifo, ref p) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}

/// <summary>Runs a pacing loop on a thread of its own, so a scheduling policy set for it never leaks to the caller's thread.</summary>
internal static class DedicatedThread
{
    public static T Run<T>(string name, bool realtime, Func<bool, T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                bool rt = realtime && RealtimeScheduling.TryEnterForCurrentThread();
                result = body(rt);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return result;
    }
}
