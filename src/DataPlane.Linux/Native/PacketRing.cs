using System.Buffers.Binary;
using System.Threading;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace DataPlane.Linux.Native;

/// <summary>
/// PACKET_MMAP TPACKET_V2 RX and TX rings for a <see cref="PacketSocket"/> (Documentation/networking/
/// packet_mmap.rst). Receive walks RX frames the kernel marked TP_STATUS_USER and copies them into the
/// batch; send copies slots into TP_STATUS_AVAILABLE TX frames, marks them TP_STATUS_SEND_REQUEST and
/// kicks the kernel with one send(). The copy keeps the batch the data path's single buffer shape;
/// a zero-copy variant (slots pointing into the ring) is issue 9's to measure.
/// </summary>
internal sealed unsafe class PacketRing : IDisposable
{
    // struct tpacket2_hdr offsets.
    private const int TpStatus = 0, TpLen = 4, TpSnaplen = 8, TpMac = 12;
    private const int SockaddrLlOffset = KernelConstants.TPACKET2_HDR_ALIGNED;
    private const int TxDataOffset = KernelConstants.TPACKET2_HDR_ALIGNED;

    private readonly int _fd;
    private readonly int _vnet;
    private readonly int _frameSize;
    private readonly int _frameCount;
    private readonly int _framesPerBlock;
    private readonly int _blockSize;
    private byte* _map;
    private readonly nuint _mapLength;
    private byte* _tx;
    private int _rxHead;
    private int _txHead;

    private PacketRing(int fd, int vnet, int frameSize, int frameCount, int framesPerBlock, int blockSize, byte* map, nuint mapLength)
    {
        _fd = fd;
        _vnet = vnet;
        _frameSize = frameSize;
        _frameCount = frameCount;
        _framesPerBlock = framesPerBlock;
        _blockSize = blockSize;
        _map = map;
        _mapLength = mapLength;
        _tx = map + (nuint)(frameCount / framesPerBlock) * (nuint)blockSize;
    }

    ~PacketRing() => Unmap();

    public int FrameCount => _frameCount;

