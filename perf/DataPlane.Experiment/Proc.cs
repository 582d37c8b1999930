using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace DataPlane.Experiment;

public readonly record struct ProcResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>Child processes with deadlines; every background child is remembered and killed by <see cref="KillAll"/>.</summary>
public static partial class Proc
{
    private static readonly List<Process> s_background = [];

    public static ProcResult Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        // Tracked too, so that Ctrl-C (KillAll) also ends a `testbed migrate` the main thread is waiting for.
        using var p = Start(file, args, track: true);
        try
        {
            return Wait(p, file, args, timeout);
        }
        finally
        {
            Forget(p);
        }
    }

    private static ProcResult Wait(Process p, string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s\n{stdout.Result}{stderr.Result}");
        }
        p.WaitForExit();
        return new ProcResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string Check(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var r = Run(file, args, timeout);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Output}");
        return r.Stdout;
    }

    /// <summary>
    /// Start a program and leave it running; its output is collected in the background. With
    /// <paramref name="keepStdin"/> its standard input stays open for <see cref="Background.WriteLine"/>; otherwise it
    /// is closed at once (the program reads end of input).
    /// </summary>
    public static Background Start(string file, IEnumerable<string> args, bool keepStdin = false) => new(Start(file, args, track: true, keepStdin));

    private static Process Start(string file, IEnumerable<string> args, bool track, bool keepStdin = false)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        if (!keepStdin) p.StandardInput.Close();
        if (track)
        {
            lock (s_background) s_background.Add(p);
        }
        return p;
    }

    public static void KillAll()
    {
        lock (s_background)
        {
            foreach (var p in s_background)
            {
                try
                {
                    if (!p.HasExited) p.Kill(entireProcessTree: true);
                }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
            s_background.Clear();
        }
    }

    internal static void Forget(Process p)
    {
        lock (s_background) s_background.Remove(p);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int SysKill(int pid, int signal);
}

/// <summary>A running child: its output lines as they come, a signal to stop it, its exit.</summary>
public sealed class Background : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();
    private readonly SemaphoreSlim _line = new(0);

    internal Background(Process p)
    {
        _p = p;
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_out) _out.AppendLine(e.Data);
            _line.Release();
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_err) _err.AppendLine(e.Data);
            _line.Release();
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
    }

    public int Pid => _p.Id;
    public bool HasExited => _p.HasExited;
    public int ExitCode => _p.ExitCode;

    public string Stdout
    {
        get { lock (_out) return _out.ToString(); }
    }

    public string Stderr
    {
        get { lock (_err) return _err.ToString(); }
    }

    /// <summary>Wait until a stdout line contains <paramref name="text"/>.</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (Stdout.Contains(text, StringComparison.Ordinal)) return true;
            if (_p.HasExited) return Stdout.Contains(text, StringComparison.Ordinal);
            _line.Wait(TimeSpan.FromMilliseconds(20));
        }
        return false;
    }

    /// <summary>Wait until a stderr line contains <paramref name="text"/> (udp-client's "first ack", say).</summary>
    public bool WaitForError(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (Stderr.Contains(text, StringComparison.Ordinal)) return true;
            if (_p.HasExited) return Stderr.Contains(text, StringComparison.Ordinal);
            _line.Wait(TimeSpan.FromMilliseconds(20));
        }
        return false;
    }

    /// <summary>One line to the program's standard input (started with keepStdin); false when it has gone.</summary>
    public bool WriteLine(string line)
    {
        try
        {
            _p.StandardInput.WriteLine(line);
            _p.StandardInput.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            return false;
        }
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout)) return false;
        _p.WaitForExit(); // drain the asynchronous readers
        return true;
    }

    /// <summary>SIGTERM: the probes stop cleanly on it (the TCP client sends its END marker), dumpcap closes its file.
    /// Not SIGINT: a program started from a background job of a non-interactive shell (as `make demo` may be)
    /// inherits SIGINT ignored, and .NET leaves an ignored signal ignored.</summary>
    public void Interrupt()
    {
        if (!_p.HasExited) Proc.SysKill(_p.Id, 15);
    }

    public void Dispose()
    {
        try
        {
            if (!_p.HasExited) _p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        Proc.Forget(_p);
        _p.Dispose();
    }
}
