using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DataPlane.Tests.Shared;

namespace DataPlane.Etcd.Tests;

/// <summary>
/// A real etcd (Debian's etcd-server) started by a test: one member or a cluster of several, on loopback
/// ports nobody else holds, each member with its own data directory named after this process, a per-process token
/// and a counter (<see cref="RunNames"/>: so parallel runs never meet, nor a run an earlier run's leftover under a
/// reused pid), all killed and removed in <see cref="Dispose"/> whatever happened.
/// Directories left by runs that died are removed first, and their members killed by the pid they recorded.
/// Members run with a 50 ms heartbeat and 500 ms election timeout, so etcd grants 1 s leases (its minimum
/// is 1.5 × the election timeout) and re-elects a Raft leader within about a second.
/// </summary>
public sealed class LocalEtcd : IDisposable
{
    public const string Binary = "/usr/bin/etcd";
    private const string BaseDir = "/tmp/dataplane-etcd";
    private readonly Member[] _members;
    private readonly string _dir;

    private sealed class Member(string name, int clientPort, int peerPort, string dataDir)
    {
        public string Name { get; } = name;
        public int ClientPort { get; } = clientPort;
        public int PeerPort { get; } = peerPort;
        public string DataDir { get; } = dataDir;
        public Process? Process;
        public bool Started;
        public Uri ClientUrl => new($"http://127.0.0.1:{ClientPort}");
        public string PeerUrl => $"http://127.0.0.1:{PeerPort}";
    }

