using System.Text;
using DataPlane.Linux.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux;

/// <summary>
/// A TAP (Ethernet frames) or TUN (IP packets) device we own through /dev/net/tun, nonblocking, with
/// the same batch receive/send shape as <see cref="PacketSocket"/>. There is no recvmmsg for a tun
/// fd: a batch receive is read()/readv() until EAGAIN or the batch is full, a batch send one
/// write()/writev() per frame (each is one packet to the kernel).
/// </summary>
/// <remarks>
/// The device lives in the network namespace of the thread that opened it; its netlink set-up
/// (MAC, MTU, up) happens on that same thread. Without <see cref="TunTapOptions.Persistent"/> the
/// kernel deletes the device when the fd closes.
/// </remarks>
public abstract unsafe class TunTapDevice : IPacketPort
{
    private static readonly byte[] s_devNetTun = Encoding.ASCII.GetBytes("/dev/net/tun\0");

    private int _fd;
    private int _controlFd; // an AF_NETLINK socket in the device's namespace, for SIOCGIF* ioctls
    private readonly int _vnet;
    private readonly string _readOperation;
    private readonly string _writeOperation;
    private PortLinkState _linkState = PortLinkState.Up;

    private protected TunTapDevice(int fd, int controlFd, string name, int ifIndex, TunTapOptions options)
    {
        _fd = fd;
        _controlFd = controlFd;
        Name = name;
        IfIndex = ifIndex;
        Options = options;
        _vnet = options.VnetHeader ? VirtioNetHeader.Length : 0;
        _readOperation = $"read from {name}";
        _writeOperation = $"write to {name}";
    }

    ~TunTapDevice() => DisposeCore();

    public string Name { get; }
    public int IfIndex { get; }
    public int Fd => _fd;
    public TunTapOptions Options { get; }
    public bool HasVnetHeader => _vnet != 0;
    public PortLinkState LinkState => _linkState;
    public PortCounters Counters { get; } = new();

