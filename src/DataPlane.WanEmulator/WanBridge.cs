using System.Diagnostics;
using System.Runtime.InteropServices;
using DataPlane.Linux;

namespace DataPlane.WanEmulator;

/// <summary>How the bridge runs (not link settings: those are <see cref="LinkParameters"/>).</summary>
public sealed record BridgeOptions
{
    /// <summary>Ring buffer per direction, bytes (frames held for the delay live here).</summary>
    public int BufferBytes { get; init; } = 64 << 20;

    /// <summary>Wake this long before a departure and spin the rest (epoll with a zero timeout, so
    /// frames arriving meanwhile are still read). Measured here (a two-core VM): a sleeping thread wakes
    /// ~100 µs late, so 50 µs of spin left frames ~90 µs late and 300 µs left them ~2 µs late (p50).</summary>
    public long SpinNs { get; init; } = 300_000;

    /// <summary>At most this share of the time is spent spinning (per 10 ms window); past it the thread
    /// sleeps to the departure instead, ~100 µs late. Under a continuous stream every departure is near
    /// and an uncapped spin would hold a core; the cap leaves the daemons and the probes theirs.</summary>
    public double SpinShare { get; init; } = 0.2;

    /// <summary>SCHED_FIFO priority: 1, below the probes' 10, so a measurement is never held up by a spin.</summary>
    public int RealtimePriority { get; init; } = 1;

    /// <summary>Run the forwarding thread under SCHED_FIFO when permitted (root).</summary>
    public bool Realtime { get; init; } = true;

    /// <summary>Seed of the loss and jitter draws (direction B→A uses seed + 1).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>PACKET_MMAP TPACKET_V2 rings instead of recvmmsg/sendmmsg.</summary>
    public bool Ring { get; init; }
}

/// <summary>
/// The I/O shell: two AF_PACKET ports (with PACKET_VNET_HDR, so GSO super-frames and partial
/// checksums pass through whole), one <see cref="LinkModel"/>, <see cref="DelayQueue{T}"/> and
/// <see cref="FrameArena"/> per direction, and one forwarding thread that sleeps in epoll until shortly
/// before the next departure, then spins to it. Frames are copied from the receive batch into the ring
/// buffer and, when due, into a send batch.
/// </summary>
public sealed unsafe class WanBridge : IDisposable
{
    private const int FrameCapacity = PacketBatch.DefaultFrameCapacity + 256;

    private readonly Direction _ab;
    private readonly Direction _ba;
    private readonly PacketSocket _a;
    private readonly PacketSocket _b;
    private readonly PacketBatch _rx;
    private readonly Epoll _epoll = new(8);
    private readonly EventFd _wake = new();
    private readonly BridgeOptions _options;
    private readonly TunnelGsoRelabel?[] _relabels = new TunnelGsoRelabel?[2];
    private LinkParameters? _pendingParameters;

    public WanBridge(string interfaceA, string interfaceB, LinkParameters parameters, BridgeOptions options)
    {
        parameters.Validate();
        _options = options;
        var socketOptions = new PacketSocketOptions
        {
            VnetHeader = true,
            Promiscuous = true,
            IgnoreOutgoing = true,
            Backend = options.Ring ? PacketSocketBackend.RingV2 : PacketSocketBackend.MessageBatch,
        };
        _a = PacketSocket.Open(interfaceA, socketOptions);
        try
        {
            _b = PacketSocket.Open(interfaceB, socketOptions);
        }
        catch
        {
            _a.Dispose();
            throw;
        }
        // An IPv6-in-IPv6 super-frame the MAG or LMA sends whole arrives here as the kernel labelled it (IPXIP6), but
        // the virtio-net header it is read and written with can only say TCPv6, so the kernel refuses to send it on
        // (ENOMEM from the segmentation it then attempts). The daemons' own relabel program, attached to each side's
        // egress for the socket that sends there, restores the label without changing a byte, as on their uplinks.
        Relabel = string.Join(", ", new[] { _a, _b }.Select((port, i) =>
        {
            try
            {
                _relabels[i] = TunnelGsoRelabel.Attach(port.IfIndex, port.SocketCookie);
                return $"{port.Name} ({_relabels[i]!.Attachment})";
            }
            catch (LinuxIoException e)
            {
                return $"{port.Name} not ({e.Message}: its tunnel super-frames are dropped, counted as send failures)";
            }
        }));
        _rx = new PacketBatch(64, FrameCapacity);
        _ab = new Direction($"{interfaceA}->{interfaceB}", _a, _b, new LinkModel(parameters, options.Seed), options.BufferBytes);
        _ba = new Direction($"{interfaceB}->{interfaceA}", _b, _a, new LinkModel(parameters, options.Seed + 1), options.BufferBytes);
        _epoll.Add(_a.Fd, 0);
        _epoll.Add(_b.Fd, 1);
        _epoll.Add(_wake.Fd, 2);
        Parameters = parameters;
    }

