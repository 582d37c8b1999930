using System.Security.Cryptography;

namespace DataPlane.Tests.Shared;

/// <summary>
/// Names for what a test creates outside its process (testbeds, namespaces): the process id, a random token drawn
/// once per process, and a counter. The process id alone does not make a name unique across runs: pid_max is 32768
/// here and a test run spawns thousands of processes, so the same pid comes back within one `make test`. A name
/// built from pid and counter alone then met a testbed an earlier run had left behind under the same name, and a
/// concurrent run's cleanup of that stale testbed deleted the namespaces of the new one being built (seen once in
/// two clones running `make test` side by side). The token makes the names of two runs differ.
/// </summary>
internal static class RunNames
{
    /// <summary>Four hex digits, fixed for the life of this process.</summary>
    public static readonly string Token = Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();

    private static int s_counter;

    /// <summary><paramref name="prefix"/>, the pid, <paramref name="separator"/>, the token and the next counter value, e.g. dpt3140t1a2bx5.</summary>
    public static string Next(string prefix, string separator = "t") =>
        $"{prefix}{Environment.ProcessId}{separator}{Token}x{Interlocked.Increment(ref s_counter)}";
}
