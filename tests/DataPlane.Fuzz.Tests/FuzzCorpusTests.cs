using System.Diagnostics;
using Xunit.Abstractions;

namespace DataPlane.Fuzz.Tests;

/// <summary>
/// Every fuzzing target over its committed corpus and every crash regression (fuzz/corpus/TARGET,
/// fuzz/regressions/TARGET), in process; and a short afl++ run per target (scripts/fuzz --smoke), so the whole
/// chain — publish, sharpfuzz instrumentation, afl-fuzz's fork server — is known to work.
/// </summary>
public sealed class FuzzCorpusTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();

    public static TheoryData<string> Names() => new(TargetNames.All);

    [Fact]
    public void The_names_match_the_targets() => Assert.Equal(TargetNames.All.Order(), Targets.All.Keys.Order());

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_corpus_input_and_regression_passes(string target)
    {
        var files = Inputs("corpus", target).Concat(Inputs("regressions", target)).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            var ex = Record.Exception(() => Targets.All[target](bytes));
            Assert.True(ex is null, $"{file}: {ex}");
        }
        output.WriteLine($"{target}: {files.Count} inputs");
    }

    [Fact]
    public async Task Afl_runs_every_target_briefly_without_a_crash()
    {
        var psi = new ProcessStartInfo(Path.Combine(Root, "scripts", "fuzz"), "--smoke") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        using var p = Process.Start(psi)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderrTask = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("scripts/fuzz --smoke did not finish in 15 minutes");
        }
        string stdout = await stdoutTask, stderr = await stderrTask;
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.True(p.ExitCode == 0, $"scripts/fuzz --smoke failed:\n{stdout}\n{stderr}");
        foreach (var target in TargetNames.All) Assert.Contains($"fuzz: {target}: ", stdout);
    }

    private static IEnumerable<string> Inputs(string kind, string target)
    {
        var dir = Path.Combine(Root, "fuzz", kind, target);
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal) : [];
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DataPlane.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