    public string InterfaceA => _a.Name;
    public string InterfaceB => _b.Name;

    /// <summary>Where tunnel super-frames are relabelled on their way out (<see cref="TunnelGsoRelabel"/>), for the log.</summary>
    public string Relabel { get; }

    /// <summary>The settings in force (both directions share them).</summary>
    public LinkParameters Parameters { get; private set; }

    public DirectionStats AToB => _ab.Stats;
    public DirectionStats BToA => _ba.Stats;

    /// <summary>Whether the forwarding thread got SCHED_FIFO.</summary>
    public bool RunningRealtime { get; private set; }

    /// <summary>How often the spin budget was used up and the thread slept to a departure instead.</summary>
    public long SpinCapped { get; private set; }

    /// <summary>Why the loop stopped by itself (an interface went away), or null.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Change the settings from any thread; frames arriving after the loop picks it up use them.</summary>
    public void Update(LinkParameters parameters)
    {
        parameters.Validate();
        Volatile.Write(ref _pendingParameters, parameters);
        Parameters = parameters;
        _wake.Signal();
    }

    /// <summary>Run the forwarding loop on a dedicated thread until cancelled or an interface disappears.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                RunningRealtime = _options.Realtime && Realtime.TryEnterFifo(_options.RealtimePriority);
                Loop(cancellationToken);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "wan forwarding" };
        using var registration = cancellationToken.Register(() => _wake.Signal());
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
    }

    private static long Now() => Stopwatch.GetTimestamp() * (1_000_000_000 / Stopwatch.Frequency);

    private void Loop(CancellationToken ct)
    {
        Span<EpollReady> ready = stackalloc EpollReady[4];
        long spin = _options.SpinNs;
        const long Window = 10_000_000;
        long budget = (long)(Window * _options.SpinShare), windowStart = Now(), spent = 0;
        while (!ct.IsCancellationRequested)
        {
            var pending = Interlocked.Exchange(ref _pendingParameters, null);
            if (pending is not null)
            {
                _ab.Model.Parameters = pending;
                _ba.Model.Parameters = pending;
            }

            long now = Now();
            _ab.SendDue(now);
            _ba.SendDue(now);

            long next = Math.Min(_ab.NextEvent(now), _ba.NextEvent(now));
            TimeSpan timeout;
            if (next == long.MaxValue)
            {
                timeout = TimeSpan.FromMilliseconds(500);
            }
            else
            {
                long t = Now();
                long remaining = next - t;
                if (t - windowStart >= Window)
                {
                    windowStart = t;
                    spent = 0;
                }
                if (remaining > spin) timeout = TimeSpan.FromTicks((remaining - spin) / 100);
                else if (spent < budget) timeout = TimeSpan.Zero;
                else
                {
                    timeout = TimeSpan.FromTicks(Math.Max(0, remaining) / 100);
                    SpinCapped++;
                }
            }
            long before = timeout == TimeSpan.Zero ? Now() : 0;
            int n = _epoll.Wait(ready, timeout);
            if (before != 0) spent += Now() - before;
            for (int i = 0; i < n; i++)
            {
                switch (ready[i].Token)
                {
                    case 0:
                        _ab.Receive(_rx, Now);
                        break;
                    case 1:
                        _ba.Receive(_rx, Now);
                        break;
                    default:
                        _wake.Drain();
                        break;
                }
            }
            if (_a.LinkState == PortLinkState.Removed || _b.LinkState == PortLinkState.Removed)
            {
                StopReason = $"{(_a.LinkState == PortLinkState.Removed ? _a.Name : _b.Name)} was removed";
                return;
            }
        }
    }

    public void Dispose()
    {
        _ab.Dispose();
        _ba.Dispose();
        _rx.Dispose();
        _epoll.Dispose();
        _wake.Dispose();
        _a.Dispose();
        _b.Dispose();
        foreach (var r in _relabels) r?.Dispose();
    }

    private struct Held
    {
        public long Handle;
        public int Offset;
        public int Length;
        public VirtioNetHeader Vnet;
    }

    /// <summary>One direction: frames read from <see cref="_in"/> leave on <see cref="_out"/>.</summary>
    private sealed class Direction : IDisposable
    {
        private readonly PacketSocket _in;
        private readonly PacketSocket _out;
        private readonly DelayQueue<Held> _queue = new(4096);
        private readonly FrameArena _arena;
        private byte* _memory;
        private readonly PacketBatch _tx = new(64, FrameCapacity);
        private readonly long[] _departures = new long[64];
        private int _pendingStart;
        private int _pendingCount;

        public Direction(string name, PacketSocket input, PacketSocket output, LinkModel model, int bufferBytes)
        {
            Name = name;
            _in = input;
            _out = output;
            Model = model;
            _arena = new FrameArena(bufferBytes);
            // Untouched pages cost nothing: only what the delay actually holds becomes resident.
            _memory = (byte*)NativeMemory.AlignedAlloc((nuint)bufferBytes, 4096);
        }

        public string Name { get; }
        public LinkModel Model { get; }
        public DirectionStats Stats { get; } = new();

        /// <summary>When this direction next needs the thread: now while a send is pending, else the next departure.</summary>
        public long NextEvent(long now) => _pendingCount > 0 ? now : _queue.NextDeparture;

        public void Receive(PacketBatch rx, Func<long> clock)
        {
            int n = _in.Receive(rx);
            if (n == 0) return;
            long now = clock();
            var s = Stats;
            for (int k = 0; k < n; k++)
            {
                ref var meta = ref rx.Meta(k);
                var frame = rx.Frame(k);
                s.ReceivedFrames++;
                s.ReceivedBytes += frame.Length;
                if (meta.Truncated) s.Truncated++;
                var verdict = Model.Admit(now, frame.Length, _queue.Count, out long departure);
                if (verdict == Admission.Lost)
                {
                    s.Lost++;
                    continue;
                }
                if (verdict == Admission.OverLimit)
                {
                    s.OverLimit++;
                    continue;
                }
                if (!_arena.TryAllocate(frame.Length, out long handle, out int offset))
                {
                    s.NoBuffer++;
                    continue;
                }
                frame.CopyTo(new Span<byte>(_memory + offset, frame.Length));
                _queue.Enqueue(departure, new Held { Handle = handle, Offset = offset, Length = frame.Length, Vnet = meta.Vnet });
            }
            s.HeldNow = _queue.Count;
            if (s.HeldNow > s.HeldMax) s.HeldMax = s.HeldNow;
            if (_arena.BytesInUse > s.BufferedBytesMax) s.BufferedBytesMax = _arena.BytesInUse;
        }

        public void SendDue(long now)
        {
            var s = Stats;
            if (_pendingCount > 0)
            {
                int sent = _out.Send(_tx, _pendingStart, _pendingCount);
                Account(_pendingStart, sent);
                _pendingStart += sent;
                _pendingCount -= sent;
                if (_pendingCount > 0) return;
            }
            int count = 0;
            while (count < _tx.Capacity && _queue.TryDequeueDue(now, out var held, out long departure))
            {
                _tx.Reset(count);
                new ReadOnlySpan<byte>(_memory + held.Offset, held.Length).CopyTo(_tx.FrameSpace(count));
                _tx.SetLength(count, held.Length);
                _tx.Meta(count).Vnet = held.Vnet;
                _arena.Free(held.Handle);
                _departures[count] = departure;
                count++;
            }
            if (count == 0) return;
            s.HeldNow = _queue.Count;
            long at = Now();
            for (int k = 0; k < count; k++) s.Lateness.Record(at - _departures[k]);
            _tx.Count = count;
            long errorsBefore = _out.Counters.TxErrors + _out.Counters.TxLinkDrops;
            int done = _out.Send(_tx, 0, count);
            Account(0, done);
            s.SendFailures += _out.Counters.TxErrors + _out.Counters.TxLinkDrops - errorsBefore;
            if (done < count)
            {
                _pendingStart = done;
                _pendingCount = count - done;
            }
        }

        private void Account(int start, int count)
        {
            for (int k = start; k < start + count; k++)
            {
                Stats.SentFrames++;
                Stats.SentBytes += _tx.Meta(k).Length;
            }
        }

        public void Dispose()
        {
            _tx.Dispose();
            if (_memory != null)
            {
                NativeMemory.AlignedFree(_memory);
                _memory = null;
            }
        }
    }
}

/// <summary>SCHED_FIFO for the calling thread (as dataplane-probe does), so the departures are not delayed by CFS.</summary>
internal static partial class Realtime
{
    private const int SchedFifo = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedParam
    {
        public int Priority;
    }

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, ref SchedParam param);

    public static bool TryEnterFifo(int priority = 10)
    {
        var p = new SchedParam { Priority = priority };
        try
        {
            return SchedSetScheduler(0, SchedFifo, ref p) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