    /// <summary>TUNSETIFF and the rest of the set-up; returns (fd, control fd, name, ifindex).</summary>
    private protected static (int Fd, int ControlFd, string Name, int IfIndex) OpenDevice(short kind, TunTapOptions options)
    {
        if (options.Name is not null) Sys.ValidateIfName(options.Name);
        int fd;
        fixed (byte* path = s_devNetTun) fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
        if (fd < 0) throw LinuxIoException.FromLast("open /dev/net/tun");
        int control = -1;
        try
        {
            byte* ifr = stackalloc byte[KernelConstants.IfreqSize];
            new Span<byte>(ifr, KernelConstants.IfreqSize).Clear();
            if (options.Name is not null) Sys.WriteIfName(ifr, options.Name);
            short flags = (short)(kind | KernelConstants.IFF_NO_PI | (options.VnetHeader ? KernelConstants.IFF_VNET_HDR : 0));
            *(short*)(ifr + KernelConstants.IFNAMSIZ) = flags;
            string what = kind == KernelConstants.IFF_TAP ? "TAP" : "TUN";
            Sys.Check(ioctl(fd, KernelConstants.TUNSETIFF, ifr), $"TUNSETIFF {what} {options.Name ?? "(any name)"}");
            string name = Sys.ReadIfName(ifr);
            if (options.VnetHeader)
            {
                int size = VirtioNetHeader.Length;
                Sys.Check(ioctl(fd, KernelConstants.TUNSETVNETHDRSZ, &size), $"TUNSETVNETHDRSZ on {name}");
                if (options.Offloads != TunOffloads.None)
                    Sys.Check(ioctl(fd, KernelConstants.TUNSETOFFLOAD, (int)options.Offloads), $"TUNSETOFFLOAD {options.Offloads} on {name}");
            }
            if (options.Persistent) Sys.Check(ioctl(fd, KernelConstants.TUNSETPERSIST, 1), $"TUNSETPERSIST on {name}");

            control = Sys.Check(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, KernelConstants.NETLINK_ROUTE), "socket AF_NETLINK");
            int ifIndex = Sys.IfIndexOf(control, name);
            using (var nl = RtNetlink.Open())
            {
                if (options.MacAddress is { } mac)
                {
                    if (kind != KernelConstants.IFF_TAP) throw new ArgumentException("a TUN device has no MAC address", nameof(options));
                    nl.SetMacAddress(name, mac);
                }
                if (options.Mtu is int mtu) nl.SetMtu(name, mtu);
                if (options.Up) nl.SetLinkUp(name);
            }
            return (fd, control, name, ifIndex);
        }
        catch
        {
            if (control >= 0) close(control);
            close(fd);
            throw;
        }
    }

    public int Receive(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int n = 0;
        long bytes = 0;
        while (n < batch.Capacity)
        {
            batch.Reset(n);
            iovec* iov = batch.Iovecs(0);
            int cnt = 0;
            if (_vnet != 0) iov[cnt++] = new iovec { iov_base = batch.VnetArea(0), iov_len = _vnet };
            iov[cnt++] = new iovec { iov_base = batch.SlotPointer(n) + batch.Headroom, iov_len = batch.FrameCapacity };
            nint r = LibcExtras.readv(_fd, iov, cnt);
            if (r < 0)
            {
                int e = Errno.Last;
                if (e == Errno.EINTR) continue;
                if (e == Errno.EAGAIN) break;
                if (e is Errno.EBADFD or Errno.ENODEV or Errno.ENXIO)
                {
                    // The device was deleted under us (tun_detach_all): nothing more will come.
                    _linkState = PortLinkState.Removed;
                    Counters.LinkEvents++;
                    Counters.LastError = e;
                    break;
                }
                throw new LinuxIoException(_readOperation, e);
            }
            int length = (int)r - _vnet;
            if (length <= 0) continue;
            ref var meta = ref batch.Meta(n);
            if (length > batch.FrameCapacity)
            {
                meta.Truncated = true;
                Counters.RxTruncated++;
                length = batch.FrameCapacity;
            }
            meta.Length = length;
            meta.IfIndex = IfIndex;
            if (_vnet != 0) meta.Vnet = VirtioNetHeader.ReadFrom(new ReadOnlySpan<byte>(batch.VnetArea(0), _vnet));
            bytes += length;
            n++;
        }
        batch.Count = n;
        Counters.RxPackets += n;
        Counters.RxBytes += bytes;
        return n;
    }

    public int Send(PacketBatch batch, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if ((uint)start > (uint)batch.Capacity || (uint)count > (uint)(batch.Capacity - start))
            throw new ArgumentOutOfRangeException(nameof(count), $"slots [{start}, {start}+{count}) are outside the batch");
        int done = 0;
        while (done < count)
        {
            int r = WriteOne(batch, start + done);
            if (r < 0) break;
            done += r;
        }
        return done;
    }

    public int Send(PacketBatch batch, ReadOnlySpan<int> slots)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int done = 0;
        while (done < slots.Length)
        {
            int r = WriteOne(batch, slots[done]);
            if (r < 0) break;
            done += r;
        }
        return done;
    }

    /// <summary>1 when the frame was consumed (written or dropped), -1 on back-pressure.</summary>
    private int WriteOne(PacketBatch batch, int slot)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (_linkState == PortLinkState.Removed)
        {
            Counters.TxLinkDrops++;
            return 1;
        }
        ref var meta = ref batch.Meta(slot);
        iovec* iov = batch.Iovecs(0);
        int cnt = 0;
        if (_vnet != 0)
        {
            meta.Vnet.WriteTo(new Span<byte>(batch.VnetArea(0), _vnet));
            iov[cnt++] = new iovec { iov_base = batch.VnetArea(0), iov_len = _vnet };
        }
        iov[cnt++] = new iovec { iov_base = batch.FramePointer(slot), iov_len = meta.Length };
        while (true)
        {
            nint r = LibcExtras.writev(_fd, iov, cnt);
            if (r >= 0)
            {
                Counters.TxPackets++;
                Counters.TxBytes += meta.Length;
                if (_linkState == PortLinkState.Down) _linkState = PortLinkState.Up;
                return 1;
            }
            int e = Errno.Last;
            if (e == Errno.EINTR) continue;
            Counters.LastError = e;
            switch (e)
            {
                case Errno.EAGAIN or Errno.ENOBUFS:
                    Counters.TxWouldBlock++;
                    return -1;
                case Errno.EIO:
                    // tun_get_user refuses frames while the device is down.
                    _linkState = PortLinkState.Down;
                    Counters.TxLinkDrops++;
                    return 1;
                case Errno.EBADFD or Errno.ENODEV or Errno.ENXIO:
                    _linkState = PortLinkState.Removed;
                    Counters.TxLinkDrops++;
                    return 1;
                case Errno.EINVAL or Errno.EMSGSIZE or Errno.EFAULT or Errno.ENOMEM:
                    Counters.TxErrors++;
                    return 1;
                default:
                    throw new LinuxIoException(_writeOperation, e);
            }
        }
    }

    public PortLinkState RefreshLinkState()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (_linkState != PortLinkState.Removed) _linkState = Sys.LinkStateOf(_controlFd, IfIndex);
        return _linkState;
    }

    public void Dispose()
    {
        DisposeCore();
        GC.SuppressFinalize(this);
    }

    private void DisposeCore()
    {
        Sys.Close(ref _fd);
        Sys.Close(ref _controlFd);
    }
}

/// <summary>A TAP device: Ethernet frames, e.g. a VM's access port created by the MAG itself.</summary>
public sealed class TapDevice : TunTapDevice
{
    private TapDevice(int fd, int controlFd, string name, int ifIndex, TunTapOptions options) : base(fd, controlFd, name, ifIndex, options) { }

    /// <summary>Create (or attach to a persistent) TAP device in the calling thread's namespace.</summary>
    public static TapDevice Create(TunTapOptions? options = null)
    {
        options ??= new TunTapOptions();
        var (fd, control, name, ifIndex) = OpenDevice(Native.KernelConstants.IFF_TAP, options);
        return new TapDevice(fd, control, name, ifIndex, options);
    }

    public override string ToString() => $"TAP {Name} (#{IfIndex}{(HasVnetHeader ? ", vnet_hdr" : "")})";
}

/// <summary>A TUN device: IPv6 (or IPv4) packets without an Ethernet header, e.g. the LMA's home-network side.</summary>
public sealed class TunDevice : TunTapDevice
{
    private TunDevice(int fd, int controlFd, string name, int ifIndex, TunTapOptions options) : base(fd, controlFd, name, ifIndex, options) { }

    /// <summary>Create (or attach to a persistent) TUN device in the calling thread's namespace.</summary>
    public static TunDevice Create(TunTapOptions? options = null)
    {
        options ??= new TunTapOptions();
        var (fd, control, name, ifIndex) = OpenDevice(Native.KernelConstants.IFF_TUN, options);
        return new TunDevice(fd, control, name, ifIndex, options);
    }

    public override string ToString() => $"TUN {Name} (#{IfIndex}{(HasVnetHeader ? ", vnet_hdr" : "")})";
}
