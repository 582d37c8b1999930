using System.Diagnostics;
using System.Text;

namespace DataPlane.EndToEnd.Tests;

public readonly record struct ShellResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>Runs programs with a deadline; a program still running at the deadline is killed (whole tree).</summary>
public static class Shell
{
    public static ShellResult Run(string file, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        using var p = Start(file, args, env);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s\n{stdout.Result}{stderr.Result}");
        }
        p.WaitForExit();
        return new ShellResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static ShellResult Run(string file, params string[] args) => Run(file, args, TimeSpan.FromSeconds(60));

    /// <summary>Run and require exit code 0.</summary>
    public static string Check(string file, params string[] args) => Check(TimeSpan.FromSeconds(60), file, args);

    public static string Check(TimeSpan timeout, string file, params string[] args)
    {
        var r = Run(file, args, timeout);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
        return r.Stdout;
    }

    /// <summary>Read <paramref name="stream"/> until a line contains <paramref name="text"/> (false at its end or the deadline).</summary>
    public static bool WaitForLine(StreamReader stream, string text, TimeSpan timeout)
    {
        var read = Task.Run(() =>
        {
            string? line;
            while ((line = stream.ReadLine()) is not null)
                if (line.Contains(text, StringComparison.Ordinal)) return true;
            return false;
        });
        return read.Wait(timeout) && read.Result;
    }

    /// <summary>A program left running (a responder, a capture); the caller stops it.</summary>
    public static Process Start(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, bool redirectInput = false)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
    }
}
