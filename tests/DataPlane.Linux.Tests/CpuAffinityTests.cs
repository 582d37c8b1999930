namespace DataPlane.Linux.Tests;

public sealed class CpuAffinityTests
{
    [Fact]
    public void A_thread_pinned_to_one_cpu_reports_that_cpu_and_others_are_unaffected()
    {
        var all = CpuAffinity.GetCurrentThread();
        Assert.NotEmpty(all);
        int last = all[^1];
        IReadOnlyList<int>? pinned = null, other = null;
        var t = new Thread(() =>
        {
            CpuAffinity.SetCurrentThread([last]);
            pinned = CpuAffinity.GetCurrentThread();
        });
        t.Start();
        t.Join();
        var u = new Thread(() => other = CpuAffinity.GetCurrentThread());
        u.Start();
        u.Join();
        Assert.Equal([last], pinned);
        Assert.Equal(all, other);
    }

    [Fact]
    public void Cpus_that_do_not_exist_are_refused()
    {
        Exception? refused = null;
        var t = new Thread(() =>
        {
            try { CpuAffinity.SetCurrentThread([1000]); }
            catch (Exception e) { refused = e; }
        });
        t.Start();
        t.Join();
        Assert.IsType<LinuxIoException>(refused);
        Assert.Throws<ArgumentException>(() => CpuAffinity.SetCurrentThread([]));
    }
}
