using System.Diagnostics;
using System.Text.Json;

namespace DataPlane.Linux.Tests;

/// <summary>Runs iproute2 and friends for test set-up (the library itself never shells out).</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 30 s");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>`ip ARGS`, throwing with stderr if it fails.</summary>
    public static string Ip(params string[] args)
    {
        var r = Run("ip", args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr.Trim()}");
        return r.Stdout;
    }

    /// <summary>`ip -j ARGS` parsed.</summary>
    public static JsonElement IpJson(params string[] args)
    {
        string output = Ip(["-j", .. args]);
        using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(output) ? "[]" : output);
        return doc.RootElement.Clone();
    }
}
