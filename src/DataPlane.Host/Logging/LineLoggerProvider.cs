using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Logging;

/// <summary>
/// One line per event, <c>2026-11-22T18:00:00.123Z info  mag: message {scope}</c>, to a file or standard
/// error. Lines are queued and written by a background thread so the packet loop never waits on a disk.
/// Scopes (e.g. the VM's MN identifier and MAC) are appended as key=value pairs.
/// </summary>
public sealed class LineLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly BlockingCollection<string> _queue = new(new ConcurrentQueue<string>(), 100_000);
    private readonly TextWriter _writer;
    private readonly Thread _thread;
    private readonly LogLevel _minimum;
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();
    private long _dropped;

    public LineLoggerProvider(string? file, LogLevel minimum)
    {
        _minimum = minimum;
        if (file is null)
        {
            _writer = Console.Error;
        }
        else
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(file));
            if (dir is not null) Directory.CreateDirectory(dir);
            _writer = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false)) { AutoFlush = true };
        }
        _thread = new Thread(Drain) { IsBackground = true, Name = "log-writer" };
        _thread.Start();
    }

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    private void Enqueue(string line)
    {
        // A log flood must not block or grow without bound; count what we could not keep.
        if (!_queue.TryAdd(line)) Interlocked.Increment(ref _dropped);
    }

    private void Drain()
    {
        foreach (var line in _queue.GetConsumingEnumerable())
        {
            try
            {
                _writer.WriteLine(line);
                long d = Interlocked.Exchange(ref _dropped, 0);
                if (d > 0) _writer.WriteLine($"{DateTime.UtcNow:O} warn  log: {d} lines dropped (queue full)");
            }
            catch (IOException)
            {
                // Disk full or file gone: keep running; there is nowhere to report it.
            }
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(2));
        if (!ReferenceEquals(_writer, Console.Error)) _writer.Dispose();
    }

    private sealed class LineLogger(LineLoggerProvider owner, string category) : ILogger
    {
        private readonly string _category = category.StartsWith("DataPlane.", StringComparison.Ordinal) ? category["DataPlane.".Length..] : category;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var sb = new StringBuilder(128);
            sb.Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)).Append(' ');
            sb.Append(logLevel switch
            {
                LogLevel.Trace => "trace",
                LogLevel.Debug => "debug",
                LogLevel.Information => "info ",
                LogLevel.Warning => "warn ",
                LogLevel.Error => "error",
                _ => "crit ",
            }).Append(' ').Append(_category).Append(": ").Append(formatter(state, exception));
            owner._scopes.ForEachScope((scope, b) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object?>> kvs)
                {
                    foreach (var kv in kvs)
                        if (kv.Key != "{OriginalFormat}") b.Append(' ').Append(kv.Key).Append('=').Append(kv.Value);
                }
                else if (scope is not null)
                {
                    b.Append(' ').Append(scope);
                }
            }, sb);
            if (exception is not null) sb.Append(" | ").Append(exception.GetType().Name).Append(": ").Append(exception.Message);
            owner.Enqueue(sb.ToString());
        }
    }
}
