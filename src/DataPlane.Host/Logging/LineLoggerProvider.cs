using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Logging;

/// <summary>
/// One line per event, <c>2026-11-22T18:00:00.123Z info  mag: message key=value…</c>, to a file or standard
/// error. Lines are queued and written by a background thread so the packet loop never waits on a disk.
/// Scopes (e.g. the VM's MN identifier, MAC and port: <see cref="VmLogScope"/>) are appended as key=value pairs.
/// <para>
/// Under systemd (standard error is the journal: <c>$JOURNAL_STREAM</c> names it) lines are written the
/// journal's way instead: <c>&lt;6&gt;mag: message key=value…</c>, a syslog priority prefix the journal turns
/// into the entry's priority, and no timestamp (the journal stamps every entry itself).
/// </para>
/// </summary>
public sealed class LineLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly BlockingCollection<string> _queue = new(new ConcurrentQueue<string>(), 100_000);
    private readonly TextWriter _writer;
    private readonly Thread _thread;
    private readonly LogLevel _minimum;
    private readonly bool _journal;
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();
    private long _dropped;

    public LineLoggerProvider(string? file, LogLevel minimum, DataPlane.Host.Configuration.LogFormat format = DataPlane.Host.Configuration.LogFormat.Auto)
    {
        _minimum = minimum;
        _journal = format == DataPlane.Host.Configuration.LogFormat.Journal
            || (format == DataPlane.Host.Configuration.LogFormat.Auto && file is null && JournalStream.IsStandardError());
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
                if (d > 0) _writer.WriteLine(_journal ? $"<4>log: {d} lines dropped (queue full)" : $"{DateTime.UtcNow:O} warn  log: {d} lines dropped (queue full)");
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
            if (owner._journal)
            {
                // sd-daemon(3) priority prefixes: the journal strips them and records the level.
                sb.Append(logLevel switch
                {
                    LogLevel.Trace or LogLevel.Debug => "<7>",
                    LogLevel.Information => "<6>",
                    LogLevel.Warning => "<4>",
                    LogLevel.Error => "<3>",
                    _ => "<2>",
                });
            }
            else
            {
                sb.Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)).Append(' ');
                sb.Append(logLevel switch
                {
                    LogLevel.Trace => "trace",
                    LogLevel.Debug => "debug",
                    LogLevel.Information => "info ",
                    LogLevel.Warning => "warn ",
                    LogLevel.Error => "error",
                    _ => "crit ",
                }).Append(' ');
            }
            sb.Append(_category).Append(": ").Append(formatter(state, exception));
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

/// <summary>
/// Is standard error connected to the systemd journal? systemd sets <c>$JOURNAL_STREAM</c> to the device and
/// inode of the stream it connected (sd_journal_stream_fd); if standard error is still that socket, it is
/// (a redirected standard error is not, even when the variable was inherited).
/// </summary>
public static class JournalStream
{
    public static bool IsStandardError() => Matches(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), ReadLink("/proc/self/fd/2"));

    /// <summary><paramref name="journalStream"/> is "DEV:INODE"; <paramref name="fdTarget"/> is what /proc/self/fd/2 points at ("socket:[INODE]").</summary>
    public static bool Matches(string? journalStream, string? fdTarget)
    {
        if (string.IsNullOrEmpty(journalStream) || string.IsNullOrEmpty(fdTarget)) return false;
        int colon = journalStream.IndexOf(':');
        if (colon < 0) return false;
        var inode = journalStream[(colon + 1)..];
        return fdTarget == $"socket:[{inode}]";
    }

    private static string? ReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
