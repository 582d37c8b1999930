using Tmds.Linux;

namespace DataPlane.Linux.Native;

/// <summary>What a failed send of one message means for the rest of the batch.</summary>
internal enum SendErrorKind
{
    /// <summary>EAGAIN/ENOBUFS: stop, the caller keeps the rest.</summary>
    WouldBlock,
    /// <summary>This message is refused (EMSGSIZE, EINVAL, unreachable…): drop it and go on.</summary>
    DropOne,
    /// <summary>The link is down: drop the rest of the batch.</summary>
    LinkDown,
    /// <summary>The interface is gone: drop the rest of the batch.</summary>
    LinkRemoved,
    /// <summary>A bug or a broken fd: throw.</summary>
    Fatal,
}

/// <summary>The sendmmsg loop shared by AF_PACKET and raw IPv6 sockets.</summary>
internal static unsafe class BatchSend
{
    /// <summary>
    /// Send <paramref name="count"/> prepared messages; returns how many were consumed (sent or dropped),
    /// stopping early only on back-pressure. sendmmsg stops at the first failing message and reports
    /// the messages sent before it, so the loop restarts at the failing one to learn its errno.
    /// </summary>
    public static int Run(int fd, mmsghdr* headers, int count, PortCounters counters, ref PortLinkState state,
        Func<int, SendErrorKind> classify, int overheadPerMessage, string operation)
    {
        int done = 0;
        long bytes = 0, sent = 0;
        while (done < count)
        {
            int r = LibcExtras.sendmmsg(fd, headers + done, (uint)(count - done), Tmds.Linux.LibC.MSG_DONTWAIT);
            if (r > 0)
            {
                for (int k = done; k < done + r; k++) bytes += headers[k].msg_len - overheadPerMessage;
                sent += r;
                done += r;
                if (state == PortLinkState.Down) state = PortLinkState.Up; // it came back
                continue;
            }
            int e = r < 0 ? Errno.Last : 0;
            if (r == 0) break;
            if (e == Errno.EINTR) continue;
            counters.LastError = e;
            var kind = classify(e);
            if (kind == SendErrorKind.WouldBlock)
            {
                counters.TxWouldBlock++;
                break;
            }
            if (kind == SendErrorKind.DropOne)
            {
                counters.TxErrors++;
                done++;
                continue;
            }
            if (kind is SendErrorKind.LinkDown or SendErrorKind.LinkRemoved)
            {
                state = kind == SendErrorKind.LinkDown ? PortLinkState.Down : PortLinkState.Removed;
                counters.TxLinkDrops += count - done;
                done = count;
                break;
            }
            throw new LinuxIoException(operation, e);
        }
        counters.TxPackets += sent;
        counters.TxBytes += bytes;
        return done;
    }
}
