using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.Host.Runtime;

/// <summary>
/// The sd_notify protocol (systemd's <c>Type=notify</c>), without libsystemd: one datagram per state change to
/// the Unix socket named by <c>$NOTIFY_SOCKET</c> (a path, or an abstract name written with a leading '@').
/// The daemons send <c>READY=1</c> once the packet loop runs and the control socket and metrics endpoint are
/// open, <c>STOPPING=1</c> when asked to stop, <c>STATUS=…</c> lines, and <c>WATCHDOG=1</c> when systemd set
/// <c>WatchdogSec=</c> and the packet loop answered a ping (a stuck loop is then restarted by systemd).
/// Outside systemd (no <c>$NOTIFY_SOCKET</c>) <see cref="FromEnvironment"/> returns null and nothing is sent.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;

    private SystemdNotifier(string path)
    {
        // An abstract socket: '@' in the variable, a leading NUL in the address.
        _endPoint = new UnixDomainSocketEndPoint(path.StartsWith('@') ? "\0" + path[1..] : path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public string Path => _endPoint.ToString();

    /// <summary>The notifier systemd asked for, or null when not started by systemd with Type=notify.</summary>
    public static SystemdNotifier? FromEnvironment()
    {
        var path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path) || (path[0] != '/' && path[0] != '@')) return null;
        return new SystemdNotifier(path);
    }

    /// <summary>The watchdog period systemd expects pings within (WatchdogSec=), or null when it set none for this process.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        if (string.IsNullOrEmpty(usec) || !long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out long us) || us <= 0) return null;
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture)) return null;
        return TimeSpan.FromTicks(us * 10);
    }

    /// <summary>Send one notification (newline-separated assignments). False when systemd is not listening.</summary>
    public bool Notify(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _endPoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
