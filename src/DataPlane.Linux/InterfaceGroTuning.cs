using System.Globalization;
using DataPlane.Linux.Native;

namespace DataPlane.Linux;

/// <summary>What <see cref="InterfaceGroTuning"/> asks of an interface that tunnel packets arrive on.</summary>
public sealed record GroTuningOptions
{
    /// <summary>
    /// `ethtool -K DEV gro on`: the interface merges consecutive TCP segments (IPv6-in-IPv6 included) into super-frames.
    /// `rx-udp-gro-forwarding` is left alone on purpose: with it the kernel also merges forwarded UDP datagrams into
    /// UDP GSO packets, which the tunnel cannot carry on yet (they would be counted and dropped as
    /// UdpSegmentationUnsupported). On a veth that means GRO merges only what a peer without TSO sends
    /// (drivers/net/veth.c, veth_skb_is_eligible_for_gro); on a NIC, every TCP flow.
    /// </summary>
    public bool Gro { get; init; } = true;

    /// <summary>/sys/class/net/DEV/gro_flush_timeout in ns: how long GRO may hold a flow's segments between NAPI
    /// polls to merge more. 0 leaves the interface's own value.</summary>
    public long FlushTimeoutNanoseconds { get; init; } = 50_000;

    /// <summary>/sys/class/net/DEV/napi_defer_hard_irqs, set with the flush timeout (the timer, not the next
    /// interrupt, then ends the poll).</summary>
    public int DeferHardIrqs { get; init; } = 2;
}

/// <summary>
/// Receive offload on an interface the tunnel arrives on (the daemons' <c>dataplane.interfaceGro</c>): GRO, and a
/// short gro_flush_timeout so that packets arriving one by one (a peer that could not send super-frames, a NIC that
/// cut them) reach the tunnel socket as super-frames. Every change is recorded, reported (<see cref="Describe"/>) and
/// undone by <see cref="Dispose"/>; what cannot be changed (a fixed feature, /sys of another network namespace, no
/// permission) is reported too, and the rest still applies.
/// </summary>
public sealed class InterfaceGroTuning : IDisposable
{
    private readonly List<Action> _undo = [];
    private readonly List<string> _done = [];
    private readonly List<string> _failed = [];
    // Opened where the settings were applied: the socket stays in that namespace, so whichever thread disposes this
    // puts back the settings of the right interface.
    private int _fd;

    private InterfaceGroTuning(string ifName, int fd)
    {
        Interface = ifName;
        _fd = fd;
    }

    ~InterfaceGroTuning() => Native.Sys.Close(ref _fd);

    public string Interface { get; }

    /// <summary>GRO is on now (whether or not this turned it on).</summary>
    public bool GroActive { get; private set; }

    /// <summary>The interface's gro_flush_timeout now, in ns (null: unknown, /sys not readable for it).</summary>
    public long? FlushTimeoutNanoseconds { get; private set; }

    /// <summary>What was changed, e.g. "gro on", "gro_flush_timeout 0 → 50000 ns".</summary>
    public IReadOnlyList<string> Changes => _done;

    /// <summary>What could not be changed, and why.</summary>
    public IReadOnlyList<string> Failures => _failed;

    /// <summary>Apply <paramref name="options"/> to <paramref name="ifName"/> (index <paramref name="ifIndex"/>) in the calling thread's namespace.</summary>
    public static InterfaceGroTuning Apply(string ifName, int ifIndex, GroTuningOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Sys.ValidateIfName(ifName);
        var t = new InterfaceGroTuning(ifName, Ethtool.Socket());
        if (options.Gro) t.SetFeature("rx-gro", "gro");
        t.GroActive = t.Read("rx-gro");
        t.TuneSysfs(ifIndex, options);
        return t;
    }

    private bool Read(string feature)
    {
        try
        {
            return Ethtool.Get(_fd, Interface, feature).Active;
        }
        catch (LinuxIoException)
        {
            return false;
        }
    }

    private void SetFeature(string feature, string label)
    {
        try
        {
            var before = Ethtool.Get(_fd, Interface, feature);
            if (!before.Exists)
            {
                _failed.Add($"{label}: the kernel has no such feature");
                return;
            }
            if (before.Active) return;
            if (!before.Changeable)
            {
                _failed.Add($"{label}: fixed off by the driver");
                return;
            }
            if (!Ethtool.Set(_fd, Interface, feature, true).Active)
            {
                _failed.Add($"{label}: the driver kept it off");
                return;
            }
            _done.Add($"{label} on");
            _undo.Add(() => Ethtool.Set(_fd, Interface, feature, false));
        }
        catch (LinuxIoException e)
        {
            _failed.Add($"{label}: {e.Message}");
        }
    }

    private void TuneSysfs(int ifIndex, GroTuningOptions options)
    {
        string dir = Path.Combine("/sys/class/net", Interface);
        // /sys shows the network namespace it was mounted in (`ip netns exec` mounts the right one); a daemon whose
        // /sys belongs to another namespace would tune someone else's interface of the same name.
        if (!TryReadLong(Path.Combine(dir, "ifindex"), out long index) || index != ifIndex)
        {
            _failed.Add($"gro_flush_timeout: {dir} is not this interface (/sys belongs to another network namespace)");
            return;
        }
        if (TryReadLong(Path.Combine(dir, "gro_flush_timeout"), out long timeout)) FlushTimeoutNanoseconds = timeout;
        if (options.FlushTimeoutNanoseconds <= 0) return;
        if (Write(dir, "gro_flush_timeout", options.FlushTimeoutNanoseconds, "ns")) FlushTimeoutNanoseconds = options.FlushTimeoutNanoseconds;
        Write(dir, "napi_defer_hard_irqs", options.DeferHardIrqs, "");
    }

    private bool Write(string dir, string name, long value, string unit)
    {
        string path = Path.Combine(dir, name);
        if (!TryReadLong(path, out long before))
        {
            _failed.Add($"{name}: cannot read {path}");
            return false;
        }
        if (before == value) return true;
        try
        {
            File.WriteAllText(path, value.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failed.Add($"{name}: {e.Message}");
            return false;
        }
        _done.Add($"{name} {before} → {value}{(unit.Length > 0 ? " " + unit : "")}");
        _undo.Add(() => File.WriteAllText(path, before.ToString(CultureInfo.InvariantCulture)));
        return true;
    }

    private static bool TryReadLong(string path, out long value)
    {
        value = 0;
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>One line for the log: what is on, what was changed, what could not be.</summary>
    public string Describe() =>
        $"{Interface}: GRO {(GroActive ? "on" : "off")}, gro_flush_timeout {(FlushTimeoutNanoseconds is { } t ? $"{t} ns" : "unknown")}" +
        (_done.Count > 0 ? $"; set {string.Join(", ", _done)}" : "; nothing changed") +
        (_failed.Count > 0 ? $"; not set: {string.Join("; ", _failed)}" : "");

    /// <summary>Put back what this changed, newest first (the interface may be gone: then there is nothing to undo).</summary>
    public void Dispose()
    {
        for (int i = _undo.Count - 1; i >= 0; i--)
        {
            try
            {
                _undo[i]();
            }
            catch (Exception e) when (e is LinuxIoException or IOException or UnauthorizedAccessException)
            {
            }
        }
        _undo.Clear();
        Native.Sys.Close(ref _fd);
        GC.SuppressFinalize(this);
    }
}
