using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

/// <summary>A received frame copied out of a batch, with its metadata.</summary>
internal sealed record Received(byte[] Bytes, PacketMetadata Meta);

internal static class Frames
{
    /// <summary>IEEE 802 "local experimental" EtherType: nothing in the kernel reacts to it.</summary>
    public const ushort ExperimentalEtherType = 0x88B5;

    /// <summary>An Ethernet frame of the experimental EtherType whose payload encodes <paramref name="seq"/>.</summary>
    public static byte[] Experimental(MacAddress dst, MacAddress src, int seq, int payloadLength = 100)
    {
        var frame = new byte[14 + payloadLength];
        EthernetFrame.WriteHeader(frame, dst, src, (EtherType)ExperimentalEtherType);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), seq);
        for (int i = 18; i < frame.Length; i++) frame[i] = (byte)(i * 7 + seq);
        return frame;
    }

    public static bool IsExperimental(ReadOnlySpan<byte> frame) =>
        frame.Length >= 18 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == ExperimentalEtherType;

    public static int SequenceOf(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadInt32BigEndian(frame[14..]);

    /// <summary>
    /// Receive from <paramref name="receive"/> (waiting on <paramref name="fd"/> with epoll) until
    /// <paramref name="enough"/> says the collected matching frames suffice or the timeout passes.
    /// </summary>
    public static List<Received> Collect(int fd, Func<PacketBatch, int> receive, PacketBatch batch, Func<Received, bool> match,
        Func<List<Received>, bool> enough, TimeSpan timeout)
    {
        var found = new List<Received>();
        using var epoll = new Epoll(4);
        epoll.Add(fd, 1, EpollEvents.In);
        Span<EpollReady> ready = stackalloc EpollReady[4];
        var deadline = DateTime.UtcNow + timeout;
        while (!enough(found))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) break;
            int n = receive(batch);
            for (int i = 0; i < n; i++)
            {
                var r = new Received(batch.Frame(i).ToArray(), batch.Meta(i));
                if (match(r)) found.Add(r);
            }
            if (n == 0) epoll.Wait(ready, left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100));
        }
        return found;
    }

    /// <summary>
    /// Receives until a receive returns nothing, which is how a link event (down, removed) is consumed; the
    /// frames read on the way are the kernel's own traffic of a link that just came up (MLD reports, DAD),
    /// queued ahead of the event, and are skipped. Returns how many were skipped.
    /// </summary>
    public static int ReceiveUntilLinkEvent(IPacketPort port, PacketBatch batch)
    {
        int skipped = 0;
        for (int n; (n = port.Receive(batch)) > 0;)
        {
            for (int i = 0; i < n; i++)
                Assert.False(IsExperimental(batch.Frame(i)), "a frame this test sent was still queued at the link event");
            skipped += n;
            Assert.True(skipped < 64, "frames kept coming after the link event");
        }
        return skipped;
    }

    public static List<Received> Collect(IPacketPort port, PacketBatch batch, Func<Received, bool> match, int count, TimeSpan? timeout = null) =>
        Collect(port.Fd, port.Receive, batch, match, l => l.Count >= count, timeout ?? TimeSpan.FromSeconds(5));

    public static List<Received> Collect(RawIpv6Socket socket, PacketBatch batch, Func<Received, bool> match, int count, TimeSpan? timeout = null) =>
        Collect(socket.Fd, socket.Receive, batch, match, l => l.Count >= count, timeout ?? TimeSpan.FromSeconds(5));

    /// <summary>An ICMPv6 echo request as an IPv6 packet (no Ethernet header).</summary>
    public static byte[] EchoRequestPacket(Ipv6Address src, Ipv6Address dst, ushort id, ushort seq, int dataLength = 32, byte hopLimit = 64)
    {
        var packet = new byte[40 + 8 + dataLength];
        Ipv6Packet.WriteHeader(packet, src, dst, IpProtocol.Icmpv6, 8 + dataLength, hopLimit);
        var icmp = packet.AsSpan(40);
        icmp[0] = 128; // echo request
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], seq);
        for (int i = 0; i < dataLength; i++) icmp[8 + i] = (byte)i;
        uint pseudo = InternetChecksum.PseudoHeader(src, dst, (uint)icmp.Length, (byte)IpProtocol.Icmpv6);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], InternetChecksum.Finish(InternetChecksum.Sum(icmp, pseudo)));
        return packet;
    }

    public static byte[] WithEthernet(MacAddress dst, MacAddress src, ReadOnlySpan<byte> ipv6Packet)
    {
        var frame = new byte[14 + ipv6Packet.Length];
        EthernetFrame.WriteHeader(frame, dst, src, EtherType.Ipv6);
        ipv6Packet.CopyTo(frame.AsSpan(14));
        return frame;
    }

    /// <summary>Is this IPv6 packet an ICMPv6 message of the given type from <paramref name="src"/>?</summary>
    public static bool IsIcmpv6(ReadOnlySpan<byte> packet, byte type, Ipv6Address? src = null) =>
        packet.Length >= 48 && (packet[0] >> 4) == 6 && packet[6] == (byte)IpProtocol.Icmpv6 && packet[40] == type &&
        (src is null || Ipv6Address.ReadFrom(packet[8..]) == src);
}
