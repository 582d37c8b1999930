using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace DataPlane.Host.Tests.Replication;

/// <summary>Log lines into the test's output, prefixed with the member's name and the milliseconds since the test began.</summary>
public sealed class OutputLogger(ITestOutputHelper output, string name, Stopwatch clock) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            output.WriteLine($"{clock.ElapsedMilliseconds,6} ms {name}: {formatter(state, exception)}");
        }
        catch (InvalidOperationException) { } // the test is over
    }
}