    private LocalEtcd(int size, Action<string>? log)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: scripts/install-deps installs etcd-server");
        Log = log ?? (_ => { });
        RemoveStale();
        Name = RunNames.Next("dpetcd");
        _dir = Path.Combine(BaseDir, Name);
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "owner"), Environment.ProcessId.ToString());
        _members = [.. Enumerable.Range(0, size).Select(i => new Member($"{Name}m{i}", FreePort(), FreePort(), Path.Combine(_dir, $"m{i}")))];
    }

    public string Name { get; }
    public Action<string> Log { get; }
    public int Size => _members.Length;

    /// <summary>Every member's client URL.</summary>
    public IReadOnlyList<Uri> Endpoints => [.. _members.Select(m => m.ClientUrl)];

    public Uri Endpoint(int member) => _members[member].ClientUrl;

    public static LocalEtcd Start(int members = 1, Action<string>? log = null)
    {
        var etcd = new LocalEtcd(members, log);
        try
        {
            for (int i = 0; i < members; i++) etcd.Launch(i, initial: true);
            etcd.WaitHealthy(TimeSpan.FromSeconds(60));
            return etcd;
        }
        catch
        {
            etcd.Dispose();
            throw;
        }
    }

    private string InitialCluster => string.Join(",", _members.Select(m => $"{m.Name}={m.PeerUrl}"));

    private void Launch(int i, bool initial)
    {
        var m = _members[i];
        var args = new List<string>
        {
            "--name", m.Name, "--data-dir", m.DataDir,
            "--listen-client-urls", m.ClientUrl.ToString().TrimEnd('/'), "--advertise-client-urls", m.ClientUrl.ToString().TrimEnd('/'),
            "--listen-peer-urls", m.PeerUrl, "--initial-advertise-peer-urls", m.PeerUrl,
            "--initial-cluster", InitialCluster, "--initial-cluster-token", Name,
            "--initial-cluster-state", initial && !m.Started ? "new" : "existing",
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--log-level", "warn", "--logger", "zap",
        };
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("etcd did not start");
        var logFile = Path.Combine(_dir, $"m{i}.log");
        p.ErrorDataReceived += (_, e) => AppendLog(logFile, e.Data);
        p.OutputDataReceived += (_, e) => AppendLog(logFile, e.Data);
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        File.WriteAllText(Path.Combine(_dir, $"m{i}.pid"), p.Id.ToString());
        m.Process = p;
        m.Started = true;
        Log($"etcd {m.Name} pid {p.Id} client {m.ClientUrl}");
    }

    /// <summary>
    /// A member's output line into its log. It runs on a thread-pool thread, where an exception takes the whole
    /// test host down: a line still queued when <see cref="Dispose"/> has removed the directory (seen once under
    /// load: DirectoryNotFoundException for m2.log, the test run aborted) is diagnostics nobody will read, so it is dropped.
    /// </summary>
    private static void AppendLog(string logFile, string? line)
    {
        if (line is null) return;
        try { File.AppendAllText(logFile, line + "\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>CPU seconds (user + system) the running members have used so far (for benchmarks).</summary>
    public double CpuSeconds()
    {
        double total = 0;
        foreach (var m in _members)
        {
            if (m.Process is not { HasExited: false } p) continue;
            try
            {
                var stat = File.ReadAllText($"/proc/{p.Id}/stat");
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += (long.Parse(f[11]) + long.Parse(f[12])) / 100.0; // utime, stime in clock ticks (USER_HZ = 100)
            }
            catch (IOException) { }
        }
        return total;
    }

    /// <summary>SIGKILL one member (a crash); its data stays for <see cref="Restart"/>.</summary>
    public void Kill(int i)
    {
        var m = _members[i];
        if (m.Process is { HasExited: false } p)
        {
            p.Kill();
            // The parameterless wait also drains the redirected output, so the log is complete before anything removes it.
            if (p.WaitForExit(10_000)) p.WaitForExit();
            p.Dispose();
        }
        m.Process = null;
        Log($"etcd {m.Name} killed");
    }

    public void Restart(int i)
    {
        Kill(i);
        Launch(i, initial: false);
    }

    /// <summary>SIGSTOP / SIGCONT: the member stops answering without closing its connections, as behind a partition.</summary>
    public void Pause(int i) => Signal(i, "STOP");

    public void Resume(int i) => Signal(i, "CONT");

    private void Signal(int i, string signal)
    {
        if (_members[i].Process is not { HasExited: false } p) return;
        using var k = Process.Start("kill", ["-" + signal, p.Id.ToString()])!;
        k.WaitForExit();
        Log($"etcd {_members[i].Name} SIG{signal}");
    }

    /// <summary>Wait until every running member answers `etcdctl endpoint health`.</summary>
    public void WaitHealthy(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        string last = "";
        while (sw.Elapsed < timeout)
        {
            var running = _members.Where(m => m.Process is { HasExited: false }).ToList();
            if (running.Count == 0) throw new InvalidOperationException("no etcd member is running:\n" + Logs());
            var r = Etcdctl(["endpoint", "health", "--endpoints", string.Join(",", running.Select(m => m.ClientUrl.ToString().TrimEnd('/'))), "--command-timeout=1s"]);
            last = r.Output;
            if (r.ExitCode == 0) return;
            Thread.Sleep(100);
        }
        throw new TimeoutException($"etcd not healthy after {timeout.TotalSeconds} s: {last}\n{Logs()}");
    }

    public (int ExitCode, string Output) Etcdctl(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["ETCDCTL_API"] = "3";
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (!args.Contains("--endpoints")) { psi.ArgumentList.Add("--endpoints"); psi.ArgumentList.Add(string.Join(",", Endpoints.Select(u => u.ToString().TrimEnd('/')))); }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000)) { p.Kill(); return (-1, "etcdctl timed out"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    public string Logs()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var f in Directory.Exists(_dir) ? Directory.GetFiles(_dir, "m*.log") : [])
        {
            sb.AppendLine($"--- {Path.GetFileName(f)} (last 15 lines)");
            foreach (var l in File.ReadAllLines(f).TakeLast(15)) sb.AppendLine(l);
        }
        return sb.ToString();
    }

    /// <summary>A loopback TCP port free now (the kernel's choice; etcd binds it right after).</summary>
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static void RemoveStale()
    {
        if (!Directory.Exists(BaseDir)) return;
        foreach (var dir in Directory.GetDirectories(BaseDir))
        {
            var ownerFile = Path.Combine(dir, "owner");
            string? ownerText;
            try { ownerText = File.Exists(ownerFile) ? File.ReadAllText(ownerFile) : null; }
            catch (IOException) { continue; } // another run is removing it
            if (ownerText is not null && int.TryParse(ownerText, out int owner) && Directory.Exists($"/proc/{owner}")) continue;
            // A directory another run has just created and not yet written its owner into is not stale.
            if (ownerText is null && Directory.GetCreationTimeUtc(dir) > DateTime.UtcNow - TimeSpan.FromMinutes(1)) continue;
            foreach (var pidFile in Directory.GetFiles(dir, "m*.pid"))
            {
                if (!int.TryParse(File.ReadAllText(pidFile), out int pid)) continue;
                try
                {
                    // Only a process that is still this run's etcd (its command line names this data directory).
                    var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
                    if (cmdline.Contains(dir, StringComparison.Ordinal)) Process.GetProcessById(pid).Kill();
                }
                catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException) { }
            }
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    public void Dispose()
    {
        for (int i = 0; i < _members.Length; i++)
        {
            try
            {
                Resume(i);
                Kill(i);
            }
            catch (InvalidOperationException) { }
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