    public static PacketRing Create(int fd, PacketSocketOptions options, string name)
    {
        int frameSize = (options.RingFrameSize + KernelConstants.TPACKET_ALIGNMENT - 1) & ~(KernelConstants.TPACKET_ALIGNMENT - 1);
        if (frameSize < 256) throw new ArgumentException("RingFrameSize must be at least 256 bytes", nameof(options));
        if (options.RingFrames < 1) throw new ArgumentException("RingFrames must be positive", nameof(options));
        // Blocks are physically contiguous kernel allocations: big enough for ~16 frames (less waste
        // than one frame per block), at most 4 MiB, at least one page and one frame.
        int pageSize = Environment.SystemPageSize;
        int blockSize = (int)Math.Min(4L << 20, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)frameSize * 16u));
        blockSize = Math.Max(blockSize, Math.Max(pageSize, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)frameSize)));
        int framesPerBlock = blockSize / frameSize;
        int blocks = (options.RingFrames + framesPerBlock - 1) / framesPerBlock;
        int frames = blocks * framesPerBlock;

        Sys.SetInt(fd, SOL_PACKET, PACKET_VERSION, KernelConstants.TPACKET_V2, $"PACKET_VERSION TPACKET_V2 on {name}");
        uint* req = stackalloc uint[4] { (uint)blockSize, (uint)blocks, (uint)frameSize, (uint)frames };
        Sys.Check(setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req, 16), $"PACKET_RX_RING on {name}");
        Sys.Check(setsockopt(fd, SOL_PACKET, PACKET_TX_RING, req, 16), $"PACKET_TX_RING on {name}");
        nuint length = (nuint)blockSize * (nuint)blocks * 2;
        void* map = mmap(null, (size_t)(ulong)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == (void*)-1) throw LinuxIoException.FromLast($"mmap packet rings of {name}");
        return new PacketRing(fd, options.VnetHeader ? VirtioNetHeader.Length : 0, frameSize, frames, framesPerBlock, blockSize, (byte*)map, length);
    }

    private byte* RxFrame(int i) => _map + (nuint)(i / _framesPerBlock) * (nuint)_blockSize + (nuint)(i % _framesPerBlock * _frameSize);

    private byte* TxFrame(int i) => _tx + (nuint)(i / _framesPerBlock) * (nuint)_blockSize + (nuint)(i % _framesPerBlock * _frameSize);

    private static uint Status(byte* frame) => Volatile.Read(ref *(uint*)(frame + TpStatus));

    private static void SetStatus(byte* frame, uint status) => Volatile.Write(ref *(uint*)(frame + TpStatus), status);

    /// <summary>Copy ready RX frames into the batch. Returns the count, or -errno for a link event.</summary>
    public int Receive(PacketBatch batch, PortCounters counters, string operation)
    {
        if (_map == null) throw new ObjectDisposedException(nameof(PacketSocket));
        int n = 0;
        long bytes = 0;
        while (n < batch.Capacity)
        {
            byte* f = RxFrame(_rxHead);
            if ((Status(f) & KernelConstants.TP_STATUS_USER) == 0) break;
            batch.Reset(n);
            ref var meta = ref batch.Meta(n);
            int mac = *(ushort*)(f + TpMac);
            int snap = (int)*(uint*)(f + TpSnaplen), len = (int)*(uint*)(f + TpLen);
            int copy = Math.Min(snap, batch.FrameCapacity);
            if (copy < len)
            {
                meta.Truncated = true;
                counters.RxTruncated++;
            }
            new ReadOnlySpan<byte>(f + mac, copy).CopyTo(new Span<byte>(batch.SlotPointer(n) + batch.Headroom, copy));
            batch.SetLength(n, copy);
            if (_vnet != 0) meta.Vnet = VirtioNetHeader.ReadFrom(new ReadOnlySpan<byte>(f + mac - _vnet, _vnet));
            var sll = (sockaddr_ll*)(f + SockaddrLlOffset);
            meta.IfIndex = sll->sll_ifindex;
            meta.PacketType = (PacketType)sll->sll_pkttype;
            meta.EtherType = BinaryPrimitives.ReverseEndianness(sll->sll_protocol);
            SetStatus(f, KernelConstants.TP_STATUS_KERNEL);
            _rxHead = _rxHead + 1 == _frameCount ? 0 : _rxHead + 1;
            bytes += copy;
            n++;
        }
        if (n == 0)
        {
            // Nothing in the ring: a link event (ENETDOWN from af_packet's notifier) is only visible
            // as the socket error, which epoll keeps reporting as EPOLLERR until it is read.
            int err = Sys.GetInt(_fd, SOL_SOCKET, SO_ERROR, operation);
            if (err != 0) return err is Errno.ENETDOWN or Errno.ENXIO or Errno.ENODEV ? -err : throw new LinuxIoException(operation, err);
        }
        counters.RxPackets += n;
        counters.RxBytes += bytes;
        return n;
    }

    /// <summary>
    /// Copy slots into free TX frames and kick the kernel; when the ring fills, kick and refill (a
    /// veth or tap transmits synchronously, so frames come back at once). Returns how many slots were
    /// consumed (queued, or dropped as too big for a ring frame or refused by the kernel); fewer than
    /// <paramref name="count"/> only when the ring stays full.
    /// </summary>
    public int Send(PacketBatch batch, int start, int count, ReadOnlySpan<int> slots, PortCounters counters, ref PortLinkState state, string operation)
    {
        if (_map == null) throw new ObjectDisposedException(nameof(PacketSocket));
        int maxData = _frameSize - TxDataOffset - _vnet;
        int consumed = 0;
        for (int round = 0; round < 4 && consumed < count; round++)
        {
            int first = _txHead, written = 0;
            long bytes = 0;
            while (consumed < count)
            {
                byte* f = TxFrame(_txHead);
                uint status = Status(f);
                if (status == KernelConstants.TP_STATUS_WRONG_FORMAT)
                {
                    // A frame the kernel refused earlier (left behind by an error return): reclaim it.
                    SetStatus(f, KernelConstants.TP_STATUS_AVAILABLE);
                    status = KernelConstants.TP_STATUS_AVAILABLE;
                }
                if (status != KernelConstants.TP_STATUS_AVAILABLE) break; // ring full
                int slot = slots.IsEmpty ? start + consumed : slots[consumed];
                consumed++;
                ref var meta = ref batch.Meta(slot);
                if (meta.Length > maxData)
                {
                    counters.TxErrors++;
                    counters.LastError = Errno.EMSGSIZE;
                    continue;
                }
                byte* data = f + TxDataOffset;
                if (_vnet != 0) meta.Vnet.WriteTo(new Span<byte>(data, _vnet));
                new ReadOnlySpan<byte>(batch.FramePointer(slot), meta.Length).CopyTo(new Span<byte>(data + _vnet, meta.Length));
                *(uint*)(f + TpLen) = (uint)(meta.Length + _vnet);
                SetStatus(f, KernelConstants.TP_STATUS_SEND_REQUEST);
                _txHead = _txHead + 1 == _frameCount ? 0 : _txHead + 1;
                bytes += meta.Length;
                written++;
            }
            if (written == 0) break;

            int refused = 0;
            bool stop = false;
            for (int attempt = 0; attempt < 4; attempt++)
            {
                if (send(_fd, null, 0, MSG_DONTWAIT) >= 0) break;
                int e = Errno.Last;
                if (e == Errno.EINTR) continue;
                counters.LastError = e;
                if (e is Errno.EAGAIN or Errno.ENOBUFS)
                {
                    // The frames stay queued in the ring and go out with the next kick.
                    stop = true;
                    break;
                }
                if (e is Errno.ENETDOWN or Errno.ENXIO or Errno.ENODEV)
                {
                    state = e == Errno.ENETDOWN ? PortLinkState.Down : PortLinkState.Removed;
                    counters.TxLinkDrops += Reclaim(first, written) + (count - consumed);
                    return count;
                }
                if (e is Errno.EMSGSIZE or Errno.EINVAL or Errno.EPERM or Errno.EACCES or Errno.EFAULT)
                {
                    // tpacket_snd marked the bad frame TP_STATUS_WRONG_FORMAT and stopped: drop it, kick again.
                    int bad = ReclaimWrongFormat(first, written);
                    refused += bad;
                    counters.TxErrors += bad;
                    continue;
                }
                throw new LinuxIoException(operation, e);
            }
            counters.TxPackets += written - refused;
            counters.TxBytes += bytes;
            if (stop) break;
        }
        if (consumed < count) counters.TxWouldBlock++;
        return consumed;
    }

    private int Reclaim(int first, int n)
    {
        int dropped = 0;
        for (int i = 0; i < n; i++)
        {
            byte* f = TxFrame((first + i) % _frameCount);
            if (Status(f) is KernelConstants.TP_STATUS_SEND_REQUEST or KernelConstants.TP_STATUS_WRONG_FORMAT)
            {
                SetStatus(f, KernelConstants.TP_STATUS_AVAILABLE);
                dropped++;
            }
        }
        return dropped;
    }

    private int ReclaimWrongFormat(int first, int n)
    {
        int dropped = 0;
        for (int i = 0; i < n; i++)
        {
            byte* f = TxFrame((first + i) % _frameCount);
            if (Status(f) == KernelConstants.TP_STATUS_WRONG_FORMAT)
            {
                SetStatus(f, KernelConstants.TP_STATUS_AVAILABLE);
                dropped++;
            }
        }
        return dropped;
    }

    public void Dispose()
    {
        Unmap();
        GC.SuppressFinalize(this);
    }

    private void Unmap()
    {
        if (_map == null) return;
        munmap(_map, (size_t)(ulong)_mapLength);
        _map = null;
        _tx = null;
    }
}
