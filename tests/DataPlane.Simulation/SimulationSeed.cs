using System.Globalization;

namespace DataPlane.Simulation;

/// <summary>
/// Seeds for simulation runs. A test names its default seed; DATAPLANE_SIM_SEED overrides it, so a
/// failure reported as "seed=N" reruns bit for bit with <c>DATAPLANE_SIM_SEED=N dotnet test --filter …</c>.
/// </summary>
public static class SimulationSeed
{
    public const string EnvironmentVariable = "DATAPLANE_SIM_SEED";

    public static long Resolve(long defaultSeed)
    {
        var text = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return text is not null && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : defaultSeed;
    }

    /// <summary>Run <paramref name="body"/> with the resolved seed; any failure is rethrown naming the seed and how to rerun.</summary>
    public static void Run(long defaultSeed, string testName, Action<long> body)
    {
        long seed = Resolve(defaultSeed);
        try
        {
            body(seed);
        }
        catch (Exception e) when (e is not SimulationFailure)
        {
            throw new SimulationFailure(seed, testName, e);
        }
    }
}

/// <summary>A simulation run failed; the message carries the seed and the command to reproduce it.</summary>
public sealed class SimulationFailure(long seed, string testName, Exception inner)
    : Exception($"simulation failed with seed={seed}; rerun exactly with: {SimulationSeed.EnvironmentVariable}={seed} dotnet test tests/DataPlane.Protocol.Tests --filter \"{testName}\"\n{inner.Message}", inner)
{
    public long Seed { get; } = seed;
}
