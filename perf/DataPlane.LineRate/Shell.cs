using System.Diagnostics;
using System.Text;

namespace DataPlane.LineRate;

public readonly record struct Result(int ExitCode, string Stdout, string Stderr);

/// <summary>Programs with a deadline; namespaced commands through `ip netns exec`.</summary>
public static class Sh
{
    public static Result Run(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.UTF8 };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} timed out");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, o.Result, e.Result);
    }

    public static string Check(string file, params string[] args)
    {
        var r = Run(file, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {r.ExitCode}: {r.Stdout}{r.Stderr}");
        return r.Stdout;
    }

    public static Result InNs(string ns, TimeSpan timeout, params string[] command) => Run("ip", ["netns", "exec", ns, .. command], timeout);

    public static Process StartInNs(string ns, params string[] command)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", ns }.Concat(command)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }
}
