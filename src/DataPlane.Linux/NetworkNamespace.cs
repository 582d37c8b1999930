using System.Runtime.ExceptionServices;
using System.Text;
using DataPlane.Linux.Native;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>
/// A network namespace to run code in: the action runs on a dedicated thread that setns()-es into
/// the namespace, so sockets, TAP devices and netlink sockets it creates belong there (a socket keeps
/// its namespace for life, so they can be used from any thread afterwards). The calling thread never
/// changes namespace. Named namespaces are the ones `ip netns` creates under /run/netns.
/// </summary>
public sealed unsafe class NetworkNamespace : IDisposable
{
    public const string NamedNamespaceDirectory = "/run/netns";
    private int _fd;

    private NetworkNamespace(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    ~NetworkNamespace() => Sys.Close(ref _fd);

    /// <summary>The namespace file this handle was opened from.</summary>
    public string Path { get; }

    /// <summary>Open /run/netns/<paramref name="name"/>.</summary>
    public static NetworkNamespace Open(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/') || name is "." or "..") throw new ArgumentException($"'{name}' is not a namespace name", nameof(name));
        return OpenPath($"{NamedNamespaceDirectory}/{name}");
    }

    /// <summary>Open any namespace file (/proc/PID/ns/net, a bind mount …).</summary>
    public static NetworkNamespace OpenPath(string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* b = p) fd = open(b, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) throw LinuxIoException.FromLast($"open network namespace {path}");
        return new NetworkNamespace(fd, path);
    }

    /// <summary>The calling thread's current namespace.</summary>
    public static NetworkNamespace Current() => OpenPath("/proc/thread-self/ns/net");

    public static bool Exists(string name) => File.Exists($"{NamedNamespaceDirectory}/{name}");

    /// <summary>Run <paramref name="action"/> inside the namespace named <paramref name="name"/>.</summary>
    public static void Run(string name, Action action)
    {
        using var ns = Open(name);
        ns.Run(action);
    }

    /// <summary>Run <paramref name="function"/> inside the namespace named <paramref name="name"/> and return its result.</summary>
    public static T Run<T>(string name, Func<T> function)
    {
        using var ns = Open(name);
        return ns.Run(function);
    }

    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run<object?>(() =>
        {
            action();
            return null;
        });
    }

    /// <summary>
    /// Run on a fresh thread that joins this namespace, then rejoins its original one before it ends
    /// (belt and braces: the thread is not reused). Exceptions are rethrown here with their stack.
    /// </summary>
    public T Run<T>(Func<T> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        int target = _fd;
        var thread = new Thread(() =>
        {
            try
            {
                using var original = Current();
                Sys.Check(setns(target, CLONE_NEWNET), $"setns into {Path}");
                try
                {
                    result = function();
                }
                finally
                {
                    setns(original._fd, CLONE_NEWNET);
                }
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = $"netns {Path}",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>The namespace's inode number: equal numbers mean the same namespace.</summary>
    public ulong Inode
    {
        get
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            Tmds.Linux.stat st;
            Sys.Check(fstat(_fd, &st), $"fstat {Path}");
            return (ulong)st.st_ino;
        }
    }

    public void Dispose()
    {
        Sys.Close(ref _fd);
        GC.SuppressFinalize(this);
    }
}
